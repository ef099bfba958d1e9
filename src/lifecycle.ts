// Starting and stopping a deployment the way the seed guide does: databases first and waited
// for, then the application on the manifest's digests, everything down together, and the log
// captures that go with them. Waiting for health is wait-ready.ts; status is reports.ts.
import { type ComposeProject, compose } from "./adapters/compose.js";
import { lastLine } from "./adapters/docker.js";
import {
  type CapturePaths,
  type CaptureState,
  capturePaths,
  captureState,
  logsRoot,
  startCapture,
  stopCapture,
} from "./adapters/logs.js";
import { CAPTURE_KINDS, type CaptureKind } from "./core/log-lines.js";
import { planRestartService } from "./core/plan.js";
import { decideRole, type Role, type RoleDecision } from "./core/roles.js";
import { UserError } from "./errors.js";
import { readManifest, recordPaths } from "./record.js";
import {
  DEFAULT_TIMEOUT_S,
  observeContainers,
  type Readiness,
  type WaitOptions,
  waitReady,
} from "./wait-ready.js";

export type { Readiness, WaitOptions } from "./wait-ready.js";

import { nameOrder } from "./core/order.js";
import type { Workspace } from "./workspace.js";

export interface LifecycleIO {
  /** One line per step for people (and logs); the command writes it to stdout. */
  step?: (line: string) => void;
  /** Interactive terminal: let Compose draw its own progress instead of one line per step. */
  interactive?: boolean;
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
    for (const [service, spec] of Object.entries(project.services).sort(([a], [b]) => nameOrder(a, b))) {
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

  /**
   * Waits until every service is ready (see wait-ready.ts); a service that fails, or is not
   * ready at the timeout, fails the wait naming it, with its last log lines.
   */
  waitReady(services: readonly string[], opts: WaitOptions = {}): Promise<Readiness[]> {
    return waitReady(this.ws, services, opts, (line) => this.say(line));
  }

  /** `updb`: the database services, started and waited for, then their log capture. */
  async updb(opts: StartOptions = {}): Promise<StartReport> {
    const dbs = await this.servicesOf("database");
    const report: StartReport = { services: dbs, ready: [], warnings: [], dryRun: Boolean(opts.dryRun) };
    if (dbs.length === 0) {
      this.say("no database services in this project (see the role column of 'docker versions status')");
      return report;
    }
    return this.startRole("db", dbs, opts, report);
  }

  /**
   * Starts one role's services (databases or apps), waits for them and starts their log
   * capture; a dry run says each of those steps instead.
   */
  private async startRole(
    kind: CaptureKind,
    services: string[],
    opts: StartOptions,
    report: StartReport,
  ): Promise<StartReport> {
    const what = kind === "db" ? "database" : "app";
    if (opts.dryRun) {
      this.say(`would start the ${what} services: ${services.join(", ")}`);
      if (!opts.noWait)
        this.say(`would wait up to ${opts.timeout ?? DEFAULT_TIMEOUT_S}s for them to be healthy`);
      this.say(`would start the ${what} log capture`);
      return report;
    }
    this.say(`starting the ${what} services: ${services.join(", ")}`);
    await this.composeStep(
      ["up", "--detach", "--no-deps", ...services],
      kind === "db" ? "starting the databases" : "starting the app services",
    );
    if (!opts.noWait) report.ready.push(...(await this.waitReady(services, opts)));
    await this.ensureCapture(kind, report);
    return report;
  }

  /** Which databases are not up, and why, for `up`'s refusal. */
  private async databasesDown(dbs: readonly string[]): Promise<string[]> {
    const seen = await observeContainers(this.ws, dbs);
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
    return this.startRole("app", apps, opts, report);
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
}
