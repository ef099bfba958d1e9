// `version`: each tracked service's tag, short digest, [custom], when it changed, and drift.
import { shortDigest } from "../core/reference.js";
import { json, paint, table } from "../render.js";
import type { Command } from "./command.js";
import { formatOption, outputFormat, renderTemplate } from "./format.js";
import { jsonOption, nextSteps } from "./shared.js";

export const version: Command<{ json: boolean; format?: string }> = {
  name: "version",
  examples: [
    ["docker versions version", "tag, digest and drift of every tracked service"],
    ["docker versions version --json", "the same for scripts"],
    ["docker versions version --format '{{.Service}}={{.Tag}}'", "one line per service"],
  ],
  describe: "Show each service's tag, digest, [custom] flag, deploy time and drift",
  builder: (y) => y.option("json", jsonOption).option("format", formatOption),
  async run(args, versions, out) {
    const format = outputFormat(args);
    const rows = await versions.version();
    if (format.kind === "json") {
      out.write(json(rows));
      return 0;
    }
    if (format.kind === "template") {
      out.write(renderTemplate(format.template, rows));
      return 0;
    }
    const driftCell = (d: (typeof rows)[number]) =>
      d.drift === "in sync"
        ? paint(out, "green", d.drift)
        : d.drift === "drift"
          ? paint(out, "red", `drift (runs ${shortDigest(d.running)})`)
          : d.drift === "unpinned"
            ? paint(out, "yellow", d.drift)
            : paint(out, "dim", d.drift);
    out.write(
      table(
        ["SERVICE", "ROLE", "TAG", "DIGEST", "", "CHANGED", "BY", "RUNNING"],
        rows.map((r) => [
          r.service,
          r.role,
          r.tag,
          shortDigest(r.digest),
          r.custom ? paint(out, "yellow", "[custom]") : "",
          r.updatedAt ?? "-",
          r.updatedBy ?? "-",
          driftCell(r),
        ]),
      ),
    );
    out.write(nextSteps(rows));
    return 0;
  },
};
