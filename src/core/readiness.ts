// Whether a service is ready, judged from one observation of its containers: healthy (its
// healthcheck passed), running (no healthcheck, settled), completed (exited 0), still waiting
// (and why), or failed (and why). Pure code; lifecycle.ts polls and feeds it.

export type ReadyState = "healthy" | "running" | "completed";

/** One container of the service as seen now: Compose's `ps` line, and the engine's details. */
export interface ObservedContainer {
  state: string;
  health: string;
  exitCode: number;
  /** From `docker inspect`, when it answered. */
  info?: {
    running: boolean;
    restarting: boolean;
    health: string;
    exitCode: number;
    oomKilled: boolean;
    restartCount: number;
  };
  /** How long this very start of the container has been seen running, in ms (0 if not). */
  runningMs: number;
}

export type Verdict = { ready: ReadyState } | { waiting: string } | { failed: string };

/**
 * A service with no container waits for one; an unhealthy or crashed container fails it at
 * once; a restarting or starting one makes it wait; without a healthcheck a container must
 * have run `settleMs` in one start. A service whose containers all exited 0 has completed.
 */
export function judge(containers: readonly ObservedContainer[], settleMs: number): Verdict {
  if (containers.length === 0) return { waiting: "has no container" };
  let state: ReadyState | undefined;
  for (const c of containers) {
    const health = c.info?.health ?? c.health;
    const running = c.info ? c.info.running && !c.info.restarting : c.state === "running";
    if (health === "unhealthy") return { failed: "is unhealthy (its healthcheck fails)" };
    if (!running && (c.info?.restarting || c.state === "restarting"))
      return { waiting: `is restarting (${c.info?.restartCount ?? 0} restarts)` };
    if (!running) {
      const code = c.info?.exitCode ?? c.exitCode;
      if (code === 0 && c.state === "exited") {
        state ??= "completed";
        continue;
      }
      if (c.state === "created") return { failed: "was created but not started" };
      return { failed: `exited with code ${code}${c.info?.oomKilled ? " (out of memory)" : ""}` };
    }
    if (health === "healthy") {
      state = state === undefined || state === "completed" ? "healthy" : state;
      continue;
    }
    if (health === "starting") return { waiting: "is starting (its healthcheck has not passed yet)" };
    // No healthcheck: running, and still the same start, for the settle time.
    if (c.runningMs < settleMs) return { waiting: "is running but has not settled yet" };
    state = state === "healthy" ? "healthy" : "running";
  }
  return state ? { ready: state } : { waiting: "" };
}
