// `rollback` (all changed services, or --service S [--to T]), `rollback-service`, `rollback-to`.

import type { Out } from "../render.js";
import type { Versions } from "../service.js";
import type { Command } from "./command.js";
import {
  changeFlags,
  renderChanges,
  requiredServiceOption,
  serviceAndTag,
  serviceOption,
  tagOption,
} from "./shared.js";

type Args = { service?: string; to?: string; tag?: string; apply: boolean; dryRun: boolean; json: boolean };

const NEXT = "run 'docker versions restart' to run it (or pass --apply next time)";
const APPLY = "Also recreate the rolled-back containers";

/**
 * The run of all three: they differ only in the flags they take (rollback's --to is rollback-to's
 * --tag). `nothing` is what rollback says when no service has a previous version to go back to.
 */
function rollBack(nothing?: string) {
  return async (args: Args, versions: Versions, out: Out): Promise<number> => {
    const to = args.to ?? args.tag;
    const r = await versions.rollback({
      service: args.service,
      to: to === undefined ? undefined : String(to),
      apply: args.apply,
      dryRun: args.dryRun,
    });
    if (nothing && r.changes.length === 0 && !args.json) {
      out.write(nothing);
      return 0;
    }
    return renderChanges(out, r, { json: args.json, nextStep: NEXT });
  };
}

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
  builder: (y) => changeFlags(y.option("service", serviceOption).option("to", tagOption), APPLY),
  run: rollBack("nothing to roll back: no service has a previous version that differs\n"),
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
  builder: (y) => changeFlags(y.option("service", requiredServiceOption), APPLY),
  run: rollBack(),
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
  builder: (y) => changeFlags(serviceAndTag(y), APPLY),
  run: rollBack(),
};
