import { describe, expect, it } from "vitest";
import {
  compareTags,
  isFloatingTag,
  isPrerelease,
  parseVersion,
  sortVersionTagsDesc,
} from "../../src/core/tags.js";

describe("parseVersion", () => {
  it.each([
    ["1.64", [1, 64], []],
    ["v2.0.1", [2, 0, 1], []],
    ["1.2.3-rc.1", [1, 2, 3], ["rc", 1]],
    ["10", [10], []],
  ])("%s", (tag, release, pre) => {
    expect(parseVersion(tag)).toMatchObject({ release, pre });
  });
  it.each(["latest", "stable", "1.35-hotfix_x!", "main", "sha-abc123", "1.2.3.4.5"])(
    "%s is floating",
    (tag) => {
      expect(isFloatingTag(tag)).toBe(true);
    },
  );
});

describe("ordering", () => {
  it("sorts numerically, newest first, floating tags out", () => {
    expect(sortVersionTagsDesc(["1.9", "1.10", "latest", "1.64", "1.61", "2.0", "v1.65"])).toEqual([
      "2.0",
      "v1.65",
      "1.64",
      "1.61",
      "1.10",
      "1.9",
    ]);
  });
  it("puts pre-releases below their release and leaves them out unless asked", () => {
    expect(sortVersionTagsDesc(["1.0.0-rc.1", "1.0.0", "1.0.0-rc.2", "0.9"])).toEqual(["1.0.0", "0.9"]);
    expect(
      sortVersionTagsDesc(["1.0.0-rc.1", "1.0.0", "1.0.0-rc.2", "1.0.0-beta"], { prereleases: true }),
    ).toEqual(["1.0.0", "1.0.0-rc.2", "1.0.0-rc.1", "1.0.0-beta"]);
    expect(isPrerelease("1.0.0-rc.1")).toBe(true);
  });
  it.each([
    ["1.64", "1.63", 1],
    ["1.64", "1.64.0", -1],
    ["1.64.1", "1.64", 1],
    ["latest", "1.0", -1],
  ])("compareTags(%s, %s) has sign %i", (a, b, sign) => {
    expect(Math.sign(compareTags(a, b))).toBe(sign);
  });
});
