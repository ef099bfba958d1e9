// The steps of a run that changes something, as plain data: `--dry-run` prints them, and the
// executor (src/executor.ts) runs exactly them, in order, journaling each. Pure code.
import type { Change } from "./plan.js";

/** One image to make local: `ref` is what is pulled, `follows` what the user knows it as. */
export interface PullItem {
  service: string;
  ref: string;
  /** The floating tag (or named tag) this image was found under, shown in progress lines. */
  follows?: string;
}

export type Step =
  /** The manifest's backup; with `data`, the databases' volumes (or the backup command) too. */
  | { kind: "backup"; data: boolean }
  /** Make these images local before anything is stopped (one `docker compose pull`). */
  | { kind: "pull"; images: PullItem[] }
  /**
   * The record (manifest, versions.env, audit) names the new versions, as one transaction;
   * `backup`: the transaction backs the manifest up itself (no backup step came first).
   */
  | { kind: "record"; changes: Change[]; backup: boolean }
  /** Recreate these services on the record's versions; `full`: down, updb, up instead. */
  | { kind: "recreate"; services: string[]; full: boolean }
  /** Wait until these services are healthy (and their health URLs answer). */
  | { kind: "health"; services: string[] };

export interface RunPlan {
  command: string;
  steps: Step[];
}

export interface StepsInput {
  command: string;
  changes: readonly Change[];
  /** Images the run must have locally, by service (the ones already local are skipped then). */
  pulls: readonly PullItem[];
  /**
   * Back up the manifest as a step of its own, before the pulls (update-safe: --resume falls back
   * on it); otherwise the record's transaction backs it up once every file is prepared.
   */
  backupFirst?: boolean;
  /** Back up the databases' data too, in that first step (update-safe without --skip-data-backup). */
  backupData?: boolean;
  /** Recreate the changed services (`--apply`, update-safe); "full": down, updb, up. */
  recreate?: boolean | "full";
  /** Wait for the recreated services to be healthy (update-safe). */
  health?: boolean;
}

/**
 * The steps of a change: nothing when nothing changes; otherwise (update-safe) the backups first,
 * then every pull (a failure there leaves everything as it was), the record, and what runs.
 */
export function planSteps(input: StepsInput): RunPlan {
  const { command, changes } = input;
  if (changes.length === 0) return { command, steps: [] };
  const services = changes.map((c) => c.service);
  const first = Boolean(input.backupFirst || input.backupData);
  const steps: Step[] = first ? [{ kind: "backup", data: Boolean(input.backupData) }] : [];
  const moving = new Set(services);
  const pulls = input.pulls.filter((p) => moving.has(p.service));
  if (pulls.length > 0) steps.push({ kind: "pull", images: [...pulls] });
  steps.push({ kind: "record", changes: [...changes], backup: !first });
  if (input.recreate) steps.push(...applySteps(services, input.recreate === "full", Boolean(input.health)));
  return { command, steps };
}

/** What makes recorded versions run: recreate the services, then (update-safe) wait for health. */
export function applySteps(services: readonly string[], full: boolean, health: boolean): Step[] {
  const recreate: Step = { kind: "recreate", services: [...services], full };
  return health ? [recreate, { kind: "health", services: [...services] }] : [recreate];
}

const version = (v: { tag: string; digest?: string } | undefined) =>
  v ? `${v.tag}${v.digest ? `@${v.digest}` : ""}` : "(untracked)";

/** One line per step, as --dry-run prints the plan and the journal names it. */
export function describeStep(step: Step): string {
  switch (step.kind) {
    case "backup":
      return step.data ? "back up the manifest and the databases' data" : "back up the manifest";
    case "pull":
      return `pull ${step.images.map((i) => `${i.service} (${i.ref})`).join(", ")}`;
    case "record":
      return `record ${step.changes.map((c) => `${c.service} ${version(c.from)} → ${version(c.to)}`).join(", ")}${step.backup ? " (the manifest backed up first)" : ""}`;
    case "recreate":
      return step.full
        ? `restart the project (down, updb, up) for ${step.services.join(", ")}`
        : `recreate ${step.services.join(", ")}`;
    case "health":
      return `wait until ${step.services.join(", ")} ${step.services.length === 1 ? "is" : "are"} healthy`;
  }
}

/** The plan as lines, numbered in the order the executor runs them. */
export function planLines(plan: RunPlan): string[] {
  return plan.steps.map((s, i) => `${i + 1}. ${describeStep(s)}`);
}
