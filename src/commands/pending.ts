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
  pending("update", "Versions and updates", "down, pull, build: the from-source workflow"),
  pending("update-safe", "Versions and updates", "Backed-up, health-checked update that rolls itself back"),
  pending("updb", "Start and stop", "Start the database services and wait until healthy"),
  pending("up", "Start and stop", "Start the app services with the manifest's versions"),
  pending("down", "Start and stop", "Stop every container of the project and the log captures"),
  pending("restart", "Start and stop", "down, updb, up (or recreate one service with --service)"),
  pending("logs", "Logs", "Follow the project's logs"),
  pending("logs-today", "Logs", "Show today's captured app logs"),
  pending("dblogs-today", "Logs", "Show today's captured database logs"),
  pending("dblogs-errors", "Logs", "Show database errors: OOM kills, killed containers, fatal lines"),
];
