import { describe, expect, it } from "vitest";
import { candidateTags, firstInOrder, LOOKAHEAD, resolveFloatingTag } from "../../src/core/resolve.js";

const D = (n: number) => `sha256:${String(n).padStart(64, "0")}`;

/** A repository as a table tag → digest; records which tags resolution looked up. */
function repo(digests: Record<string, string>, platforms: Record<string, string> = {}) {
  const asked: string[] = [];
  return {
    asked,
    tags: Object.keys(digests),
    digestOf: async (tag: string) => {
      asked.push(tag);
      return digests[tag] as string;
    },
    platformDigestOf: async (tag: string) => platforms[tag] ?? null,
  };
}

describe("candidateTags", () => {
  it.each([
    [
      ["latest", "1.61", "1.64", "1.62", "1.63"],
      ["1.64", "1.63", "1.62", "1.61"],
    ],
    [
      ["2.0-rc.1", "1.9", "1.10", "stable"],
      ["1.10", "1.9", "2.0-rc.1"],
    ],
    [
      ["1.2-alpine", "1.2", "1.3"],
      ["1.3", "1.2"], // another variant is another line
    ],
    [
      ["1.2", "1.2.1", "1", "1.3.0", "version-1.3.0", "sha-1a2b3c4"],
      ["1.3.0", "1.2.1", "version-1.3.0"], // floating lines never, aliases only after every plain name
    ],
    [["latest", "main"], []],
  ])("%j → %j", (tags, expected) => {
    expect(candidateTags(tags)).toEqual(expected);
  });
});

describe("resolveFloatingTag", () => {
  it("finds the newest tag with one lookup when latest is the newest", async () => {
    const r = repo({ "1.61": D(1), "1.62": D(2), "1.63": D(3), "1.64": D(4), latest: D(4) });
    expect(await resolveFloatingTag({ ...r, digest: D(4) })).toEqual({
      tag: "1.64",
      matchedBy: "digest",
    });
    expect(r.asked).toEqual(["1.64"]);
  });

  it("walks down newest-first when latest lags, and stops at the match", async () => {
    const r = repo({ "1.61": D(1), "1.62": D(2), "1.63": D(3), "1.64": D(4), latest: D(2) });
    expect(await resolveFloatingTag({ ...r, digest: D(2) })).toMatchObject({ tag: "1.62" });
    expect(r.asked).toEqual(["1.64", "1.63", "1.62"]);
  });

  it("prefers the most specific of equal versions (1.64.0 over 1.64 over 1)", async () => {
    const r = repo({ "1": D(4), "1.64": D(4), "1.64.0": D(4), latest: D(4) });
    expect(await resolveFloatingTag({ ...r, digest: D(4) })).toMatchObject({ tag: "1.64.0" });
  });

  it("tries releases before pre-releases", async () => {
    const r = repo({ "2.0-rc.1": D(9), "1.5": D(5), latest: D(5) });
    await resolveFloatingTag({ ...r, digest: D(5) });
    expect(r.asked).toEqual(["1.5"]);
  });

  it("matches a platform manifest digest of a multi-platform index as a fallback", async () => {
    const r = repo({ "1.1": D(11), "1.2": D(12), latest: D(12) }, { "1.2": D(120), "1.1": D(110) });
    expect(await resolveFloatingTag({ ...r, digest: D(110) })).toEqual({
      tag: "1.1",
      matchedBy: "platform-digest",
    });
  });

  it("keeps the floating tag and says why when nothing matches", async () => {
    const r = repo({ "1.0": D(1), "1.1": D(2), latest: D(7) });
    const res = await resolveFloatingTag({ ...r, digest: D(7) });
    expect(res).toEqual({
      tag: null,
      reason: "no version tag has digest 000000000000 (checked 2 version tags)",
    });
  });

  it("says so when the repository has no version tags, without a lookup", async () => {
    const r = repo({ latest: D(1), main: D(2) });
    expect(await resolveFloatingTag({ ...r, digest: D(1) })).toEqual({
      tag: null,
      reason: "the repository has no version tags",
    });
  });

  it("bounds the lookups and says how many it checked", async () => {
    const digests: Record<string, string> = { latest: D(999) };
    for (let i = 0; i < 30; i++) digests[`1.${i}`] = D(i);
    const r = repo(digests);
    const res = await resolveFloatingTag({ ...r, digest: D(999), maxCandidates: 10 });
    expect(res).toMatchObject({ tag: null });
    expect(r.asked).toHaveLength(10);
    expect(res.tag === null && res.reason).toContain("checked 10 of 30 version tags");
  });

  it.each([
    ["1.1", "1.1"],
    ["9.9", null], // a label naming a tag that does not exist cannot be recorded
    ["latest", null], // nor one that is not a version
  ])("uses the version label %s only when no digest matches", async (label, tag) => {
    const r = repo({ "1.0": D(1), "1.1": D(2), latest: D(3) });
    const res = await resolveFloatingTag({ ...r, digest: D(3), versionLabel: async () => label });
    expect(res.tag).toBe(tag);
    if (tag) expect(res).toMatchObject({ matchedBy: "label" });
  });

  it("does not read the label when a digest matches", async () => {
    const r = repo({ "1.0": D(1), latest: D(1) });
    const res = await resolveFloatingTag({
      ...r,
      digest: D(1),
      versionLabel: async () => {
        throw new Error("not asked");
      },
    });
    expect(res.tag).toBe("1.0");
  });

  it("names a tag that nothing more specific exists of by itself, without a lookup", async () => {
    const r = repo({ "1.64": D(4), "1.63": D(3), latest: D(4) });
    expect(await resolveFloatingTag({ ...r, floating: "1.64", digest: D(9) })).toEqual({
      tag: "1.64",
      matchedBy: "specific",
    });
    expect(r.asked).toEqual([]);
  });

  it("tries a named channel's versions from where it was, upwards", async () => {
    const r = repo({
      "1.25.5": D(1),
      "1.26.2": D(2),
      "1.26.3": D(3),
      "1.27.3": D(4),
      "1.27.4": D(5),
      stable: D(3),
    });
    const res = await resolveFloatingTag({ ...r, floating: "stable", hint: "1.26.2", digest: D(3) });
    expect(res).toEqual({ tag: "1.26.3", matchedBy: "digest" });
    // The second round asks two at once: 1.27.3 goes with the match (see firstInOrder).
    expect(r.asked).toEqual(["1.26.2", "1.26.3", "1.27.3"]);
  });

  it("names a version spelled like the tag followed (v3 → v3.2.1, 3 → 3.2.1)", async () => {
    const r = repo({ "v3.2.1": D(1), "3.2.1": D(1), v3: D(1), "3": D(1), latest: D(1) });
    expect((await resolveFloatingTag({ ...r, floating: "v3", digest: D(1) })).tag).toBe("v3.2.1");
    expect((await resolveFloatingTag({ ...r, floating: "3", digest: D(1) })).tag).toBe("3.2.1");
  });

  it("takes a label naming the version of a variant line (16.6 → 16.6-alpine)", async () => {
    const r = repo({ "16.6-alpine": D(1), "16.6": D(2), "16-alpine": D(3) });
    const res = await resolveFloatingTag({
      ...r,
      floating: "16-alpine",
      digest: D(3),
      versionLabel: async () => "16.6",
    });
    expect(res).toEqual({ tag: "16.6-alpine", matchedBy: "label" });
  });
});

describe("firstInOrder: candidates looked up in rounds of 1, 2, then LOOKAHEAD", () => {
  /** Items 0..n-1; records the rounds (lookups under way together) and answers `match`. */
  function probe(n: number, match: (i: number) => boolean | Error) {
    const rounds: number[][] = [];
    let open: number[] = [];
    const test = async (i: number) => {
      open.push(i);
      if (open.length === 1) rounds.push(open);
      await Promise.resolve();
      open = [];
      const m = match(i);
      if (m instanceof Error) throw m;
      return m;
    };
    return { items: Array.from({ length: n }, (_, i) => i), rounds, test };
  }

  it("asks the first alone, then 2, then LOOKAHEAD at a time, and stops at the round of the match", async () => {
    const p = probe(40, (i) => i === 10);
    expect(await firstInOrder(p.items, p.test)).toBe(10);
    expect(LOOKAHEAD).toBe(4);
    expect(p.rounds).toEqual([[0], [1, 2], [3, 4, 5, 6], [7, 8, 9, 10]]);
  });

  it("answers the first match in order, not the first to answer", async () => {
    const p = probe(7, (i) => i >= 4);
    expect(await firstInOrder(p.items, p.test)).toBe(4);
  });

  it("a failure before the match is thrown; one after the match is not seen", async () => {
    const before = probe(7, (i) => (i === 3 ? new Error("at 3") : i === 5));
    await expect(firstInOrder(before.items, before.test)).rejects.toThrow("at 3");
    const after = probe(7, (i) => (i === 5 ? new Error("at 5") : i === 4));
    expect(await firstInOrder(after.items, after.test)).toBe(4);
  });

  it("asks every item once when none matches", async () => {
    const p = probe(9, () => false);
    expect(await firstInOrder(p.items, p.test)).toBeUndefined();
    expect(p.rounds.flat()).toEqual(p.items);
  });
});
