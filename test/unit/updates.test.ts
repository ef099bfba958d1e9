import { describe, expect, it } from "vitest";
import { availableUpdates } from "../../src/core/updates.js";

const TAGS = [
  "latest",
  "stable",
  "1.61",
  "1.62",
  "1.63",
  "1.64",
  "1.64.1",
  "1.64.2",
  "2.0",
  "2.1",
  "3.0-rc.1",
  "1.65-alpine",
];

describe("availableUpdates", () => {
  it.each([
    [
      "1.64.1",
      {
        newer: ["2.1", "2.0", "1.64.2"],
        major: ["2.1", "2.0"],
        minor: [],
        patch: ["1.64.2"],
      },
    ],
    // 1.64 moves with 1.64.x: a floating line, not a version to offer.
    ["1.62", { major: ["2.1", "2.0"], minor: ["1.64.2", "1.64.1", "1.63"], patch: [] }],
    ["2.1", { newer: [], major: [], minor: [], patch: [] }],
    ["1.64.2", { newer: ["2.1", "2.0"] }],
    ["v1.64.1", { major: ["2.1", "2.0"], patch: ["1.64.2"] }], // the v prefix does not matter
    ["1.64.0", { patch: ["1.64.2", "1.64.1"] }], // 1.64 is its floating line, not an update
    ["9.0", { newer: [] }],
  ])("from %s", (current, expected) => {
    expect(availableUpdates(current, TAGS)).toMatchObject({ current, ...expected });
  });

  it("lists pre-releases only when asked, and never another variant", () => {
    expect(availableUpdates("2.1", TAGS, { prereleases: true })).toMatchObject({
      newer: ["3.0-rc.1"],
      major: ["3.0-rc.1"],
    });
    expect(availableUpdates("1.64.2", TAGS, { prereleases: true })?.newer).toEqual([
      "3.0-rc.1",
      "2.1",
      "2.0",
    ]);
    expect(availableUpdates("1.64.2", TAGS, { follows: "1.65-alpine" })?.newer).toEqual(["1.65-alpine"]);
  });

  it("keeps to the floating line followed and reports newer lines apart", () => {
    expect(availableUpdates("1.63", TAGS, { follows: "1.63" })).toMatchObject({
      newer: [],
      outside: ["2.1", "2.0", "1.64.2", "1.64.1"],
    });
    expect(availableUpdates("1.64.1", TAGS, { follows: "1.64" })).toMatchObject({
      newer: ["1.64.2"],
      outside: ["2.1", "2.0"],
    });
  });

  it("offers a named channel only where it moved, when that is newer", () => {
    expect(availableUpdates("1.63", TAGS, { follows: "stable" })?.newer).toEqual([]);
    expect(availableUpdates("1.63", TAGS, { follows: "stable", movedTo: "1.64.1" })?.newer).toEqual([
      "1.64.1",
    ]);
    expect(availableUpdates("1.63", TAGS, { follows: "stable", movedTo: "1.62" })?.newer).toEqual([]);
  });

  it("offers the release of a current pre-release", () => {
    expect(availableUpdates("2.0-rc.1", ["2.0-rc.1", "2.0-rc.2", "2.0"])).toMatchObject({
      newer: ["2.0"],
      patch: ["2.0"],
    });
  });

  it.each(["latest", "main", "sha-abc", "1.64"])(
    "has nothing to compare a floating tag %s with",
    (current) => {
      expect(availableUpdates(current, TAGS)).toBeNull();
    },
  );
});
