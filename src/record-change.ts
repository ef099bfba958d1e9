// The one way an operation changes the record: a plan computed against the manifest as it is
// under the lock (core/plan.ts), committed as one transaction; a dry run plans against the
// manifest as read. A change of versions (pull-latest, version-pull, the rollbacks) is a plan of
// steps the executor runs and journals: backup, pull, record, and with --apply, recreate.
// Also what every change report says besides its plan.
import {
  appendJournal,
  type JournalEntry,
  parseVersion,
  unfinishedRun,
  updateState,
} from "./adapters/journal.js";
import { withLock } from "./adapters/store.js";
import type { Manifest, ServiceRecord } from "./core/manifest.js";
import { has } from "./core/names.js";
import {
  type ChangeReport,
  planRecord,
  type RecordPlan,
  type RollbackInput,
  type Target,
} from "./core/plan.js";
import { type PullItem, planLines, planSteps } from "./core/steps.js";
import { UserError } from "./errors.js";
import { beginRun, describeUnfinished, execute } from "./executor.js";
import { Lifecycle, type LifecycleIO } from "./lifecycle.js";
import { mutateRecord, readManifest, requireManifest, type ServiceImage } from "./record.js";
import { journalFor, runId, stepWork } from "./step-work.js";
import type { Workspace } from "./workspace.js";

/**
 * The one way a command changes the record: `plan` is computed against the manifest as it is
 * under the lock (another command may have changed it since it was read), then committed as
 * one transaction; a dry run plans against the manifest as read and commits nothing.
 */
export async function changeRecord(
  ws: Workspace,
  command: string,
  images: Map<string, ServiceImage>,
  plan: (current: Manifest | null) => RecordPlan,
  dryRun: boolean,
): Promise<ChangeReport> {
  const paths = await ws.paths();
  if (dryRun) {
    const { changes, unchanged } = plan((await readManifest(paths.manifest))?.manifest ?? null);
    return { changes, unchanged, dryRun: true, backup: null, warnings: [], applied: [] };
  }
  const out = await mutateRecord(paths, images, command, ws.clock(), (current) => {
    const p = plan(current?.manifest ?? null);
    return { manifest: p.manifest, result: p };
  });
  const { changes, unchanged } = out.result;
  return { changes, unchanged, dryRun: false, backup: out.backup, warnings: out.warnings, applied: [] };
}

const versionOf = (r: ServiceRecord) => `${r.current_tag}${r.image_digest ? `@${r.image_digest}` : ""}`;

export interface VersionChange {
  command: string;
  images: Map<string, ServiceImage>;
  /** The versions to record (their digests known: asked of the registry or the engine). */
  targets: Target[];
  /** The images the new versions need locally. */
  pulls: PullItem[];
  /** Recreate the changed services afterwards. */
  apply: boolean;
  dryRun: boolean;
  /** Runs first, under the lock (a rollback closes the interrupted run it undoes). */
  before?: () => Promise<void>;
}

/**
 * A change of versions as a plan the executor runs: planned against the manifest under the lock
 * (as read, in a dry run, which returns the same steps and runs none), journaled step by step,
 * and on any failure after the record changed, put back (with the previous digests running
 * again where --apply recreated anything).
 */
export async function changeVersions(
  ws: Workspace,
  c: VersionChange,
  io: LifecycleIO = {},
): Promise<ChangeReport> {
  const at = ws.at();
  const targets = c.targets.map((t) => ({ ...t, image: c.images.get(t.service)?.repository }));
  const plan = (current: Manifest) => {
    const record = planRecord(current, targets, at, c.command);
    const steps = planSteps({
      command: c.command,
      changes: record.changes,
      pulls: c.pulls,
      recreate: c.apply,
    });
    return { record, steps };
  };
  const paths = await ws.paths();
  const report = (r: RecordPlan, steps: string[], dryRun: boolean) => ({
    changes: r.changes,
    unchanged: r.unchanged,
    dryRun,
    backup: null as string | null,
    warnings: [] as string[],
    applied: [] as string[],
    plan: steps,
  });
  if (c.dryRun) {
    const { record, steps } = plan((await requireManifest(paths.manifest)).manifest);
    return report(record, planLines(steps), true);
  }
  return withLock(paths.manifest, { command: c.command, now: ws.clock() }, async () => {
    await ws.settleRecord();
    await c.before?.();
    const open = await unfinishedRun(paths.manifest);
    if (open) throw new UserError(describeUnfinished(open));
    const current = await requireManifest(paths.manifest);
    const { record, steps } = plan(current.manifest);
    const out = report(record, planLines(steps), false);
    if (steps.steps.length === 0) return out;
    const project = await ws.project();
    const from = Object.entries(current.manifest.services).filter(([s]) => has(project.services, s));
    const journal = journalFor(ws, paths.manifest, runId(ws));
    await beginRun(steps, journal, Object.fromEntries(from.map(([s, r]) => [s, versionOf(r)])));
    const work = stepWork(ws, {
      command: c.command,
      previous: current,
      next: record.manifest,
      images: c.images,
      lifecycle: new Lifecycle(ws, io),
      warnings: out.warnings,
    });
    const state = await execute(steps, work, journal);
    out.backup = state.backup ?? null;
    out.applied = state.recreates;
    return out;
  });
}

/** A rollback after an interrupted update-safe run settles it: the journal says so. */
export async function closeInterruptedUpdate(ws: Workspace, command: string): Promise<void> {
  const manifestPath = await ws.manifestPath();
  const open = (await updateState(manifestPath)).interrupted; // never a run still in progress
  if (!open?.[0]) return;
  await appendJournal(manifestPath, {
    id: open[0].id,
    at: ws.at(),
    step: "end",
    outcome: "superseded",
    detail: `settled by ${command}`,
  });
}

/** Says which services moved with the one named, because one variable pins them all. */
export function withGroupNote(report: ChangeReport, service: string, group: readonly string[]): ChangeReport {
  const others = group.filter((s) => s !== service);
  if (others.length > 0 && report.changes.length > 0) {
    report.warnings.push(
      `${others.join(", ")} ${others.length === 1 ? "shares" : "share"} one version variable with ${service} (same repository): recorded together`,
    );
  }
  return report;
}

/**
 * What a rollback undoes of a cut-short run: its journal names the services it changed and the
 * versions they had, whether or not the record has already been put back.
 */
export function interruptedRun(entries: readonly JournalEntry[] | null): RollbackInput["interrupted"] {
  if (!entries) return null;
  return {
    from: Object.fromEntries(Object.entries(entries[0]?.from ?? {}).map(([s, v]) => [s, parseVersion(v)])),
    changed: entries.find((e) => e.step === "recording" || e.step === "recorded")?.services ?? [],
  };
}
