// `status`: the project, its files, the manifest, every service with its role, state, health,
// uptime, restarts and drift, and whether the log captures run.
import { shortDigest } from "../core/reference.js";
import { json, paint, table } from "../render.js";
import type { Command } from "./command.js";
import { formatOption, outputFormat, renderTemplate } from "./format.js";
import { nextSteps, prometheusOption, stepsTo } from "./shared.js";

/** 42s, 5m12s, 3h4m, 2d5h. */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d${Math.floor((s % 86400) / 3600)}h`;
}

export const status: Command<{ json: boolean; format?: string; prometheus?: string }> = {
  name: "status",
  examples: [
    ["docker versions status", "every service: role, image, state, uptime, restarts, drift"],
    ["docker versions -f prod.yaml status --json", "the same for scripts, for another compose file"],
    [
      "docker versions status --format '{{.Service}} {{.Drift}}'",
      "one line per service, fields of the JSON rows",
    ],
  ],
  describe: "Show the project, its manifest and the state of every service",
  group: "Start and stop",
  builder: (y) =>
    y
      .option("json", { type: "boolean", default: false, describe: "Print JSON for scripts (--format json)" })
      .option("format", formatOption)
      .option("prometheus", prometheusOption),
  async run(args, versions, out) {
    const format = outputFormat(args);
    const report = await versions.status(stepsTo(versions, out));
    if (args.prometheus) await versions.unattended().writeStatusMetrics(args.prometheus, report.services);
    if (format.kind === "json") {
      out.write(json(report));
      return 0;
    }
    if (format.kind === "template") {
      out.write(renderTemplate(format.template, report.services));
      return 0;
    }
    out.write(`Project:   ${report.project}\n`);
    out.write(`Compose:   ${report.composeFiles.join(", ")}\n`);
    if (report.stack) out.write(`Stack:     ${report.stack} (Swarm)\n`);
    out.write(
      `Manifest:  ${report.manifest.path}${report.manifest.present ? "" : paint(out, "dim", " (none: plain Compose behaviour)")}\n\n`,
    );
    const rows = report.services.map((s) => {
      const state =
        s.containers.length === 0
          ? paint(out, "dim", "not created")
          : s.containers
              .map((c) => {
                const word =
                  c.state === "running"
                    ? c.health
                      ? c.health
                      : "running"
                    : c.state === "exited"
                      ? `exited (${c.exitCode}${c.oomKilled ? ", out of memory" : ""})`
                      : c.state;
                const colour =
                  word === "healthy" || word === "running" ? "green" : word === "starting" ? "yellow" : "red";
                return paint(out, colour, word);
              })
              .join(", ");
      const uptime = s.containers.map((c) => (c.uptime === undefined ? "-" : duration(c.uptime))).join(", ");
      const restarts = s.containers.map((c) => String(c.restarts)).join(", ");
      const drift =
        s.drift === "in sync"
          ? paint(out, "green", s.drift)
          : s.drift === "drift"
            ? paint(out, "red", s.drift)
            : s.drift === "unpinned"
              ? paint(out, "yellow", s.drift)
              : paint(out, "dim", s.drift);
      if (report.stack) {
        const r = s.swarm?.replicas;
        const replicas = r ? `${r.running}/${r.desired ?? "global"}` : paint(out, "dim", "not deployed");
        const digests = r?.digests.map((d) => `${d.tasks}× ${shortDigest(d.digest)}`).join(", ") || "-";
        return [s.service, s.role, s.image, replicas, digests, drift];
      }
      return [s.service, s.role, s.image, state, uptime || "-", restarts || "-", drift];
    });
    out.write(
      table(
        report.stack
          ? ["SERVICE", "ROLE", "IMAGE", "REPLICAS", "TASKS ON", "VERSION"]
          : ["SERVICE", "ROLE", "IMAGE", "STATE", "UPTIME", "RESTARTS", "VERSION"],
        rows,
      ),
    );
    out.write(nextSteps(report.services));
    if (report.stack) return 0; // a stack's services have no log capture of ours
    out.write("\nLog capture:\n");
    for (const c of report.captures) {
      const what = c.kind === "db" ? "database" : "app";
      out.write(
        c.running
          ? `  ${what}: ${paint(out, "green", "running")} (pid ${c.pid}, ${c.pidFile}) into ${c.dir}/\n`
          : `  ${what}: ${paint(out, "dim", "not running")}\n`,
      );
    }
    return 0;
  },
};
