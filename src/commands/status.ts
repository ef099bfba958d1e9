// `status`: the project, its files, the manifest and the state of every service's containers.
import { json, paint, table } from "../render.js";
import type { Command } from "./command.js";

export const status: Command<{ json: boolean }> = {
  name: "status",
  describe: "Show the project, its manifest and the state of every service",
  group: "Start and stop",
  builder: (y) => y.option("json", { type: "boolean", default: false, describe: "Print JSON for scripts" }),
  async run(args, versions, out) {
    const report = await versions.status();
    if (args.json) {
      out.write(json(report));
      return 0;
    }
    out.write(`Project:   ${report.project}\n`);
    out.write(`Compose:   ${report.composeFiles.join(", ")}\n`);
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
                      ? `exited (${c.exitCode})`
                      : c.state;
                const colour =
                  word === "healthy" || word === "running" ? "green" : word === "starting" ? "yellow" : "red";
                return paint(out, colour, word);
              })
              .join(", ");
      return [s.service, s.image, state];
    });
    out.write(table(["SERVICE", "IMAGE", "STATE"], rows));
    return 0;
  },
};
