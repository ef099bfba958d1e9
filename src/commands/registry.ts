// `resolve-tags` and `check-updates`: the commands that ask the registry about tags.
import { json, paint, table } from "../render.js";
import { dryRunOption, jsonOption, renderChanges, serviceOption } from "./changes.js";
import type { Command } from "./command.js";
import { formatOption, outputFormat, renderTemplate } from "./format.js";

export const resolveTags: Command<{ dryRun: boolean; json: boolean }> = {
  name: "resolve-tags",
  examples: [["docker versions resolve-tags --dry-run", "which floating tags have a semantic twin"]],
  describe: "Turn floating tags (latest) into the semantic tag with the same digest",
  group: "Registry",
  builder: (y) => y.option("dry-run", dryRunOption).option("json", jsonOption),
  async run(args, versions, out) {
    const r = await versions.resolveTags({ dryRun: args.dryRun });
    if (r.changes.length === 0 && !args.json) {
      for (const w of r.warnings) process.stderr.write(`warning: ${w}\n`);
      out.write("no floating tag to resolve\n");
      return 0;
    }
    return renderChanges(out, r, { json: args.json });
  },
};

export const checkUpdates: Command<{
  json: boolean;
  format?: string;
  prereleases: boolean;
  exitCode: boolean;
  service?: string;
}> = {
  name: "check-updates",
  examples: [["docker versions check-updates --exit-code || echo updates available", "for cron jobs and CI"]],
  describe: "List newer tags per service (semver-aware) and whether the floating tag moved",
  group: "Registry",
  builder: (y) =>
    y
      .option("service", serviceOption)
      .option("prereleases", {
        type: "boolean",
        default: false,
        describe: "Include pre-release tags (1.2.0-rc.1)",
      })
      .option("exit-code", {
        type: "boolean",
        default: false,
        describe: "Exit 2 when updates exist (for scripts)",
      })
      .option("json", jsonOption)
      .option("format", formatOption),
  async run(args, versions, out) {
    const format = outputFormat(args);
    const rows = await versions.checkUpdates({ prereleases: args.prereleases, service: args.service });
    const available = rows.some((r) => (r.updates?.newer.length ?? 0) > 0 || r.floatingMoved);
    if (format.kind === "json") out.write(json(rows));
    else if (format.kind === "template") out.write(renderTemplate(format.template, rows));
    else {
      const list = (tags: readonly string[] | undefined) => (tags && tags.length > 0 ? tags.join(", ") : "-");
      out.write(
        table(
          ["SERVICE", "CURRENT", "MAJOR", "MINOR", "PATCH", "FLOATING"],
          rows.map((r) => [
            r.service,
            r.current,
            r.error ? paint(out, "red", r.error) : list(r.updates?.major),
            r.error ? "" : list(r.updates?.minor),
            r.error ? "" : list(r.updates?.patch),
            r.error
              ? ""
              : r.floatingMoved
                ? paint(out, "yellow", `${r.floatingTag} moved`)
                : `${r.floatingTag} unchanged`,
          ]),
        ),
      );
    }
    for (const r of rows) if (r.error) process.stderr.write(`warning: ${r.service}: ${r.error}\n`);
    return args.exitCode && available ? 2 : 0;
  },
};
