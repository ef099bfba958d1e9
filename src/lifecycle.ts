// Starting and stopping a deployment the way the seed guide does: databases first and waited
// for, then the application on the manifest's digests, everything down together; the log
// captures that go with them; and the detail of each service that `status` shows.
import { type ComposeProject, type ContainerState, compose, listContainers } from "./adapters/compose.js";
import { lastLine } from "./adapters/docker.js";
import { type ContainerInfo, inspectContainers } from "./adapters/engine.js";
import {
  type CapturePaths,
  type CaptureState,
  capturePaths,
  captureState,
  logsRoot,
  startCapture,
  stopCapture,
} from "./adapters/logs.js";
import { CAPTURE_KINDS, type CaptureKind, stripAnsi } from "./core/log-lines.js";
import { planRestartService } from "./core/plan.js";
import { judge, type ReadyState } from "./core/readiness.js";
import { parseReference } from "./core/reference.js";
import { decideRole, type Role, type RoleDecision } from "./core/roles.js";
import type { ServiceStatus, StatusReport, VersionRow } from "./core/status.js";
import { UserError } from "./errors.js";
import { readManifest, recordPaths } from "./record.js";
import type { Workspace } from "./workspace.js";

export interface LifecycleIO {
  /** One line per step for people (and logs); the command writes it to stdout. */
  step?: (line: string) => void;
  /** Interactive terminal: let Compose draw its own progress instead of one line per step. */
  interactive?: boolean;
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
  state: ReadyState;
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

const DEFAULT_TIMEOUT_S = 120;
const DEFAULT_SETTLE_S = 3;
const POLL_MS = 500;
const TAIL_LINES = 15;
// A wait for health longer than this gets one line saying what it waits for.
const WAIT_NOTICE_MS = 2_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const seconds = (ms: number) => Math.round(ms / 100) / 10;

export class Lifecycle {
  constructor(
    readonly ws: Workspace,
    readonly io: LifecycleIO = {},
  ) {}

  private get cli() {
    return this.ws.cli;
  }

  private get clock() {
    return this.ws.clock;
  }

  say(line: string): void {
    this.io.step?.(line);
  }

  /** Every service's role: the manifest's `role:`, else its label, else its image. */
  async roles(opts: { ignoreManifest?: boolean } = {}): Promise<Map<string, RoleDecision>> {
    const project = await this.ws.project();
    const loaded = opts.ignoreManifest
      ? null
      : await readManifest(recordPaths(await this.ws.manifestPath()).manifest);
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

  async servicesOf(role: Role): Promise<string[]> {
    return [...(await this.roles())].filter(([, d]) => d.role === role).map(([s]) => s);
  }

  /**
   * The project as every Compose call sees it: its env files, then versions.env. `starts`: the
   * call may start containers, so versions.env must first agree with the manifest.
   */
  async pinnedProject(starts = true): Promise<ComposeProject> {
    const project = await this.ws.project();
    return { ...project, envFiles: await this.ws.composeEnvFiles({ verify: starts }) };
  }

  /** Runs one Compose step: its own progress on a terminal, one line of ours otherwise. */
  async composeStep(args: string[], what: string, starts = true): Promise<void> {
    const project = await this.pinnedProject(starts);
    const env = await this.ws.clearedVariables();
    const interactive = Boolean(this.io.interactive);
    const res = await compose(this.cli, project, args, { inherit: interactive, env });
    if (res.code !== 0) {
      const why = interactive ? `docker compose exited with code ${res.code}` : lastLine(res.stderr);
      throw new UserError(
        `${what} failed: ${why || `docker compose exited with code ${res.code}`}`,
        "engine",
      );
    }
  }

  private async captureArgs(): Promise<string[]> {
    const project = await this.ws.project();
    const { ctx } = this.ws;
    const args: string[] = [];
    for (const f of project.files) args.push("-f", f);
    args.push("-p", project.name, "--project-directory", project.workingDir);
    if (ctx.compose.envFiles?.length) for (const e of project.envFiles) args.push("--env-file", e);
    for (const p of project.profiles) args.push("--profile", p);
    if (ctx.manifest) args.push("--manifest", await this.ws.manifestPath());
    return args;
  }

  async capturePaths(kind: CaptureKind): Promise<CapturePaths> {
    return capturePaths(logsRoot(await this.ws.project()), kind);
  }

  /** Starts the capture of one kind when the project has services of it and none runs yet. */
  private async ensureCapture(kind: CaptureKind, report: StartReport): Promise<void> {
    const paths = await this.capturePaths(kind);
    const project = await this.ws.project();
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
  async observe(services: readonly string[]): Promise<{ ps: ContainerState; info?: ContainerInfo }[]> {
    const project = await this.ws.project();
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
    const project = await this.ws.project();
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
    // When each start of a container was first seen running: a restart is a new start.
    const runningSince = new Map<string, number>();
    let told = false;
    for (;;) {
      const seen = await this.observe(services);
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
        if ("failed" in verdict) return this.failWith(service, verdict.failed);
        if ("waiting" in verdict) {
          pending.push([service, verdict.waiting]);
          continue;
        }
        const took = seconds(Date.now() - start);
        ready.set(service, { service, state: verdict.ready, seconds: took });
        this.say(`${service}: ${verdict.ready} after ${took}s`);
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
    const project = await this.ws.project();
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
    const project = await this.ws.project();
    const roles = new Map([...(await this.roles())].map(([s, d]) => [s, d.role]));
    const plan = planRestartService(Object.keys(project.services), roles, service);
    if ("refused" in plan) throw new UserError(plan.refused);
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
    await this.ensureCapture(plan.capture, report);
    return report;
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

  /**
   * `status`'s detail: the project's services (as `base` lists them) with role, health, uptime,
   * restarts and drift (from `rows`, the version report; `driftUnknown` when it could not be
   * made), and the log captures.
   */
  async describe(base: StatusReport, rows: VersionRow[], driftUnknown: boolean): Promise<LifecycleStatus> {
    // A corrupt manifest must not hide the containers: roles then come from labels and images.
    const roles = await this.roles().catch(() => this.roles({ ignoreManifest: true }));
    const names = base.services.flatMap((s) => s.containers.map((c) => c.name));
    const infos = await inspectContainers(this.cli, names);
    const now = Date.now();
    const project = await this.ws.project();
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
          next: row?.next ?? this.untrackedNext(s.service, base.manifest.present, driftUnknown, project),
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
}
