// `logs` (Compose's own), `logs-today` and `dblogs-today` (the captured files of today), and
// `dblogs-errors` (what went wrong with the databases).
import { spawn } from "node:child_process";
import type { Argv } from "yargs";
import type { CaptureKind } from "../core/log-lines.js";
import { json, type Out, paint, table } from "../render.js";
import type { Command } from "./command.js";
import { jsonOption, serviceOption, stepsTo } from "./shared.js";

export const logs: Command<{
  follow: boolean;
  service?: string;
  tail?: string;
  since?: string;
  timestamps: boolean;
}> = {
  name: "logs",
  examples: [["docker versions logs -f --service taskservice", "follow one service"]],
  describe: "Follow the project's logs",
  builder: (y) =>
    y
      .option("follow", { alias: "f", type: "boolean", default: false, describe: "Follow the logs" })
      .option("service", serviceOption)
      .option("tail", {
        type: "string",
        requiresArg: true,
        describe: "Lines from the end of each log (or all)",
      })
      .option("since", {
        type: "string",
        requiresArg: true,
        describe: "Since a time (2026-01-12T10:00:00) or a duration (42m)",
      })
      .option("timestamps", { alias: "t", type: "boolean", default: false, describe: "Show timestamps" }),
  async run(args, versions, out) {
    return versions.logs(stepsTo(versions, out)).logs(args);
  },
};

type TodayArgs = { tail?: number; since?: string; service?: string };

const todayOptions = (y: Argv) =>
  y
    .option("tail", { type: "number", requiresArg: true, describe: "Only the last N lines" })
    .option("since", {
      type: "string",
      requiresArg: true,
      describe: "Only lines since a duration ago (30m, 2h) or a date-time",
    })
    .option("service", serviceOption);

/** Shows text through the user's pager on a terminal, plainly otherwise. */
function page(out: Out, text: string): Promise<void> {
  if (!process.stdout.isTTY || !text) {
    out.write(text);
    return Promise.resolve();
  }
  const pager = process.env.PAGER?.trim() || "less";
  return new Promise((resolve) => {
    const child = spawn("sh", ["-c", pager], {
      stdio: ["pipe", "inherit", "inherit"],
      env: { ...process.env, LESS: process.env.LESS ?? "FRX" },
    });
    child.on("error", () => {
      out.write(text);
      resolve();
    });
    child.on("close", () => resolve());
    child.stdin?.on("error", () => {}); // the pager quit before reading everything
    child.stdin?.end(text);
  });
}

const today = (kind: CaptureKind, name: string, what: string): Command<TodayArgs> => ({
  name,
  examples: [
    [`docker versions ${name} --tail 100`, "the last hundred captured lines of today"],
    [`docker versions ${name} --since 30m`, "what was captured in the last half hour"],
  ],
  describe: `Show today's captured ${what} logs`,
  builder: todayOptions,
  async run(args, versions, out) {
    const r = await versions.logs(stepsTo(versions, out)).captured(kind, args);
    if (!r.exists) {
      process.stderr.write(
        `no ${what} logs captured for ${r.day} (${r.file} does not exist); '${kind === "db" ? "docker versions updb" : "docker versions up"}' starts the capture\n`,
      );
      return 0;
    }
    await page(out, r.lines.map((l) => `${l}\n`).join(""));
    return 0;
  },
});

export const logsToday = today("app", "logs-today", "app");
export const dblogsToday = today("db", "dblogs-today", "database");

export const dblogsErrors: Command<{ since?: string; json: boolean }> = {
  name: "dblogs-errors",
  examples: [
    [
      "docker versions dblogs-errors --since 2h",
      "OOM kills, killed containers and fatal lines of the last two hours",
    ],
  ],
  describe: "Show database errors: OOM kills, killed containers, fatal lines",
  builder: (y) =>
    y
      .option("since", {
        type: "string",
        requiresArg: true,
        describe: "Since a duration ago (30m, 2h, 1d) or a date-time (default: start of today)",
      })
      .option("json", jsonOption),
  async run(args, versions, out) {
    const r = await versions.logs(stepsTo(versions, out)).dbErrors({ since: args.since });
    if (args.json) {
      out.write(json(r));
      return 0;
    }
    if (r.services.length === 0) {
      out.write("no database services in this project\n");
      return 0;
    }
    if (r.errors.length === 0) {
      out.write(`no database errors since ${r.since} (${r.services.join(", ")})\n`);
      return 0;
    }
    const colour = (k: string) => (k === "log" ? "yellow" : "red");
    out.write(
      table(
        ["TIME", "SERVICE", "KIND", "DETAIL"],
        r.errors.map((e) => [
          `${e.time.slice(0, 19)}Z`,
          e.service,
          paint(out, colour(e.kind), e.kind),
          e.detail,
        ]),
      ),
    );
    return 0;
  },
};
