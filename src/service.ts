// The operations of docker-versions, one method each, usable without the CLI: the commands and
// the tests both call them with an options object and render what they return.
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { type ComposeProject, compose, listContainers, type ServiceSpec } from "./adapters/compose.js";
import { digestFor, inspectContainers, inspectImage, pullImage } from "./adapters/engine.js";
import { appendJournal, parseVersion, readAudit, updateState } from "./adapters/journal.js";
import { backupFile, withLock, writeAtomic } from "./adapters/store.js";
import { findImageSites, replaceImage } from "./core/compose-edit.js";
import { parseComposeText } from "./core/compose-yaml.js";
import { previousVersion, recordDeployment } from "./core/history.js";
import { mapLimit } from "./core/limit.js";
import type { HistoryEntry, Manifest, ServiceRecord } from "./core/manifest.js";
import { byName, has } from "./core/names.js";
import { type Pin, planPins } from "./core/pinning.js";
import {
  type ChangeReport,
  planRecord,
  planRename,
  planRollback,
  type RecordPlan,
  type Resolved,
  resolutionWarnings,
  type Target,
  type VersionRef,
} from "./core/plan.js";
import { isValidTag, parseReference } from "./core/reference.js";
import { decideRole } from "./core/roles.js";
import type { StatusReport, VersionRow } from "./core/status.js";
import { UserError } from "./errors.js";
import { floatingPlan } from "./floating.js";
import { Lifecycle, type LifecycleIO, type LifecycleStatus } from "./lifecycle.js";
import { ProjectLogs } from "./project-logs.js";
import {
  envFor,
  groupMembers,
  mutateRecord,
  pinPlanFor,
  readManifest,
  requireManifest,
  type ServiceImage,
  serviceImages,
} from "./record.js";
import { resolveFloating, type UpdateRow, updatesFor } from "./registry-ops.js";
import { UpdateSafe, type UpdateSafeOptions, type UpdateSafeReport } from "./update-safe.js";
import { type Context, Workspace } from "./workspace.js";

export type { Change, ChangeReport, FloatingPlan, VersionRef } from "./core/plan.js";
export type { ServiceStatus, StatusReport, VersionRow } from "./core/status.js";
export type { Context } from "./workspace.js";

export interface HistoryReport {
  services: {
    service: string;
    current: VersionRef;
    entries: (HistoryEntry & { mark: "current" | "previous" | "" })[];
  }[];
}

export interface MigrationProposal {
  service: string;
  repository: string;
  tag: string;
  digest?: string;
  /** Whether the digest comes from a running container (else from the local image, if any). */
  running: boolean;
  variable?: string;
  /**
   * The tag pull-latest and update-safe will follow: the one the compose file names, so that
   * `postgres:16` keeps following 16 rather than jumping to latest; absent means latest.
   */
  floating?: string;
}

export interface ComposeEdit {
  service: string;
  file: string;
  before: string;
  after: string;
}

export interface MigrateOptions {
  dryRun?: boolean;
  /** Asked for each service whose `image:` has no version variable; true rewrites that line. */
  editCompose?: (edit: ComposeEdit) => Promise<boolean>;
  /** The wizard: returns the tag to record for a proposal. */
  decide?: (p: MigrationProposal) => Promise<string>;
}

export interface MigrationReport {
  composeEdits: ComposeEdit[];
  created: boolean;
  proposals: MigrationProposal[];
  manifest: string;
  warnings: string[];
}

export interface PullOptions {
  service?: string;
}
export interface PullLatestOptions {
  dryRun?: boolean;
}
export interface VersionPullOptions {
  service: string;
  tag: string;
  dryRun?: boolean;
}
export interface RollbackOptions {
  service?: string;
  to?: string;
  apply?: boolean;
  dryRun?: boolean;
}

const CONCURRENCY = 4;

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

  /** Completes or reverts a change of the record a crashed command left half done. */
  settleRecord(): Promise<void> {
    return this.ws.settleRecord();
  }

  /** The lifecycle operations (updb, up, down, restart, logs) over this service's workspace. */
  lifecycle(io: LifecycleIO = {}): Lifecycle {
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

  /** `status`: every service with role, state, health, uptime, restarts and drift, and the captures. */
  async status(io: LifecycleIO = {}): Promise<LifecycleStatus> {
    const base = await this.composeStatus();
    let rows: VersionRow[] = [];
    let driftUnknown = false;
    if (base.manifest.present) {
      try {
        rows = await this.version();
      } catch (e) {
        if (!(e instanceof UserError)) throw e;
        driftUnknown = true;
      }
    }
    return this.lifecycle(io).describe(base, rows, driftUnknown);
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

  /** The project, its files and its containers, before roles and drift are added. */
  private async composeStatus(): Promise<StatusReport> {
    const project = await this.ws.project();
    const [containers, manifestPath] = await Promise.all([
      listContainers(this.ws.ctx.cli, project),
      this.ws.manifestPath(),
    ]);
    // With a record, a tracked service runs the recorded tag, not what the file defaults to.
    const recorded = (await readManifest(manifestPath))?.manifest.services ?? {};
    const images = serviceImages(project);
    const pins = pinPlanFor({ schema: 1, services: recorded }, images).pins;
    const imageOf = (service: string, spec: ServiceSpec): string => {
      const rec = recorded[service];
      const repo = images.get(service)?.repository ?? rec?.image;
      if (rec && repo && pins.get(service)?.state === "pinned") return `${repo}:${rec.current_tag}`;
      return spec.image ?? "(built locally)";
    };
    const services = Object.entries(project.services)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([service, spec]) => ({
        service,
        image: imageOf(service, spec),
        containers: containers
          .filter((c) => c.service === service)
          .map(({ name, state, health, exitCode, status }) => ({ name, state, health, exitCode, status })),
      }));
    return {
      project: project.name,
      composeFiles: project.files,
      manifest: { path: manifestPath, present: existsSync(manifestPath) },
      services,
    };
  }

  /** `version`: each tracked service's record, and whether its container runs that digest. */
  async version(): Promise<VersionRow[]> {
    const project = await this.ws.project();
    const paths = await this.ws.paths();
    const { manifest } = await requireManifest(paths.manifest);
    const images = serviceImages(project);
    const containers = await listContainers(this.ws.ctx.cli, project);
    const infos = await inspectContainers(
      this.ws.ctx.cli,
      containers.filter((c) => c.state === "running").map((c) => c.id),
    );
    const imageCache = new Map<string, Promise<Awaited<ReturnType<typeof inspectImage>>>>();
    const pins = pinPlanFor(manifest, images).pins;
    return Promise.all(
      Object.entries(manifest.services)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(async ([service, rec]): Promise<VersionRow> => {
          const pin = pins.get(service);
          const role = decideRole({
            manifest: rec.role,
            labels: project.services[service]?.labels,
            image: project.services[service]?.image,
          }).role;
          const row: VersionRow = {
            service,
            tag: rec.current_tag,
            digest: rec.image_digest,
            custom: rec.custom,
            updatedAt: rec.updated_at,
            updatedBy: rec.updated_by,
            role,
            drift: "not running",
            pinnedBy:
              pin?.state === "pinned" ? "versions.env" : pin?.state === "file" ? "compose file" : "nothing",
            next: `docker versions ${role === "database" ? "updb" : "up"}`,
          };
          if (pin?.state === "unpinned") {
            return {
              ...row,
              drift: "unpinned",
              next: pin.edit ? `change its image: to ${pin.edit} (${pin.reason})` : pin.reason,
            };
          }
          const ids = containers.filter((c) => c.service === service).map((c) => c.id);
          const running = infos.filter((i) => ids.some((id) => i.id.startsWith(id)));
          if (running.length === 0) return row;
          const repo = images.get(service)?.repository ?? rec.image;
          if (!rec.image_digest || !repo)
            return {
              ...row,
              drift: "unknown",
              next: `docker versions version-pull --service ${service} --tag ${rec.current_tag} (records its digest)`,
            };
          for (const c of running) {
            if (!imageCache.has(c.imageId))
              imageCache.set(c.imageId, inspectImage(this.ws.ctx.cli, c.imageId));
            const img = await imageCache.get(c.imageId);
            const digest = img ? digestFor(img, repo) : undefined;
            if (digest !== rec.image_digest)
              return {
                ...row,
                drift: "drift",
                running: digest ?? c.imageId,
                next: `docker versions restart --service ${service}`,
              };
          }
          return { ...row, drift: "in sync", next: undefined };
        }),
    );
  }

  /** `version-history`: per service its deployments, current and previous marked. */
  async history(opts: { service?: string } = {}): Promise<HistoryReport> {
    const project = await this.ws.project();
    const { manifest } = await requireManifest((await this.ws.paths()).manifest);
    if (opts.service) this.ws.checkService(project, opts.service, manifest);
    const names = opts.service ? [opts.service] : Object.keys(manifest.services).sort();
    return {
      services: names.map((service) => {
        const rec = manifest.services[service] as ServiceRecord;
        const prev = previousVersion(rec);
        const currentIdx = rec.history.findIndex(
          (e) => e.tag === rec.current_tag && e.digest === rec.image_digest,
        );
        return {
          service,
          current: { tag: rec.current_tag, digest: rec.image_digest },
          entries: rec.history.map((e, i) => ({
            ...e,
            mark: i === currentIdx ? "current" : e === prev ? "previous" : "",
          })),
        };
      }),
    };
  }

  /** `pull`: the manifest's versions by digest; without a manifest, what the compose file names. */
  async pull(
    opts: PullOptions = {},
  ): Promise<{ mode: "manifest" | "compose"; pulled: string[]; present: string[] }> {
    const project = await this.ws.project();
    if (opts.service) this.ws.checkService(project, opts.service);
    const loaded = await readManifest((await this.ws.paths()).manifest);
    if (!loaded) {
      const res = await compose(this.ws.ctx.cli, project, ["pull", ...(opts.service ? [opts.service] : [])], {
        inherit: true,
      });
      if (res.code !== 0) throw new UserError(`docker compose pull failed (exit ${res.code})`);
      return {
        mode: "compose",
        pulled: opts.service ? [opts.service] : Object.keys(project.services),
        present: [],
      };
    }
    const images = serviceImages(project);
    const names = (opts.service ? [opts.service] : Object.keys(loaded.manifest.services)).filter((s) =>
      has(project.services, s),
    );
    const pulled: string[] = [];
    const present: string[] = [];
    await mapLimit(names, CONCURRENCY, async (service) => {
      const rec = loaded.manifest.services[service];
      if (!rec) return; // not tracked: Compose's own pull covers it below
      const repo = this.ws.repositoryOf(service, rec, images);
      const ref = rec.image_digest ? `${repo}@${rec.image_digest}` : `${repo}:${rec.current_tag}`;
      if (await inspectImage(this.ws.ctx.cli, ref)) {
        present.push(service);
        return;
      }
      this.ws.progress(`pulling ${service}: ${ref}`);
      await pullImage(this.ws.ctx.cli, ref);
      pulled.push(service);
    });
    const untracked = (opts.service ? [opts.service] : Object.keys(project.services)).filter(
      (s) => !has(loaded.manifest.services, s) && project.services[s]?.image,
    );
    if (untracked.length > 0) {
      const res = await compose(this.ws.ctx.cli, project, ["pull", ...untracked], { inherit: true });
      if (res.code !== 0)
        throw new UserError(`docker compose pull ${untracked.join(" ")} failed (exit ${res.code})`);
      pulled.push(...untracked);
    }
    return { mode: "manifest", pulled: pulled.sort(), present: present.sort() };
  }

  /**
   * The one way a command changes the record: `plan` is computed against the manifest as it is
   * under the lock (another command may have changed it since it was read), then committed as
   * one transaction; a dry run plans against the manifest as read and commits nothing.
   */
  private async change(
    command: string,
    images: Map<string, ServiceImage>,
    plan: (current: Manifest | null) => RecordPlan,
    dryRun: boolean,
  ): Promise<ChangeReport> {
    const paths = await this.ws.paths();
    if (dryRun) {
      const { changes, unchanged } = plan((await readManifest(paths.manifest))?.manifest ?? null);
      return { changes, unchanged, dryRun: true, backup: null, warnings: [], applied: [] };
    }
    const out = await mutateRecord(paths, images, command, this.ws.clock(), (current) => {
      const p = plan(current?.manifest ?? null);
      return { manifest: p.manifest, result: p };
    });
    const { changes, unchanged } = out.result;
    return { changes, unchanged, dryRun: false, backup: out.backup, warnings: out.warnings, applied: [] };
  }

  /** Records `targets` (planned outside the lock) as deployments by `command`. */
  private record(
    command: string,
    images: Map<string, ServiceImage>,
    targets: Target[],
    dryRun: boolean,
  ): Promise<ChangeReport> {
    const at = this.ws.at();
    const withImage = targets.map((t) => ({ ...t, image: images.get(t.service)?.repository }));
    return this.change(command, images, (current) => planRecord(current, withImage, at, command), dryRun);
  }

  /** `pull-latest`: the floating tag of every tracked service, recorded with its digest. */
  async pullLatest(opts: PullLatestOptions = {}): Promise<ChangeReport | { mode: "compose" }> {
    const project = await this.ws.project();
    const paths = await this.ws.paths();
    const loaded = await readManifest(paths.manifest);
    if (!loaded) {
      if (opts.dryRun) return { mode: "compose" };
      const res = await compose(this.ws.ctx.cli, project, ["pull"], { inherit: true });
      if (res.code !== 0) throw new UserError(`docker compose pull failed (exit ${res.code})`);
      return { mode: "compose" };
    }
    const images = serviceImages(project);
    const plan = await floatingPlan(this.ws, loaded.manifest, images, { dryRun: opts.dryRun });
    const report = await this.record("pull-latest", images, plan.changes, Boolean(opts.dryRun));
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
    const report = await this.change(
      "resolve-tags",
      images,
      (current) => planRename(current, renames, at, "resolve-tags"),
      Boolean(opts.dryRun),
    );
    return { ...report, unchanged, warnings: [...warnings, ...report.warnings] };
  }

  /** `check-updates`: newer semantic tags per tracked service, and whether the floating tag moved. */
  async checkUpdates(opts: { prereleases?: boolean; service?: string } = {}): Promise<UpdateRow[]> {
    const project = await this.ws.project();
    const { manifest } = await requireManifest((await this.ws.paths()).manifest);
    if (opts.service) this.ws.checkService(project, opts.service, manifest);
    const images = serviceImages(project);
    const services = Object.entries(manifest.services)
      .filter(([service]) => has(project.services, service) && (!opts.service || service === opts.service))
      .sort(([a], [b]) => a.localeCompare(b))
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
    let digest: string | undefined;
    if (!opts.dryRun) {
      try {
        this.ws.progress(`pulling ${opts.service}: ${repo}:${opts.tag}`);
        digest = await this.ws.pullImageTag(repo, opts.tag);
      } catch (e) {
        // A hotfix image may exist only on this host (built or loaded here).
        const local = opts.custom ? await inspectImage(this.ws.ctx.cli, `${repo}:${opts.tag}`) : null;
        if (!local) throw e;
        digest = digestFor(local, repo);
      }
    }
    const group = groupMembers(manifest, images, opts.service);
    const report = await this.record(
      command,
      images,
      group.map((service) => ({ service, to: { tag: opts.tag, digest }, custom: opts.custom })),
      Boolean(opts.dryRun),
    );
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
    // Undo exactly what a cut-short update-safe changed: its journal names the services and the
    // versions they had, whether or not the record has already been put back.
    const interrupted = state?.interrupted
      ? {
          from: Object.fromEntries(
            Object.entries(state.interrupted[0]?.from ?? {}).map(([s, v]) => [s, parseVersion(v)]),
          ),
          changed:
            state.interrupted.find((e) => e.step === "recording" || e.step === "recorded")?.services ?? [],
        }
      : null;
    const plan = planRollback({
      manifest,
      services: Object.keys(project.services),
      service: opts.service,
      to: opts.to,
      group: opts.service ? groupMembers(manifest, images, opts.service) : undefined,
      interrupted,
    });
    if ("refused" in plan) throw new UserError(plan.refused);
    const { targets, group } = plan;
    if (!opts.dryRun) {
      // Members of one group share a repository: what one resolves to, all do.
      await mapLimit(group.length > 1 ? targets.slice(0, 1) : targets, CONCURRENCY, async (t) => {
        const repo = this.ws.repositoryOf(t.service, manifest.services[t.service], images);
        t.to.digest = await this.ws.ensureLocal(repo, t.to);
      });
    }
    if (group.length > 1) for (const t of targets) t.to.digest = targets[0]?.to.digest;
    const report = withGroupNote(
      await this.record("rollback", images, targets, Boolean(opts.dryRun)),
      opts.service ?? "",
      group,
    );
    if (opts.apply && !opts.dryRun && report.changes.length > 0) {
      report.applied = await this.ws.recreate(report.changes.map((c) => c.service));
    }
    if (!opts.dryRun) await this.closeInterruptedUpdate("rollback");
    return report;
  }

  /** The audit log: who changed which service from what to what, oldest first. */
  async audit(opts: { service?: string } = {}): Promise<string[]> {
    const project = await this.ws.project();
    if (opts.service) this.ws.checkService(project, opts.service);
    const lines = await readAudit(await this.ws.manifestPath());
    return opts.service ? lines.filter((l) => l.includes(`\t${opts.service}: `)) : lines;
  }

  /** A rollback after an interrupted update-safe run settles it: the journal says so. */
  private async closeInterruptedUpdate(command: string): Promise<void> {
    const manifestPath = await this.ws.manifestPath();
    const open = (await updateState(manifestPath)).interrupted; // never a run still in progress
    if (!open?.[0]) return;
    await appendJournal(manifestPath, {
      id: open[0].id,
      at: this.ws.at(),
      step: "end",
      outcome: "superseded",
      detail: `settled by ${command}`,
    });
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
    return opts.dryRun ? write() : withLock(paths.manifest, { command: "generate-env" }, write);
  }

  /**
   * `migrate-versions`: proposes a record for every service with an image from what runs (the
   * digest the container actually runs) or, for a service not running, from the compose file;
   * `decide` may change each proposal's tag (the wizard), then the manifest and env are written.
   */
  async migrate(opts: MigrateOptions = {}): Promise<MigrationReport> {
    const project = await this.ws.project();
    const paths = await this.ws.paths();
    if (await readManifest(paths.manifest)) {
      return { created: false, proposals: [], manifest: paths.manifest, warnings: [], composeEdits: [] };
    }
    const before = serviceImages(project);
    const containers = await listContainers(this.ws.ctx.cli, project);
    const infos = await inspectContainers(
      this.ws.ctx.cli,
      containers.filter((c) => c.state === "running").map((c) => c.id),
    );
    const proposals: MigrationProposal[] = [];
    const warnings: string[] = [];
    const built = Object.entries(project.services)
      .filter(([, spec]) => !spec.image)
      .map(([s]) => s)
      .sort();
    if (built.length > 0) warnings.push(`not tracked, they are built from source: ${built.join(", ")}`);
    for (const [service, spec] of Object.entries(project.services).sort(([a], [b]) => a.localeCompare(b))) {
      const img = before.get(service);
      if (!spec.image || !img?.repository) continue;
      const ref = parseReference(spec.image);
      const tag = ref.tag ?? "latest";
      const ids = containers.filter((c) => c.service === service).map((c) => c.id);
      const running = infos.find((i) => ids.some((id) => i.id.startsWith(id)));
      const local = await inspectImage(this.ws.ctx.cli, running ? running.imageId : spec.image);
      proposals.push({
        service,
        repository: img.repository,
        tag,
        // A digest the compose file names is the record, whatever runs now.
        digest: ref.digest ?? (local ? digestFor(local, img.repository) : undefined),
        running: Boolean(running),
        floating: tag === "latest" ? undefined : tag,
      });
    }
    // The compose edits are asked first, planned on the proposed tags.
    const composeEdits =
      opts.editCompose && !opts.dryRun ? await this.pinByEdits(project, proposals, opts.editCompose) : [];
    for (const p of proposals) {
      if (opts.decide) p.tag = await opts.decide(p);
      if (!isValidTag(p.tag)) throw new UserError(`'${p.tag}' is not a valid tag for ${p.service}`);
    }
    if (opts.dryRun)
      return { created: false, proposals, manifest: paths.manifest, warnings, composeEdits: [] };
    if (composeEdits.length > 0) this.ws.forgetProject(); // the files changed: read them again
    const images = serviceImages(await this.ws.project());
    const out = await mutateRecord(paths, images, "migrate-versions", this.ws.clock(), (current) => {
      if (current) return { manifest: null, result: false };
      const at = this.ws.at();
      const services = byName<ServiceRecord>();
      for (const p of proposals) {
        const rec = recordDeployment(undefined, {
          tag: p.tag,
          digest: p.digest,
          at,
          source: "migrate-versions",
          image: p.repository,
        });
        services[p.service] = p.floating ? { ...rec, floating_tag: p.floating } : rec;
      }
      return { manifest: { schema: 1, services }, result: true };
    });
    const plan = pinPlanFor(
      {
        schema: 1,
        services: Object.fromEntries(
          proposals.map((p) => [
            p.service,
            { current_tag: p.tag, image_digest: p.digest, custom: false, history: [] },
          ]),
        ),
      },
      images,
    );
    for (const p of proposals) {
      const pin = plan.pins.get(p.service);
      if (pin?.state === "pinned") p.variable = pin.variable;
    }
    return {
      created: out.result,
      proposals,
      manifest: paths.manifest,
      warnings: [...warnings, ...out.warnings],
      composeEdits,
    };
  }

  /**
   * Edits the compose files, one `image:` value at a time, where `confirm` agrees, until every
   * tracked service is pinned or no edit is left: each edit is planned on the files as the
   * previous ones left them, so a service that one edit frees is not edited itself. Backs up
   * each file it changes.
   */
  private async pinByEdits(
    project: ComposeProject,
    proposals: readonly MigrationProposal[],
    confirm: (edit: ComposeEdit) => Promise<boolean>,
  ): Promise<ComposeEdit[]> {
    const records = new Map(
      proposals.map((p) => [p.service, { tag: p.tag, digest: p.digest, repository: p.repository }]),
    );
    const inputs = [...serviceImages(project)].map(([service, img]) => ({ service, ...img }));
    const texts = new Map<string, string>();
    for (const file of await composeFilesWithExtends(project.files))
      texts.set(file, await readFile(file, "utf8"));
    const sources = () => [...texts].map(([file, text]) => ({ file, text }));
    const asked = new Set<string>();
    const changed = new Set<string>();
    const done: ComposeEdit[] = [];
    for (;;) {
      const next = [...planPins(inputs, records).pins]
        .filter(([s, p]) => p.state === "unpinned" && p.edit && !asked.has(s))
        // A service blocked only by another's use of its variable may be freed by that one's edit.
        .sort(
          ([a, p], [b, q]) =>
            Number(p.state === "unpinned" && p.shared) - Number(q.state === "unpinned" && q.shared) ||
            a.localeCompare(b),
        )[0];
      if (!next) break;
      const [service, pin] = next as [string, Pin & { state: "unpinned"; edit: string }];
      asked.add(service);
      const template = inputs.find((i) => i.service === service)?.template as string;
      const site = findImageSites(sources(), service, template)[0];
      if (!site) continue;
      const text = replaceImage(texts.get(site.file) as string, site, pin.edit);
      if (text === null) continue;
      const edit: ComposeEdit = { service, file: site.file, before: template, after: pin.edit };
      if (!(await confirm(edit))) continue;
      // Every service that reads this very line (an anchor, an extended service) changes with it.
      const readers = inputs.filter((i) => {
        if (i.template !== template) return false;
        const own = findImageSites(sources(), i.service, template)[0];
        return own?.file === site.file && own.start === site.start;
      });
      for (const r of readers) r.template = pin.edit;
      texts.set(site.file, text);
      changed.add(site.file);
      done.push(edit);
    }
    for (const file of changed) {
      await backupFile(file);
      await writeAtomic(file, texts.get(file) as string);
    }
    return done;
  }
}

/** Says which services moved with the one named, because one variable pins them all. */
function withGroupNote(report: ChangeReport, service: string, group: readonly string[]): ChangeReport {
  const others = group.filter((s) => s !== service);
  if (others.length > 0 && report.changes.length > 0) {
    report.warnings.push(
      `${others.join(", ")} ${others.length === 1 ? "shares" : "share"} one version variable with ${service} (same repository): recorded together`,
    );
  }
  return report;
}

/** The compose files and every file their services' `extends` name, as absolute paths. */
async function composeFilesWithExtends(files: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  const queue = [...files];
  while (queue.length > 0 && out.length < 64) {
    const file = queue.shift() as string;
    if (out.includes(file)) continue;
    out.push(file);
    type Extending = { services?: Record<string, { extends?: { file?: unknown } } | null> } | null;
    let doc: Extending;
    try {
      doc = parseComposeText(await readFile(file, "utf8"), file) as Extending;
    } catch {
      continue;
    }
    for (const svc of Object.values(doc?.services ?? {})) {
      const ref = svc?.extends?.file;
      if (typeof ref === "string") queue.push(path.resolve(path.dirname(file), ref));
    }
  }
  return out;
}
