// update-safe: the production update. Everything that can fail without harm happens before
// anything is stopped (backups, pulls, tag resolution); then only the services whose digest
// changed are recreated and health-checked, and a failure puts the previous manifest and
// digests back. Each step is journaled so a run cut short is seen by the next command.
import path from "node:path";
import { listContainers } from "./adapters/compose.js";
import { type DataBackup, runBackupCommand, snapshotVolumes } from "./adapters/data-backup.js";
import { waitForHealthUrl } from "./adapters/health-url.js";
import { appendAudit, appendJournal, type JournalEntry, unfinishedRun } from "./adapters/journal.js";
import { BACKUP_DIR, backupFile, readText, withLock, writeAtomic } from "./adapters/store.js";
import { recordDeployment } from "./core/history.js";
import type { Manifest, ServiceRecord } from "./core/manifest.js";
import { byName, has } from "./core/names.js";
import { recordTime } from "./core/time.js";
import { UserError } from "./errors.js";
import { Lifecycle, type LifecycleIO } from "./lifecycle.js";
import {
  envFor,
  type LoadedManifest,
  parseLoaded,
  recordPaths,
  requireManifest,
  serviceImages,
  writeRecord,
} from "./record.js";
import type { Change, Versions } from "./service.js";

export interface UpdateSafeOptions {
  dryRun?: boolean;
  /** Seconds to wait for the recreated services to become healthy (default 120). */
  timeout?: number;
  /** Seconds a service without a healthcheck must keep running to count as healthy. */
  settle?: number;
  skipDataBackup?: boolean;
  /** The seed's way: down → updb → up, instead of recreating only what changed. */
  fullRestart?: boolean;
  /** Finish a run that was cut short (kill -9, power loss). */
  resume?: boolean;
}

export interface UpdateSafeReport {
  outcome: "updated" | "nothing-to-do" | "dry-run" | "resumed";
  changes: Change[];
  unchanged: string[];
  backup: string | null;
  data: DataBackup | null;
  recreated: string[];
  warnings: string[];
}

const compact = (d: Date) => d.toISOString().replace(/[-:T]/g, "").slice(0, 14);
const versionOf = (r: ServiceRecord | undefined) =>
  r ? `${r.current_tag}${r.image_digest ? `@${r.image_digest}` : ""}` : "(untracked)";

/** A one-line description of an unfinished run, for the warning every command prints. */
export function describeUnfinished(entries: readonly JournalEntry[]): string {
  const begin = entries[0];
  const last = entries[entries.length - 1] as JournalEntry;
  const where =
    last.step === "recreating" ||
    last.step === "health" ||
    last.step === "recorded" ||
    last.step === "rolling-back"
      ? `the manifest already names the new versions; containers may run either (${(last.services ?? entries.find((e) => e.services)?.services ?? []).join(", ") || "no service"} affected)`
      : "nothing had been changed yet";
  return `an update-safe run started at ${begin?.at ?? "?"} did not finish (last step: ${last.step}; ${where}): run 'docker versions update-safe --resume' or 'docker versions rollback'`;
}

export class UpdateSafe {
  readonly lifecycle: Lifecycle;

  constructor(
    readonly versions: Versions,
    readonly io: LifecycleIO = {},
  ) {
    this.lifecycle = new Lifecycle(versions, io);
  }

  private say(line: string): void {
    this.io.step?.(line);
  }

  async run(opts: UpdateSafeOptions = {}): Promise<UpdateSafeReport> {
    const paths = recordPaths(await this.versions.manifestPath());
    const open = await unfinishedRun(paths.manifest);
    if (open && !opts.resume) throw new UserError(describeUnfinished(open));
    if (!open && opts.resume) throw new UserError("there is no interrupted update-safe run to resume");
    if (opts.dryRun) return this.plan();
    // The lock is held for the whole update: a concurrent change would be undone by a rollback.
    return withLock(paths.manifest, { command: "update-safe" }, () =>
      open ? this.resume(open, opts) : this.update(opts),
    );
  }

  /** --dry-run: what would change, from the registry, touching nothing. */
  private async plan(): Promise<UpdateSafeReport> {
    const { manifest } = await requireManifest(await this.versions.manifestPath());
    const images = serviceImages(await this.versions.project());
    const plan = await this.versions.floatingPlan(manifest, images, { dryRun: true });
    return { outcome: "dry-run", ...plan, backup: null, data: null, recreated: [] };
  }

  private async update(opts: UpdateSafeOptions): Promise<UpdateSafeReport> {
    const project = await this.versions.project();
    const paths = recordPaths(await this.versions.manifestPath());
    const current = await requireManifest(paths.manifest);
    const images = serviceImages(project);
    const id = `${compact(new Date())}-${process.pid}`;
    const journal = (e: Omit<JournalEntry, "id" | "at">) =>
      appendJournal(paths.manifest, { id, at: recordTime(), ...e });
    const tracked = Object.entries(current.manifest.services).filter(([s]) => has(project.services, s));
    // Set once the record changes: from then on a failure is handled by the rollback, not "before".
    let touched = false;
    await journal({ step: "begin", from: Object.fromEntries(tracked.map(([s, r]) => [s, versionOf(r)])) });
    try {
      // 1. Backups: the manifest, then the databases' data.
      const backup = await backupFile(paths.manifest);
      const data = opts.skipDataBackup
        ? null
        : await this.backupData(
            current.manifest,
            path.join(path.dirname(paths.manifest), BACKUP_DIR, "data", compact(new Date())),
          );
      if (opts.skipDataBackup)
        this.say("data backup skipped (--skip-data-backup): the database volumes are not copied");
      await journal({ step: "backed-up", backup });

      // 2. Pull every floating tag before stopping anything (any failure ends the run here),
      // 3. resolve tags and plan: only the services whose digest moved.
      const plan = await this.versions.floatingPlan(current.manifest, images, {
        progress: (line) => this.say(line),
      });
      await journal({ step: "pulled" });
      const { changes, unchanged, warnings } = plan;
      if (changes.length === 0) {
        await journal({ step: "end", outcome: "nothing-to-do" });
        return { outcome: "nothing-to-do", changes: [], unchanged, backup, data, recreated: [], warnings };
      }
      const at = recordTime();
      const next: Manifest = { ...current.manifest, services: byName(current.manifest.services) };
      for (const c of changes)
        next.services[c.service] = recordDeployment(next.services[c.service], {
          ...c.to,
          at,
          source: "update-safe",
        });
      const services = changes.map((c) => c.service);
      touched = true;
      await writeRecord(paths, images, "update-safe", current, next);
      await journal({
        step: "recorded",
        services,
        to: Object.fromEntries(services.map((s) => [s, versionOf(next.services[s])])),
      });

      // 4. Recreate what changed, check health, and put everything back if it is not healthy.
      const recreated = await this.applyAndVerify(journal, services, current, opts);
      await journal({ step: "end", outcome: "updated" });
      return { outcome: "updated", changes, unchanged, backup, data, recreated, warnings };
    } catch (e) {
      const entries = (await unfinishedRun(paths.manifest)) ?? [];
      if (entries.some((x) => x.id === id))
        await journal({ step: "end", outcome: "failed", detail: e instanceof Error ? e.message : String(e) });
      if (e instanceof UserError && !touched) {
        throw new UserError(`update-safe stopped before changing anything: ${e.message}`, e.exitCode);
      }
      throw e;
    }
  }

  /** --resume: finish a run whose process died; its journal says how far it got. */
  private async resume(entries: JournalEntry[], opts: UpdateSafeOptions): Promise<UpdateSafeReport> {
    const paths = recordPaths(await this.versions.manifestPath());
    const id = (entries[0] as JournalEntry).id;
    const journal = (e: Omit<JournalEntry, "id" | "at">) =>
      appendJournal(paths.manifest, { id, at: recordTime(), ...e });
    const recorded = entries.find((e) => e.step === "recorded");
    const backup = entries.find((e) => e.step === "backed-up")?.backup ?? null;
    if (!recorded) {
      // Nothing was changed: close the old run and do the update afresh.
      await journal({
        step: "end",
        outcome: "abandoned",
        detail: "resumed before any change; updating afresh",
      });
      return this.update(opts);
    }
    if (!backup)
      throw new UserError(
        "the interrupted run has no manifest backup to fall back on: use 'docker versions rollback'",
      );
    const text = await readText(backup);
    if (text === null)
      throw new UserError(
        `the interrupted run's manifest backup ${backup} is gone: use 'docker versions rollback'`,
      );
    const previous = await parseLoaded(backup, text);
    const services = recorded.services ?? [];
    this.say(`resuming the update of ${services.join(", ")} (started ${(entries[0] as JournalEntry).at})`);
    const recreated = await this.applyAndVerify(journal, services, previous, opts);
    await journal({ step: "end", outcome: "updated", detail: "resumed" });
    return { outcome: "resumed", changes: [], unchanged: [], backup, data: null, recreated, warnings: [] };
  }

  /**
   * Recreates `services` on the manifest's versions and waits for health (and health URLs).
   * On failure restores `previous` (byte for byte), recreates the same services on their old
   * digests, waits for them, and throws naming the service that failed and why.
   */
  private async applyAndVerify(
    journal: (e: Omit<JournalEntry, "id" | "at">) => Promise<void>,
    services: string[],
    previous: LoadedManifest,
    opts: UpdateSafeOptions,
  ): Promise<string[]> {
    await journal({ step: "recreating", services });
    const wait = { timeout: opts.timeout, settle: opts.settle };
    try {
      if (opts.fullRestart) await this.lifecycle.restart(wait);
      else {
        this.say(`recreating ${services.join(", ")}`);
        await this.versions.recreate(services);
      }
      await journal({ step: "health", services });
      await this.lifecycle.waitReady(services, wait);
      await this.checkHealthUrls(services, opts.timeout ?? 120);
      return services;
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      await journal({ step: "rolling-back", services, detail: e.message });
      this.say(`${e.message}`);
      this.say(`rolling back ${services.join(", ")} to their previous versions`);
      await this.restore(previous);
      await this.versions.recreate(services);
      await this.lifecycle.waitReady(services, wait).catch((again: unknown) => {
        throw new UserError(
          `update-safe failed (${e.message}) and the rollback is not healthy either: ${again instanceof Error ? again.message : String(again)}`,
        );
      });
      await journal({ step: "end", outcome: "rolled-back", detail: e.message });
      throw new UserError(`update-safe rolled back: ${e.message}`);
    }
  }

  /** Puts the pre-update manifest back exactly, regenerates versions.env and audits the revert. */
  private async restore(previous: LoadedManifest): Promise<void> {
    const paths = recordPaths(await this.versions.manifestPath());
    const images = serviceImages(await this.versions.project());
    const now = await requireManifest(paths.manifest);
    await backupFile(paths.manifest);
    await writeAtomic(paths.manifest, previous.text);
    await writeAtomic(paths.env, envFor(previous.manifest, images).text);
    const at = recordTime();
    await appendAudit(
      paths.manifest,
      Object.keys(now.manifest.services)
        .sort()
        .filter((s) => versionOf(now.manifest.services[s]) !== versionOf(previous.manifest.services[s]))
        .map((service) => ({
          at,
          command: "update-safe (rollback)",
          service,
          from: versionOf(now.manifest.services[service]),
          to: versionOf(previous.manifest.services[service]),
        })),
    );
  }

  private async backupData(manifest: Manifest, dir: string): Promise<DataBackup> {
    const project = await this.versions.project();
    if (manifest.data_backup_command) {
      this.say(`data backup: ${manifest.data_backup_command.join(" ")}`);
      return runBackupCommand(
        manifest.data_backup_command,
        dir,
        project.workingDir,
        this.versions.ctx.cli.env,
      );
    }
    const roles = await this.lifecycle.roles();
    const databases = [...roles].filter(([, r]) => r.role === "database").map(([s]) => s);
    const containers = await listContainers(this.versions.ctx.cli, project);
    const data = await snapshotVolumes(this.versions.ctx.cli, project, databases, containers, dir);
    const total = data.archives.reduce((n, a) => n + a.bytes, 0);
    this.say(
      `data backup: ${data.archives.length} volume(s), ${(total / 1024 / 1024).toFixed(1)} MiB in ${dir}`,
    );
    return data;
  }

  /** Each recreated service's health_url must answer 2xx before the timeout. */
  private async checkHealthUrls(services: readonly string[], timeoutS: number): Promise<void> {
    const { manifest } = await requireManifest(await this.versions.manifestPath());
    const deadline = Date.now() + timeoutS * 1000;
    for (const service of services) {
      const raw = manifest.services[service]?.health_url;
      if (!raw) continue;
      await waitForHealthUrl(service, raw, { deadline });
    }
  }
}
