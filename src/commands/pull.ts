// `pull` and `pull-latest`: the recorded versions by digest, or the floating tags recorded anew.
import { json } from "../render.js";
import type { Command } from "./command.js";
import { changeFlags, jsonOption, renderChanges, serviceOption } from "./shared.js";

export const pull: Command<{ service?: string; json: boolean }> = {
  name: "pull",
  examples: [
    [
      "docker versions pull",
      "pull exactly the recorded digests (what the compose file names without a manifest)",
    ],
    ["docker versions pull --service taskservice", "one service only"],
  ],
  describe: "Pull the manifest's versions by digest (or what the compose file names)",
  group: "Versions and updates",
  builder: (y) => y.option("service", serviceOption).option("json", jsonOption),
  async run(args, versions, out) {
    const r = await versions.pull({ service: args.service });
    if (args.json) out.write(json(r));
    else if (r.mode === "manifest") {
      out.write(
        `pulled: ${r.pulled.join(", ") || "none"}${r.present.length ? `; already present: ${r.present.join(", ")}` : ""}\n`,
      );
    }
    return 0;
  },
};

export const pullLatest: Command<{ dryRun: boolean; json: boolean; apply: boolean }> = {
  name: "pull-latest",
  examples: [
    ["docker versions pull-latest", "pull latest everywhere, record the digests, latest → 1.65"],
    ["docker versions pull-latest --dry-run", "ask the registry what would change; pull nothing"],
    ["docker versions --stack shop pull-latest --apply", "record, then deploy the stack on the new digests"],
  ],
  describe: "Pull the floating tag (latest) of every service and record it",
  group: "Versions and updates",
  builder: (y) => changeFlags(y),
  async run(args, versions, out) {
    const r = await versions.pullLatest({ dryRun: args.dryRun, apply: args.apply });
    if ("mode" in r) {
      if (args.json) out.write(json(r));
      else if (args.dryRun) out.write("no manifest: would run docker compose pull\n");
      return 0;
    }
    return renderChanges(out, r, {
      json: args.json,
      nextStep: args.apply
        ? undefined
        : "run 'docker versions restart' to run the new versions (or pass --apply)",
    });
  },
};
