// `version-pull` and `version-set`: one service at a named tag (the latter marked [custom]).

import type { Command } from "./command.js";
import { changeFlags, renderChanges, serviceOption, tagOption } from "./shared.js";

type Args = { service: string; tag: string; dryRun: boolean; json: boolean; apply: boolean };

const make = (
  name: string,
  describe: string,
  custom: boolean,
  examples: [string, string][],
): Command<Args> => ({
  name,
  describe,
  examples,
  group: "Versions and updates",
  builder: (y) =>
    changeFlags(
      y
        .option("service", { ...serviceOption, demandOption: true })
        .option("tag", { ...tagOption, demandOption: true }),
    ),
  async run(args, versions, out) {
    const r = await versions.versionPull({
      service: args.service,
      tag: String(args.tag),
      dryRun: args.dryRun,
      apply: args.apply,
      custom,
    });
    return renderChanges(out, r, {
      json: args.json,
      nextStep: `run 'docker versions restart' to run it (or pass --apply)`,
    });
  },
});

export const versionPull = make("version-pull", "Pull one service at a given tag and record it", false, [
  ["docker versions version-pull --service taskservice --tag 1.42", "test one version, forward or back"],
]);
export const versionSet = make(
  "version-set",
  "Set a custom hotfix tag for one service, shown as [custom]",
  true,
  [["docker versions version-set --service req_router --tag 1.35-hotfix-customer123", "a customer's patch"]],
);
