import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  compareTags,
  isFloatingTag,
  isPrerelease,
  parseTag,
  parseTagFully,
  parseVersion,
  sortVersionTagsDesc,
  TagSet,
} from "../../src/core/tags.js";

describe("parseTag", () => {
  it.each([
    ["1.64", { release: [1, 64], pre: null, build: null, variant: "" }],
    ["v2.0.1", { prefix: "v", release: [2, 0, 1] }],
    ["1.2.3-rc.1", { release: [1, 2, 3], pre: { rank: 5, num: 1 }, variant: "" }],
    ["10", { release: [10] }],
    ["17.2-alpine3.21", { release: [17, 2], variant: "alpine3.21", pre: null }],
    ["1.22.6-rootless", { release: [1, 22, 6], variant: "rootless" }],
    ["v1.121.0-cuda", { prefix: "v", release: [1, 121, 0], variant: "cuda" }],
    ["1.23.0-rc0-rootless", { pre: { rank: 5, num: 0 }, variant: "rootless" }],
    ["2024.12.0b2", { release: [2024, 12, 0], pre: { rank: 3, num: 2 } }],
    ["18beta1", { release: [18], pre: { rank: 3, num: 1 } }],
    ["2024.12.0.dev20241128", { release: [2024, 12, 0], pre: { rank: 0, num: 20241128 } }],
    ["8.0-M02", { release: [8, 0], pre: { rank: 2, num: 2 } }],
    ["4.0.11.2680-ls100", { release: [4, 0, 11, 2680], build: 100, alias: "" }],
    ["version-4.0.11.2680", { release: [4, 0, 11, 2680], build: null, alias: "version" }],
    ["amd64-4.0.11.2680-ls100", { build: 100, alias: "amd64" }],
    ["1.41.3.9314-a0bfb8370-ls249", { commit: "a0bfb8370", build: 249, variant: "" }],
    ["21.0.5_11-jre-alpine", { release: [21, 0, 5], build: 11, variant: "jre-alpine" }],
    ["2024-11-20", { release: [2024, 11, 20], date: true }],
    ["20241120", { release: [2024, 11, 20], date: true }],
    ["2024.11.3", { release: [2024, 11, 3], date: false }],
    ["1.35-hotfix_x", { release: [1, 35], variant: "hotfix_x" }],
  ])("%s is a version", (tag, fields) => {
    expect(parseTag(tag)).toMatchObject({ kind: "version", raw: tag, ...fields });
  });

  it.each([
    ["latest", "name"],
    ["stable-alpine", "name"],
    ["latest-rootless", "name"],
    ["main", "name"],
    ["sha-abc1234", "commit"],
    ["main-1a2b3c4", "commit"],
    [`sha256-${"a".repeat(64)}.sig`, "commit"],
  ])("%s is a %s", (tag, kind) => {
    expect(parseTag(tag).kind).toBe(kind);
    expect(isFloatingTag(tag)).toBe(true);
  });

  it("tells pre-releases", () => {
    expect(["1.0.0-rc.1", "2024.12.0b2", "18beta1", "1.0-alpha"].every(isPrerelease)).toBe(true);
    expect(["1.0.0", "1.2-alpine", "4.0.11.2680-ls100", "latest"].some(isPrerelease)).toBe(false);
  });
});

describe("ordering", () => {
  it("sorts numerically, newest first, names and commits out", () => {
    expect(
      sortVersionTagsDesc(["1.9", "1.10", "latest", "1.64", "1.61", "2.0", "v1.65", "sha-abc1234"]),
    ).toEqual(["2.0", "v1.65", "1.64", "1.61", "1.10", "1.9"]);
  });

  it("puts pre-releases below their release, in their real order, and leaves them out unless asked", () => {
    const tags = ["1.0.0-rc.1", "1.0.0", "1.0.0-rc.2", "1.0.0-beta", "1.0.0-alpha.3", "1.0.0-dev", "0.9"];
    expect(sortVersionTagsDesc(tags)).toEqual(["1.0.0", "0.9"]);
    expect(sortVersionTagsDesc(tags, { prereleases: true })).toEqual([
      "1.0.0",
      "1.0.0-rc.2",
      "1.0.0-rc.1",
      "1.0.0-beta",
      "1.0.0-alpha.3",
      "1.0.0-dev",
      "0.9",
    ]);
  });

  it.each([
    ["1.64", "1.63", 1],
    ["1.64", "1.64.0", -1],
    ["1.64.1", "1.64", 1],
    ["latest", "1.0", -1],
    ["4.0.11.2680-ls100", "4.0.11.2680-ls99", 1],
    ["4.0.11.2680-ls100", "version-4.0.11.2680", 1],
    ["2024-11-27", "2024-11-20", 1],
    ["2024.12.0", "2024.12.0b2", 1],
    ["2024.12.0b10", "2024.12.0b2", 1],
    ["1.23.0-rc1", "1.23.0-beta3", 1],
    ["sha-abc1234", "latest", -1],
  ])("compareTags(%s, %s) has sign %i", (a, b, sign) => {
    expect(Math.sign(compareTags(a, b))).toBe(sign);
    expect(Math.sign(compareTags(b, a))).toBe(-sign);
  });
});

describe("floating lines", () => {
  const set = new TagSet([
    "16",
    "16.6",
    "16.6-alpine",
    "16-alpine",
    "alpine",
    "latest",
    "stable",
    "mainline-alpine",
    "1.64",
    "1.64.0",
    "version-4.0.11",
    "4.0.11-ls100",
    "2",
    "3.14-rc",
    "3.14.0a3",
    "1.0.0-beta",
  ]);
  it.each([
    ["16", true],
    ["16.6", false],
    ["16-alpine", true],
    ["16.6-alpine", false],
    ["1.64", true],
    ["1.64.0", false],
    ["version-4.0.11", true],
    ["4.0.11-ls100", false],
    ["2", false], // nothing more specific: a version, not a line
    ["3.14-rc", true], // the newest pre-release of 3.14
    ["3.14.0a3", false],
    ["1.0.0-beta", false],
  ])("%s floating: %s", (tag, floating) => {
    expect(set.isFloating(parseVersion(tag) as NonNullable<ReturnType<typeof parseVersion>>)).toBe(floating);
  });
  it.each([
    ["16", { variant: "", release: [16], channel: null }],
    ["16-alpine", { variant: "alpine", release: [16], channel: null }],
    ["alpine", { variant: "alpine", release: [], channel: null }],
    ["latest", { variant: "", release: [], channel: null }],
    ["stable", { variant: "", release: [], channel: "stable" }],
    ["mainline-alpine", { variant: "alpine", release: [], channel: "mainline" }],
  ])("%s follows %j", (tag, line) => {
    expect(set.lineOf(tag)).toMatchObject(line);
  });
});

/** Tags in the shapes registries publish, built from parts so that many share a version. */
const tagArb = fc.oneof(
  fc
    .record({
      v: fc.constantFrom("", "v"),
      alias: fc.constantFrom("", "", "", "version-", "amd64-"),
      release: fc.array(fc.integer({ min: 0, max: 12 }), { minLength: 1, maxLength: 4 }),
      pre: fc.constantFrom("", "", "-rc1", "-rc.2", "b2", "-beta", "-alpha.1", "-dev", "-M02"),
      build: fc.constantFrom("", "", "-ls99", "-ls100", "_11", "-r1"),
      variant: fc.constantFrom("", "", "-alpine", "-alpine3.21", "-rootless", "-bookworm-slim"),
    })
    .map((p) => `${p.alias}${p.v}${p.release.join(".")}${p.pre}${p.build}${p.variant}`),
  fc.constantFrom(
    "latest",
    "stable",
    "alpine",
    "latest-rootless",
    "sha-1a2b3c4",
    "main",
    "2024-11-20",
    "20241127",
  ),
);

describe("ordering properties", () => {
  it("is antisymmetric and consistent with equality", () => {
    fc.assert(
      fc.property(tagArb, tagArb, (a, b) => {
        expect(Math.sign(compareTags(a, b)) + Math.sign(compareTags(b, a))).toBe(0);
        expect(compareTags(a, b) === 0).toBe(a === b);
      }),
    );
  });
  it("is transitive", () => {
    fc.assert(
      fc.property(tagArb, tagArb, tagArb, (a, b, c) => {
        if (compareTags(a, b) <= 0 && compareTags(b, c) <= 0)
          expect(compareTags(a, c)).toBeLessThanOrEqual(0);
      }),
      { numRuns: 2000 },
    );
  });
  it("sorts the same whatever order the tags come in", () => {
    fc.assert(
      fc.property(fc.array(tagArb, { maxLength: 30 }), (tags) => {
        const sorted = sortVersionTagsDesc(tags, { prereleases: true });
        expect(sortVersionTagsDesc([...tags].reverse(), { prereleases: true })).toEqual(sorted);
      }),
    );
  });
});

describe("plain version tags read without the patterns", () => {
  // Tags made mostly of digits, dots and a leading v: every plain version, and the near misses
  // (a date, a number past 2^53, a stray letter, an empty part) that must go the long way.
  const tagLike = fc.stringMatching(/^[vV]?[0-9.]{0,24}[-_a-z0-9]{0,4}$/);
  const part = fc.oneof(fc.nat({ max: 3000 }).map(String), fc.stringMatching(/^0?[0-9]{1,20}$/));
  const plain = fc
    .tuple(fc.constantFrom("", "v", "V"), fc.array(part, { minLength: 1, maxLength: 5 }))
    .map(([v, parts]) => `${v}${parts.join(".")}`);
  it("reads every tag exactly as the patterns do", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          tagLike,
          plain,
          fc.constantFrom("20241120", "2024.11.20", "v1", "1..2", "01.002", "9".repeat(17)),
        ),
        (raw) => {
          expect(parseTag(raw)).toEqual(parseTagFully(raw));
        },
      ),
      { numRuns: 2000 },
    );
  });
});
