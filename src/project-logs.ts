// The project's logs: Compose's own (`logs`), the files the captures write (`logs-today`,
// `dblogs-today`), what went wrong with the databases (`dblogs-errors`), and the capture process
// itself (the hidden `__capture-logs`). Starting and stopping the captures is the lifecycle's.
import { runCapture } from "./adapters/capture-process.js";
import { compose } from "./adapters/compose.js";
import { capturedDays, containerEvents, dayFile, finishTimes, readCaptured } from "./adapters/logs.js";
import {
  type CapturedLine,
  type CaptureKind,
  dayOf,
  isErrorLine,
  isoNano,
  normalTimestamp,
  parseCaptured,
  parseSince,
} from "./core/log-lines.js";
import { has } from "./core/names.js";
import { nameOrder } from "./core/order.js";
import type { Role } from "./core/roles.js";
import { UserError } from "./errors.js";
import type { Lifecycle } from "./lifecycle.js";
import { observeContainers } from "./wait-ready.js";
import type { Workspace } from "./workspace.js";

export interface CapturedOptions {
  /** Only the last N lines. */
  tail?: number;
  /** Only lines at or after: a duration back from now (30m, 2h, 1d) or a date-time. */
  since?: string;
  service?: string;
}

export interface CapturedReport {
  kind: CaptureKind;
  day: string;
  file: string;
  exists: boolean;
  lines: string[];
}

export interface DbError {
  time: string;
  service: string;
  container: string;
  kind: "oom" | "killed" | "exited" | "restarting" | "log";
  detail: string;
}

export interface DbErrorReport {
  since: string;
  services: string[];
  errors: DbError[];
}

/** How an exit code reads in dblogs-errors; null for a clean end or an ordinary stop (SIGTERM). */
function deathOf(code: number): Pick<DbError, "kind" | "detail"> | null {
  if (code === 0 || code === 143) return null;
  if (code === 137)
    return {
      kind: "killed",
      detail: "exit 137: killed with SIGKILL (the kernel's OOM killer, or docker kill)",
    };
  return { kind: "exited", detail: `exit ${code}` };
}

/** The errors found, a death seen twice (within ten seconds) listed once. */
class DbErrors {
  readonly #all: DbError[] = [];

  add(e: DbError): void {
    const t = Date.parse(e.time);
    const seen = this.#all.some(
      (o) => o.container === e.container && o.kind === e.kind && Math.abs(Date.parse(o.time) - t) <= 10_000,
    );
    if (!seen) this.#all.push(e);
  }

  /** A captured log line: every one counts. */
  push(e: DbError): void {
    this.#all.push(e);
  }

  sorted(): DbError[] {
    return [...this.#all].sort((a, b) => nameOrder(a.time, b.time));
  }
}

export class ProjectLogs {
  constructor(
    readonly ws: Workspace,
    private readonly lc: Lifecycle,
  ) {}

  private get cli() {
    return this.ws.cli;
  }

  private get clock() {
    return this.ws.clock;
  }

  /** `logs`: Compose's own logs of the project (or one service), on the caller's terminal. */
  async logs(opts: {
    follow?: boolean;
    service?: string;
    tail?: string;
    since?: string;
    timestamps?: boolean;
  }): Promise<number> {
    const project = await this.ws.project();
    if (opts.service && !has(project.services, opts.service))
      throw new UserError(
        `unknown service '${opts.service}' (the project has: ${Object.keys(project.services).sort().join(", ")})`,
      );
    const args = ["logs"];
    if (opts.follow) args.push("--follow");
    if (opts.tail !== undefined) args.push("--tail", opts.tail);
    if (opts.since !== undefined) args.push("--since", opts.since);
    if (opts.timestamps) args.push("--timestamps");
    if (opts.service) args.push(opts.service);
    const res = await compose(this.cli, await this.lc.pinnedProject(false), args, {
      inherit: true,
      env: await this.ws.clearedVariables(),
    });
    return res.code;
  }

  /** Today's captured file of one kind (`logs-today`, `dblogs-today`), filtered. */
  async captured(kind: CaptureKind, opts: CapturedOptions = {}): Promise<CapturedReport> {
    const paths = await this.lc.capturePaths(kind);
    const now = this.clock();
    const day = dayOf(now);
    if (opts.service) {
      const project = await this.ws.project();
      if (!has(project.services, opts.service)) throw new UserError(`unknown service '${opts.service}'`);
    }
    const since = opts.since ? parseSince(opts.since, now) : undefined;
    if (opts.since && !since)
      throw new UserError(`--since '${opts.since}' is neither a duration (30m, 2h, 1d) nor a date-time`);
    const raw = readCaptured(paths, day);
    let lines = raw ?? [];
    if (since || opts.service) {
      const from = since ? isoNano(since) : undefined;
      lines = lines.filter((l) => {
        const p = parseCaptured(l);
        if (!p) return !opts.service && !from;
        if (opts.service && p.service !== opts.service) return false;
        return !from || p.ts >= from;
      });
    }
    if (opts.tail !== undefined) lines = opts.tail > 0 ? lines.slice(-opts.tail) : [];
    return { kind, day, file: dayFile(paths, day), exists: raw !== null, lines };
  }

  /**
   * `dblogs-errors`: what went wrong with the databases since a time (default: the start of
   * today): OOM kills and killed or crashed containers from the engine's events, containers that
   * restart, and captured lines that speak of fatal errors, panics or memory exhaustion.
   */
  async dbErrors(opts: { since?: string } = {}): Promise<DbErrorReport> {
    const now = this.clock();
    const since = opts.since
      ? parseSince(opts.since, now)
      : new Date(now.getFullYear(), now.getMonth(), now.getDate());
    if (!since)
      throw new UserError(`--since '${opts.since}' is neither a duration (30m, 2h, 1d) nor a date-time`);
    const project = await this.ws.project();
    const dbs = await this.lc.servicesOf("database");
    if (dbs.length === 0) return { since: since.toISOString(), services: [], errors: [] };
    // Compose names containers <project>-<service>-<n>; the captured files say <service>-<n>.
    const short = (name: string) =>
      name.startsWith(`${project.name}-`) ? name.slice(project.name.length + 1) : name;
    // The engine keeps only its last few hundred events (healthchecks alone make several a
    // second), so a death is also looked for in Compose's notices in the captured files and in
    // each container's last exit; the same death seen twice is listed once, the engine first.
    const errors = new DbErrors();
    await this.fromEvents(errors, project.name, dbs, since, short);
    await this.fromCaptured(errors, dbs, since);
    await this.fromEngine(errors, dbs, since, short);
    return { since: since.toISOString(), services: dbs, errors: errors.sorted() };
  }

  /** Deaths and OOM kills in the engine's events (an ordinary stop is none). */
  private async fromEvents(
    errors: DbErrors,
    project: string,
    dbs: readonly string[],
    since: Date,
    short: (name: string) => string,
  ): Promise<void> {
    // The engine's own clock bounds its events: real time, whatever the command's clock says.
    const events = (await containerEvents(this.cli, project, since, new Date()))
      .filter((e) => dbs.includes(e.service))
      .map((e) => ({ ...e, container: short(e.container) }));
    const near = (a: Date, b: Date, ms: number) => Math.abs(a.getTime() - b.getTime()) <= ms;
    for (const e of events) {
      const sameContainer = events.filter((o) => o.id === e.id && o !== e);
      const where = { time: isoNano(e.time), service: e.service, container: e.container };
      if (e.action === "oom")
        errors.add({ ...where, kind: "oom", detail: "the kernel killed it: out of memory" });
      else if (e.action === "die" && e.exitCode !== undefined) {
        const stopped = sameContainer.some((o) => o.action === "stop" && near(o.time, e.time, 2_000));
        const oom = sameContainer.some((o) => o.action === "oom" && near(o.time, e.time, 5_000));
        if (stopped && e.exitCode !== 137) continue; // an ordinary stop
        const ending = deathOf(e.exitCode);
        if (!ending) continue;
        errors.add({
          ...where,
          ...ending,
          detail:
            e.exitCode === 137 && stopped
              ? "exit 137: killed after not stopping within its grace period"
              : e.exitCode === 137 && oom
                ? "exit 137: killed for running out of memory"
                : ending.detail,
        });
      }
    }
  }

  /** Captured lines of every day from `since` on: Compose's exit notices and alarming lines. */
  private async fromCaptured(errors: DbErrors, dbs: readonly string[], since: Date): Promise<void> {
    const paths = await this.lc.capturePaths("db");
    const from = dayOf(since);
    const sinceTs = isoNano(since);
    for (const day of capturedDays(paths).filter((d) => d >= from)) {
      for (const raw of readCaptured(paths, day) ?? []) {
        const l: CapturedLine | null = parseCaptured(raw);
        if (!l || l.ts < sinceTs || !dbs.includes(l.service)) continue;
        const where = { time: l.ts, service: l.service, container: l.container };
        if (l.notice) {
          const code = /^exited with code (\d+)/.exec(l.text)?.[1];
          const ending = code === undefined ? null : deathOf(Number(code));
          if (ending) errors.add({ ...where, ...ending });
        } else if (isErrorLine(l.text)) errors.push({ ...where, kind: "log", detail: l.text.trim() });
      }
    }
  }

  /** What the engine says now: how each container last ended, OOM flags, restarts. */
  private async fromEngine(
    errors: DbErrors,
    dbs: readonly string[],
    since: Date,
    short: (name: string) => string,
  ): Promise<void> {
    const sinceTs = isoNano(since);
    const observed = await observeContainers(this.ws, dbs);
    const finished = await finishTimes(
      this.cli,
      observed.flatMap((o) => (o.info ? [o.info.id] : [])),
    );
    for (const { ps, info } of observed) {
      if (!info) continue;
      const end = finished.get(info.id);
      const ended = end ? normalTimestamp(end) : undefined;
      const where = { service: ps.service, container: short(ps.name) };
      if (ended && ended >= sinceTs) {
        if (info.oomKilled)
          errors.add({ ...where, time: ended, kind: "oom", detail: "State.OOMKilled: it ran out of memory" });
        const ending = info.running ? null : deathOf(info.exitCode);
        if (ending) errors.add({ ...where, time: ended, ...ending });
      }
      if (info.restarting || info.restartCount > 0)
        errors.add({
          ...where,
          time: info.restarting ? isoNano(this.clock()) : (normalTimestamp(info.startedAt) ?? info.startedAt),
          kind: "restarting",
          detail: `${info.restarting ? "restarting now; " : ""}restarted ${info.restartCount} time(s)`,
        });
    }
  }

  /** The hidden `__capture-logs`: the capture process of one kind, until `down` stops it. */
  async capture(kind: CaptureKind): Promise<number> {
    const role: Role = kind === "db" ? "database" : "app";
    const services = await this.lc.servicesOf(role);
    if (services.length === 0) return 0;
    return runCapture({
      cli: this.cli,
      project: await this.lc.pinnedProject(false),
      env: await this.ws.clearedVariables(),
      paths: await this.lc.capturePaths(kind),
      services,
      clock: this.ws.clock,
    });
  }
}
