// `fleet status`: per docker context, what the compose project runs there, the version name of
// each digest, and its drift against the reference record. Exit 0 in sync, 3 drift, 4 a host
// did not answer (see core/fleet.ts FLEET_EXIT).
import { type Drift, FLEET_HEADERS, fleetExitCode, fleetTable } from "../core/fleet.js";
import { type Colour, json, paint, table } from "../render.js";
import type { Command } from "./command.js";
import { jsonOption } from "./shared.js";

type Args = {
  action: "status";
  context?: string[];
  contexts?: string[];
  against?: string;
  timeout: number;
  registry: boolean;
  json: boolean;
};

const COLOUR: Record<Drift | "unreachable", Colour> = {
  unreachable: "red",
  "in sync": "green",
  drift: "red",
  "not running": "red",
  untracked: "yellow",
  unknown: "yellow",
  "no record": "dim",
};

export const fleet: Command<Args> = {
  name: "fleet",
  positionals: "<action>",
  examples: [
    [
      "docker versions -p shop fleet status --context eu-1 --context us-1",
      "what project shop runs on two hosts, and drift against ./version-manifest.yaml",
    ],
    [
      "docker versions -p shop fleet status --contexts 'prod-*' --against release/version-manifest.yaml",
      "every prod-* context against a release's record",
    ],
    ["docker versions -p shop fleet status --contexts '*' --json", "the same for scripts"],
  ],
  describe: "Show what each host (docker context) runs of the project: version names and drift",
  group: "Versions and updates",
  builder: (y) =>
    y
      .positional("action", { choices: ["status"], describe: "status" })
      .option("context", {
        type: "string",
        array: true,
        nargs: 1,
        requiresArg: true,
        describe: "A docker context to ask (repeatable)",
      })
      .option("contexts", {
        type: "string",
        array: true,
        nargs: 1,
        requiresArg: true,
        describe: "Every docker context whose name matches this pattern (* and ?; repeatable)",
      })
      .option("against", {
        type: "string",
        requiresArg: true,
        describe: "The reference record (default: the project's own version-manifest.yaml, if any)",
      })
      .option("timeout", {
        type: "number",
        default: 10,
        requiresArg: true,
        describe: "Seconds one host may take to answer before it is reported unreachable",
      })
      .option("registry", {
        type: "boolean",
        default: true,
        describe:
          "Ask the registry for the version of a digest the record does not name (--no-registry: never)",
      })
      .option("json", jsonOption),
  async run(args, versions, out) {
    const report = await versions.fleetStatus({
      contexts: args.context,
      patterns: args.contexts,
      against: args.against,
      timeoutMs: args.timeout * 1000,
      registry: args.registry,
    });
    const code = fleetExitCode(report);
    if (args.json) {
      out.write(json({ ...report, exitCode: code }));
      return code;
    }
    const { cells, drift } = fleetTable(report);
    // The drift column is coloured by what it says.
    const coloured = cells.map((row, i) =>
      row.map((cell, j) => (j === row.length - 1 ? paint(out, COLOUR[drift[i] ?? "unknown"], cell) : cell)),
    );
    out.write(table([...FLEET_HEADERS], coloured));
    const s = report.summary;
    const against = report.against ? `against ${report.against}` : "no reference record (drift not judged)";
    out.write(
      paint(
        out,
        "dim",
        `project ${report.project}, ${against}: ${s.hosts} host(s), ${s.drifting} drifting, ${s.unreachable} unreachable\n`,
      ),
    );
    return code;
  },
};
