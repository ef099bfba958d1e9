// `migrate-versions`: creates the manifest from the running project. Asks service by service
// on a terminal (Enter keeps the proposal); `--yes` takes every proposal without asking.
import { createInterface, type Interface } from "node:readline/promises";
import { shortDigest } from "../core/reference.js";
import { UserError } from "../errors.js";
import { json, warn } from "../render.js";
import type { ComposeEdit, MigrationProposal } from "../service.js";
import type { Command } from "./command.js";
import { dryRunOption, jsonOption } from "./shared.js";

type Args = { yes: boolean; editCompose: boolean; dryRun: boolean; json: boolean };

export const migrateVersions: Command<Args> = {
  name: "migrate-versions",
  examples: [
    ["docker versions migrate-versions", "ask service by service, Enter accepts"],
    [
      "docker versions migrate-versions --yes --no-edit-compose",
      "accept everything, never touch the compose files",
    ],
  ],
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
      .option("edit-compose", {
        type: "boolean",
        default: true,
        describe:
          "Offer to make image: lines without a version variable interpolate one (--no-edit-compose leaves the files alone)",
      })
      .option("dry-run", dryRunOption)
      .option("json", jsonOption),
  async run(args, versions, out) {
    let rl: Interface | undefined;
    // Asked only when there is something to ask, so a migrated project answers without a terminal.
    const ask = async (question: string): Promise<string> => {
      if (!process.stdin.isTTY)
        throw new UserError(
          "migrate-versions asks questions but stdin is not a terminal: pass --yes to accept the proposals",
        );
      rl ??= createInterface({ input: process.stdin, output: process.stdout });
      return (await rl.question(question)).trim();
    };
    const interactive = !args.yes && !args.dryRun;
    const decide = interactive
      ? async (p: MigrationProposal) =>
          (await ask(
            `${p.service} (${p.repository}, ${p.running ? `runs ${shortDigest(p.digest)}` : "not running"}) tag [${p.tag}]: `,
          )) || p.tag
      : undefined;
    const editCompose = !args.editCompose
      ? undefined
      : interactive
        ? async (e: ComposeEdit) =>
            !/^n/i.test(
              await ask(`${e.service}: rewrite image: ${e.before} → ${e.after} in ${e.file}? [Y/n] `),
            )
        : async () => true;
    try {
      const r = await versions.migrate({ dryRun: args.dryRun, decide, editCompose });
      for (const w of r.warnings) warn(w);
      if (args.json) out.write(json(r));
      else if (!r.created && !args.dryRun)
        out.write(`already migrated: ${r.manifest} exists; nothing changed\n`);
      else {
        for (const e of r.composeEdits)
          out.write(
            `${e.file}: ${e.service} image: ${e.before} → ${e.after} (backup in .version-backups/)\n`,
          );
        for (const p of r.proposals)
          out.write(
            `${p.service}: ${p.tag} (${shortDigest(p.digest)})${p.running ? "" : " [not running]"}${p.floating ? ` [follows ${p.floating}]` : ""}\n`,
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
