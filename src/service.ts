// The operations of docker-versions, one method each, usable without the CLI: the commands and
// the tests both call them with an options object and render what they return.
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import {
  type ComposeOptions,
  type ComposeProject,
  compose,
  listContainers,
  loadProject,
  manifestPathFor,
  type ServiceSpec,
} from "./adapters/compose.js";
import { type DockerCli, lastLine } from "./adapters/docker.js";
import { digestFor, inspectContainers, inspectImage, pullImage } from "./adapters/engine.js";
import {
  appendJournal,
  parseVersion,
  RESUME_NEXT,
  readAudit,
  touchedServices,
  unfinishedRun,
  updateState,
} from "./adapters/journal.js";
import { ownedFileStat } from "./adapters/owned-files.js";
import type { RegistryClient } from "./adapters/registry/client.js";
import { manifestDigest } from "./adapters/registry/manifests.js";
import { backupFile, withLock, writeAtomic } from "./adapters/store.js";
import { findImageSites, replaceImage } from "./core/compose-edit.js";
import { parseComposeText } from "./core/compose-yaml.js";
import { findInHistory, previousVersion, recordDeployment, renameCurrentTag } from "./core/history.js";
import { mapLimit } from "./core/limit.js";
import type { HistoryEntry, Manifest, ServiceRecord } from "./core/manifest.js";
import { byName, has } from "./core/names.js";
import { type Pin, planPins } from "./core/pinning.js";
import { isValidTag, parseReference } from "./core/reference.js";
import { decideRole, type Role } from "./core/roles.js";
import { recordTime } from "./core/time.js";
import { UserError } from "./errors.js";
import {
  ensureEnvMatches,
  envFor,
  groupMembers,
  type LoadedManifest,
  mutateRecord,
  pinPlanFor,
  type RecordPaths,
  readManifest,
  recordPaths,
  requireManifest,
  type ServiceImage,
  serviceImages,
  settleRecord,
} from "./record.js";
import {
  type Resolved,
  registryClient,
  resolutionWarnings,
  resolveFloating,
  type UpdateRow,
  updatesFor,
} from "./registry-ops.js";
import { Unattended } from "./unattended.js";

export interface Context {
  cli: DockerCli;
  compose: ComposeOptions;
  /** Where the manifest lives when not next to the first compose file. */
  manifest?: string;
  /** The clock, injectable for tests. */
  now?: () => Date;
  /** Where progress lines go (stderr by default). */
  progress?: (line: string) => void;
  /** No progress at all: neither Docker's own nor our lines (--quiet, for scripts). */
  quiet?: boolean;
  /** stdout is a terminal: Docker and Compose may draw their own progress there. */
  terminal?: boolean;
}

export interface ServiceStatus {
  service: string;
  image: string;
  containers: { name: string; state: string; health: string; exitCode: number; status: string }[];
}

export interface StatusReport {
  project: string;
  composeFiles: string[];
  manifest: { path: string; present: boolean };
  services: ServiceStatus[];
}

export interface VersionRef {
  tag: string;
  digest?: string;
}

export interface Change {
  service: string;
  /** The floating tag this version was pulled as, when it was resolved to a semantic tag. */
  resolvedFrom?: string;
  from?: VersionRef;
  to: VersionRef;
}

/** The floating tags' news: what would change (to the semantic tag where one matched). */
export interface FloatingPlan {
  changes: Change[];
  unchanged: string[];
  /** One per floating tag that could not be resolved (the tag is kept). */
  warnings: string[];
}

export interface ChangeReport {
  changes: Change[];
  unchanged: string[];
  dryRun: boolean;
  /** Backup of the manifest taken before the change, when there was one. */
  backup: string | null;
  warnings: string[];
  /** Services whose containers were recreated (rollback --apply). */
  applied: string[];
}

export interface VersionRow {
  service: string;
  tag: string;
  digest?: string;
  custom: boolean;
  updatedAt?: string;
  updatedBy?: string;
  /** Database or app (manifest, then the com.docker-versions.role label, then the image). */
  role: Role;
  drift: "in sync" | "drift" | "not running" | "unknown" | "unpinned";
  /** How Compose is made to run the record: versions.env, the compose file's own digest, or not at all. */
  pinnedBy: "versions.env" | "compose file" | "nothing";
  running?: string;
  /** Why the state is not "in sync", and the command (or edit) that makes it so. */
  next?: string;
}

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
  #project?: Promise<ComposeProject>;
  #registry?: RegistryClient;

  constructor(readonly ctx: Context) {}

  /** The Compose project, loaded once per operation. */
  project(): Promise<ComposeProject> {
    this.#project ??= loadProject(this.ctx.cli, this.ctx.compose);
    return this.#project;
  }

  async manifestPath(): Promise<string> {
    return manifestPathFor(await this.project(), this.ctx.manifest, this.ctx.cli.cwd);
  }

  private async paths(): Promise<RecordPaths> {
    return recordPaths(await this.manifestPath());
  }

  private now(): string {
    return recordTime(this.ctx.now ? this.ctx.now() : new Date());
  }

  /** Docker and Compose draw their own progress (a terminal, and no --quiet). */
  get drawsProgress(): boolean {
    return Boolean(this.ctx.terminal) && !this.ctx.quiet;
  }

  /** How many pulls run at once: one while Docker draws, whose progress would interleave. */
  private get pullLimit(): number {
    return this.drawsProgress ? 1 : CONCURRENCY;
  }

  /** `docker compose pull`: Compose's progress on a terminal, quiet with its error kept otherwise. */
  private async composePull(project: ComposeProject, services: string[]): Promise<void> {
    const draw = this.drawsProgress;
    const res = await compose(this.ctx.cli, project, ["pull", ...(draw ? [] : ["--quiet"]), ...services], {
      inherit: draw ? "stdout" : false,
    });
    if (res.code !== 0)
      throw new UserError(
        `docker compose pull${services.length ? ` ${services.join(" ")}` : ""} failed: ${lastLine(res.stderr) || `exit ${res.code}`}`,
      );
  }

  private progress(line: string): void {
    // Progress is for people watching; scripts get stderr with errors only.
    if (this.ctx.quiet) return;
    if (this.ctx.progress) this.ctx.progress(line);
    else if (process.stderr.isTTY) process.stderr.write(`${line}\n`);
  }

  /** Checks a --service value against the project (and the manifest when given). */
  private checkService(project: ComposeProject, service: string, manifest?: Manifest): void {
    if (!has(project.services, service)) {
      throw new UserError(
        `unknown service '${service}' (the project has: ${Object.keys(project.services).sort().join(", ")})`,
      );
    }
    if (manifest && !has(manifest.services, service)) {
      throw new UserError(
        `service '${service}' is not tracked in the manifest (tracked: ${Object.keys(manifest.services).sort().join(", ")})`,
      );
    }
  }

  private repositoryOf(
    service: string,
    rec: ServiceRecord | undefined,
    images: Map<string, ServiceImage>,
  ): string {
    const repo = images.get(service)?.repository ?? rec?.image;
    if (!repo) throw new UserError(`service '${service}' has no image in the compose file`);
    return repo;
  }

  /** Makes `repository@digest` (or `repository:tag`) local, pulling only when the engine lacks it. */
  private async ensureLocal(repository: string, v: VersionRef): Promise<string | undefined> {
    const ref = v.digest ? `${repository}@${v.digest}` : `${repository}:${v.tag}`;
    const local = await inspectImage(this.ctx.cli, ref);
    if (local) return v.digest ?? digestFor(local, repository);
    await pullImage(this.ctx.cli, ref, { progress: this.drawsProgress });
    const pulled = await inspectImage(this.ctx.cli, ref);
    return v.digest ?? (pulled ? digestFor(pulled, repository) : undefined);
  }

  /** The digest `repository:tag` has locally or in the registry; a tag that is nowhere is an error. */
  private async tagDigest(repository: string, tag: string): Promise<string | undefined> {
    const local = await inspectImage(this.ctx.cli, `${repository}:${tag}`);
    if (local) return digestFor(local, repository);
    return (await manifestDigest(this.registry(), parseReference(`${repository}:${tag}`), tag)).digest;
  }

  /** Pulls `repository:tag` from the registry and returns the digest it has there. */
  async pullImageTag(repository: string, tag: string): Promise<string | undefined> {
    const ref = `${repository}:${tag}`;
    await pullImage(this.ctx.cli, ref, { progress: this.drawsProgress });
    const info = await inspectImage(this.ctx.cli, ref);
    return info ? digestFor(info, repository) : undefined;
  }

  async status(): Promise<StatusReport> {
    const project = await this.project();
    const [containers, manifestPath] = await Promise.all([
      listContainers(this.ctx.cli, project),
      this.manifestPath(),
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
    const project = await this.project();
    const paths = await this.paths();
    const { manifest } = await requireManifest(paths.manifest);
    const images = serviceImages(project);
    const containers = await listContainers(this.ctx.cli, project);
    const infos = await inspectContainers(
      this.ctx.cli,
      containers.filter((c) => c.state === "running").map((c) => c.id),
    );
    const imageCache = new Map<string, Promise<Awaited<ReturnType<typeof inspectImage>>>>();
    const pins = pinPlanFor(manifest, images).pins;
    const rows = await Promise.all(
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
            if (!imageCache.has(c.imageId)) imageCache.set(c.imageId, inspectImage(this.ctx.cli, c.imageId));
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
    // An update-safe run cut short (not one still running): what it touched is finished (or
    // undone) before anything else.
    const open = (await updateState(paths.manifest)).interrupted;
    if (open) {
      const touched = touchedServices(open);
      for (const r of rows) if (touched.has(r.service)) r.next = RESUME_NEXT;
    }
    return rows;
  }

  /** `version-history`: per service its deployments, current and previous marked. */
  async history(opts: { service?: string } = {}): Promise<HistoryReport> {
    const project = await this.project();
    const { manifest } = await requireManifest((await this.paths()).manifest);
    if (opts.service) this.checkService(project, opts.service, manifest);
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

  /** The tags a service's history holds (every tracked service's without one), newest first. */
  async historyTags(service?: string): Promise<string[]> {
    const loaded = await readManifest(await this.manifestPath());
    const records = Object.entries(loaded?.manifest.services ?? {})
      .filter(([name]) => service === undefined || name === service)
      .map(([, rec]) => rec);
    return [...new Set(records.flatMap((rec) => [rec.current_tag, ...rec.history.map((h) => h.tag)]))];
  }

  /** `pull`: the manifest's versions by digest; without a manifest, what the compose file names. */
  async pull(
    opts: PullOptions = {},
  ): Promise<{ mode: "manifest" | "compose"; pulled: string[]; present: string[] }> {
    const project = await this.project();
    if (opts.service) this.checkService(project, opts.service);
    const loaded = await readManifest((await this.paths()).manifest);
    if (!loaded) {
      await this.composePull(project, opts.service ? [opts.service] : []);
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
    await mapLimit(names, this.pullLimit, async (service) => {
      const rec = loaded.manifest.services[service];
      if (!rec) return; // not tracked: Compose's own pull covers it below
      const repo = this.repositoryOf(service, rec, images);
      const ref = rec.image_digest ? `${repo}@${rec.image_digest}` : `${repo}:${rec.current_tag}`;
      if (await inspectImage(this.ctx.cli, ref)) {
        present.push(service);
        return;
      }
      this.progress(`pulling ${service}: ${ref}`);
      await pullImage(this.ctx.cli, ref, { progress: this.drawsProgress });
      pulled.push(service);
    });
    const untracked = (opts.service ? [opts.service] : Object.keys(project.services)).filter(
      (s) => !has(loaded.manifest.services, s) && project.services[s]?.image,
    );
    if (untracked.length > 0) {
      await this.composePull(project, untracked);
      pulled.push(...untracked);
    }
    return { mode: "manifest", pulled: pulled.sort(), present: present.sort() };
  }

  /** Records `changes` (computed outside the lock) against the manifest as it is under the lock. */
  private async record(
    command: string,
    images: Map<string, ServiceImage>,
    planned: { service: string; to: VersionRef; custom?: boolean; resolvedFrom?: string }[],
    dryRun: boolean,
  ): Promise<ChangeReport> {
    const paths = await this.paths();
    const at = this.now();
    const compute = (current: LoadedManifest | null) => {
      // Top-level settings (data_backup_command) carry over; only services change here.
      const manifest: Manifest = {
        schema: 1,
        ...current?.manifest,
        services: byName(current?.manifest.services),
      };
      const changes: Change[] = [];
      const unchanged: string[] = [];
      for (const p of planned) {
        const rec = manifest.services[p.service];
        const from = rec ? { tag: rec.current_tag, digest: rec.image_digest } : undefined;
        const next = recordDeployment(rec, {
          tag: p.to.tag,
          digest: p.to.digest,
          at,
          source: command,
          custom: p.custom,
          image: images.get(p.service)?.repository,
        });
        if (next === rec) unchanged.push(p.service);
        else {
          manifest.services[p.service] = next;
          changes.push({ service: p.service, from, to: p.to, resolvedFrom: p.resolvedFrom });
        }
      }
      return { manifest: changes.length > 0 ? manifest : null, changes, unchanged };
    };
    if (dryRun) {
      const { changes, unchanged } = compute(await readManifest(paths.manifest));
      return { changes, unchanged, dryRun: true, backup: null, warnings: [], applied: [] };
    }
    const out = await mutateRecord(paths, images, command, (current) => {
      const { manifest, changes, unchanged } = compute(current);
      return { manifest, result: { changes, unchanged } };
    });
    return { ...out.result, dryRun: false, backup: out.backup, warnings: out.warnings, applied: [] };
  }

  /** `pull-latest`: the floating tag of every tracked service, recorded with its digest. */
  async pullLatest(opts: PullLatestOptions = {}): Promise<ChangeReport | { mode: "compose" }> {
    const project = await this.project();
    const paths = await this.paths();
    const loaded = await readManifest(paths.manifest);
    if (!loaded) {
      if (opts.dryRun) return { mode: "compose" };
      await this.composePull(project, []);
      return { mode: "compose" };
    }
    const images = serviceImages(project);
    const plan = await this.floatingPlan(loaded.manifest, images, { dryRun: opts.dryRun });
    const report = await this.record("pull-latest", images, plan.changes, Boolean(opts.dryRun));
    report.unchanged.push(...plan.unchanged);
    report.unchanged.sort();
    report.warnings.push(...plan.warnings);
    return report;
  }

  /**
   * What the floating tags say now, for every tracked service of the project: each one is
   * pulled (a dry run asks the registry for its digest instead) and, where the digest moved,
   * named by the semantic tag with the same digest. Pulls all before returning, so a failure
   * leaves nothing half-planned. Shared by pull-latest and update-safe.
   */
  async floatingPlan(
    manifest: Manifest,
    images: Map<string, ServiceImage>,
    opts: { dryRun?: boolean; progress?: (line: string) => void } = {},
  ): Promise<FloatingPlan> {
    const say = opts.progress ?? ((line: string) => this.progress(line));
    const project = await this.project();
    const pins = pinPlanFor(manifest, images).pins;
    const byFile = Object.keys(manifest.services)
      .filter((s) => pins.get(s)?.state === "file")
      .sort();
    const targets = Object.entries(manifest.services)
      .filter(([service]) => has(project.services, service) && !byFile.includes(service))
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([service, rec]) => ({
        service,
        rec,
        tag: rec.floating_tag ?? "latest",
        repository: this.repositoryOf(service, rec, images),
      }));
    const client = this.registry();
    const found = await mapLimit(targets, opts.dryRun ? CONCURRENCY : this.pullLimit, async (t) => {
      if (opts.dryRun)
        return {
          ...t,
          digest: (await manifestDigest(client, parseReference(`${t.repository}:${t.tag}`), t.tag)).digest,
        };
      say(`pulling ${t.service}: ${t.repository}:${t.tag}`);
      return { ...t, digest: await this.pullImageTag(t.repository, t.tag) };
    });
    // A floating tag whose digest did not move is no change, even if the record names it by its semantic tag.
    const moved = found.filter((f) => f.digest === undefined || f.digest !== f.rec.image_digest);
    const resolved = await resolveFloating(
      client,
      moved.map((m) => ({ ...m, hint: m.rec.current_tag })),
    );
    return {
      changes: moved.map((m) => {
        const semantic = resolved.find((r) => r.service === m.service)?.to ?? undefined;
        return {
          service: m.service,
          from: { tag: m.rec.current_tag, digest: m.rec.image_digest },
          to: { tag: semantic ?? m.tag, digest: m.digest },
          resolvedFrom: semantic && semantic !== m.tag ? m.tag : undefined,
        };
      }),
      unchanged: [...found.filter((f) => !moved.includes(f)).map((f) => f.service), ...byFile],
      warnings: [
        ...byFile.map(
          (s) => `${s} is pinned by digest in the compose file: left as it is (change the file to move it)`,
        ),
        ...resolutionWarnings(resolved, "run 'docker versions resolve-tags' later"),
      ],
    };
  }

  /** Unattended operation: notifications, metrics, the schedule, prune (see unattended.ts). */
  unattended(): Unattended {
    return new Unattended(this);
  }

  /** The registry client for this command (credentials from the user's Docker config). */
  registry(): RegistryClient {
    this.#registry ??= registryClient(this.ctx.cli.globals, this.ctx.cli.env, this.ctx.cli.cwd);
    return this.#registry;
  }

  /** `resolve-tags`: every floating tag in the manifest becomes the semantic tag with its digest. */
  async resolveTags(opts: { dryRun?: boolean } = {}): Promise<ChangeReport> {
    const project = await this.project();
    const paths = await this.paths();
    const { manifest } = await requireManifest(paths.manifest);
    const images = serviceImages(project);
    const items = Object.entries(manifest.services)
      .filter(([service]) => has(project.services, service))
      .map(([service, rec]) => ({
        service,
        repository: this.repositoryOf(service, rec, images),
        tag: rec.current_tag,
        digest: rec.image_digest,
      }));
    const resolved = await resolveFloating(this.registry(), items);
    const warnings = resolutionWarnings(resolved);
    const found = resolved.filter((r): r is Resolved & { to: string } => r.to !== null && r.to !== r.from);
    const at = this.now();
    const compute = (current: LoadedManifest | null) => {
      const next: Manifest = {
        schema: 1,
        ...current?.manifest,
        services: byName(current?.manifest.services),
      };
      const changes: Change[] = [];
      for (const r of found) {
        const rec = next.services[r.service];
        // Another command may have changed the service meanwhile: rename only what was resolved.
        if (
          !rec ||
          rec.current_tag !== r.from ||
          rec.image_digest !== items.find((i) => i.service === r.service)?.digest
        )
          continue;
        next.services[r.service] = renameCurrentTag(rec, r.to, at, "resolve-tags");
        changes.push({
          service: r.service,
          from: { tag: r.from, digest: rec.image_digest },
          to: { tag: r.to, digest: rec.image_digest },
          resolvedFrom: r.from,
        });
      }
      return { manifest: changes.length > 0 ? next : null, changes };
    };
    const unchanged = items.filter((i) => !found.some((f) => f.service === i.service)).map((i) => i.service);
    if (opts.dryRun) {
      const { changes } = compute(await readManifest(paths.manifest));
      return { changes, unchanged, dryRun: true, backup: null, warnings, applied: [] };
    }
    const out = await mutateRecord(paths, images, "resolve-tags", (current) => {
      const { manifest: m, changes } = compute(current);
      return { manifest: m, result: changes };
    });
    return {
      changes: out.result,
      unchanged,
      dryRun: false,
      backup: out.backup,
      warnings: [...warnings, ...out.warnings],
      applied: [],
    };
  }

  /** `check-updates`: newer semantic tags per tracked service, and whether the floating tag moved. */
  async checkUpdates(opts: { prereleases?: boolean; service?: string } = {}): Promise<UpdateRow[]> {
    const project = await this.project();
    const { manifest } = await requireManifest((await this.paths()).manifest);
    if (opts.service) this.checkService(project, opts.service, manifest);
    const images = serviceImages(project);
    const services = Object.entries(manifest.services)
      .filter(([service]) => has(project.services, service) && (!opts.service || service === opts.service))
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([service, record]) => ({
        service,
        record,
        repository: this.repositoryOf(service, record, images),
      }));
    return updatesFor(this.registry(), services, { prereleases: opts.prereleases });
  }

  /** `version-pull` / `version-set`: one service at a named tag. */
  async versionPull(opts: VersionPullOptions & { custom?: boolean }): Promise<ChangeReport> {
    const command = opts.custom ? "version-set" : "version-pull";
    if (!isValidTag(opts.tag))
      throw new UserError(
        `'${opts.tag}' is not a valid tag (letters, digits, '_', '.', '-'; at most 128; not starting with '.' or '-')`,
      );
    const project = await this.project();
    const { manifest } = await requireManifest((await this.paths()).manifest);
    this.checkService(project, opts.service);
    const images = serviceImages(project);
    const repo = this.repositoryOf(opts.service, manifest.services[opts.service], images);
    let digest: string | undefined;
    if (!opts.dryRun) {
      try {
        this.progress(`pulling ${opts.service}: ${repo}:${opts.tag}`);
        digest = await this.pullImageTag(repo, opts.tag);
      } catch (e) {
        // A hotfix image may exist only on this host (built or loaded here).
        const local = opts.custom ? await inspectImage(this.ctx.cli, `${repo}:${opts.tag}`) : null;
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
    const project = await this.project();
    const { manifest } = await requireManifest((await this.paths()).manifest);
    if (opts.service) this.checkService(project, opts.service, manifest);
    const images = serviceImages(project);
    const targets: { service: string; to: VersionRef }[] = [];
    let group: string[] = [];
    const state = opts.service ? null : await updateState((await this.paths()).manifest);
    const interrupted = state?.interrupted ?? null;
    if (opts.service) {
      const rec = manifest.services[opts.service] as ServiceRecord;
      const entry = opts.to !== undefined ? findInHistory(rec, opts.to) : previousVersion(rec);
      if (opts.to === undefined && !entry)
        throw new UserError(
          `no previous version of '${opts.service}' to roll back to (its history holds only ${rec.current_tag})`,
        );
      const to: VersionRef = entry ? { tag: entry.tag, digest: entry.digest } : { tag: opts.to as string };
      // Not in the history: a dry run still says whether the tag exists (the engine, else the registry).
      if (!entry && opts.dryRun)
        to.digest = await this.tagDigest(this.repositoryOf(opts.service, rec, images), to.tag);
      group = groupMembers(manifest, images, opts.service);
      for (const service of group) targets.push({ service, to: { ...to } });
    } else if (interrupted) {
      // Undo exactly what the cut-short update-safe changed: its journal names the services and
      // the versions they had, whether or not the record has already been put back.
      const from = interrupted[0]?.from ?? {};
      const changed =
        interrupted.find((e) => e.step === "recording" || e.step === "recorded")?.services ?? [];
      for (const service of [...changed].sort()) {
        const to = Object.hasOwn(from, service) ? parseVersion(from[service]) : null;
        if (to && has(project.services, service) && has(manifest.services, service))
          targets.push({ service, to });
      }
    } else {
      for (const [service, rec] of Object.entries(manifest.services).sort(([a], [b]) => a.localeCompare(b))) {
        const prev = previousVersion(rec);
        if (prev && has(project.services, service))
          targets.push({ service, to: { tag: prev.tag, digest: prev.digest } });
      }
    }
    if (!opts.dryRun) {
      // Members of one group share a repository: what one resolves to, all do.
      await mapLimit(group.length > 1 ? targets.slice(0, 1) : targets, this.pullLimit, async (t) => {
        const repo = this.repositoryOf(t.service, manifest.services[t.service], images);
        t.to.digest = await this.ensureLocal(repo, t.to);
      });
    }
    if (group.length > 1) for (const t of targets) t.to.digest = targets[0]?.to.digest;
    const report = withGroupNote(
      await this.record("rollback", images, targets, Boolean(opts.dryRun)),
      opts.service ?? "",
      group,
    );
    if (opts.apply && !opts.dryRun && report.changes.length > 0) {
      report.applied = await this.recreate(report.changes.map((c) => c.service));
    }
    if (!opts.dryRun) await this.closeInterruptedUpdate("rollback");
    return report;
  }

  /** The audit log: who changed which service from what to what, oldest first. */
  async audit(opts: { service?: string } = {}): Promise<string[]> {
    const project = await this.project();
    if (opts.service) this.checkService(project, opts.service);
    const lines = await readAudit(await this.manifestPath());
    return opts.service ? lines.filter((l) => l.includes(`\t${opts.service}: `)) : lines;
  }

  /** A rollback after an interrupted update-safe run settles it: the journal says so. */
  private async closeInterruptedUpdate(command: string): Promise<void> {
    const manifestPath = await this.manifestPath();
    const open = (await updateState(manifestPath)).interrupted; // never a run still in progress
    if (!open?.[0]) return;
    await appendJournal(manifestPath, {
      id: open[0].id,
      at: this.now(),
      step: "end",
      outcome: "superseded",
      detail: `settled by ${command}`,
    });
  }

  /** `generate-env`: rewrites versions.env from the manifest. */
  async generateEnv(
    opts: { dryRun?: boolean } = {},
  ): Promise<{ path: string; text: string; warnings: string[] }> {
    const project = await this.project();
    const paths = await this.paths();
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
   * A change of the record that a crashed command left half done is completed or reverted
   * (one line on stderr says which); every command runs this before it reads the record.
   */
  async settleRecord(): Promise<void> {
    const paths = await this.paths();
    let images: Map<string, ServiceImage> | undefined;
    try {
      images = serviceImages(await this.project());
    } catch {
      images = undefined; // an unreadable compose file is the command's own error to report
    }
    await settleRecord(paths, images);
  }

  /**
   * The project's env files followed by versions.env, so the manifest has the last word. With
   * `verify` (any call that may start containers) versions.env is first made to agree with the
   * manifest, so Compose never starts a version the record does not name.
   */
  async composeEnvFiles(opts: { verify?: boolean } = { verify: true }): Promise<string[]> {
    const project = await this.project();
    const paths = await this.paths();
    if (opts.verify) await ensureEnvMatches(paths, serviceImages(project));
    // A link or a FIFO there is refused: Compose would read another file, or wait forever.
    return ownedFileStat(paths.env) ? [...project.envFiles, paths.env] : project.envFiles;
  }

  /** Recreates the containers of `services` on the manifest's versions. */
  async recreate(services: string[]): Promise<string[]> {
    const project = await this.project();
    const withEnv = { ...project, envFiles: await this.composeEnvFiles() };
    // On a terminal Compose draws its own progress (and prints its own error above ours).
    const draw = this.drawsProgress;
    const res = await compose(this.ctx.cli, withEnv, ["up", "-d", "--no-deps", ...services], {
      env: await this.clearedVariables(),
      inherit: draw,
    });
    if (res.code !== 0)
      throw new UserError(
        `docker compose up ${services.join(" ")} failed: ${(draw ? "" : lastLine(res.stderr)) || `exit ${res.code}`}`,
      );
    return services;
  }

  /** Blanks the variables versions.env sets in the child's environment, so versions.env decides them. */
  async clearedVariables(): Promise<NodeJS.ProcessEnv> {
    const paths = await this.paths();
    let text = "";
    try {
      text = await readFile(paths.env, "utf8");
    } catch {
      return {};
    }
    const env: NodeJS.ProcessEnv = {};
    for (const line of text.split("\n")) {
      const name = /^([A-Za-z_][A-Za-z0-9_]*)=/.exec(line)?.[1];
      if (name && this.ctx.cli.env[name] !== undefined) env[name] = undefined;
    }
    return env;
  }

  /**
   * `migrate-versions`: proposes a record for every service with an image from what runs (the
   * digest the container actually runs) or, for a service not running, from the compose file;
   * `decide` may change each proposal's tag (the wizard), then the manifest and env are written.
   */
  async migrate(opts: MigrateOptions = {}): Promise<MigrationReport> {
    const project = await this.project();
    const paths = await this.paths();
    if (await readManifest(paths.manifest)) {
      return { created: false, proposals: [], manifest: paths.manifest, warnings: [], composeEdits: [] };
    }
    const before = serviceImages(project);
    const containers = await listContainers(this.ctx.cli, project);
    const infos = await inspectContainers(
      this.ctx.cli,
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
      const local = await inspectImage(this.ctx.cli, running ? running.imageId : spec.image);
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
    if (composeEdits.length > 0) this.#project = undefined; // the files changed: read them again
    const images = serviceImages(await this.project());
    const out = await mutateRecord(paths, images, "migrate-versions", (current) => {
      if (current) return { manifest: null, result: false };
      const at = this.now();
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
