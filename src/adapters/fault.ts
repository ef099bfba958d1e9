// Test-only fault injection. DOCKER_VERSIONS_FAULT=<point>[#n][:throw][,…] makes the process die
// by SIGKILL the n-th time (default: the first) it reaches <point>, exactly as a kill -9 or a
// power cut would at that moment, so tests can prove what the next command makes of the
// leftovers. With `:throw` it throws an unexpected error there instead (not a UserError: a bug's
// shape), so tests can prove that a failure of any kind is handled like an expected one.
// Operators never set it; without it every fault point is a no-op.

const reached = new Map<string, number>();

/** Dies (or throws) here when DOCKER_VERSIONS_FAULT names this point (and this is its n-th visit). */
export function faultPoint(point: string, env: NodeJS.ProcessEnv = process.env): void {
  const spec = env.DOCKER_VERSIONS_FAULT;
  if (!spec) return;
  const count = (reached.get(point) ?? 0) + 1;
  reached.set(point, count);
  for (const item of spec.split(",")) {
    const [where, how] = item.trim().split(":");
    const [name, nth] = (where ?? "").split("#");
    if (name !== point || Number(nth ?? 1) !== count) continue;
    if (how === "throw") throw new Error(`injected fault at ${point} (DOCKER_VERSIONS_FAULT, tests only)`);
    process.kill(process.pid, "SIGKILL");
  }
}
