// `generate-env`: rewrites versions.env from the manifest.

import { warn } from "../render.js";
import type { Command } from "./command.js";
import { dryRunOption } from "./shared.js";

export const generateEnv: Command<{ dryRun: boolean }> = {
  name: "generate-env",
  examples: [
    ["docker versions generate-env", "rewrite versions.env after restoring a manifest backup"],
    ["docker versions generate-env --dry-run", "print the versions.env the manifest gives, writing nothing"],
  ],
  describe: "Rewrite versions.env from the manifest",
  builder: (y) => y.option("dry-run", dryRunOption),
  async run(args, versions, out) {
    const r = await versions.generateEnv({ dryRun: args.dryRun });
    for (const w of r.warnings) warn(w);
    out.write(args.dryRun ? r.text : `wrote ${r.path}\n`);
    return 0;
  },
};
