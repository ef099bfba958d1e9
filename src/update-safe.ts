// update-safe: the production update. Everything that can fail without harm happens before
// anything is stopped (backups, pulls, tag resolution); then only the services whose digest
// changed are recreated and health-checked, and a failure puts the previous manifest and
// digests back. Each step is journaled so a run cut short is seen by the next command.
import type { DataBackup } from "./adapters/data-backup.js";
import { type JournalEntry, unfinishedRun, updateState } from "./adapters/journal.js";
import { readText, withLock } from "./adapters/store.js";
import type { Manifest, ServiceRecord } from "./core/manifest.js";
import { has } from "./core/names.js";
import { type Change, type FloatingPlan, planFloating, planUpdate, type UpdatePlan } from "./core/plan.js";
import { applySteps, planLines, planSteps, type RunPlan } from "./core/steps.js";
import { parseWindow, windowState } from "./core/window.js";
import { messageOf, UserError, usageError } from "./errors.js";
import { beginRun, describeUnfinished, execute, type StepWork } from "./executor.js";

export { describeLive, describeUnfinished } from "./executor.js";

import { floatingPulls, observeFloating } from "./floating.js";
import { Lifecycle, type LifecycleIO } from "./lifecycle.js";
import { type LoadedManifest, parseLoaded, recordPaths, requireManifest, serviceImages } from "./record.js";
import { requireRollbackGate } from "./stack-reports.js";
import { journalFor, runId, stepWork } from "./step-work.js";
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
  /** The plan's steps, one line each, as the executor runs them (and --dry-run prints them). */
  plan: string[];
}

const NOTHING = {
  changes: [],
  unchanged: [],
  backup: null,
  data: null,
  recreated: [],
  warnings: [],
  plan: [],
};

/** --window's value; a malformed one is a usage error. */
function parseWindowOption(text: string) {
  try {
    return parseWindow(text);
  } catch (e) {
    throw usageError(messageOf(e));
  }
}

const versionOf = (r: ServiceRecord | undefined) =>
  r ? `${r.current_tag}${r.image_digest ? `@${r.image_digest}` : ""}` : "(untracked)";

/** What update-safe plans: the floating tags' news, the record to write, and the steps. */
interface Planned {
  floating: FloatingPlan;
  update: UpdatePlan;
  run: RunPlan;
}

export class UpdateSafe {
  readonly lifecycle: Lifecycle;

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
    if (this.ws.ctx.stack && opts.fullRestart)
      throw usageError(
        "--full-restart is for Compose projects: on a stack Swarm updates each service itself",
      );
    const paths = recordPaths(await this.ws.manifestPath());
    if (opts.dryRun) {
      const state = await updateState(paths.manifest);
      if (state.interrupted && !opts.resume) throw new UserError(describeUnfinished(state.interrupted));
      const { floating, run } = await this.plan((await requireManifest(paths.manifest)).manifest, opts);
      return {
        outcome: "dry-run",
        ...floating,
        backup: null,
        data: null,
        recreated: [],
        plan: planLines(run),
      };
    }
    // The lock is held for the whole update: a concurrent change would be undone by a rollback.
    // A run in progress holds it too, so this waits for that run (saying so) rather than
    // mistaking it for an interrupted one.
    return withLock(paths.manifest, { command: "update-safe", now: this.ws.clock() }, async () => {
      await this.ws.settleRecord();
      const open = await unfinishedRun(paths.manifest);
      if (open && !opts.resume) throw new UserError(describeUnfinished(open));
      if (!open && opts.resume) throw new UserError("there is no interrupted update-safe run to resume");
      return open ? this.resume(open, opts) : this.update(opts);
    });
  }

  /**
   * The plan, from what the registry says of the floating tags (the same in a dry run): only
   * the services whose digest moved are pulled, recorded, recreated and health-checked.
   */
  private async plan(manifest: Manifest, opts: UpdateSafeOptions): Promise<Planned> {
    const images = serviceImages(await this.ws.project());
    const observed = await observeFloating(this.ws, manifest, images);
    const floating = planFloating(observed);
    const update = planUpdate(manifest, floating, this.ws.at(), "update-safe");
    const run = planSteps({
      command: "update-safe",
      changes: floating.changes.filter((c) => update.recreate.includes(c.service)),
      pulls: floatingPulls(this.ws, observed, manifest, images),
      backupFirst: true,
      backupData: !opts.skipDataBackup,
      recreate: opts.fullRestart ? "full" : true,
      health: true,
    });
    return { floating, update, run };
  }

  /** One run: its plan, then the executor runs it (journaled; rolled back on any failure). */
  private async update(opts: UpdateSafeOptions): Promise<UpdateSafeReport> {
    const project = await this.ws.project();
    const paths = recordPaths(await this.ws.manifestPath());
    const current = await requireManifest(paths.manifest);
    let planned: Planned;
    try {
      planned = await this.plan(current.manifest, opts);
      const { stack } = this.ws.ctx;
      if (stack && planned.update.manifest)
        await requireRollbackGate(this.ws, stack, planned.update.recreate);
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      throw new UserError(
        `update-safe stopped before changing anything: ${e.message}`,
        e.category,
        e.exitCode,
      );
    }
    const { floating, update, run } = planned;
    const { unchanged, warnings } = floating;
    if (!update.manifest) return { outcome: "nothing-to-do", ...NOTHING, unchanged, warnings };
    if (opts.skipDataBackup)
      this.say("data backup skipped (--skip-data-backup): the database volumes are not copied");
    const tracked = Object.entries(current.manifest.services).filter(([s]) => has(project.services, s));
    const journal = journalFor(this.ws, paths.manifest, runId(this.ws));
    await beginRun(run, journal, Object.fromEntries(tracked.map(([s, r]) => [s, versionOf(r)])));
    const data: { taken: DataBackup | null } = { taken: null };
    const work = await this.work(current, update.manifest, opts, data);
    const state = await execute(run, work, journal, undefined, { saysNothingChanged: true });
    const changes = floating.changes.filter((c) => update.recreate.includes(c.service));
    return {
      outcome: "updated",
      changes,
      unchanged,
      backup: state.backup ?? null,
      data: data.taken,
      recreated: update.recreate,
      warnings,
      plan: planLines(run),
    };
  }

  private async work(
    previous: LoadedManifest,
    next: Manifest | null,
    opts: UpdateSafeOptions,
    data?: { taken: DataBackup | null },
  ): Promise<StepWork> {
    return stepWork(this.ws, {
      command: "update-safe",
      previous,
      next,
      images: serviceImages(await this.ws.project()),
      lifecycle: this.lifecycle,
      health: true,
      timeout: opts.timeout,
      settle: opts.settle,
      data,
    });
  }

  /**
   * --resume: finish a run whose process died; its journal says how far it got, and the
   * manifest (the record transaction settled first) says whether the record changed.
   */
  private async resume(entries: JournalEntry[], opts: UpdateSafeOptions): Promise<UpdateSafeReport> {
    const paths = recordPaths(await this.ws.manifestPath());
    const first = entries[0] as JournalEntry;
    const journal = journalFor(this.ws, paths.manifest, first.id);
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
    const previous = await this.backupOf(backup);
    const work = await this.work(previous, null, opts);
    if (rollingBack) {
      // It was already putting the previous versions back: finish that, as it would have.
      this.say(`finishing the rollback of ${services.join(", ")} (started ${first.at})`);
      await work.restore();
      await work.rerun(services);
      await work.waitRerun(services);
      await journal({ step: "end", outcome: "rolled-back", detail: `resumed: ${rollingBack.detail ?? ""}` });
      throw new UserError(
        `update-safe rolled back (finished by --resume): ${rollingBack.detail ?? "the update was not healthy"}`,
      );
    }
    this.say(`resuming the update of ${services.join(", ")} (started ${first.at})`);
    const rest = { command: "update-safe", steps: applySteps(services, Boolean(opts.fullRestart), true) };
    await execute(rest, work, journal, { touched: true, backup, recreates: [] }, { detail: "resumed" });
    return { outcome: "resumed", ...NOTHING, backup, recreated: services, plan: [] };
  }

  /** The manifest backup an interrupted run took: what its rollback puts back. */
  private async backupOf(backup: string | null): Promise<LoadedManifest> {
    if (!backup)
      throw new UserError(
        "the interrupted run has no manifest backup to fall back on: use 'docker versions rollback'",
      );
    const text = await readText(backup);
    if (text === null)
      throw new UserError(
        `the interrupted run's manifest backup ${backup} is gone: use 'docker versions rollback'`,
      );
    return parseLoaded(backup, text);
  }
}
