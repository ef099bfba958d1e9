// `rollback` (all changed services, or --service S [--to T]), `rollback-service`, `rollback-to`.

import { dryRunOption, jsonOption, renderChanges, serviceOption, tagOption } from "./changes.js";
import type { Command } from "./command.js";

type Args = { service?: string; to?: string; tag?: string; apply: boolean; dryRun: boolean; json: boolean };

const NEXT = "run 'docker versions restart' to run it (or pass --apply next time)";
const common = {
  apply: { type: "boolean", default: false, describe: "Also recreate the rolled-back containers" },
} as const;

export const rollback: Command<Args> = {
  name: "rollback",
  describe: "Roll back every changed service to its previous version (or --service S [--to T])",
  group: "Rollback",
  builder: (y) =>
    y
      .option("service", serviceOption)
      .option("to", tagOption)
      .options(common)
      .option("dry-run", dryRunOption)
      .option("json", jsonOption),
  async run(args, versions, out) {
    const r = await versions.rollback({
      service: args.service,
      to: args.to === undefined ? undefined : String(args.to),
      apply: args.apply,
      dryRun: args.dryRun,
    });
    if (r.changes.length === 0 && !args.json) {
      out.write("nothing to roll back: no service has a previous version that differs\n");
      return 0;
    }
    return renderChanges(out, r, { json: args.json, nextStep: NEXT });
  },
};

export const rollbackService: Command<Args> = {
  name: "rollback-service",
  describe: "Roll back one service to its previous version",
  group: "Rollback",
  builder: (y) =>
    y
      .option("service", { ...serviceOption, demandOption: true })
      .options(common)
      .option("dry-run", dryRunOption)
      .option("json", jsonOption),
  async run(args, versions, out) {
    const r = await versions.rollback({ service: args.service, apply: args.apply, dryRun: args.dryRun });
    return renderChanges(out, r, { json: args.json, nextStep: NEXT });
  },
};

export const rollbackTo: Command<Args> = {
  name: "rollback-to",
  describe: "Roll back one service to a named version (from history or the registry)",
  group: "Rollback",
  builder: (y) =>
    y
      .option("service", { ...serviceOption, demandOption: true })
      .option("tag", { ...tagOption, demandOption: true })
      .options(common)
      .option("dry-run", dryRunOption)
      .option("json", jsonOption),
  async run(args, versions, out) {
    const r = await versions.rollback({
      service: args.service,
      to: String(args.tag),
      apply: args.apply,
      dryRun: args.dryRun,
    });
    return renderChanges(out, r, { json: args.json, nextStep: NEXT });
  },
};
