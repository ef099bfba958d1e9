// `__capture-logs --kind app|db`: the background log capture, started detached by updb, up and
// restart and stopped by down. Hidden from help: people never run it themselves.
import { CAPTURE_COMMAND, type CaptureKind } from "../core/log-lines.js";
import type { Command } from "./command.js";

export const captureLogs: Command<{ kind: CaptureKind }> = {
  name: CAPTURE_COMMAND,
  // yargs hides a command whose description is false.
  describe: false as unknown as string,
  builder: (y) => y.option("kind", { choices: ["app", "db"], demandOption: true }),
  async run(args, versions) {
    return versions.logs().capture(args.kind);
  },
};
