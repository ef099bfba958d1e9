// The one way an operation changes the record: a plan computed against the manifest as it is
// under the lock (core/plan.ts), committed by mutateRecord as one transaction; a dry run plans
// against the manifest as read. Also what every change report says besides its plan.
import { appendJournal, updateState } from "./adapters/journal.js";
import type { Manifest } from "./core/manifest.js";
import { type ChangeReport, planRecord, type RecordPlan, type Target } from "./core/plan.js";
import { mutateRecord, readManifest, type ServiceImage } from "./record.js";
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

/** Records `targets` (planned outside the lock) as deployments by `command`. */
export function recordTargets(
  ws: Workspace,
  command: string,
  images: Map<string, ServiceImage>,
  targets: Target[],
  dryRun: boolean,
): Promise<ChangeReport> {
  const at = ws.at();
  const withImage = targets.map((t) => ({ ...t, image: images.get(t.service)?.repository }));
  return changeRecord(ws, command, images, (current) => planRecord(current, withImage, at, command), dryRun);
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
