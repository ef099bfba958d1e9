// The steps of a change as tables: which steps a command's plan has, in which order, and the
// lines --dry-run prints for them. Pure data, no Docker.
import { describe, expect, it } from "vitest";
import type { Change } from "../../src/core/plan.js";
import { applySteps, describeStep, planLines, planSteps, type StepsInput } from "../../src/core/steps.js";
import { D } from "./records.js";

const change = (service: string, from: string, to: string, digest = 1): Change => ({
  service,
  from: { tag: from, digest: D(0) },
  to: { tag: to, digest: D(digest) },
});
const pull = (service: string, digest = 1) => ({
  service,
  ref: `r/${service}@${D(digest)}`,
  follows: `r/${service}:latest`,
});

describe("planSteps: the steps of each command's change", () => {
  const api = change("api", "1.64", "1.65");
  const web = change("web", "2.0", "2.1", 2);
  const cases: [string, StepsInput, string[]][] = [
    ["nothing changes: no step at all", { command: "pull-latest", changes: [], pulls: [pull("api")] }, []],
    [
      "pull-latest: one pull of what moved, then the record (which backs the manifest up)",
      { command: "pull-latest", changes: [api], pulls: [pull("api"), pull("db", 3)] },
      ["pull", "record"],
    ],
    [
      "pull-latest --apply: then recreate",
      { command: "pull-latest", changes: [api], pulls: [pull("api")], recreate: true },
      ["pull", "record", "recreate"],
    ],
    [
      "rollback with every image local already listed: the pull step decides at run time",
      { command: "rollback", changes: [api, web], pulls: [pull("api"), pull("web", 2)], recreate: true },
      ["pull", "record", "recreate"],
    ],
    [
      "a change without images to pull (version-set of a local hotfix named by tag only)",
      { command: "version-set", changes: [api], pulls: [] },
      ["record"],
    ],
    [
      "update-safe: backups first, pull, record, recreate, health gate",
      {
        command: "update-safe",
        changes: [api, web],
        pulls: [pull("api"), pull("web", 2)],
        backupFirst: true,
        backupData: true,
        recreate: true,
        health: true,
      },
      ["backup", "pull", "record", "recreate", "health"],
    ],
    [
      "update-safe --skip-data-backup: the manifest's backup still comes first",
      { command: "update-safe", changes: [api], pulls: [], backupFirst: true, recreate: true, health: true },
      ["backup", "record", "recreate", "health"],
    ],
  ];
  it.each(cases)("%s", (_name, input, kinds) => {
    expect(planSteps(input).steps.map((s) => s.kind)).toEqual(kinds);
  });

  it("pulls only the images of services that change; recreates and waits for exactly those", () => {
    const plan = planSteps({
      command: "update-safe",
      changes: [api],
      pulls: [pull("api"), pull("db", 3)],
      backupFirst: true,
      recreate: "full",
      health: true,
    });
    expect(plan.steps).toEqual([
      { kind: "backup", data: false },
      { kind: "pull", images: [pull("api")] },
      { kind: "record", changes: [api], backup: false },
      { kind: "recreate", services: ["api"], full: true },
      { kind: "health", services: ["api"] },
    ]);
  });

  it("--resume's remaining steps are the same recreate and health steps", () => {
    expect(applySteps(["api"], false, true)).toEqual(
      planSteps({
        command: "update-safe",
        changes: [api],
        pulls: [],
        recreate: true,
        health: true,
      }).steps.slice(1),
    );
  });
});

describe("the plan as --dry-run prints it", () => {
  it("one numbered line per step, naming services, images and versions", () => {
    const plan = planSteps({
      command: "update-safe",
      changes: [change("api", "1.64", "1.65")],
      pulls: [pull("api")],
      backupFirst: true,
      backupData: true,
      recreate: true,
      health: true,
    });
    expect(planLines(plan)).toEqual([
      "1. back up the manifest and the databases' data",
      `2. pull api (r/api@${D(1)})`,
      `3. record api 1.64@${D(0)} → 1.65@${D(1)}`,
      "4. recreate api",
      "5. wait until api is healthy",
    ]);
  });

  it("a full restart and several services read as such", () => {
    expect(describeStep({ kind: "recreate", services: ["a", "b"], full: true })).toBe(
      "restart the project (down, updb, up) for a, b",
    );
    expect(describeStep({ kind: "health", services: ["a", "b"] })).toBe("wait until a, b are healthy");
    expect(describeStep({ kind: "backup", data: false })).toBe("back up the manifest");
    expect(describeStep({ kind: "record", changes: [change("api", "1", "2")], backup: true })).toBe(
      `record api 1@${D(0)} → 2@${D(1)} (the manifest backed up first)`,
    );
  });
});
