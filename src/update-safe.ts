// update-safe: the production update. Everything that can fail without harm happens before
// anything is stopped (backups, pulls, tag resolution); then only the services whose digest
// changed are recreated and health-checked, and a failure puts the previous manifest and
// digests back. Each step is journaled so a run cut short is seen by the next command.
import path from "node:path";
import { listContainers } from "./adapters/compose.js";
import { type DataBackup, runBackupCommand, snapshotVolumes } from "./adapters/data-backup.js";
import { faultPoint } from "./adapters/fault.js";
import { waitForHealthUrl } from "./adapters/health-url.js";
import { appendJournal, type JournalEntry, unfinishedRun, updateState } from "./adapters/journal.js";
import { BACKUP_DIR, backupFile, type LockHolder, readText, withLock } from "./adapters/store.js";
import type { Manifest, ServiceRecord } from "./core/manifest.js";
import { has } from "./core/names.js";
import { type Change, planFloating, planUpdate } from "./core/plan.js";
import { parseWindow, windowState } from "./core/window.js";
import { messageOf, UserError, usageError } from "./errors.js";
import { observeFloating } from "./floating.js";
import { Lifecycle, type LifecycleIO } from "./lifecycle.js";
import {
  intentPath,
  type LoadedManifest,
  parseLoaded,
  type RecordPaths,
  recordPaths,
  requireManifest,
  restoreRecord,
  type ServiceImage,
  serviceImages,
  writeRecord,
} from "./record.js";
import { requireRollbackGate } from "./stack-reports.js";
import type { Workspace } from "./workspace.js";

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
  /** `02:00-05:00`, local time: outside it the run does nothing and says so. */
  window?: string;
}

export interface UpdateSafeReport {
  outcome: "updated" | "nothing-to-do" | "dry-run" | "resumed" | "outside-window";
  changes: Change[];
  unchanged: string[];
  backup: string | null;
  data: DataBackup | null;
  recreated: string[];
  warnings: string[];
  /** Set with --window when the run was held: the line that says so. */
  window?: string;
}

const NOTHING = { changes: [], unchanged: [], backup: null, data: null, recreated: [], warnings: [] };

/** --window's value; a malformed one is a usage error. */
function parseWindowOption(text: string) {
  try {
    return parseWindow(text);
  } catch (e) {
    throw usageError(messageOf(e));
  }
}

const compact = (d: Date) => d.toISOString().replace(/[-:T]/g, "").slice(0, 14);
const versionOf = (r: ServiceRecord | undefined) =>
  r ? `${r.current_tag}${r.image_digest ? `@${r.image_digest}` : ""}` : "(untracked)";

/** A one-line notice that an update-safe run is in progress, for other commands. */
export function describeLive(holder: LockHolder): string {
  return `an update-safe run is in progress (pid ${holder.pid} on ${holder.host}, since ${holder.since}); commands that change the record wait for it to finish`;
}

/** A one-line description of an unfinished run, for the warning every command prints. */
export function describeUnfinished(entries: readonly JournalEntry[]): string {
  const begin = entries[0];
  const last = entries[entries.length - 1] as JournalEntry;
  const where = entries.some((e) => e.step === "recording" || e.step === "recorded")
    ? `the manifest may already name the new versions; containers may run either (${(entries.find((e) => e.services)?.services ?? []).join(", ") || "no service"} affected)`
    : "nothing had been changed yet";
  return `an update-safe run started at ${begin?.at ?? "?"} did not finish (last step: ${last.step}; ${where}): run 'docker versions update-safe --resume' or 'docker versions rollback'`;
}

type Journal = (e: Omit<JournalEntry, "id" | "at">) => Promise<void>;

export class UpdateSafe {
  readonly lifecycle: Lifecycle;
  /** Set when a failure leaves the record half changed: the run stays open for --resume. */
  private leftOpen = false;

  constructor(
    readonly ws: Workspace,
    readonly io: LifecycleIO = {},
  ) {
    this.lifecycle = new Lifecycle(ws, io);
  }

  private say(line: string): void {
    this.io.step?.(line);
  }

  async run(opts: UpdateSafeOptions = {}): Promise<UpdateSafeReport> {
    if (opts.window) {
      const held = windowState(parseWindowOption(opts.window), this.ws.clock());
      if (!held.open) return { outcome: "outside-window", ...NOTHING, window: held.note };
      this.say(held.note);
    }
    if (this.ws.ctx.stack && opts.fullRestart)
      throw usageError(
        "--full-restart is for Compose projects: on a stack Swarm updates each service itself",
      );
    const paths = recordPaths(await this.ws.manifestPath());
    if (opts.dryRun) {
      const state = await updateState(paths.manifest);
      if (state.interrupted && !opts.resume) throw new UserError(describeUnfinished(state.interrupted));
      return this.plan();
    }
    // The lock is held for the whole update: a concurrent change would be undone by a rollback.
    // A run in progress holds it too, so this waits for that run (saying so) rather than
    // mistaking it for an interrupted one.
    return withLock(paths.manifest, { command: "update-safe" }, async () => {
      await this.ws.settleRecord();
      const open = await unfinishedRun(paths.manifest);
      if (open && !opts.resume) throw new UserError(describeUnfinished(open));
      if (!open && opts.resume) throw new UserError("there is no interrupted update-safe run to resume");
      return open ? this.resume(open, opts) : this.update(opts);
    });
  }

  /** --dry-run: what would change, from the registry, touching nothing. */
  private async plan(): Promise<UpdateSafeReport> {
    const { manifest } = await requireManifest(await this.ws.manifestPath());
    const images = serviceImages(await this.ws.project());
    const plan = planFloating(await observeFloating(this.ws, manifest, images, { dryRun: true }));
    return { outcome: "dry-run", ...plan, backup: null, data: null, recreated: [] };
  }

  /**
   * One run, its steps in order, each journaled (read top to bottom, it is the runbook; that is
   * why it is one function): backups, pulls and the plan; the record; recreate and verify.
   */
  private async update(opts: UpdateSafeOptions): Promise<UpdateSafeReport> {
    const project = await this.ws.project();
    const paths = recordPaths(await this.ws.manifestPath());
    const current = await requireManifest(paths.manifest);
    const images = serviceImages(project);
    const id = `${compact(this.ws.clock())}-${process.pid}`;
    const journal: Journal = (e) => appendJournal(paths.manifest, { id, at: this.ws.at(), ...e });
    const tracked = Object.entries(current.manifest.services).filter(([s]) => has(project.services, s));
    // Set once the record changes: from then on a failure is handled by the rollback, not "before".
    let touched = false;
    await journal({
      step: "begin",
      pid: process.pid,
      from: Object.fromEntries(tracked.map(([s, r]) => [s, versionOf(r)])),
    });
    faultPoint("update-safe.begin");
    try {
      // 1. Backups: the manifest, then the databases' data.
      const { backup, data } = await this.backUp(paths.manifest, current.manifest, opts);
      await journal({ step: "backed-up", backup });
      faultPoint("update-safe.backed-up");

      // 2. Pull every floating tag before stopping anything (any failure ends the run here),
      // 3. resolve tags and plan: only the services whose digest moved.
      const observed = await observeFloating(this.ws, current.manifest, images, {
        progress: (line) => this.say(line),
      });
      await journal({ step: "pulled" });
      faultPoint("update-safe.pulled");
      const {
        changes,
        unchanged,
        warnings,
        manifest: next,
        recreate: services,
      } = planUpdate(current.manifest, planFloating(observed), this.ws.at(), "update-safe");
      if (!next) {
        await journal({ step: "end", outcome: "nothing-to-do" });
        return { outcome: "nothing-to-do", changes: [], unchanged, backup, data, recreated: [], warnings };
      }
      if (this.ws.ctx.stack) await requireRollbackGate(this.ws, this.ws.ctx.stack, services);
      const to = Object.fromEntries(services.map((s) => [s, versionOf(next.services[s])]));
      // Said before the record changes, so a crash inside the change still leaves the journal
      // knowing what it was; the manifest (once settled) then says whether it happened.
      await journal({ step: "recording", services, to, backup });
      faultPoint("update-safe.recording");
      await this.record(paths, images, current, next, backup);
      touched = true;

      // 4. Recreate what changed, check health, and put everything back if anything fails.
      const recreated = await this.guarded(journal, services, current, opts, async () => {
        await journal({ step: "recorded", services, to });
        faultPoint("update-safe.recorded");
        return this.apply(journal, services, opts);
      });
      await journal({ step: "end", outcome: "updated" });
      return { outcome: "updated", changes, unchanged, backup, data, recreated, warnings };
    } catch (e) {
      const entries = (await unfinishedRun(paths.manifest)) ?? [];
      if (!this.leftOpen && entries.some((x) => x.id === id))
        await journal({ step: "end", outcome: "failed", detail: e instanceof Error ? e.message : String(e) });
      if (e instanceof UserError && !touched && !this.leftOpen) {
        throw new UserError(
          `update-safe stopped before changing anything: ${e.message}`,
          e.category,
          e.exitCode,
        );
      }
      throw e;
    }
  }

  /** The manifest's backup (kept for --resume and reused by the record change), then the data's. */
  private async backUp(
    manifestPath: string,
    manifest: Manifest,
    opts: UpdateSafeOptions,
  ): Promise<{ backup: string | null; data: DataBackup | null }> {
    const backup = await backupFile(manifestPath, { now: this.ws.clock() });
    if (opts.skipDataBackup) {
      this.say("data backup skipped (--skip-data-backup): the database volumes are not copied");
      return { backup, data: null };
    }
    const dir = path.join(path.dirname(manifestPath), BACKUP_DIR, "data", compact(this.ws.clock()));
    return { backup, data: await this.backupData(manifest, dir) };
  }

  /**
   * Records the new versions. Failing before the transaction's commit point changed nothing (the
   * run stops cleanly); failing after it is like a crash there: the run stays open for --resume.
   */
  private async record(
    paths: RecordPaths,
    images: Map<string, ServiceImage>,
    current: LoadedManifest,
    next: Manifest,
    backup: string | null,
  ): Promise<void> {
    try {
      await writeRecord(paths, images, "update-safe", current, next, this.ws.clock(), { backup });
    } catch (e) {
      if ((await readText(intentPath(paths.manifest))) === null) throw e;
      this.leftOpen = true;
      throw new UserError(
        `update-safe could not finish recording the new versions (${messageOf(e)}): once that is fixed, run 'docker versions update-safe --resume' or 'docker versions rollback'`,
      );
    }
  }

  /**
   * --resume: finish a run whose process died; its journal says how far it got, and the
   * manifest (the record transaction settled first) says whether the record changed.
   */
  private async resume(entries: JournalEntry[], opts: UpdateSafeOptions): Promise<UpdateSafeReport> {
    const paths = recordPaths(await this.ws.manifestPath());
    const id = (entries[0] as JournalEntry).id;
    const journal: Journal = (e) => appendJournal(paths.manifest, { id, at: this.ws.at(), ...e });
    const recording = entries.find((e) => e.step === "recording" || e.step === "recorded");
    const backup = entries.find((e) => e.step === "backed-up")?.backup ?? recording?.backup ?? null;
    const services = recording?.services ?? [];
    const rollingBack = entries.find((e) => e.step === "rolling-back");
    const current = await requireManifest(paths.manifest);
    const recorded =
      recording !== undefined &&
      services.every((s) => versionOf(current.manifest.services[s]) === recording.to?.[s]);
    if (!rollingBack && !recorded) {
      // The record never changed (or the change was reverted): close the old run, update afresh.
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
    const wait = { timeout: opts.timeout, settle: opts.settle };
    if (rollingBack) {
      // It was already putting the previous versions back: finish that, as it would have.
      this.say(
        `finishing the rollback of ${services.join(", ")} (started ${(entries[0] as JournalEntry).at})`,
      );
      await this.restore(previous);
      await this.ws.recreate(services, { timeout: opts.timeout });
      await this.waitReady(services, wait);
      await journal({ step: "end", outcome: "rolled-back", detail: `resumed: ${rollingBack.detail ?? ""}` });
      throw new UserError(
        `update-safe rolled back (finished by --resume): ${rollingBack.detail ?? "the update was not healthy"}`,
      );
    }
    this.say(`resuming the update of ${services.join(", ")} (started ${(entries[0] as JournalEntry).at})`);
    const recreated = await this.guarded(journal, services, previous, opts, () =>
      this.apply(journal, services, opts),
    );
    await journal({ step: "end", outcome: "updated", detail: "resumed" });
    return { outcome: "resumed", changes: [], unchanged: [], backup, data: null, recreated, warnings: [] };
  }

  /**
   * Runs `body`, the steps after the record changed. On any failure, whatever its kind, puts
   * `previous` back (byte for byte), recreates the same services on their old digests, waits
   * for them, and throws naming what failed; an unexpected error stays a bug (exit 70) after
   * the rollback, so it is still reported.
   */
  private async guarded<T>(
    journal: Journal,
    services: string[],
    previous: LoadedManifest,
    opts: UpdateSafeOptions,
    body: () => Promise<T>,
  ): Promise<T> {
    try {
      return await body();
    } catch (e) {
      const why = messageOf(e);
      await this.rollBack(journal, services, previous, opts, why);
      if (e instanceof UserError && e.category !== "internal")
        throw new UserError(`update-safe rolled back: ${why}`, e.category);
      throw new UserError(`update-safe rolled back after an unexpected error: ${why}`, "internal");
    }
  }

  private async rollBack(
    journal: Journal,
    services: string[],
    previous: LoadedManifest,
    opts: UpdateSafeOptions,
    why: string,
  ): Promise<void> {
    await journal({ step: "rolling-back", services, detail: why });
    faultPoint("update-safe.rolling-back");
    this.say(why);
    this.say(`rolling back ${services.join(", ")} to their previous versions`);
    try {
      await this.restore(previous);
      faultPoint("update-safe.restored");
      await this.ws.recreate(services, { timeout: opts.timeout });
    } catch (again) {
      // The run stays open at "rolling-back": --resume finishes the rollback.
      this.leftOpen = true;
      throw new UserError(
        `update-safe failed (${why}) and could not put the previous versions back (${messageOf(again)}): once that is fixed, run 'docker versions update-safe --resume'`,
        "engine",
      );
    }
    const wait = { timeout: opts.timeout, settle: opts.settle };
    await this.waitReady(services, wait).catch((again: unknown) => {
      throw new UserError(
        `update-safe failed (${why}) and the rollback is not healthy either: ${messageOf(again)}`,
        "engine",
      );
    });
    await journal({ step: "end", outcome: "rolled-back", detail: why });
  }

  /** Recreates `services` on the manifest's versions and waits for health (and health URLs). */
  private async apply(journal: Journal, services: string[], opts: UpdateSafeOptions): Promise<string[]> {
    await journal({ step: "recreating", services });
    const wait = { timeout: opts.timeout, settle: opts.settle };
    if (opts.fullRestart) await this.lifecycle.restart(wait);
    else {
      this.say(`${this.ws.ctx.stack ? "deploying" : "recreating"} ${services.join(", ")}`);
      await this.ws.recreate(services, { timeout: opts.timeout });
    }
    faultPoint("update-safe.recreated");
    await journal({ step: "health", services });
    await this.waitReady(services, wait);
    await this.checkHealthUrls(services, opts.timeout ?? 120);
    return services;
  }

  /**
   * Waits for health. On a stack the deploy already waited for Swarm's update (tasks healthy,
   * `monitor` passed, or Swarm's rollback), so there is nothing more to wait for.
   */
  private async waitReady(services: string[], wait: { timeout?: number; settle?: number }): Promise<void> {
    if (this.ws.ctx.stack) return;
    await this.lifecycle.waitReady(services, wait);
  }

  /**
   * Puts the pre-update manifest back exactly, with its versions.env and audit lines, as one
   * record transaction (a crash inside it is settled like any other change).
   */
  private async restore(previous: LoadedManifest): Promise<void> {
    const paths = recordPaths(await this.ws.manifestPath());
    const images = serviceImages(await this.ws.project());
    await restoreRecord(paths, images, "update-safe (rollback)", previous, this.ws.clock());
  }

  private async backupData(manifest: Manifest, dir: string): Promise<DataBackup> {
    const project = await this.ws.project();
    if (manifest.data_backup_command) {
      this.say(`data backup: ${manifest.data_backup_command.join(" ")}`);
      return runBackupCommand(manifest.data_backup_command, dir, project.workingDir, this.ws.cli.env);
    }
    if (this.ws.ctx.stack) {
      this.say(
        "data backup: on a stack the database volumes live on their nodes; set data_backup_command in the manifest to dump them",
      );
      return { dir, archives: [], skipped: ["(stack: no volume archive)"] };
    }
    const roles = await this.lifecycle.roles();
    const databases = [...roles].filter(([, r]) => r.role === "database").map(([s]) => s);
    const containers = await listContainers(this.ws.cli, project);
    const data = await snapshotVolumes(this.ws.cli, project, databases, containers, dir);
    const total = data.archives.reduce((n, a) => n + a.bytes, 0);
    this.say(
      `data backup: ${data.archives.length} volume(s), ${(total / 1024 / 1024).toFixed(1)} MiB in ${dir}`,
    );
    return data;
  }

  /** Each recreated service's health_url must answer 2xx before the timeout. */
  private async checkHealthUrls(services: readonly string[], timeoutS: number): Promise<void> {
    const { manifest } = await requireManifest(await this.ws.manifestPath());
    const deadline = Date.now() + timeoutS * 1000;
    for (const service of services) {
      const raw = manifest.services[service]?.health_url;
      if (!raw) continue;
      await waitForHealthUrl(service, raw, { deadline });
    }
  }
}
