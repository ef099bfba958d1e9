// `resolve-tags` and `check-updates`: the commands that ask the registry about tags.
import { json, paint, table, warn } from "../render.js";
import type { Command } from "./command.js";
import { formatOption, outputFormat, renderTemplate } from "./format.js";
import {
  dryRunOption,
  jsonOption,
  notifyOptions,
  prometheusOption,
  renderChanges,
  serviceOption,
} from "./shared.js";

export const resolveTags: Command<{ dryRun: boolean; json: boolean }> = {
  name: "resolve-tags",
  examples: [["docker versions resolve-tags --dry-run", "which floating tags have a semantic twin"]],
  describe: "Turn floating tags (latest) into the semantic tag with the same digest",
  builder: (y) => y.option("dry-run", dryRunOption).option("json", jsonOption),
  async run(args, versions, out) {
    const r = await versions.resolveTags({ dryRun: args.dryRun });
    if (r.changes.length === 0 && !args.json) {
      for (const w of r.warnings) warn(w);
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
  notify?: string[];
  notifyCommand?: string[];
  prometheus?: string;
}> = {
  name: "check-updates",
  interpolatedOnly: true,
  examples: [
    ["docker versions check-updates --exit-code || echo updates available", "for cron jobs and CI"],
    [
      "docker versions check-updates --notify slack+https://hooks.slack.com/services/…",
      "announce each new version once",
    ],
  ],
  describe: "List newer versions in each service's line and whether the floating tag moved",
  builder: (y) =>
    notifyOptions(y)
      .option("service", serviceOption)
      .option("prereleases", {
        type: "boolean",
        default: false,
        describe: "Include pre-release tags (1.2.0-rc.1, 2024.12.0b2)",
      })
      .option("exit-code", {
        type: "boolean",
        default: false,
        describe: "Exit 2 when something newer exists in a service's line (for scripts)",
      })
      .option("prometheus", prometheusOption)
      .option("json", jsonOption)
      .option("format", formatOption),
  async run(args, versions, out) {
    const format = outputFormat(args);
    const unattended = versions.unattended();
    const notify = { notify: args.notify, notifyCommand: args.notifyCommand, prometheus: args.prometheus };
    unattended.destinations(notify); // a bad --notify is a usage error before the registry is asked
    const rows = await versions.checkUpdates({ prereleases: args.prereleases, service: args.service });
    const available = rows.some((r) => r.available);
    if (format.kind === "json") out.write(json(rows));
    else if (format.kind === "template") out.write(renderTemplate(format.template, rows));
    else {
      const list = (tags: readonly string[] | undefined) => (tags && tags.length > 0 ? tags.join(", ") : "-");
      const floating = (r: (typeof rows)[number]) =>
        !r.floatingMoved
          ? `${r.floatingTag} unchanged`
          : paint(
              out,
              "yellow",
              r.floatingTo ? `${r.floatingTag} → ${r.floatingTo}` : `${r.floatingTag} moved`,
            );
      out.write(
        table(
          ["SERVICE", "CURRENT", "MAJOR", "MINOR", "PATCH", "OUTSIDE LINE", "FLOATING"],
          rows.map((r) =>
            r.error
              ? [r.service, r.current, paint(out, "red", r.error), "", "", "", ""]
              : [
                  r.service,
                  r.current,
                  list(r.updates?.major),
                  list(r.updates?.minor),
                  list(r.updates?.patch),
                  r.updates?.outside[0] ?? "-",
                  floating(r),
                ],
          ),
        ),
      );
    }
    for (const r of rows) if (r.error) warn(`${r.service}: ${r.error}`);
    // A failed delivery is a warning; it never changes the exit code.
    for (const w of await unattended.afterCheck(rows, notify)) warn(w);
    return args.exitCode && available ? 2 : 0;
  },
};
