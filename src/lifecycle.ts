// Starting and stopping a deployment the way the seed guide does: databases first and waited
// for, then the application on the manifest's digests, everything down together; the log
// captures that go with them; and the state and logs an operator looks at afterwards.
import { type ComposeProject, type ContainerState, compose, listContainers } from "./adapters/compose.js";
import { lastLine } from "./adapters/docker.js";
import { type ContainerInfo, inspectContainers } from "./adapters/engine.js";
import {
  CAPTURE_KINDS,
  type CapturedLine,
  type CaptureKind,
  type CapturePaths,
  type CaptureState,
  capturedDays,
  capturePaths,
  captureState,
  clockFrom,
  containerEvents,
  dayFile,
  dayOf,
  finishTimes,
  isErrorLine,
  isoNano,
  logsRoot,
  normalTimestamp,
  parseCaptured,
  parseSince,
  readCaptured,
  runCapture,
  startCapture,
  stopCapture,
  stripAnsi,
} from "./adapters/logs.js";
import { has } from "./core/names.js";
import { parseReference } from "./core/reference.js";
import { decideRole, type Role, type RoleDecision } from "./core/roles.js";
import { UserError } from "./errors.js";
import { readManifest, recordPaths } from "./record.js";
import type { ServiceStatus, StatusReport, VersionRow, Versions } from "./service.js";

export interface LifecycleIO {
  /** One line per step for people (and logs); the command writes it to stdout. */
  step?: (line: string) => void;
  /** Interactive terminal: let Compose draw its own progress instead of one line per step. */
  interactive?: boolean;
  /** The clock (default: real time, or the file named by DOCKER_VERSIONS_CLOCK_FILE). */
  clock?: () => Date;
}

export interface WaitOptions {
  /** Seconds to wait for every service to be healthy (default 120). */
  timeout?: number;
  /** Seconds a service without a healthcheck must keep running (default 3). */
  settle?: number;
  /** Start and do not wait. */
  noWait?: boolean;
}

export interface StartOptions extends WaitOptions {
  dryRun?: boolean;
}

export interface UpOptions extends StartOptions {
  /** Start (and wait for) the databases first when they are not up. */
  withDb?: boolean;
}

export interface DownOptions {
  dryRun?: boolean;
  /** Also remove the project's named volumes (docker compose down -v). */
  volumes?: boolean;
}

export interface Readiness {
  service: string;
  /** healthy (its healthcheck passed), running (settled, no healthcheck), completed (exited 0). */
  state: "healthy" | "running" | "completed";
  seconds: number;
}

export interface StartReport {
  services: string[];
  ready: Readiness[];
  capture?: { kind: CaptureKind; pid: number; started: boolean; dir: string };
  warnings: string[];
  dryRun: boolean;
}

export interface DownReport {
  captures: CaptureState[];
  dryRun: boolean;
}

export interface ContainerStatus {
  name: string;
  state: string;
  health: string;
  exitCode: number;
  status: string;
  startedAt?: string;
  /** Seconds since the container started, while it runs. */
  uptime?: number;
  restarts: number;
  oomKilled: boolean;
}

export interface LifecycleServiceStatus extends Omit<ServiceStatus, "containers"> {
  role: Role;
  roleSource: RoleDecision["source"];
  /** Whether what runs is the manifest's digest; "untracked" without a record. */
  drift: VersionRow["drift"] | "untracked";
  /** What to run (or edit) to bring the service in sync, when it is not. */
  next?: string;
  containers: ContainerStatus[];
}

export interface LifecycleStatus extends Omit<StatusReport, "services"> {
  services: LifecycleServiceStatus[];
  captures: CaptureState[];
}

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

const DEFAULT_TIMEOUT_S = 120;
const DEFAULT_SETTLE_S = 3;
const POLL_MS = 500;
const TAIL_LINES = 15;
// A wait for health longer than this gets one line saying what it waits for.
const WAIT_NOTICE_MS = 2_000;

const kindOf = (role: Role): CaptureKind => (role === "database" ? "db" : "app");

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
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const seconds = (ms: number) => Math.round(ms / 100) / 10;

export class Lifecycle {
  readonly clock: () => Date;

  constructor(
    readonly versions: Versions,
    readonly io: LifecycleIO = {},
  ) {
    this.clock = io.clock ?? versions.ctx.now ?? clockFrom(versions.ctx.cli.env);
  }

  private get cli() {
    return this.versions.ctx.cli;
  }

  private say(line: string): void {
    this.io.step?.(line);
  }

  /** Every service's role: the manifest's `role:`, else its label, else its image. */
  async roles(opts: { ignoreManifest?: boolean } = {}): Promise<Map<string, RoleDecision>> {
    const project = await this.versions.project();
    const loaded = opts.ignoreManifest
      ? null
      : await readManifest(recordPaths(await this.versions.manifestPath()).manifest);
    const roles = new Map<string, RoleDecision>();
    for (const [service, spec] of Object.entries(project.services).sort(([a], [b]) => a.localeCompare(b))) {
      roles.set(
        service,
        decideRole({
          manifest: loaded?.manifest.services[service]?.role,
          labels: spec.labels,
          image: spec.image,
        }),
      );
    }
    return roles;
  }

  private async servicesOf(role: Role): Promise<string[]> {
    return [...(await this.roles())].filter(([, d]) => d.role === role).map(([s]) => s);
  }

  /**
   * The project as every Compose call sees it: its env files, then versions.env. `starts`: the
   * call may start containers, so versions.env must first agree with the manifest.
   */
  private async pinnedProject(starts = true): Promise<ComposeProject> {
    const project = await this.versions.project();
    return { ...project, envFiles: await this.versions.composeEnvFiles({ verify: starts }) };
  }

  /** Runs one Compose step: its own progress on a terminal, one line of ours otherwise. */
  private async composeStep(args: string[], what: string, starts = true): Promise<void> {
    const project = await this.pinnedProject(starts);
    const env = await this.versions.clearedVariables();
    const interactive = Boolean(this.io.interactive);
    const res = await compose(this.cli, project, args, { inherit: interactive, env });
    if (res.code !== 0) {
      const why = interactive ? `docker compose exited with code ${res.code}` : lastLine(res.stderr);
      throw new UserError(`${what} failed: ${why || `docker compose exited with code ${res.code}`}`);
    }
  }

  private async captureArgs(): Promise<string[]> {
    const project = await this.versions.project();
    const { ctx } = this.versions;
    const args: string[] = [];
    for (const f of project.files) args.push("-f", f);
    args.push("-p", project.name, "--project-directory", project.workingDir);
    if (ctx.compose.envFiles?.length) for (const e of project.envFiles) args.push("--env-file", e);
    for (const p of project.profiles) args.push("--profile", p);
    if (ctx.manifest) args.push("--manifest", await this.versions.manifestPath());
    return args;
  }

  async capturePaths(kind: CaptureKind): Promise<CapturePaths> {
    return capturePaths(logsRoot(await this.versions.project()), kind);
  }

  /** Starts the capture of one kind when the project has services of it and none runs yet. */
  private async ensureCapture(kind: CaptureKind, report: StartReport): Promise<void> {
    const paths = await this.capturePaths(kind);
    const project = await this.versions.project();
    try {
      const c = await startCapture({
        cli: this.cli,
        project,
        paths,
        projectArgs: await this.captureArgs(),
      });
      report.capture = { kind, pid: c.pid, started: c.started, dir: paths.dir };
      this.say(
        `${c.started ? "capturing" : "already capturing"} ${kind === "db" ? "database" : "app"} logs into ${paths.dir}/ (pid ${c.pid})`,
      );
    } catch (e) {
      // The services run; a capture that cannot start is worth a warning, not a failed start.
      report.warnings.push((e as Error).message);
    }
  }

  /** Containers of `services`, with the engine's details. */
  private async observe(
    services: readonly string[],
  ): Promise<{ ps: ContainerState; info?: ContainerInfo }[]> {
    const project = await this.versions.project();
    const ps = (await listContainers(this.cli, project)).filter((c) => services.includes(c.service));
    const infos = await inspectContainers(
      this.cli,
      ps.map((c) => c.id),
    );
    return ps.map((c) => ({
      ps: c,
      info: infos.find((i) => i.id.startsWith(c.id) || c.id.startsWith(i.id)),
    }));
  }

  /** The last lines a service logged, for a failure message. */
  private async tail(service: string): Promise<string[]> {
    const project = await this.versions.project();
    const res = await compose(this.cli, project, [
      "logs",
      "--no-color",
      "--tail",
      String(TAIL_LINES),
      service,
    ]);
    return stripAnsi(`${res.stdout}${res.stderr}`)
      .split("\n")
      .map((l) => l.trimEnd())
      .filter(Boolean)
      .slice(-TAIL_LINES);
  }

  private async failWith(service: string, why: string): Promise<never> {
    const lines = await this.tail(service).catch(() => []);
    if (lines.length > 0) {
      this.say(`last log lines of ${service}:`);
      for (const l of lines) this.say(`  ${l}`);
    }
    const brief = lines
      .slice(-3)
      .map((l) => l.replace(/^\S+\s+\|\s?/, "").trim())
      .filter(Boolean)
      .join(" / ");
    throw new UserError(
      `${service} ${why}${brief ? `; its last log lines: ${brief}` : "; it logged nothing"}`,
    );
  }

  /**
   * Waits until every service is ready: its healthcheck passes, or (without one) it has run
   * without restarting for the settle time. An unhealthy or exited container fails at once;
   * anything else fails at the timeout, naming the first service that is not ready.
   */
  async waitReady(services: readonly string[], opts: WaitOptions = {}): Promise<Readiness[]> {
    const timeoutMs = (opts.timeout ?? DEFAULT_TIMEOUT_S) * 1000;
    const settleMs = (opts.settle ?? DEFAULT_SETTLE_S) * 1000;
    const start = Date.now();
    const ready = new Map<string, Readiness>();
    const runningSince = new Map<string, number>();
    let told = false;
    for (;;) {
      const seen = await this.observe(services);
      const pending: [string, string][] = [];
      for (const service of services) {
        if (ready.has(service)) continue;
        const mine = seen.filter((c) => c.ps.service === service);
        if (mine.length === 0) {
          pending.push([service, "has no container"]);
          continue;
        }
        let state: Readiness["state"] | undefined;
        let waiting = "";
        for (const { ps, info } of mine) {
          const health = info?.health ?? ps.health;
          const running = info ? info.running && !info.restarting : ps.state === "running";
          if (health === "unhealthy") return this.failWith(service, "is unhealthy (its healthcheck fails)");
          if (!running && (info?.restarting || ps.state === "restarting")) {
            waiting = `is restarting (${info?.restartCount ?? 0} restarts)`;
            state = undefined;
            break;
          }
          if (!running) {
            const code = info?.exitCode ?? ps.exitCode;
            if (code === 0 && ps.state === "exited") {
              state ??= "completed";
              continue;
            }
            return this.failWith(
              service,
              `${ps.state === "created" ? "was created but not started" : `exited with code ${code}${info?.oomKilled ? " (out of memory)" : ""}`}`,
            );
          }
          if (health === "healthy") {
            state = state === undefined || state === "completed" ? "healthy" : state;
            continue;
          }
          if (health === "starting") {
            waiting = "is starting (its healthcheck has not passed yet)";
            state = undefined;
            break;
          }
          // No healthcheck: running, and still the same start, for the settle time.
          const key = `${ps.id} ${info?.startedAt ?? ""} ${info?.restartCount ?? 0}`;
          const since = runningSince.get(key) ?? Date.now();
          runningSince.set(key, since);
          if (Date.now() - since < settleMs) {
            waiting = "is running but has not settled yet";
            state = undefined;
            break;
          }
          state = state === "healthy" ? "healthy" : "running";
        }
        if (state) {
          ready.set(service, { service, state, seconds: seconds(Date.now() - start) });
          this.say(
            `${service}: ${state === "healthy" ? "healthy" : state === "running" ? "running" : "completed"} after ${seconds(Date.now() - start)}s`,
          );
        } else pending.push([service, waiting]);
      }
      if (pending.length === 0) return services.map((s) => ready.get(s) as Readiness);
      if (!told && Date.now() - start >= WAIT_NOTICE_MS) {
        told = true;
        const names = pending.map(([s]) => s).join(", ");
        this.say(
          `waiting up to ${timeoutMs / 1000}s for ${names} to become ready (${pending[0]?.[0]} ${pending[0]?.[1]})`,
        );
      }
      if (Date.now() - start >= timeoutMs) {
        const [service, why] = pending[0] as [string, string];
        return this.failWith(service, `did not become healthy within ${timeoutMs / 1000}s: it ${why}`);
      }
      await sleep(Math.min(POLL_MS, Math.max(50, timeoutMs - (Date.now() - start))));
    }
  }

  /** `updb`: the database services, started and waited for, then their log capture. */
  async updb(opts: StartOptions = {}): Promise<StartReport> {
    const dbs = await this.servicesOf("database");
    const report: StartReport = { services: dbs, ready: [], warnings: [], dryRun: Boolean(opts.dryRun) };
    if (dbs.length === 0) {
      this.say("no database services in this project (see the role column of 'docker versions status')");
      return report;
    }
    if (opts.dryRun) {
      this.say(`would start the database services: ${dbs.join(", ")}`);
      if (!opts.noWait)
        this.say(`would wait up to ${opts.timeout ?? DEFAULT_TIMEOUT_S}s for them to be healthy`);
      this.say("would start the database log capture");
      return report;
    }
    this.say(`starting the database services: ${dbs.join(", ")}`);
    await this.composeStep(["up", "--detach", "--no-deps", ...dbs], "starting the databases");
    if (!opts.noWait) report.ready = await this.waitReady(dbs, opts);
    await this.ensureCapture("db", report);
    return report;
  }

  /** Which databases are not up, and why, for `up`'s refusal. */
  private async databasesDown(dbs: readonly string[]): Promise<string[]> {
    const seen = await this.observe(dbs);
    const down: string[] = [];
    for (const db of dbs) {
      const mine = seen.filter((c) => c.ps.service === db);
      const up = mine.some(
        ({ ps, info }) =>
          (info ? info.running && !info.restarting : ps.state === "running") &&
          (info?.health ?? ps.health) !== "unhealthy",
      );
      if (!up)
        down.push(
          mine.length === 0
            ? `${db}: not created`
            : `${db}: ${mine.map((c) => c.ps.status || c.ps.state).join(", ")}`,
        );
    }
    return down;
  }

  /** `up`: the app services on the manifest's versions, waited for, then their log capture. */
  async up(opts: UpOptions = {}): Promise<StartReport> {
    const roles = await this.roles();
    const dbs = [...roles].filter(([, d]) => d.role === "database").map(([s]) => s);
    const apps = [...roles].filter(([, d]) => d.role === "app").map(([s]) => s);
    const report: StartReport = { services: apps, ready: [], warnings: [], dryRun: Boolean(opts.dryRun) };
    if (dbs.length > 0) {
      const down = await this.databasesDown(dbs);
      if (down.length > 0 && !opts.withDb) {
        throw new UserError(
          `the databases are not up (${down.join("; ")}): run 'docker versions updb' first, or 'docker versions up --with-db'`,
        );
      }
      if (down.length > 0) {
        const db = await this.updb(opts);
        report.warnings.push(...db.warnings);
        report.ready.push(...db.ready);
      }
    }
    return this.startApps(apps, opts, report);
  }

  /** Starts the app services, waits for them and starts their capture (the databases are up). */
  private async startApps(apps: string[], opts: StartOptions, report: StartReport): Promise<StartReport> {
    if (apps.length === 0) {
      this.say("no app services in this project");
      return report;
    }
    if (opts.dryRun) {
      this.say(`would start the app services: ${apps.join(", ")}`);
      if (!opts.noWait)
        this.say(`would wait up to ${opts.timeout ?? DEFAULT_TIMEOUT_S}s for them to be healthy`);
      this.say("would start the app log capture");
      return report;
    }
    this.say(`starting the app services: ${apps.join(", ")}`);
    await this.composeStep(["up", "--detach", "--no-deps", ...apps], "starting the app services");
    if (!opts.noWait) report.ready.push(...(await this.waitReady(apps, opts)));
    await this.ensureCapture("app", report);
    return report;
  }

  /** `down`: every container of the project (databases too) and every log capture; volumes stay. */
  async down(opts: DownOptions = {}): Promise<DownReport> {
    const project = await this.versions.project();
    if (opts.dryRun) {
      this.say(
        `would stop and remove every container of ${project.name}${opts.volumes ? " and its volumes" : ""}`,
      );
      this.say("would stop the log captures");
      return {
        captures: await Promise.all(
          CAPTURE_KINDS.map(async (k) => captureState(await this.capturePaths(k), project.name)),
        ),
        dryRun: true,
      };
    }
    this.say(`stopping and removing the containers of ${project.name}`);
    await this.composeStep(
      ["down", "--remove-orphans", ...(opts.volumes ? ["--volumes"] : [])],
      "stopping the project",
      false,
    );
    const captures: CaptureState[] = [];
    for (const kind of CAPTURE_KINDS) {
      const state = await stopCapture(await this.capturePaths(kind), project.name);
      captures.push(state);
      if (state.running)
        this.say(`stopped the ${kind === "db" ? "database" : "app"} log capture (pid ${state.pid})`);
    }
    return { captures, dryRun: false };
  }

  /** `restart`: down, updb, up. */
  async restart(opts: StartOptions = {}): Promise<StartReport> {
    await this.down({ dryRun: opts.dryRun });
    const db = await this.updb(opts);
    // The databases were just started (or, in a dry run, would have been): no need to ask.
    const apps = await this.servicesOf("app");
    const app = await this.startApps(apps, opts, {
      services: apps,
      ready: [],
      warnings: [],
      dryRun: Boolean(opts.dryRun),
    });
    return {
      services: [...db.services, ...app.services],
      ready: [...db.ready, ...app.ready],
      capture: app.capture ?? db.capture,
      warnings: [...db.warnings, ...app.warnings],
      dryRun: Boolean(opts.dryRun),
    };
  }

  /** `restart --service S`: recreates S alone on the manifest's version; nothing else is touched. */
  async restartService(service: string, opts: StartOptions = {}): Promise<StartReport> {
    const project = await this.versions.project();
    if (!has(project.services, service))
      throw new UserError(
        `unknown service '${service}' (the project has: ${Object.keys(project.services).sort().join(", ")})`,
      );
    const role = (await this.roles()).get(service)?.role ?? "app";
    const report: StartReport = {
      services: [service],
      ready: [],
      warnings: [],
      dryRun: Boolean(opts.dryRun),
    };
    if (opts.dryRun) {
      this.say(`would recreate ${service} (and nothing else)`);
      return report;
    }
    this.say(`recreating ${service}`);
    await this.composeStep(
      ["up", "--detach", "--no-deps", "--force-recreate", service],
      `recreating ${service}`,
    );
    if (!opts.noWait) report.ready = await this.waitReady([service], opts);
    await this.ensureCapture(kindOf(role), report);
    return report;
  }

  /** `update`: down, pull, build (the from-source workflow); starting again is the next step. */
  async update(
    opts: { dryRun?: boolean } = {},
  ): Promise<{ pulled: string[]; built: string[]; dryRun: boolean }> {
    const project = await this.versions.project();
    const built = Object.entries(project.services)
      .filter(([, spec]) => spec.build !== undefined)
      .map(([s]) => s)
      .sort();
    if (opts.dryRun) {
      await this.down({ dryRun: true });
      this.say("would pull the manifest's versions (or what the compose file names)");
      this.say(
        built.length > 0 ? `would build ${built.join(", ")}` : "nothing to build: no service has build:",
      );
      return { pulled: [], built, dryRun: true };
    }
    await this.down();
    this.say("pulling");
    const pulled = await this.versions.pull();
    this.say(
      `pulled: ${pulled.pulled.join(", ") || "none"}${pulled.present.length ? `; already present: ${pulled.present.join(", ")}` : ""}`,
    );
    if (built.length > 0) {
      this.say(`building ${built.join(", ")}`);
      await this.composeStep(["build", ...built], "building");
    } else this.say("nothing to build: no service has build:");
    return { pulled: pulled.pulled, built, dryRun: false };
  }

  /** For a service the record does not hold: the command that records it, if one can. */
  private untrackedNext(
    service: string,
    hasManifest: boolean,
    corrupt: boolean,
    project: ComposeProject,
  ): string | undefined {
    if (corrupt) return "the manifest cannot be read: see the error of 'docker versions version'";
    const image = project.services[service]?.image;
    if (!hasManifest || !image) return undefined; // no record at all, or built from source
    let tag = "latest";
    try {
      tag = parseReference(image).tag ?? "latest";
    } catch {
      // the image's own error shows when Compose runs it
    }
    return `not in the manifest: docker versions version-pull --service ${service} --tag ${tag}`;
  }

  /** `status`: the project's services with role, health, uptime, restarts, drift, and the captures. */
  async status(): Promise<LifecycleStatus> {
    const base = await this.versions.status();
    // A corrupt manifest must not hide the containers: roles then come from labels and images.
    const roles = await this.roles().catch(() => this.roles({ ignoreManifest: true }));
    const names = base.services.flatMap((s) => s.containers.map((c) => c.name));
    const infos = await inspectContainers(this.cli, names);
    let rows: VersionRow[] = [];
    let driftUnknown = false;
    if (base.manifest.present) {
      try {
        rows = await this.versions.version();
      } catch (e) {
        if (!(e instanceof UserError)) throw e;
        driftUnknown = true;
      }
    }
    const now = Date.now();
    const project = await this.versions.project();
    const captures = await Promise.all(
      CAPTURE_KINDS.map(async (k) => captureState(await this.capturePaths(k), project.name)),
    );
    return {
      ...base,
      services: base.services.map((s) => {
        const role = roles.get(s.service) ?? { role: "app" as const, source: "default" as const };
        const row = rows.find((r) => r.service === s.service);
        return {
          ...s,
          role: role.role,
          roleSource: role.source,
          drift: row ? row.drift : driftUnknown ? "unknown" : "untracked",
          // A tracked service in sync has no next step; only an untracked one is told to record itself.
          next: row ? row.next : this.untrackedNext(s.service, base.manifest.present, driftUnknown, project),
          containers: s.containers.map((c) => {
            const info = infos.find((i) => i.name === c.name);
            const started = info?.startedAt ? Date.parse(info.startedAt) : Number.NaN;
            return {
              ...c,
              startedAt: info?.startedAt,
              uptime:
                info?.running && Number.isFinite(started)
                  ? Math.max(0, Math.round((now - started) / 1000))
                  : undefined,
              restarts: info?.restartCount ?? 0,
              oomKilled: info?.oomKilled ?? false,
            };
          }),
        };
      }),
      captures,
    };
  }

  /** `logs`: Compose's own logs of the project (or one service), on the caller's terminal. */
  async logs(opts: {
    follow?: boolean;
    service?: string;
    tail?: string;
    since?: string;
    timestamps?: boolean;
  }): Promise<number> {
    const project = await this.versions.project();
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
    const res = await compose(this.cli, await this.pinnedProject(false), args, {
      inherit: true,
      env: await this.versions.clearedVariables(),
    });
    return res.code;
  }

  /** Today's captured file of one kind (`logs-today`, `dblogs-today`), filtered. */
  async captured(kind: CaptureKind, opts: CapturedOptions = {}): Promise<CapturedReport> {
    const paths = await this.capturePaths(kind);
    const now = this.clock();
    const day = dayOf(now);
    if (opts.service) {
      const project = await this.versions.project();
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
    const project = await this.versions.project();
    const dbs = await this.servicesOf("database");
    const errors: DbError[] = [];
    if (dbs.length === 0) return { since: since.toISOString(), services: [], errors };

    // Compose names containers <project>-<service>-<n>; the captured files say <service>-<n>.
    const short = (name: string) =>
      name.startsWith(`${project.name}-`) ? name.slice(project.name.length + 1) : name;
    const events = (await containerEvents(this.cli, project.name, since, new Date()))
      .filter((e) => dbs.includes(e.service))
      .map((e) => ({ ...e, container: short(e.container) }));
    // The engine keeps only its last few hundred events (healthchecks alone make several a
    // second), so a death is also looked for in Compose's notices in the captured files and in
    // each container's last exit; the same death seen twice is listed once, the engine first.
    const add = (e: DbError) => {
      const t = Date.parse(e.time);
      const seen = errors.some(
        (o) => o.container === e.container && o.kind === e.kind && Math.abs(Date.parse(o.time) - t) <= 10_000,
      );
      if (!seen) errors.push(e);
    };
    const near = (a: Date, b: Date, ms: number) => Math.abs(a.getTime() - b.getTime()) <= ms;
    for (const e of events) {
      const sameContainer = events.filter((o) => o.id === e.id && o !== e);
      const where = { time: isoNano(e.time), service: e.service, container: e.container };
      if (e.action === "oom") add({ ...where, kind: "oom", detail: "the kernel killed it: out of memory" });
      else if (e.action === "die" && e.exitCode !== undefined) {
        const stopped = sameContainer.some((o) => o.action === "stop" && near(o.time, e.time, 2_000));
        const oom = sameContainer.some((o) => o.action === "oom" && near(o.time, e.time, 5_000));
        if (stopped && e.exitCode !== 137) continue; // an ordinary stop
        const ending = deathOf(e.exitCode);
        if (!ending) continue;
        add({
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
    // Captured lines of every day from `since` on: Compose's exit notices and alarming lines.
    const paths = await this.capturePaths("db");
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
          if (ending) add({ ...where, ...ending });
        } else if (isErrorLine(l.text)) errors.push({ ...where, kind: "log", detail: l.text.trim() });
      }
    }
    // What the engine says now: how each container last ended, OOM flags, restarts.
    const observed = await this.observe(dbs);
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
          add({ ...where, time: ended, kind: "oom", detail: "State.OOMKilled: it ran out of memory" });
        const ending = info.running ? null : deathOf(info.exitCode);
        if (ending) add({ ...where, time: ended, ...ending });
      }
      if (info.restarting || info.restartCount > 0)
        add({
          ...where,
          time: info.restarting ? isoNano(new Date()) : (normalTimestamp(info.startedAt) ?? info.startedAt),
          kind: "restarting",
          detail: `${info.restarting ? "restarting now; " : ""}restarted ${info.restartCount} time(s)`,
        });
    }
    errors.sort((a, b) => a.time.localeCompare(b.time));
    return { since: since.toISOString(), services: dbs, errors };
  }

  /** The hidden `__capture-logs`: the capture process of one kind, until `down` stops it. */
  async capture(kind: CaptureKind): Promise<number> {
    const role: Role = kind === "db" ? "database" : "app";
    const services = await this.servicesOf(role);
    if (services.length === 0) return 0;
    return runCapture({
      cli: this.cli,
      project: await this.pinnedProject(false),
      env: await this.versions.clearedVariables(),
      paths: await this.capturePaths(kind),
      services,
      clock: this.clock,
    });
  }
}
