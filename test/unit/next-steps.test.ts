// What each report names as the next command: after a migration, for services out of line with
// the record, and for the services an unfinished update-safe run touched.
import { describe, expect, it } from "vitest";
import { type JournalEntry, RESUME_NEXT, touchedServices } from "../../src/adapters/journal.js";
import { whatNext } from "../../src/commands/migrate-versions.js";
import { nextSteps } from "../../src/commands/shared.js";
import type { VersionRow } from "../../src/service.js";

const row = (service: string, drift: VersionRow["drift"], next?: string): VersionRow => ({
  service,
  tag: "1.0.0",
  custom: false,
  role: "app",
  drift,
  pinnedBy: "versions.env",
  next,
});

describe("next steps", () => {
  it("after a migration where everything runs in sync and nothing floats: says so, names no restart", () => {
    const text = whatNext([{ service: "api", tag: "1.64" }], [row("api", "in sync")]);
    expect(text).toBe("every tracked service already runs its recorded version\n");
  });

  // `16` reads as a version to the tag grammar, so resolve-tags leaves it alone: not named.
  it("after a migration that recorded floating tags: names resolve-tags and why", () => {
    const text = whatNext(
      [
        { service: "api", tag: "latest" },
        { service: "db", tag: "16" },
        { service: "web", tag: "2.1.0" },
      ],
      [row("api", "in sync"), row("db", "in sync"), row("web", "in sync")],
    );
    expect(text).toBe(
      "every tracked service already runs its recorded version\n\nNext:\n  docker versions resolve-tags: records the version behind api (latest), so check-updates can compare\n",
    );
  });

  it("after a migration with services out of line: each one's command, then resolve-tags", () => {
    const text = whatNext(
      [{ service: "api", tag: "latest" }],
      [
        row("api", "not running", "docker versions up"),
        row("db", "drift", "docker versions restart --service db"),
      ],
    );
    expect(text).toBe(
      "\nNext:\n  api (not running): docker versions up\n  db (drift): docker versions restart --service db\n  docker versions resolve-tags: records the version behind api (latest), so check-updates can compare\n",
    );
  });

  it("after a migration whose state could not be read: points at version", () => {
    expect(whatNext([{ service: "api", tag: "1.0" }], null)).toBe(
      "\nNext:\n  docker versions version: what runs against what was recorded\n",
    );
  });

  it("lists nothing when every service is in sync", () => {
    expect(nextSteps([row("api", "in sync"), row("db", "in sync")])).toBe("");
  });

  it("an unfinished update-safe run touched the services it began with and those it recreated", () => {
    const entries: JournalEntry[] = [
      { id: "1", at: "t", step: "begin", from: { api: "1.0", db: "16.1" } },
      { id: "1", at: "t", step: "recreating", services: ["api", "worker"] },
    ];
    expect([...touchedServices(entries)].sort()).toEqual(["api", "db", "worker"]);
    expect(RESUME_NEXT).toMatch(/^docker versions update-safe --resume /);
    expect(nextSteps([row("api", "in sync", RESUME_NEXT)])).toBe(
      `\nNext:\n  api (in sync): ${RESUME_NEXT}\n`,
    );
  });
});
