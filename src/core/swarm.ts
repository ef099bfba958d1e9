// A Swarm stack as plain data: its services (spec image, replicas, update state) and tasks, and
// the decisions made from them: whether a deployed service has converged, rolled back or failed;
// how many tasks run which digest; the environment `docker stack deploy` interpolates from.
import { nameOrder } from "./order.js";

/** One service of a stack as `docker service inspect` shows it. */
export interface StackService {
  /** The compose service name (the Swarm name without its `<stack>_` prefix). */
  service: string;
  /** The Swarm service name, `<stack>_<service>`. */
  name: string;
  id: string;
  /** The spec's image: `repo:tag@sha256:…` once `docker stack deploy` resolved it. */
  image: string;
  /** Replicas wanted; null for a global service (one task per node). */
  desired: number | null;
  /** What Swarm's updater says: updating, completed, paused, rollback_started, rollback_completed, … */
  updateState?: string;
  updateMessage?: string;
  /** update_config's failure_action (pause, continue, rollback); Swarm's default is pause. */
  failureAction: string;
}

/** One task Swarm wants running (desired state running). */
export interface StackTask {
  id: string;
  serviceId: string;
  /** The task's image, `repo:tag@sha256:…`. */
  image: string;
  /** new, pending, assigned, preparing, starting, running, failed, … */
  state: string;
  containerId?: string;
  nodeId: string;
  slot?: number;
}

/** The tag and digest an image reference of a spec names (either may be absent). */
export function specVersion(image: string): { tag?: string; digest?: string } {
  const at = image.indexOf("@");
  const name = at >= 0 ? image.slice(0, at) : image;
  const digest = at >= 0 ? image.slice(at + 1) : undefined;
  const colon = name.lastIndexOf(":");
  const tag = colon > name.lastIndexOf("/") ? name.slice(colon + 1) : undefined;
  return { tag, digest };
}

/** The repository of a spec image, without tag or digest. */
export function specRepository(image: string): string {
  const at = image.indexOf("@");
  const name = at >= 0 ? image.slice(0, at) : image;
  const colon = name.lastIndexOf(":");
  return colon > name.lastIndexOf("/") ? name.slice(0, colon) : name;
}

/** Per service: how many of its tasks run, how many are wanted, and which digest each runs. */
export interface ReplicaSummary {
  running: number;
  desired: number | null;
  /** Digest (or the image when it has none) → tasks in state running on it, sorted by count. */
  digests: { digest: string; tasks: number }[];
}

export function replicaSummary(svc: StackService, tasks: readonly StackTask[]): ReplicaSummary {
  const running = tasks.filter((t) => t.serviceId === svc.id && t.state === "running");
  const counts = new Map<string, number>();
  for (const t of running) {
    const key = specVersion(t.image).digest ?? t.image;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return {
    running: running.length,
    desired: svc.desired,
    digests: [...counts]
      .map(([digest, n]) => ({ digest, tasks: n }))
      .sort((a, b) => b.tasks - a.tasks || nameOrder(a.digest, b.digest)),
  };
}

export type Convergence =
  | { state: "converged" }
  | { state: "pending"; detail: string }
  | { state: "rolled-back"; detail: string }
  | { state: "failed"; detail: string };

// The updater is still at work in these states; anything else is its last word.
const IN_PROGRESS = new Set(["updating", "rollback_started"]);

/**
 * Where one service stands after a deploy that set its image to `desired`: converged when every
 * task Swarm wants runs that digest (as many as wanted) and its updater is not mid-update;
 * rolled back when Swarm put the previous spec back (failure_action: rollback); failed when the
 * updater paused; pending otherwise. A stale "completed" from an earlier update does not count:
 * the tasks must run the new digest too.
 */
export function convergence(svc: StackService, tasks: readonly StackTask[], desired: string): Convergence {
  const want = specVersion(desired).digest ?? desired;
  const now = specVersion(svc.image).digest ?? svc.image;
  const message = svc.updateMessage ? `: ${svc.updateMessage}` : "";
  if (svc.updateState === "rollback_completed" && now !== want)
    return { state: "rolled-back", detail: `Swarm rolled ${svc.service} back${message}` };
  if (svc.updateState === "paused" || svc.updateState === "rollback_paused")
    return { state: "failed", detail: `Swarm paused the update of ${svc.service}${message}` };
  const summary = replicaSummary(svc, tasks);
  const onWant = summary.digests.find((d) => d.digest === want)?.tasks ?? 0;
  const wanted = tasks.filter((t) => t.serviceId === svc.id).length;
  const progress = `${onWant}/${svc.desired ?? wanted} task(s) on ${want.slice(0, 19)}`;
  if (svc.updateState && IN_PROGRESS.has(svc.updateState))
    return { state: "pending", detail: `${svc.updateState}, ${progress}` };
  const enough = svc.desired === null ? onWant === wanted && wanted > 0 : onWant === svc.desired;
  if (now === want && enough && onWant === summary.running) return { state: "converged" };
  return { state: "pending", detail: progress };
}

/**
 * The environment `docker stack deploy` interpolates the compose files from. Compose reads the
 * project's env files and lets the shell override them; stack deploy reads only its environment,
 * so both are folded in here, in Compose's order, and versions.env has the last word.
 */
export function stackEnvironment(
  envFiles: readonly string[],
  shell: NodeJS.ProcessEnv,
  versions: string | null,
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const text of envFiles) Object.assign(env, parseDotenv(text));
  Object.assign(env, shell);
  if (versions !== null) Object.assign(env, parseDotenv(versions));
  return env;
}

/** KEY=VALUE lines as Compose's env files hold them (comments, `export`, simple quotes). */
export function parseDotenv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*)$/.exec(line);
    if (!m) continue;
    let value = m[2] as string;
    const q = value[0];
    if ((q === '"' || q === "'") && value.lastIndexOf(q) > 0) value = value.slice(1, value.lastIndexOf(q));
    else value = value.replace(/\s+#.*$/, "");
    out[m[1] as string] = value;
  }
  return out;
}
