// `rollback` (all changed services, or --service S [--to T]), `rollback-service`, `rollback-to`.

import type { Command } from "./command.js";
import { changeFlags, renderChanges, serviceOption, tagOption } from "./shared.js";

type Args = { service?: string; to?: string; tag?: string; apply: boolean; dryRun: boolean; json: boolean };

const NEXT = "run 'docker versions restart' to run it (or pass --apply next time)";
const APPLY = "Also recreate the rolled-back containers";

export const rollback: Command<Args> = {
  name: "rollback",
  examples: [
    ["docker versions rollback", "every service whose previous version differs"],
    [
      "docker versions rollback --service taskservice --to 1.41 --apply",
      "one service to a named version, and recreate it",
    ],
  ],
  describe: "Roll back every changed service to its previous version (or --service S [--to T])",
  group: "Rollback",
  builder: (y) => changeFlags(y.option("service", serviceOption).option("to", tagOption), APPLY),
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
  examples: [
    [
      "docker versions rollback-service --service taskservice --apply",
      "previous version of one service, recreated at once",
    ],
  ],
  describe: "Roll back one service to its previous version",
  group: "Rollback",
  builder: (y) => changeFlags(y.option("service", { ...serviceOption, demandOption: true }), APPLY),
  async run(args, versions, out) {
    const r = await versions.rollback({ service: args.service, apply: args.apply, dryRun: args.dryRun });
    return renderChanges(out, r, { json: args.json, nextStep: NEXT });
  },
};

export const rollbackTo: Command<Args> = {
  name: "rollback-to",
  examples: [
    [
      "docker versions rollback-to --service taskservice --tag 1.41",
      "a version from history, or from the registry",
    ],
  ],
  describe: "Roll back one service to a named version (from history or the registry)",
  group: "Rollback",
  builder: (y) =>
    changeFlags(
      y
        .option("service", { ...serviceOption, demandOption: true })
        .option("tag", { ...tagOption, demandOption: true }),
      APPLY,
    ),
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
