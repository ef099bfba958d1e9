// Test-only crash injection. DOCKER_VERSIONS_FAULT=<point>[#n][,<point>[#n]…] makes the process
// die by SIGKILL the n-th time (default: the first) it reaches <point>, exactly as a kill -9 or a
// power cut would at that moment, so tests can prove what the next command makes of the leftovers.
// Operators never set it; without it every fault point is a no-op.

const reached = new Map<string, number>();

/** Dies here when DOCKER_VERSIONS_FAULT names this point (and this is its n-th visit). */
export function faultPoint(point: string, env: NodeJS.ProcessEnv = process.env): void {
  const spec = env.DOCKER_VERSIONS_FAULT;
  if (!spec) return;
  const count = (reached.get(point) ?? 0) + 1;
  reached.set(point, count);
  for (const item of spec.split(",")) {
    const [name, nth] = item.trim().split("#");
    if (name === point && Number(nth ?? 1) === count) process.kill(process.pid, "SIGKILL");
  }
}
