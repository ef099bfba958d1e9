// `update-safe`: backups, pulls and tag resolution first; then only what changed is recreated,
// health-checked, and rolled back automatically when it is not healthy.
import { json, paint, warn } from "../render.js";
import type { Command } from "./command.js";
import { dryRunOption, jsonOption, notifyOptions, showVersion, switchFlag, writePlan } from "./shared.js";

type Args = {
  dryRun: boolean;
  json: boolean;
  timeout: number;
  settle: number;
  skipDataBackup: boolean;
  fullRestart: boolean;
  resume: boolean;
  window?: string;
  notify?: string[];
  notifyCommand?: string[];
};

export const updateSafe: Command<Args> = {
  name: "update-safe",
  examples: [
    ["docker versions update-safe --dry-run", "show which services would change"],
    ["docker versions update-safe --timeout 300", "allow five minutes for health checks"],
    ["docker versions update-safe --window 02:00-05:00", "only inside the maintenance window"],
  ],
  describe: "Backed-up, health-checked update of what changed; rolls itself back on failure",
  group: "Versions and updates",
  builder: (y) =>
    notifyOptions(y)
      .option("window", {
        type: "string",
        requiresArg: true,
        describe:
          "Update only between HH:MM-HH:MM local time (may cross midnight); outside it, exit 0 and change nothing",
      })
      .option("timeout", {
        type: "number",
        default: 120,
        requiresArg: true,
        describe: "Seconds to wait for the updated services to be healthy",
      })
      .option("settle", {
        type: "number",
        default: 3,
        requiresArg: true,
        describe: "Seconds a service without a healthcheck must keep running",
      })
      .option("skip-data-backup", switchFlag("Do not copy the database volumes first"))
      .option("full-restart", switchFlag("down → updb → up instead of recreating only what changed"))
      .option("resume", switchFlag("Finish an update-safe run that was interrupted"))
      .option("dry-run", dryRunOption)
      .option("json", jsonOption),
  async run(args, versions, out) {
    const steps: string[] = [];
    const r = await versions.unattended().notifyingUpdate(
      () =>
        versions.updateSafe(
          {
            dryRun: args.dryRun,
            timeout: args.timeout,
            settle: args.settle,
            skipDataBackup: args.skipDataBackup,
            fullRestart: args.fullRestart,
            resume: args.resume,
            window: args.window,
          },
          {
            step: (line) =>
              args.json ? steps.push(line) : versions.quiet ? undefined : out.write(`${line}\n`),
            interactive: versions.drawsProgress,
          },
        ),
      { notify: args.notify, notifyCommand: args.notifyCommand },
      warn,
    );
    for (const w of r.warnings) warn(w);
    if (args.json) {
      out.write(json({ ...r, steps }));
      return 0;
    }
    for (const c of r.changes) {
      out.write(
        `${c.service}: ${showVersion(c.from)} → ${paint(out, "bold", showVersion(c.to))}${c.resolvedFrom ? paint(out, "dim", ` [${c.resolvedFrom} → ${c.to.tag}]`) : ""}\n`,
      );
    }
    if (r.unchanged.length > 0) out.write(paint(out, "dim", `unchanged: ${r.unchanged.join(", ")}\n`));
    if (r.outcome === "outside-window") out.write(`${r.window}\n`);
    else if (r.outcome === "dry-run") {
      writePlan(out, r.plan);
      out.write(r.changes.length ? "dry run: nothing was changed\n" : "nothing to update\n");
    } else if (r.outcome === "nothing-to-do")
      out.write("nothing to update: every service already runs its floating tag's digest\n");
    else out.write(paint(out, "green", `updated and healthy: ${r.recreated.join(", ")}\n`));
    return 0;
  },
};
