// `migrate-versions`: creates the manifest from the running project. Asks service by service
// on a terminal (Enter keeps the proposal); `--yes` takes every proposal without asking.
import { createInterface, type Interface } from "node:readline/promises";
import { shortDigest } from "../core/reference.js";
import { isFloatingTag } from "../core/tags.js";
import { UserError } from "../errors.js";
import { json, warn } from "../render.js";
import type { ComposeEdit, MigrationProposal, VersionRow } from "../service.js";
import type { Command } from "./command.js";
import { dryRunOption, jsonOption, nextSteps } from "./shared.js";

type Args = { yes: boolean; editCompose: boolean; dryRun: boolean; json: boolean };

/**
 * After a migration: floating tags to name by their version (resolve-tags), and per service what
 * brings it in line with the record; or that everything already runs what was recorded.
 */
export function whatNext(
  proposals: readonly Pick<MigrationProposal, "service" | "tag">[],
  rows: readonly VersionRow[] | null,
): string {
  const floating = proposals.filter((p) => isFloatingTag(p.tag)).map((p) => `${p.service} (${p.tag})`);
  const resolve = floating.length
    ? `  docker versions resolve-tags: records the version behind ${floating.join(", ")}, so check-updates can compare\n`
    : "";
  if (rows === null)
    return `\nNext:\n${resolve}  docker versions version: what runs against what was recorded\n`;
  const steps = nextSteps(rows);
  if (steps) return resolve ? `${steps}${resolve}` : steps;
  const synced = "every tracked service already runs its recorded version\n";
  return resolve ? `${synced}\nNext:\n${resolve}` : synced;
}

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
        if (args.dryRun) out.write("dry run: nothing written\n");
        else {
          const rows = await versions.version().catch(() => null);
          out.write(`wrote ${r.manifest} and versions.env\n${whatNext(r.proposals, rows)}`);
        }
      }
      return 0;
    } finally {
      rl?.close();
    }
  },
};
