// The planner as tables of plain data: no Docker, no registry, no files. Each case names the
// record, what the registry or the journal said, and the plan that must come out.
import { describe, expect, it } from "vitest";
import {
  type FloatingObservation,
  planFloating,
  planRecord,
  planRename,
  planRestartService,
  planRollback,
  planUpdate,
  type RollbackInput,
} from "../../src/core/plan.js";
import { D, manifest, rec } from "./records.js";

const AT = "2026-11-29T12:00:00Z";

describe("planRecord: targets over the manifest as it is now", () => {
  const m = manifest({
    api: rec(["1.64", 1], ["1.63", 0]),
    db: rec(["16.4", 5]),
  });

  it.each([
    ["a new version changes", [{ service: "api", to: { tag: "1.65", digest: D(2) } }], ["api"], []],
    [
      "the current version is unchanged",
      [{ service: "api", to: { tag: "1.64", digest: D(1) } }],
      [],
      ["api"],
    ],
    [
      "one of two moves",
      [
        { service: "api", to: { tag: "1.65", digest: D(2) } },
        { service: "db", to: { tag: "16.4", digest: D(5) } },
      ],
      ["api"],
      ["db"],
    ],
    ["an untracked service is added", [{ service: "web", to: { tag: "2", digest: D(7) } }], ["web"], []],
  ])("%s", (_name, targets, changed, unchanged) => {
    const plan = planRecord(m, targets, AT, "version-pull");
    expect(plan.changes.map((c) => c.service)).toEqual(changed);
    expect(plan.unchanged).toEqual(unchanged);
    if (changed.length === 0) expect(plan.manifest).toBeNull();
    for (const s of changed) {
      expect(plan.manifest?.services[s]).toMatchObject({ updated_at: AT, updated_by: "version-pull" });
      expect(plan.manifest?.services[s]?.history[0]).toMatchObject({ at: AT, source: "version-pull" });
    }
  });

  it("names where each change comes from, and leaves the input manifest alone", () => {
    const before = JSON.stringify(m);
    const plan = planRecord(m, [{ service: "api", to: { tag: "1.65", digest: D(2) } }], AT, "pull-latest");
    expect(plan.changes).toEqual([
      { service: "api", from: { tag: "1.64", digest: D(1) }, to: { tag: "1.65", digest: D(2) } },
    ]);
    expect(JSON.stringify(m)).toBe(before);
  });

  it("keeps top-level settings", () => {
    const withBackup = { ...m, data_backup_command: ["/bin/backup"] };
    const plan = planRecord(withBackup, [{ service: "api", to: { tag: "1.65", digest: D(2) } }], AT, "x");
    expect(plan.manifest?.data_backup_command).toEqual(["/bin/backup"]);
  });
});

describe("planRename: resolve-tags renames only what is still as it was resolved", () => {
  const m = manifest({ api: rec(["latest", 1]), web: rec(["latest", 2]) });
  it.each([
    ["still as resolved", { tag: "latest", digest: D(1) }, ["api"]],
    ["changed by another command since", { tag: "latest", digest: D(9) }, []],
  ])("%s", (_name, from, renamed) => {
    const plan = planRename(m, [{ service: "api", from, to: "1.64" }], AT, "resolve-tags");
    expect(plan.changes.map((c) => c.service)).toEqual(renamed);
    if (renamed.length) {
      expect(plan.manifest?.services.api).toMatchObject({ current_tag: "1.64", image_digest: D(1) });
      expect(plan.changes[0]?.resolvedFrom).toBe("latest");
    } else expect(plan.manifest).toBeNull();
  });
});

describe("pull-latest: planFloating from what the registry answered", () => {
  const api = rec(["1.64", 1]);
  const db = rec(["16.4", 5]);
  const cases: [
    string,
    FloatingObservation,
    { changes: object[]; unchanged: string[]; warnings: RegExp[] },
  ][] = [
    [
      "a moved digest is named by its semantic tag",
      {
        found: [{ service: "api", record: api, tag: "latest", digest: D(2) }],
        resolved: [{ service: "api", from: "latest", to: "1.65" }],
        pinnedByFile: [],
      },
      {
        changes: [
          {
            service: "api",
            from: { tag: "1.64", digest: D(1) },
            to: { tag: "1.65", digest: D(2) },
            resolvedFrom: "latest",
          },
        ],
        unchanged: [],
        warnings: [],
      },
    ],
    [
      "an unmoved digest is no change, whatever the record calls it",
      {
        found: [
          { service: "api", record: api, tag: "latest", digest: D(1) },
          { service: "db", record: db, tag: "16", digest: D(5) },
        ],
        resolved: [],
        pinnedByFile: [],
      },
      { changes: [], unchanged: ["api", "db"], warnings: [] },
    ],
    [
      "an unresolved tag is kept, with a warning",
      {
        found: [{ service: "api", record: api, tag: "latest", digest: D(3) }],
        resolved: [{ service: "api", from: "latest", to: null, reason: "no tag has that digest" }],
        pinnedByFile: ["db"],
      },
      {
        changes: [{ service: "api", to: { tag: "latest", digest: D(3) } }],
        unchanged: ["db"],
        warnings: [
          /^db is pinned by digest in the compose file/,
          /^kept 'latest' for api: no tag has that digest/,
        ],
      },
    ],
  ];
  it.each(cases)("%s", (_name, observed, want) => {
    const plan = planFloating(observed);
    expect(plan.changes).toMatchObject(want.changes);
    expect(plan.changes).toHaveLength(want.changes.length);
    expect(plan.unchanged).toEqual(want.unchanged);
    expect(plan.warnings).toHaveLength(want.warnings.length);
    for (const [i, w] of want.warnings.entries()) expect(plan.warnings[i]).toMatch(w);
  });
});

describe("update-safe: planUpdate recreates exactly what moved", () => {
  const m = manifest({ api: rec(["1.64", 1]), web: rec(["2.0", 4]), db: rec(["16.4", 5]) });
  it.each([
    [
      "two of three moved",
      [
        { service: "api", to: { tag: "1.65", digest: D(2) } },
        { service: "web", to: { tag: "2.1", digest: D(6) } },
      ],
      ["api", "web"],
    ],
    ["nothing moved", [], []],
  ])("%s", (_name, changes, recreate) => {
    const plan = planUpdate(m, { changes, unchanged: [], warnings: [] }, AT, "update-safe");
    expect(plan.recreate).toEqual(recreate);
    if (recreate.length === 0) expect(plan.manifest).toBeNull();
    else {
      expect(plan.manifest?.services.db).toEqual(m.services.db);
      for (const s of recreate) expect(plan.manifest?.services[s]?.updated_by).toBe("update-safe");
    }
  });
});

describe("rollback: one, all, to, and after an interrupted update-safe", () => {
  const m = manifest({
    api: rec(["1.65", 2], ["1.64", 1], ["1.63", 0]),
    web: rec(["2.0", 4]),
    worker: rec(["1.65", 2], ["1.64", 1]),
    gone: rec(["3", 8], ["2", 7]),
  });
  const services = ["api", "web", "worker"];
  const cases: [string, Partial<RollbackInput>, ReturnType<typeof planRollback>][] = [
    [
      "one service: its previous version",
      { service: "api" },
      { targets: [{ service: "api", to: { tag: "1.64", digest: D(1) } }], group: ["api"] },
    ],
    [
      "one service with a version group: every member moves with it",
      { service: "api", group: ["api", "worker"] },
      {
        targets: [
          { service: "api", to: { tag: "1.64", digest: D(1) } },
          { service: "worker", to: { tag: "1.64", digest: D(1) } },
        ],
        group: ["api", "worker"],
      },
    ],
    [
      "one service without history: refused",
      { service: "web" },
      { refused: "no previous version of 'web' to roll back to (its history holds only 2.0)" },
    ],
    [
      "to a named version in history",
      { service: "api", to: "1.63" },
      { targets: [{ service: "api", to: { tag: "1.63", digest: D(0) } }], group: ["api"] },
    ],
    [
      "to a tag not in history: the tag as named, its digest found later",
      { service: "web", to: "1.9" },
      { targets: [{ service: "web", to: { tag: "1.9" } }], group: ["web"] },
    ],
    [
      "all: every service of the project with a previous version",
      {},
      {
        targets: [
          { service: "api", to: { tag: "1.64", digest: D(1) } },
          { service: "worker", to: { tag: "1.64", digest: D(1) } },
        ],
        group: [],
      },
    ],
    [
      "all after an interrupted update-safe: exactly what it changed, back to where it started",
      {
        interrupted: {
          from: { api: { tag: "1.63", digest: D(0) }, worker: { tag: "1.64", digest: D(1) }, web: null },
          changed: ["worker", "gone", "web"],
        },
      },
      { targets: [{ service: "worker", to: { tag: "1.64", digest: D(1) } }], group: [] },
    ],
  ];
  it.each(cases)("%s", (_name, input, want) => {
    expect(planRollback({ manifest: m, services, ...input })).toEqual(want);
  });
});

describe("restart --service: one service recreated, its capture by role", () => {
  const roles = new Map<string, "database" | "app">([
    ["db", "database"],
    ["api", "app"],
  ]);
  it.each([
    ["an app", "api", { recreate: ["api"], capture: "app" }],
    ["a database", "db", { recreate: ["db"], capture: "db" }],
    ["an unknown service", "nope", { refused: "unknown service 'nope' (the project has: api, db)" }],
  ])("%s", (_name, service, want) => {
    expect(planRestartService(["db", "api"], roles, service)).toEqual(want);
  });
});
