// `version-history` (alias `history`): the deployments of each service, newest first.
import { shortDigest } from "../core/reference.js";
import { json, paint } from "../render.js";
import type { Command } from "./command.js";
import { formatOption, outputFormat, renderTemplate } from "./format.js";
import { jsonOption, serviceOption, switchFlag } from "./shared.js";

export const versionHistory: Command<{ json: boolean; format?: string; service?: string; audit: boolean }> = {
  name: "version-history",
  interpolatedOnly: true,
  examples: [
    ["docker versions version-history --service req_router", "what can be rolled back to"],
    ["docker versions history --audit", "every change: when, who, which command, old → new"],
    ["docker versions history --format '{{.Service}} {{.Tag}} {{.Mark}}'", "one line per history entry"],
  ],
  aliases: ["history"],
  describe: "Show the deployment history per service ([current], [previous])",
  builder: (y) =>
    y
      .option("service", serviceOption)
      .option("audit", switchFlag("Show the audit log instead: every change, by whom, old → new"))
      .option("json", jsonOption)
      .option("format", formatOption),
  async run(args, versions, out) {
    const format = outputFormat(args);
    if (args.audit) {
      const lines = await versions.audit({ service: args.service });
      if (format.kind === "template")
        out.write(
          renderTemplate(
            format.template,
            lines.map((line) => ({ line })),
          ),
        );
      else
        out.write(
          format.kind === "json"
            ? json(lines)
            : lines.map((l) => `${l}\n`).join("") || "no change recorded yet\n",
        );
      return 0;
    }
    const report = await versions.history({ service: args.service });
    if (format.kind === "json") {
      out.write(json(report));
      return 0;
    }
    if (format.kind === "template") {
      // One row per entry, its service named on it.
      const rows = report.services.flatMap((s) => s.entries.map((e) => ({ service: s.service, ...e })));
      out.write(renderTemplate(format.template, rows));
      return 0;
    }
    for (const s of report.services) {
      out.write(`${paint(out, "bold", s.service)}:\n`);
      if (s.entries.length === 0) out.write(`  ${s.current.tag}  (no history recorded)\n`);
      const width = Math.max(8, ...s.entries.map((e) => e.tag.length));
      for (const e of s.entries) {
        const mark = e.mark ? paint(out, e.mark === "current" ? "green" : "yellow", `[${e.mark}]`) : "";
        out.write(
          `  ${e.tag.padEnd(width)}  ${(e.at || "-").padEnd(20)}  ${shortDigest(e.digest).padEnd(12)}  ${(e.source || "-").padEnd(14)}  ${mark}`
            .trimEnd()
            .concat("\n"),
        );
      }
    }
    return 0;
  },
};
