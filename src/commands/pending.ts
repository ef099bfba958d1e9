// Commands that are part of the interface but not built yet: listed in help, and when run they
// say so and exit non-zero rather than print anything that looks like a result.
import { NotImplementedError } from "../errors.js";
import type { Command, Group } from "./command.js";

const pending = (name: string, group: Group, describe: string, aliases?: string[]): Command => ({
  name,
  group,
  describe,
  aliases,
  builder: (y) => y.strict(false),
  run: () => Promise.reject(new NotImplementedError(name)),
});

export const pendingCommands: Command[] = [
  pending("update-safe", "Versions and updates", "Backed-up, health-checked update that rolls itself back"),
];
