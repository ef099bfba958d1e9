// `migrate-versions`: creates the manifest from the running project. Asks service by service
// on a terminal (Enter keeps the proposal); `--yes` takes every proposal without asking.
import { createInterface } from "node:readline/promises";
import { shortDigest } from "../core/reference.js";
import { UserError } from "../errors.js";
import { json } from "../render.js";
import type { MigrationProposal } from "../service.js";
import { dryRunOption, jsonOption } from "./changes.js";
import type { Command } from "./command.js";

export const migrateVersions: Command<{ yes: boolean; dryRun: boolean; json: boolean }> = {
  name: "migrate-versions",
  describe: "Create a manifest from the running project (wizard; --yes for scripts)",
  group: "Setup",
  builder: (y) =>
    y
      .option("yes", {
        alias: "y",
        type: "boolean",
        default: false,
        describe: "Accept every proposal without asking",
      })
      .option("dry-run", dryRunOption)
      .option("json", jsonOption),
  async run(args, versions, out) {
    const interactive = !args.yes && !args.dryRun;
    if (interactive && !process.stdin.isTTY)
      throw new UserError(
        "migrate-versions asks questions but stdin is not a terminal: pass --yes to accept the proposals",
      );
    const rl = interactive ? createInterface({ input: process.stdin, output: process.stdout }) : null;
    const decide = rl
      ? async (p: MigrationProposal) => {
          const where = p.running ? `runs ${shortDigest(p.digest)}` : "not running";
          const answer = (
            await rl.question(`${p.service} (${p.repository}, ${where}) tag [${p.tag}]: `)
          ).trim();
          return answer || p.tag;
        }
      : undefined;
    try {
      const r = await versions.migrate({ dryRun: args.dryRun, decide });
      for (const w of r.warnings) process.stderr.write(`warning: ${w}\n`);
      if (args.json) out.write(json(r));
      else if (!r.created && !args.dryRun)
        out.write(`already migrated: ${r.manifest} exists; nothing changed\n`);
      else {
        for (const p of r.proposals)
          out.write(
            `${p.service}: ${p.tag} (${shortDigest(p.digest)})${p.running ? "" : " [not running]"}\n`,
          );
        out.write(
          args.dryRun
            ? "dry run: nothing written\n"
            : `wrote ${r.manifest} and versions.env; next: docker versions restart\n`,
        );
      }
      return 0;
    } finally {
      rl?.close();
    }
  },
};
