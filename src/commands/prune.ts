// `prune`: removes the local images of the tracked repositories that no record entry and no
// container uses, so every rollback in the history still works without the registry.
import { json, paint, table, warn } from "../render.js";
import type { Command } from "./command.js";
import { dryRunOption, jsonOption } from "./shared.js";

export function size(bytes: number): string {
  if (bytes >= 1024 ** 3) return `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
  if (bytes >= 1024 ** 2) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} B`;
}

export const prune: Command<{ dryRun: boolean; json: boolean }> = {
  name: "prune",
  examples: [
    ["docker versions prune --dry-run", "which images would go, and which are kept for rollbacks"],
    ["docker versions prune", "free the space; every rollback in the history still works offline"],
  ],
  describe: "Remove the tracked repositories' images that no record entry or container uses",
  builder: (y) => y.option("dry-run", dryRunOption).option("json", jsonOption),
  async run(args, versions, out) {
    const r = await versions.unattended().prune({ dryRun: args.dryRun });
    for (const w of r.warnings) warn(w);
    if (args.json) {
      out.write(json(r));
      return 0;
    }
    const rows = [
      ...r.plan.remove.map((i) => [
        i.refs[0] ?? i.id,
        size(i.size),
        paint(out, "yellow", r.dryRun ? "would remove" : "removed"),
      ]),
      ...r.plan.keep.map((i) => [i.refs[0] ?? i.id, size(i.size), paint(out, "dim", `kept: ${i.why}`)]),
    ];
    if (rows.length > 0) out.write(table(["IMAGE", "SIZE", "WHAT"], rows));
    if (r.plan.remove.length === 0)
      out.write("nothing to remove: every local image of the tracked repositories is needed\n");
    else if (r.dryRun)
      out.write(
        `dry run: ${r.plan.remove.length} image(s) would be removed, freeing up to ${size(r.freed)}\n`,
      );
    else out.write(`removed ${r.removed.length} image name(s); freed ${size(r.freed)}\n`);
    return 0;
  },
};
