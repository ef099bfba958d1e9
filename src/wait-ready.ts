// Waiting for services to be ready after they start: a polling loop that observes their
// containers (Compose's ps and the engine's inspect), asks the pure judge (core/readiness.ts)
// about each service, says what it waits for once it takes a while, and fails naming the
// service and its last log lines.
import { type ContainerState, compose, listContainers } from "./adapters/compose.js";
import { type ContainerInfo, inspectContainers } from "./adapters/engine.js";
import { stripAnsi } from "./core/log-lines.js";
import { judge, type ReadyState } from "./core/readiness.js";
import { UserError } from "./errors.js";
import type { Workspace } from "./workspace.js";

export const DEFAULT_TIMEOUT_S = 120;
const DEFAULT_SETTLE_S = 3;
const POLL_MS = 500;
const TAIL_LINES = 15;
// A wait for health longer than this gets one line saying what it waits for.
const WAIT_NOTICE_MS = 2_000;

export interface WaitOptions {
  /** Seconds to wait for every service to be healthy (default 120). */
  timeout?: number;
  /** Seconds a service without a healthcheck must keep running (default 3). */
  settle?: number;
  /** Start and do not wait. */
  noWait?: boolean;
}

export interface Readiness {
  service: string;
  /** healthy (its healthcheck passed), running (settled, no healthcheck), completed (exited 0). */
  state: ReadyState;
  seconds: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const seconds = (ms: number) => Math.round(ms / 100) / 10;

/** Containers of `services`, with the engine's details. */
export async function observeContainers(
  ws: Workspace,
  services: readonly string[],
): Promise<{ ps: ContainerState; info?: ContainerInfo }[]> {
  const project = await ws.project();
  const ps = (await listContainers(ws.cli, project)).filter((c) => services.includes(c.service));
  const infos = await inspectContainers(
    ws.cli,
    ps.map((c) => c.id),
  );
  return ps.map((c) => ({
    ps: c,
    info: infos.find((i) => i.id.startsWith(c.id) || c.id.startsWith(i.id)),
  }));
}

/** The last lines a service logged, for a failure message. */
async function tail(ws: Workspace, service: string): Promise<string[]> {
  const project = await ws.project();
  const res = await compose(ws.cli, project, ["logs", "--no-color", "--tail", String(TAIL_LINES), service]);
  return stripAnsi(`${res.stdout}${res.stderr}`)
    .split("\n")
    .map((l) => l.trimEnd())
    .filter(Boolean)
    .slice(-TAIL_LINES);
}

async function failWith(
  ws: Workspace,
  say: (line: string) => void,
  service: string,
  why: string,
): Promise<never> {
  const lines = await tail(ws, service).catch(() => []);
  if (lines.length > 0) {
    say(`last log lines of ${service}:`);
    for (const l of lines) say(`  ${l}`);
  }
  const brief = lines
    .slice(-3)
    .map((l) => l.replace(/^\S+\s+\|\s?/, "").trim())
    .filter(Boolean)
    .join(" / ");
  throw new UserError(`${service} ${why}${brief ? `; its last log lines: ${brief}` : "; it logged nothing"}`);
}

/**
 * Waits until every service is ready: its healthcheck passes, or (without one) it has run
 * without restarting for the settle time. An unhealthy or exited container fails at once;
 * anything else fails at the timeout, naming the first service that is not ready.
 */
export async function waitReady(
  ws: Workspace,
  services: readonly string[],
  opts: WaitOptions,
  say: (line: string) => void,
): Promise<Readiness[]> {
  const timeoutMs = (opts.timeout ?? DEFAULT_TIMEOUT_S) * 1000;
  const settleMs = (opts.settle ?? DEFAULT_SETTLE_S) * 1000;
  const start = Date.now();
  const ready = new Map<string, Readiness>();
  // When each start of a container was first seen running: a restart is a new start.
  const runningSince = new Map<string, number>();
  let told = false;
  for (;;) {
    const seen = await observeContainers(ws, services);
    const pending: [string, string][] = [];
    for (const service of services) {
      if (ready.has(service)) continue;
      const mine = seen
        .filter((c) => c.ps.service === service)
        .map(({ ps, info }) => {
          const key = `${ps.id} ${info?.startedAt ?? ""} ${info?.restartCount ?? 0}`;
          const running = info ? info.running && !info.restarting : ps.state === "running";
          if (running && !runningSince.has(key)) runningSince.set(key, Date.now());
          const since = runningSince.get(key);
          return { ...ps, info, runningMs: since === undefined ? 0 : Date.now() - since };
        });
      const verdict = judge(mine, settleMs);
      if ("failed" in verdict) return failWith(ws, say, service, verdict.failed);
      if ("waiting" in verdict) {
        pending.push([service, verdict.waiting]);
        continue;
      }
      const took = seconds(Date.now() - start);
      ready.set(service, { service, state: verdict.ready, seconds: took });
      say(`${service}: ${verdict.ready} after ${took}s`);
    }
    if (pending.length === 0) return services.map((s) => ready.get(s) as Readiness);
    if (!told && Date.now() - start >= WAIT_NOTICE_MS) {
      told = true;
      const names = pending.map(([s]) => s).join(", ");
      say(
        `waiting up to ${timeoutMs / 1000}s for ${names} to become ready (${pending[0]?.[0]} ${pending[0]?.[1]})`,
      );
    }
    if (Date.now() - start >= timeoutMs) {
      const [service, why] = pending[0] as [string, string];
      return failWith(ws, say, service, `did not become healthy within ${timeoutMs / 1000}s: it ${why}`);
    }
    await sleep(Math.min(POLL_MS, Math.max(50, timeoutMs - (Date.now() - start))));
  }
}
