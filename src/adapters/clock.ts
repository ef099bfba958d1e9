// The one clock of a command: real time, unless DOCKER_VERSIONS_CLOCK_FILE names a file holding
// an ISO date-time that stands in for "now" (the tests' injectable clock, and anyone's who checks
// the daily rotation of the log files).
import { readFileSync } from "node:fs";

export const CLOCK_FILE_VARIABLE = "DOCKER_VERSIONS_CLOCK_FILE";

/** Real time, unless `DOCKER_VERSIONS_CLOCK_FILE` names a file with a date-time in it. */
export function clockFrom(env: NodeJS.ProcessEnv): () => Date {
  const file = env[CLOCK_FILE_VARIABLE];
  if (!file) return () => new Date();
  let cached: { at: number; value: Date } | undefined;
  return () => {
    const now = Date.now();
    if (cached && now - cached.at < 200) return cached.value;
    let value = new Date();
    try {
      const parsed = new Date(readFileSync(file, "utf8").trim());
      if (!Number.isNaN(parsed.getTime())) value = parsed;
    } catch {
      // no file (yet): real time
    }
    cached = { at: now, value };
    return value;
  };
}
