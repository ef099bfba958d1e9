// The one executor: runs a plan's steps (core/steps.ts) in order, journals each one
// (version-journal.jsonl), and owns failure. Before the record changes, a failure closes the run
// as "failed" and nothing needs undoing; once it has changed, any failure, whatever its kind,
// puts the previous record back, runs the previous digests again where the run recreated
// anything, and closes the run as "rolled-back". What cannot be undone leaves the run open, and
// the next command says so (update-safe --resume finishes it). The work of each step is given
// (step-work.ts does it with Docker), so this loop is tested without Docker.
import { faultPoint } from "./adapters/fault.js";
import type { JournalEntry } from "./adapters/journal.js";
import type { LockHolder } from "./adapters/store.js";
import { planLines, type RunPlan, type Step } from "./core/steps.js";
import { messageOf, UserError } from "./errors.js";

export type Journal = (e: Omit<JournalEntry, "id" | "at">) => Promise<void>;

/** What each step does; the executor decides the order, the journal and what a failure means. */
export interface StepWork {
  /** Returns the manifest backup's path. */
  backup(step: Extract<Step, { kind: "backup" }>): Promise<string | null>;
  pull(step: Extract<Step, { kind: "pull" }>): Promise<void>;
  /**
   * Commits the planned record; `backup` is the one a backup step took (no second backup), else
   * the transaction takes one. Returns the backup's path.
   */
  record(step: Extract<Step, { kind: "record" }>, backup: string | null | undefined): Promise<string | null>;
  recreate(step: Extract<Step, { kind: "recreate" }>): Promise<void>;
  health(step: Extract<Step, { kind: "health" }>): Promise<void>;
  /** Puts the record as it was before the run back (byte for byte). */
  restore(): Promise<void>;
  /** Recreates `services` on the restored record (their previous digests). */
  rerun(services: string[]): Promise<void>;
  /** Waits for the services `rerun` recreated (update-safe: until healthy). */
  waitRerun(services: string[]): Promise<void>;
  /** One line for people watching. */
  say(line: string): void;
}

/**
 * A failure after the record's commit point could not be completed (the transaction's intent is
 * left for the next command to settle): the run stays open, like a crash at that moment.
 */
export class LeftOpenError extends UserError {}

export interface RunState {
  /** The record has changed (a resumed run starts so). */
  touched: boolean;
  /** The manifest's backup (undefined until one is taken). */
  backup?: string | null;
  /** The services a rollback recreates: those the run recreates (or recreated). */
  recreates: string[];
}

const versionText = (v: { tag: string; digest?: string } | undefined) =>
  v ? `${v.tag}${v.digest ? `@${v.digest}` : ""}` : "(untracked)";

/** Runs one step, journaling it the way `--resume` and the next command read the journal. */
async function runStep(
  plan: RunPlan,
  step: Step,
  work: StepWork,
  journal: Journal,
  state: RunState,
): Promise<void> {
  const at = (point: string) => faultPoint(`${plan.command}.${point}`);
  switch (step.kind) {
    case "backup":
      state.backup = await work.backup(step);
      await journal({ step: "backed-up", backup: state.backup });
      return at("backed-up");
    case "pull":
      await work.pull(step);
      await journal({ step: "pulled", services: step.images.map((i) => i.service) });
      return at("pulled");
    case "record": {
      const services = step.changes.map((c) => c.service);
      const to = Object.fromEntries(step.changes.map((c) => [c.service, versionText(c.to)]));
      // Said before the record changes, so a crash inside the change still leaves the journal
      // knowing what it was; the manifest (once settled) then says whether it happened.
      await journal({ step: "recording", services, to, backup: state.backup ?? null });
      at("recording");
      state.backup = await work.record(step, state.backup);
      state.touched = true;
      await journal({ step: "recorded", services, to });
      return at("recorded");
    }
    case "recreate":
      await journal({ step: "recreating", services: step.services });
      await work.recreate(step);
      return at("recreated");
    case "health":
      await journal({ step: "health", services: step.services });
      return work.health(step);
  }
}

/**
 * Opens a run in the journal: which command, which process, the versions it starts from (what
 * `rollback` puts back if the run is cut short) and its plan, as --dry-run prints it.
 */
export async function beginRun(plan: RunPlan, journal: Journal, from: Record<string, string>): Promise<void> {
  const recreates = plan.steps.flatMap((s) => (s.kind === "recreate" ? s.services : []));
  await journal({
    step: "begin",
    command: plan.command,
    pid: process.pid,
    from,
    plan: planLines(plan),
    recreates,
  });
  faultPoint(`${plan.command}.begin`);
}

export interface RunOptions {
  /** The journal's detail on a good end (a resumed run says so). */
  detail?: string;
  /**
   * A failure before the record changed says so in its line (update-safe, whose backups and
   * pulls come first); other commands report the failure as it is.
   */
  saysNothingChanged?: boolean;
}

/**
 * Runs `plan.steps` from `state` (a fresh run, or a resumed one that has already recorded).
 * Resolves once the run is journaled as ended; throws one line naming what failed and what was
 * done about it.
 */
export async function execute(
  plan: RunPlan,
  work: StepWork,
  journal: Journal,
  state: RunState = { touched: false, recreates: [] },
  options: RunOptions = {},
): Promise<RunState> {
  state.recreates.push(...plan.steps.flatMap((s) => (s.kind === "recreate" ? s.services : [])));
  try {
    for (const step of plan.steps) await runStep(plan, step, work, journal, state);
  } catch (e) {
    if (e instanceof LeftOpenError) throw e;
    if (!state.touched) {
      await journal({ step: "end", outcome: "failed", detail: messageOf(e) });
      if (e instanceof UserError && options.saysNothingChanged)
        throw new UserError(
          `${plan.command} stopped before changing anything: ${e.message}`,
          e.category,
          e.exitCode,
        );
      throw e;
    }
    await rollBack(plan, work, journal, state, messageOf(e));
    if (e instanceof UserError && e.category !== "internal")
      throw new UserError(`${plan.command} rolled back: ${e.message}`, e.category);
    throw new UserError(`${plan.command} rolled back after an unexpected error: ${messageOf(e)}`, "internal");
  }
  await journal({ step: "end", outcome: "updated", ...(options.detail ? { detail: options.detail } : {}) });
  return state;
}

/**
 * Puts the previous record back and, where the run recreated services, runs their previous
 * digests again. A rollback that cannot finish leaves the run open at "rolling-back".
 */
export async function rollBack(
  plan: RunPlan,
  work: StepWork,
  journal: Journal,
  state: RunState,
  why: string,
): Promise<void> {
  const services = [...new Set(state.recreates)];
  await journal({ step: "rolling-back", services, detail: why });
  faultPoint(`${plan.command}.rolling-back`);
  work.say(why);
  work.say(
    services.length > 0
      ? `rolling back ${services.join(", ")} to their previous versions`
      : "putting the previous record back",
  );
  try {
    await work.restore();
    faultPoint(`${plan.command}.restored`);
    if (services.length > 0) await work.rerun(services);
  } catch (again) {
    throw new LeftOpenError(
      `${plan.command} failed (${why}) and could not put the previous versions back (${messageOf(again)}): once that is fixed, run 'docker versions update-safe --resume'`,
      "engine",
    );
  }
  if (services.length > 0)
    await work.waitRerun(services).catch(async (again: unknown) => {
      await journal({ step: "end", outcome: "failed", detail: `${why}; the rollback is not healthy either` });
      throw new UserError(
        `${plan.command} failed (${why}) and the rollback is not healthy either: ${messageOf(again)}`,
        "engine",
      );
    });
  await journal({ step: "end", outcome: "rolled-back", detail: why });
}

const article = (command: string) => (/^[aeiou]/.test(command) ? "an" : "a");

/** A one-line notice that a run is in progress, for other commands. */
export function describeLive(holder: LockHolder): string {
  return `${article(holder.command)} ${holder.command} run is in progress (pid ${holder.pid} on ${holder.host}, since ${holder.since}); commands that change the record wait for it to finish`;
}

/** A one-line description of an unfinished run, for the warning every command prints. */
export function describeUnfinished(entries: readonly JournalEntry[]): string {
  const begin = entries[0];
  const command = begin?.command ?? "update-safe";
  const last = entries[entries.length - 1] as JournalEntry;
  const where = entries.some((e) => e.step === "recording" || e.step === "recorded")
    ? `the manifest may already name the new versions; containers may run either (${(entries.find((e) => e.services)?.services ?? []).join(", ") || "no service"} affected)`
    : "nothing had been changed yet";
  return `${article(command)} ${command} run started at ${begin?.at ?? "?"} did not finish (last step: ${last.step}; ${where}): run 'docker versions update-safe --resume' or 'docker versions rollback'`;
}
