// Runs the record on a Swarm stack: `docker stack deploy` of the compose files with the pinned
// values in its environment, then waits for Swarm's own update machinery to finish with the
// services that changed: converged on the recorded digests, rolled back, or paused.
import type { DockerCli } from "./adapters/docker.js";
import { deployStack, lastTaskError, requireManager, stackServices, stackTasks } from "./adapters/swarm.js";
import { type Convergence, convergence, stackEnvironment } from "./core/swarm.js";
import { UserError } from "./errors.js";

export interface StackDeploy {
  stack: string;
  files: readonly string[];
  workingDir: string;
  /** The texts of the project's env files, in order, and of versions.env (null without one). */
  envTexts: readonly string[];
  versionsEnv: string | null;
  /** The services whose update is waited for, and the digest each must run (when recorded). */
  wanted: Record<string, string | undefined>;
  /** Seconds Swarm has to finish their update. */
  timeout: number;
  progress?: (line: string) => void;
}

const POLL_MS = 1000;

/**
 * Deploys and waits; resolves when every wanted service runs its digest on as many tasks as
 * wanted, throws (an engine error, one line) when Swarm rolled one back or paused, or the
 * timeout passed first.
 */
export async function deployAndConverge(cli: DockerCli, d: StackDeploy): Promise<void> {
  await requireManager(cli);
  const env = stackEnvironment(d.envTexts, cli.env, d.versionsEnv);
  d.progress?.(`docker stack deploy ${d.stack}`);
  await deployStack(cli, d.stack, d.files, d.workingDir, env);
  // A service without a recorded digest must run what the deploy put in its spec.
  const after = await stackServices(cli, d.stack);
  const wanted = new Map<string, string>();
  for (const [service, digest] of Object.entries(d.wanted)) {
    const spec = after.find((s) => s.service === service);
    if (!spec) throw new UserError(`stack ${d.stack} has no service ${service} after the deploy`, "engine");
    wanted.set(service, digest ?? spec.image);
  }
  const deadline = Date.now() + d.timeout * 1000;
  let said = "";
  const causes = new Map<string, string>();
  for (;;) {
    const [services, tasks] = await Promise.all([stackServices(cli, d.stack), stackTasks(cli, d.stack)]);
    const states = [...wanted].map(([service, want]) => {
      const svc = services.find((s) => s.service === service);
      // While Swarm rolls back its message names the task that failed; afterwards it does not.
      if (svc?.updateState === "rollback_started" && svc.updateMessage)
        causes.set(service, svc.updateMessage);
      const c: Convergence = svc
        ? convergence(svc, tasks, want)
        : { state: "failed", detail: `service ${service} is gone from stack ${d.stack}` };
      return { service, c };
    });
    const bad = states.find((s) => s.c.state === "rolled-back" || s.c.state === "failed");
    // Others may still be updating: a rollback is reported once all have finished either way.
    const pending = states.filter((s) => s.c.state === "pending");
    if (pending.length === 0) {
      if (bad && "detail" in bad.c) {
        // Swarm says only that it rolled back; the failed task says why.
        const why = causes.get(bad.service) ?? (await lastTaskError(cli, `${d.stack}_${bad.service}`));
        throw new UserError(`${bad.c.detail}${why ? ` (${why})` : ""}`, "engine");
      }
      return;
    }
    const line = pending.map((s) => `${s.service}: ${"detail" in s.c ? s.c.detail : ""}`).join("; ");
    if (line !== said) d.progress?.(`waiting for Swarm: ${line}`);
    said = line;
    if (Date.now() > deadline)
      throw new UserError(
        `stack ${d.stack} did not converge within ${d.timeout}s (${bad && "detail" in bad.c ? `${bad.c.detail}; ` : ""}${line})`,
        "engine",
      );
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}
