// The operations of docker-versions, one method each, usable without the CLI: the commands and
// the tests both call them with an options object and render what they return. Each method
// reads what it needs, plans in pure code (core/plan.ts) and changes the record in one place.
import type { ComposeProject } from "./adapters/compose.js";
import { readAudit, updateState } from "./adapters/journal.js";
import { withLock, writeAtomic } from "./adapters/store.js";
import type { FleetReport } from "./core/fleet.js";
import { has } from "./core/names.js";
import { nameOrder } from "./core/order.js";
import {
  type ChangeReport,
  planFloating,
  planRename,
  planRollback,
  type Resolved,
  resolutionWarnings,
} from "./core/plan.js";
import { isValidTag } from "./core/reference.js";
import type { VersionRow } from "./core/status.js";
import { UserError } from "./errors.js";
import { type FleetOptions, fleetStatus } from "./fleet.js";
import { floatingPulls, observeFloating } from "./floating.js";
import { Lifecycle, type LifecycleIO } from "./lifecycle.js";
import { type MigrateOptions, type MigrationReport, migrate } from "./migrate.js";
import { ProjectLogs } from "./project-logs.js";
import { type PullOptions, type PullReport, pull } from "./pull.js";
import {
  composedImages,
  envFor,
  groupMembers,
  readManifest,
  requireManifest,
  serviceImages,
} from "./record.js";
import {
  changeRecord,
  changeVersions,
  closeInterruptedUpdate,
  interruptedRun,
  withGroupNote,
} from "./record-change.js";
import { resolveFloating, type UpdateRow, updatesFor } from "./registry-ops.js";
import {
  composeStatus,
  type HistoryReport,
  history,
  historyTags,
  type LifecycleStatus,
  observeContainers,
  statusDetail,
  versionRows,
  withStack,
} from "./reports.js";
import { Unattended } from "./unattended.js";
import { UpdateSafe, type UpdateSafeOptions, type UpdateSafeReport } from "./update-safe.js";
import { type Context, Workspace } from "./workspace.js";

export type { FleetHost, FleetReport, FleetRow } from "./core/fleet.js";
export type { Change, ChangeReport, FloatingPlan, VersionRef } from "./core/plan.js";
export type { ServiceStatus, StatusReport, VersionRow } from "./core/status.js";
export type { FleetOptions } from "./fleet.js";
export type { ComposeEdit, MigrateOptions, MigrationProposal, MigrationReport } from "./migrate.js";
export type { PullOptions, PullReport } from "./pull.js";
export type { HistoryReport } from "./reports.js";
export type { Context } from "./workspace.js";

export interface PullLatestOptions {
  dryRun?: boolean;
  /** Also run the changed services on their new versions (recreate, or deploy the stack). */
  apply?: boolean;
}
export interface VersionPullOptions {
  service: string;
  tag: string;
  dryRun?: boolean;
  /** Also run the changed services on their new versions (recreate, or deploy the stack). */
  apply?: boolean;
}
export interface RollbackOptions {
  service?: string;
  to?: string;
  apply?: boolean;
  dryRun?: boolean;
}

export class Versions {
  readonly ws: Workspace;

  constructor(ctx: Context) {
    this.ws = new Workspace(ctx);
  }

  /** The Compose project, loaded once per operation. */
  project(): Promise<ComposeProject> {
    return this.ws.project();
  }

  manifestPath(): Promise<string> {
    return this.ws.manifestPath();
  }

  /** Docker and Compose draw their own progress (a terminal, and no --quiet). */
  get drawsProgress(): boolean {
    return this.ws.drawsProgress;
  }

  /** --quiet: no progress lines at all. */
  get quiet(): boolean {
    return Boolean(this.ws.ctx.quiet);
  }

  /** Completes or reverts a change of the record a crashed command left half done. */
  settleRecord(): Promise<void> {
    return this.ws.settleRecord();
  }

  /** The lifecycle operations (updb, up, down, restart, logs) over this service's workspace. */
  lifecycle(io: LifecycleIO = {}): Lifecycle {
    if (this.ws.ctx.stack)
      throw new UserError(
        `--stack ${this.ws.ctx.stack}: updb, up, down, restart and the logs commands work on Compose projects; a stack is started with 'docker stack deploy' (the --apply of pull-latest, version-pull and rollback deploys it) and removed with 'docker stack rm'`,
      );
    return new Lifecycle(this.ws, io);
  }

  /** The project's logs: Compose's, the captured files, the databases' errors, the capture itself. */
  logs(io: LifecycleIO = {}): ProjectLogs {
    return new ProjectLogs(this.ws, this.lifecycle(io));
  }

  /** `update-safe`: the production update, rolled back by itself when it is not healthy. */
  updateSafe(opts: UpdateSafeOptions = {}, io: LifecycleIO = {}): Promise<UpdateSafeReport> {
    return new UpdateSafe(this.ws, io).run(opts);
  }

  /** Unattended operation: notifications, metrics, the schedule, prune (see unattended.ts). */
  unattended(): Unattended {
    return new Unattended(this.ws);
  }

  /** `status`: every service with role, state, health, uptime, restarts and drift, and the captures. */
  async status(io: LifecycleIO = {}): Promise<LifecycleStatus> {
    // The containers are listed and inspected once, for the services and for the versions.
    const observed = await observeContainers(this.ws);
    const base = await composeStatus(this.ws, observed);
    let rows: VersionRow[] = [];
    let driftUnknown = false;
    if (base.manifest.present) {
      try {
        rows = await versionRows(this.ws, observed);
      } catch (e) {
        if (!(e instanceof UserError)) throw e;
        driftUnknown = true;
      }
    }
    const report = await statusDetail(
      this.ws,
      new Lifecycle(this.ws, io),
      base,
      rows,
      driftUnknown,
      observed,
    );
    return this.ws.ctx.stack ? withStack(this.ws, this.ws.ctx.stack, report) : report;
  }

  /** `update`: down, pull, build (the from-source workflow); starting again is the next step. */
  async update(
    opts: { dryRun?: boolean } = {},
    io: LifecycleIO = {},
  ): Promise<{ pulled: string[]; built: string[]; dryRun: boolean }> {
    const lifecycle = this.lifecycle(io);
    const project = await this.ws.project();
    const built = Object.entries(project.services)
      .filter(([, spec]) => spec.build !== undefined)
      .map(([s]) => s)
      .sort();
    if (opts.dryRun) {
      await lifecycle.down({ dryRun: true });
      lifecycle.say("would pull the manifest's versions (or what the compose file names)");
      lifecycle.say(
        built.length > 0 ? `would build ${built.join(", ")}` : "nothing to build: no service has build:",
      );
      return { pulled: [], built, dryRun: true };
    }
    await lifecycle.down();
    lifecycle.say("pulling");
    const pulled = await this.pull();
    lifecycle.say(
      `pulled: ${pulled.pulled.join(", ") || "none"}${pulled.present.length ? `; already present: ${pulled.present.join(", ")}` : ""}`,
    );
    if (built.length > 0) {
      lifecycle.say(`building ${built.join(", ")}`);
      await lifecycle.composeStep(["build", ...built], "building");
    } else lifecycle.say("nothing to build: no service has build:");
    return { pulled: pulled.pulled, built, dryRun: false };
  }

  /** `version`: each tracked service's record, and whether its container runs that digest. */
  version(): Promise<VersionRow[]> {
    return versionRows(this.ws);
  }

  /** `fleet status`: per docker context, what the project runs, its version names and drift. */
  fleetStatus(opts: FleetOptions = {}): Promise<FleetReport> {
    return fleetStatus(this.ws, opts);
  }

  /** `version-history`: per service its deployments, current and previous marked. */
  history(opts: { service?: string } = {}): Promise<HistoryReport> {
    return history(this.ws, opts);
  }

  /** `migrate-versions`: the first record, from what runs; asks for compose edits and tags. */
  migrate(opts: MigrateOptions = {}): Promise<MigrationReport> {
    return migrate(this.ws, opts);
  }

  /** The tags a service's history holds (every tracked service's without one), newest first. */
  historyTags(service?: string): Promise<string[]> {
    return historyTags(this.ws, service);
  }

  /** `pull`: the manifest's versions by digest; without a manifest, what the compose file names. */
  pull(opts: PullOptions = {}): Promise<PullReport> {
    return pull(this.ws, opts);
  }

  /** `pull-latest`: the floating tag of every tracked service, recorded with its digest. */
  async pullLatest(opts: PullLatestOptions = {}): Promise<ChangeReport | { mode: "compose" }> {
    const project = await this.ws.project();
    const paths = await this.ws.paths();
    const loaded = await readManifest(paths.manifest);
    if (!loaded) {
      if (opts.dryRun) return { mode: "compose" };
      await this.ws.composePull(project, []);
      return { mode: "compose" };
    }
    const images = serviceImages(project);
    const observed = await observeFloating(this.ws, loaded.manifest, images);
    const plan = planFloating(observed);
    const report = await changeVersions(this.ws, {
      command: "pull-latest",
      images,
      targets: plan.changes,
      pulls: floatingPulls(this.ws, observed, loaded.manifest, images),
      apply: Boolean(opts.apply),
      dryRun: Boolean(opts.dryRun),
    });
    report.unchanged.push(...plan.unchanged);
    report.unchanged.sort();
    report.warnings.push(...plan.warnings);
    return report;
  }

  /** `resolve-tags`: every floating tag in the manifest becomes the semantic tag with its digest. */
  async resolveTags(opts: { dryRun?: boolean } = {}): Promise<ChangeReport> {
    const project = await this.ws.project();
    const paths = await this.ws.paths();
    const { manifest } = await requireManifest(paths.manifest);
    const images = serviceImages(project);
    const items = Object.entries(manifest.services)
      .filter(([service]) => has(project.services, service))
      .map(([service, rec]) => ({
        service,
        repository: this.ws.repositoryOf(service, rec, images),
        tag: rec.current_tag,
        digest: rec.image_digest,
      }));
    const resolved = await resolveFloating(this.ws.registry(), items);
    const warnings = resolutionWarnings(resolved);
    const found = resolved.filter((r): r is Resolved & { to: string } => r.to !== null && r.to !== r.from);
    const unchanged = items.filter((i) => !found.some((f) => f.service === i.service)).map((i) => i.service);
    const renames = found.map((r) => ({
      service: r.service,
      from: { tag: r.from, digest: items.find((i) => i.service === r.service)?.digest },
      to: r.to,
    }));
    const at = this.ws.at();
    const report = await changeRecord(
      this.ws,
      "resolve-tags",
      images,
      (current) => planRename(current, renames, at, "resolve-tags"),
      Boolean(opts.dryRun),
    );
    return { ...report, unchanged, warnings: [...warnings, ...report.warnings] };
  }

  /** `check-updates`: newer semantic tags per tracked service, and whether the floating tag moved. */
  async checkUpdates(opts: { prereleases?: boolean; service?: string } = {}): Promise<UpdateRow[]> {
    // Repositories are what Compose interpolates: no image templates needed.
    const project = await this.ws.services();
    const { manifest } = await requireManifest((await this.ws.paths()).manifest);
    if (opts.service) this.ws.checkService(project, opts.service, manifest);
    const images = composedImages(project);
    const services = Object.entries(manifest.services)
      .filter(([service]) => has(project.services, service) && (!opts.service || service === opts.service))
      .sort(([a], [b]) => nameOrder(a, b))
      .map(([service, record]) => ({
        service,
        record,
        repository: this.ws.repositoryOf(service, record, images),
      }));
    return updatesFor(this.ws.registry(), services, { prereleases: opts.prereleases });
  }

  /** `version-pull` / `version-set`: one service at a named tag. */
  async versionPull(opts: VersionPullOptions & { custom?: boolean }): Promise<ChangeReport> {
    const command = opts.custom ? "version-set" : "version-pull";
    if (!isValidTag(opts.tag))
      throw new UserError(
        `'${opts.tag}' is not a valid tag (letters, digits, '_', '.', '-'; at most 128; not starting with '.' or '-')`,
      );
    const project = await this.ws.project();
    const { manifest } = await requireManifest((await this.ws.paths()).manifest);
    this.ws.checkService(project, opts.service);
    const images = serviceImages(project);
    const repo = this.ws.repositoryOf(opts.service, manifest.services[opts.service], images);
    // A hotfix image may exist only on this host (built or loaded here): version-set takes it.
    const digest = await this.ws.registryDigest(repo, opts.tag, { localToo: opts.custom });
    const group = groupMembers(manifest, images, opts.service);
    const ref = digest ? `${repo}@${digest}` : `${repo}:${opts.tag}`;
    const report = await changeVersions(this.ws, {
      command,
      images,
      targets: group.map((service) => ({ service, to: { tag: opts.tag, digest }, custom: opts.custom })),
      pulls: group.map((service) => ({ service, ref, follows: `${repo}:${opts.tag}` })),
      apply: Boolean(opts.apply),
      dryRun: Boolean(opts.dryRun),
    });
    return withGroupNote(report, opts.service, group);
  }

  /** `rollback`, `rollback-service`, `rollback-to`. */
  async rollback(opts: RollbackOptions = {}): Promise<ChangeReport> {
    if (opts.to !== undefined && !opts.service)
      throw new UserError("--to needs --service: name the service to roll back");
    if (opts.to !== undefined && !isValidTag(opts.to)) throw new UserError(`'${opts.to}' is not a valid tag`);
    const project = await this.ws.project();
    const { manifest } = await requireManifest((await this.ws.paths()).manifest);
    if (opts.service) this.ws.checkService(project, opts.service, manifest);
    const images = serviceImages(project);
    const state = opts.service ? null : await updateState((await this.ws.paths()).manifest);
    const plan = planRollback({
      manifest,
      services: Object.keys(project.services),
      service: opts.service,
      to: opts.to,
      group: opts.service ? groupMembers(manifest, images, opts.service) : undefined,
      interrupted: interruptedRun(state?.interrupted ?? null),
    });
    if ("refused" in plan) throw new UserError(plan.refused);
    const { targets, group } = plan;
    const repoOf = (s: string) => this.ws.repositoryOf(s, manifest.services[s], images);
    // A tag not in the history: its digest from the engine, else the registry (also in a dry
    // run, which so says whether the tag exists). Members of one group share a repository.
    for (const t of group.length > 1 ? targets.slice(0, 1) : targets)
      if (!t.to.digest) t.to.digest = await this.ws.tagDigest(repoOf(t.service), t.to.tag);
    if (group.length > 1) for (const t of targets) t.to.digest = targets[0]?.to.digest;
    const report = await changeVersions(this.ws, {
      command: "rollback",
      images,
      targets,
      pulls: targets.map((t) => ({
        service: t.service,
        ref: t.to.digest ? `${repoOf(t.service)}@${t.to.digest}` : `${repoOf(t.service)}:${t.to.tag}`,
      })),
      apply: Boolean(opts.apply),
      dryRun: Boolean(opts.dryRun),
      // Undoing a cut-short run settles it: the journal says so.
      before: () => closeInterruptedUpdate(this.ws, "rollback"),
    });
    return withGroupNote(report, opts.service ?? "", group);
  }

  /** The audit log: who changed which service from what to what, oldest first. */
  async audit(opts: { service?: string } = {}): Promise<string[]> {
    const project = await this.ws.project();
    if (opts.service) this.ws.checkService(project, opts.service);
    const lines = await readAudit(await this.ws.manifestPath());
    return opts.service ? lines.filter((l) => l.includes(`\t${opts.service}: `)) : lines;
  }

  /** `generate-env`: rewrites versions.env from the manifest. */
  async generateEnv(
    opts: { dryRun?: boolean } = {},
  ): Promise<{ path: string; text: string; warnings: string[] }> {
    const project = await this.ws.project();
    const paths = await this.ws.paths();
    const images = serviceImages(project);
    const write = async () => {
      const { manifest } = await requireManifest(paths.manifest);
      const env = envFor(manifest, images);
      if (!opts.dryRun) await writeAtomic(paths.env, env.text);
      return { path: paths.env, ...env };
    };
    return opts.dryRun
      ? write()
      : withLock(paths.manifest, { command: "generate-env", now: this.ws.clock() }, write);
  }
}
