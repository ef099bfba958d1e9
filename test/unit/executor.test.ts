// The executor's loop without Docker: the steps run in the plan's order and are journaled as the
// next command reads them; a failure before the record changed closes the run as failed, and any
// failure after it (an expected one or a bug) puts the record back and reruns the previous
// digests of what was recreated. The work of each step is recorded in memory; the journal is a
// real file in a temporary directory.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { appendJournal, type JournalEntry, unfinishedRun } from "../../src/adapters/journal.js";
import { planLines, planSteps, type RunPlan } from "../../src/core/steps.js";
import { UserError } from "../../src/errors.js";
import { beginRun, describeUnfinished, execute, type Journal, type StepWork } from "../../src/executor.js";

const change = (service: string) => ({ service, from: { tag: "1" }, to: { tag: "2", digest: "sha256:ab" } });

function plan(opts: { recreate?: boolean; health?: boolean } = {}): RunPlan {
  return planSteps({
    command: "pull-latest",
    backupFirst: true,
    changes: [change("api"), change("web")],
    pulls: [
      { service: "api", ref: "r/api@sha256:ab" },
      { service: "web", ref: "r/web@sha256:ab" },
    ],
    recreate: opts.recreate,
    health: opts.health,
  });
}

/** Step work that records what it was asked to do, and fails where told. */
function fakeWork(failAt?: string, error: unknown = new UserError("boom", "engine")) {
  const done: string[] = [];
  const run = async (what: string) => {
    done.push(what);
    if (what === failAt) throw error;
  };
  const work: StepWork = {
    backup: async () => {
      await run("backup");
      return "/backups/m.1";
    },
    pull: () => run("pull"),
    // As the record's transaction does: the backup a step took, else one of its own.
    record: async (_step, backup) => {
      await run("record");
      return backup ?? "/backups/m.2";
    },
    recreate: () => run("recreate"),
    health: () => run("health"),
    restore: () => run("restore"),
    rerun: () => run("rerun"),
    waitRerun: () => run("wait-rerun"),
    say: () => {},
  };
  return { work, done };
}

let dir: string;
let manifest: string;
let journal: Journal;
const entries = async () => (await unfinishedRun(manifest)) ?? [];
const all = async () => {
  const { readFileSync } = await import("node:fs");
  return readFileSync(path.join(dir, "version-journal.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as JournalEntry);
};

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), "dv-executor-"));
  manifest = path.join(dir, "version-manifest.yaml");
  journal = (e) => appendJournal(manifest, { id: "run1", at: "2026-11-29T12:00:00Z", ...e });
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("execute", () => {
  it("runs exactly the planned steps, in order, and the journal names the plan --dry-run prints", async () => {
    const p = plan({ recreate: true, health: true });
    const { work, done } = fakeWork();
    await beginRun(p, journal, { api: "1", web: "1" });
    const state = await execute(p, work, journal);
    expect(done).toEqual(p.steps.map((s) => s.kind));
    const run = await all();
    expect(run[0]).toMatchObject({ step: "begin", command: "pull-latest", plan: planLines(p) });
    expect(run.map((e) => e.step)).toEqual([
      "begin",
      "backed-up",
      "pulled",
      "recording",
      "recorded",
      "recreating",
      "health",
      "end",
    ]);
    expect(run.at(-1)?.outcome).toBe("updated");
    expect(state).toMatchObject({ touched: true, backup: "/backups/m.1", recreates: ["api", "web"] });
    expect(await entries()).toEqual([]);
  });

  it("a failure before the record changed closes the run as failed and says nothing changed", async () => {
    const p = plan({ recreate: true });
    const { work, done } = fakeWork("pull");
    await beginRun(p, journal, {});
    await expect(execute(p, work, journal)).rejects.toThrow(/^boom$/);
    // update-safe's line says so, its backups and pulls having come first.
    const again = fakeWork("pull").work;
    await expect(execute(p, again, journal, undefined, { saysNothingChanged: true })).rejects.toThrow(
      /^pull-latest stopped before changing anything: boom$/,
    );
    expect(done).toEqual(["backup", "pull"]);
    expect((await all()).at(-1)).toMatchObject({ step: "end", outcome: "failed", detail: "boom" });
  });

  it.each([
    [
      "an expected failure",
      new UserError("api exited with code 1", "engine"),
      /^pull-latest rolled back: api exited/,
    ],
    [
      "a bug",
      new TypeError("x is undefined"),
      /^pull-latest rolled back after an unexpected error: x is undefined/,
    ],
  ])(
    "%s after recreating puts the record back and reruns the previous digests",
    async (_n, error, message) => {
      const p = plan({ recreate: true, health: true });
      const { work, done } = fakeWork("health", error);
      await beginRun(p, journal, {});
      const failed = await execute(p, work, journal).catch((e: unknown) => e as UserError);
      expect(failed).toBeInstanceOf(UserError);
      expect((failed as UserError).message).toMatch(message);
      expect((failed as UserError).category).toBe(error instanceof UserError ? "engine" : "internal");
      expect(done).toEqual([
        "backup",
        "pull",
        "record",
        "recreate",
        "health",
        "restore",
        "rerun",
        "wait-rerun",
      ]);
      const run = await all();
      expect(run.at(-2)).toMatchObject({ step: "rolling-back", services: ["api", "web"] });
      expect(run.at(-1)).toMatchObject({ step: "end", outcome: "rolled-back" });
    },
  );

  it("a failure after the record changed, with nothing recreated, only puts the record back", async () => {
    const p = plan();
    const failing: RunPlan = { ...p, steps: [...p.steps, { kind: "health", services: ["api"] }] };
    const { work, done } = fakeWork("health");
    await beginRun(failing, journal, {});
    await expect(execute(failing, work, journal)).rejects.toThrow(/^pull-latest rolled back: boom/);
    expect(done).toEqual(["backup", "pull", "record", "health", "restore"]);
    expect((await all()).at(-1)).toMatchObject({ outcome: "rolled-back" });
  });

  it("a record-only run cut short is no unfinished run: the record transaction settles it", async () => {
    const recordOnly = plan();
    await beginRun(recordOnly, journal, { api: "1" });
    await journal({ step: "backed-up", backup: null });
    expect(await unfinishedRun(manifest)).toBeNull();
    // One that recreates is, once begun: it may leave containers on another version.
    await beginRun(
      plan({ recreate: true }),
      (e) => appendJournal(manifest, { id: "run2", at: "t", ...e }),
      {},
    );
    expect((await unfinishedRun(manifest))?.[0]).toMatchObject({ id: "run2", recreates: ["api", "web"] });
  });

  it("a rollback that cannot recreate leaves the run open, and the next command explains it", async () => {
    const p = plan({ recreate: true, health: true });
    const { work } = fakeWork("health");
    const stuck: StepWork = {
      ...work,
      rerun: async () => {
        throw new UserError("engine gone", "engine");
      },
    };
    await beginRun(p, journal, { api: "1" });
    await expect(execute(p, stuck, journal)).rejects.toThrow(
      /could not put the previous versions back \(engine gone\).*update-safe --resume/,
    );
    const open = await entries();
    expect(open.at(-1)?.step).toBe("rolling-back");
    expect(describeUnfinished(open)).toMatch(
      /^a pull-latest run started at .* did not finish \(last step: rolling-back; the manifest may already name the new versions/,
    );
  });
});
