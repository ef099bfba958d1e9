// Tag families shaped like well-known public images (several tags per digest): what each
// floating tag resolves to, how versions order, and what check-updates offers each service
// before and after one new release of each line. Repositories are tables tag → digest.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { resolveFloatingTag } from "../../src/core/resolve.js";
import { parseVersion, sortVersionTagsDesc, TagSet } from "../../src/core/tags.js";
import { checkService } from "../../src/core/updates.js";

interface Family {
  name: string;
  /** Images, oldest first; the tags of one image share its digest. */
  images: string[][];
  /** Floating tag → the tag it must resolve to (null: none has its digest). */
  resolves: Record<string, string | null>;
  /** Some tags, newest first, as ordering must put them. */
  order?: string[];
  /** Services: what they follow, the version they run, and what check-updates offers after the releases. */
  services: {
    follows: string;
    current: string;
    /** Offered before the releases (pre-releases that already exist, when asked for). */
    before?: string[];
    after: string[];
    prereleases?: boolean;
    /** The floating tag moved to a rebuild of the version that runs. */
    rebuilt?: boolean;
  }[];
  /** New images, one per line that moves; each takes its tags over from older images. */
  releases: string[][];
}

const FAMILIES: Family[] = [
  {
    name: "postgres: Debian and alpine variants, major lines, a beta",
    images: [
      ["16.5", "16.5-bookworm"],
      ["16.5-alpine", "16.5-alpine3.21"],
      ["16.6", "16", "16.6-bookworm", "16-bookworm"],
      ["16.6-alpine", "16.6-alpine3.21", "16-alpine", "16-alpine3.21"],
      ["17.2", "17", "latest", "17.2-bookworm", "17-bookworm", "bookworm"],
      ["17.2-alpine", "17.2-alpine3.21", "17-alpine", "17-alpine3.21", "alpine", "alpine3.21"],
      ["18beta1", "18beta1-bookworm"],
    ],
    resolves: {
      latest: "17.2",
      "16": "16.6",
      alpine: "17.2-alpine",
      "16-alpine": "16.6-alpine",
      bookworm: "17.2-bookworm",
      "17-alpine3.21": "17.2-alpine3.21",
    },
    order: ["18beta1", "17.2", "16.6", "16.5"],
    services: [
      { follows: "16-alpine", current: "16.6-alpine", after: ["16.7-alpine"] },
      { follows: "16", current: "16.6", after: ["16.7"] },
      { follows: "alpine", current: "17.2-alpine", after: [] },
      { follows: "latest", current: "17.2", after: [] },
      {
        follows: "latest",
        current: "17.2",
        before: ["18beta1"],
        after: ["18beta2", "18beta1"],
        prereleases: true,
      },
    ],
    releases: [
      ["16.7", "16", "16.7-bookworm", "16-bookworm"],
      ["16.7-alpine", "16.7-alpine3.21", "16-alpine", "16-alpine3.21"],
      ["18beta2", "18beta2-bookworm"],
    ],
  },
  {
    name: "nginx: mainline and stable channels, alpine and alpine-slim",
    images: [
      ["1.26.1", "1.26.1-bookworm"],
      ["1.26.2", "1.26", "stable", "1.26.2-bookworm", "stable-bookworm"],
      ["1.26.2-alpine", "1.26-alpine", "stable-alpine"],
      ["1.27.2", "1.27.2-bookworm"],
      ["1.27.3", "1.27", "1", "mainline", "latest", "1.27.3-bookworm", "mainline-bookworm", "bookworm"],
      ["1.27.3-alpine", "1.27-alpine", "1-alpine", "mainline-alpine", "alpine", "1.27.3-alpine3.20"],
      ["1.27.3-alpine-slim", "1.27-alpine-slim", "alpine-slim", "mainline-alpine-slim"],
    ],
    resolves: {
      latest: "1.27.3",
      mainline: "1.27.3",
      stable: "1.26.2",
      "stable-alpine": "1.26.2-alpine",
      alpine: "1.27.3-alpine",
      "alpine-slim": "1.27.3-alpine-slim",
      "1": "1.27.3",
      "1.26": "1.26.2",
    },
    order: ["1.27.3", "1.27.2", "1.26.2", "1.26.1"],
    services: [
      { follows: "stable", current: "1.26.2", after: ["1.26.3"] },
      { follows: "mainline", current: "1.27.3", after: ["1.27.4"] },
      { follows: "stable-alpine", current: "1.26.2-alpine", after: [] },
      { follows: "alpine", current: "1.27.3-alpine", after: ["1.27.4-alpine"] },
      { follows: "latest", current: "1.27.3", after: ["1.27.4"] },
    ],
    releases: [
      ["1.26.3", "1.26", "stable", "1.26.3-bookworm", "stable-bookworm"],
      ["1.27.4", "1.27", "1", "mainline", "latest", "1.27.4-bookworm", "mainline-bookworm", "bookworm"],
      ["1.27.4-alpine", "1.27-alpine", "1-alpine", "mainline-alpine", "alpine"],
    ],
  },
  {
    name: "traefik: every version spelled with and without v",
    images: [
      ["v2.11.14", "v2.11", "v2", "2.11.14", "2.11", "2"],
      ["v3.2.0", "3.2.0"],
      ["v3.2.1", "v3.2", "v3", "3.2.1", "3.2", "3", "latest"],
      ["v3.3.0-rc1", "3.3.0-rc1"],
    ],
    resolves: { latest: "3.2.1", v3: "v3.2.1", "3": "3.2.1", v2: "v2.11.14" },
    services: [
      { follows: "v3", current: "v3.2.1", after: ["v3.2.2"] },
      { follows: "v2", current: "v2.11.14", after: [] },
      { follows: "3", current: "3.2.1", after: ["3.2.2"] },
    ],
    releases: [["v3.2.2", "v3.2", "v3", "3.2.2", "3.2", "3", "latest"]],
  },
  {
    name: "immich: v-only versions, a release channel, a cuda variant",
    images: [
      ["v1.120.2", "v1.120"],
      ["v1.120.2-cuda", "v1.120-cuda"],
      ["v1.121.0", "v1.121", "v1", "release"],
      ["v1.121.0-cuda", "v1.121-cuda", "v1-cuda", "release-cuda"],
    ],
    resolves: {
      release: "v1.121.0",
      "release-cuda": "v1.121.0-cuda",
      v1: "v1.121.0",
      "v1.120-cuda": "v1.120.2-cuda",
    },
    services: [
      { follows: "release-cuda", current: "v1.121.0-cuda", after: ["v1.122.0-cuda"] },
      { follows: "release", current: "v1.121.0", after: [] },
    ],
    releases: [["v1.122.0-cuda", "v1.122-cuda", "v1-cuda", "release-cuda"]],
  },
  {
    name: "home-assistant: calendar versions, b pre-releases, stable/beta/dev channels",
    images: [
      ["2024.11.2"],
      ["2024.11.3", "2024.11", "stable", "latest"],
      ["2024.12.0.dev20241128", "dev"],
      ["2024.12.0b1"],
      ["2024.12.0b2", "beta", "rc"],
    ],
    resolves: {
      stable: "2024.11.3",
      latest: "2024.11.3",
      "2024.11": "2024.11.3",
      beta: "2024.12.0b2",
      dev: "2024.12.0.dev20241128",
    },
    order: ["2024.12.0b2", "2024.12.0b1", "2024.12.0.dev20241128", "2024.11.3", "2024.11.2"],
    services: [
      { follows: "stable", current: "2024.11.3", after: ["2024.12.0"] },
      { follows: "2024.11", current: "2024.11.3", after: ["2024.11.4"] },
      { follows: "beta", current: "2024.12.0b2", after: ["2024.12.0"] },
      { follows: "dev", current: "2024.12.0.dev20241128", after: [] },
    ],
    releases: [
      ["2024.11.4", "2024.11"],
      ["2024.12.0", "2024.12", "stable", "latest", "beta", "rc"],
    ],
  },
  {
    name: "gitea: rootless variant, release candidates, nightly",
    images: [
      ["1.22.5"],
      ["1.22.5-rootless"],
      ["1.22.6", "1.22", "1", "latest"],
      ["1.22.6-rootless", "1.22-rootless", "1-rootless", "latest-rootless"],
      ["1.23.0-rc0"],
      ["1.23.0-rc0-rootless"],
      ["nightly"],
      ["nightly-rootless"],
    ],
    resolves: {
      latest: "1.22.6",
      "latest-rootless": "1.22.6-rootless",
      "1-rootless": "1.22.6-rootless",
      nightly: null,
    },
    order: ["1.23.0-rc0", "1.22.6", "1.22.5"],
    services: [
      { follows: "latest-rootless", current: "1.22.6-rootless", after: ["1.22.7-rootless"] },
      { follows: "latest", current: "1.22.6", after: ["1.22.7"] },
      {
        follows: "latest-rootless",
        current: "1.22.6-rootless",
        before: ["1.23.0-rc0-rootless"],
        after: ["1.23.0-rc1-rootless", "1.23.0-rc0-rootless", "1.22.7-rootless"],
        prereleases: true,
      },
    ],
    releases: [
      ["1.22.7", "1.22", "1", "latest"],
      ["1.22.7-rootless", "1.22-rootless", "1-rootless", "latest-rootless"],
      ["1.23.0-rc1-rootless"],
    ],
  },
  {
    name: "linuxserver sonarr: -lsNNN builds, version- and architecture aliases",
    images: [
      ["4.0.10.2544-ls97"],
      ["4.0.10.2544-ls98", "version-4.0.10.2544"],
      ["4.0.11.2680-ls99"],
      ["4.0.11.2680-ls100", "version-4.0.11.2680", "latest", "amd64-4.0.11.2680-ls100", "amd64-latest"],
      ["develop"],
    ],
    resolves: { latest: "4.0.11.2680-ls100", "version-4.0.11.2680": "4.0.11.2680-ls100", develop: null },
    order: ["4.0.11.2680-ls100", "4.0.11.2680-ls99", "4.0.10.2544-ls98", "4.0.10.2544-ls97"],
    services: [
      { follows: "latest", current: "4.0.11.2680-ls100", after: ["4.0.11.2680-ls101"] },
      { follows: "latest", current: "4.0.11.2680-ls100", after: ["4.0.11.2680-ls101"], prereleases: true },
    ],
    releases: [
      ["4.0.11.2680-ls101", "version-4.0.11.2680", "latest", "amd64-4.0.11.2680-ls101", "amd64-latest"],
    ],
  },
  {
    name: "linuxserver plex: a commit inside the version",
    images: [
      ["1.41.2.9200-c6bbc1b53-ls247", "version-1.41.2.9200-c6bbc1b53"],
      ["1.41.3.9314-a0bfb8370-ls248"],
      ["1.41.3.9314-a0bfb8370-ls249", "version-1.41.3.9314-a0bfb8370", "latest"],
    ],
    resolves: { latest: "1.41.3.9314-a0bfb8370-ls249" },
    services: [
      { follows: "latest", current: "1.41.3.9314-a0bfb8370-ls249", after: ["1.41.3.9314-a0bfb8370-ls250"] },
    ],
    releases: [["1.41.3.9314-a0bfb8370-ls250", "version-1.41.3.9314-a0bfb8370", "latest"]],
  },
  {
    name: "an app tagged by date and commit",
    images: [
      ["2024-11-06", "sha-0a1b2c3"],
      ["2024-11-13", "sha-9f8e7d6"],
      ["2024-11-20", "sha-1a2b3c4", "latest", "main"],
    ],
    resolves: { latest: "2024-11-20", main: "2024-11-20", "sha-1a2b3c4": "2024-11-20" },
    order: ["2024-11-20", "2024-11-13", "2024-11-06"],
    services: [
      { follows: "latest", current: "2024-11-20", after: ["2024-11-27"] },
      { follows: "main", current: "2024-11-20", after: ["2024-11-27"] },
    ],
    releases: [["2024-11-27", "sha-4d5e6f7", "latest", "main"]],
  },
  {
    name: "nightly builds named by compact dates",
    images: [["20241118"], ["20241119"], ["20241120", "latest"]],
    resolves: { latest: "20241120" },
    order: ["20241120", "20241119", "20241118"],
    services: [{ follows: "latest", current: "20241120", after: ["20241127"] }],
    releases: [["20241127", "latest"]],
  },
  {
    name: "alpine: numbered releases beside dated edge snapshots",
    images: [
      ["3.20.3", "3.20"],
      ["20240923", "edge"],
      ["3.21.0", "3.21", "3", "latest"],
    ],
    resolves: { latest: "3.21.0", edge: "20240923", "3.20": "3.20.3" },
    services: [
      { follows: "latest", current: "3.21.0", after: ["3.21.1"] },
      { follows: "edge", current: "20240923", after: ["20241120"] },
    ],
    releases: [
      ["20241120", "edge"],
      ["3.21.1", "3.21", "3", "latest"],
    ],
  },
  {
    name: "redis: alpine variants and milestone pre-releases",
    images: [
      ["7.2.6", "7.2", "7.2.6-bookworm"],
      ["7.2.6-alpine", "7.2-alpine"],
      ["7.4.1", "7.4", "7", "latest", "7.4.1-bookworm", "bookworm"],
      ["7.4.1-alpine", "7.4-alpine", "7-alpine", "alpine", "7.4.1-alpine3.20", "alpine3.20"],
      ["8.0-M01"],
      ["8.0-M02", "8.0-M02-bookworm"],
    ],
    resolves: { latest: "7.4.1", "7.2": "7.2.6", alpine: "7.4.1-alpine", "7.2-alpine": "7.2.6-alpine" },
    order: ["8.0-M02", "8.0-M01", "7.4.1", "7.2.6"],
    services: [
      { follows: "7.2", current: "7.2.6", after: ["7.2.7"] },
      { follows: "7.2-alpine", current: "7.2.6-alpine", after: [] },
      { follows: "alpine", current: "7.4.1-alpine", after: [] },
    ],
    releases: [["7.2.7", "7.2", "7.2.7-bookworm"]],
  },
  {
    name: "node: lts and current channels, codenames, alpine",
    images: [
      ["22.11.0", "22.11"],
      ["22.12.0", "22.12", "22", "lts", "jod", "lts-jod", "22.12.0-bookworm", "22-bookworm", "lts-bookworm"],
      ["22.12.0-alpine", "22.12.0-alpine3.21", "22.12-alpine", "22-alpine", "lts-alpine", "jod-alpine"],
      ["23.4.0", "23.4", "23", "current", "latest", "23.4.0-bookworm", "bookworm"],
      ["23.4.0-alpine", "23.4-alpine", "23-alpine", "alpine", "current-alpine"],
    ],
    resolves: {
      lts: "22.12.0",
      jod: "22.12.0",
      "lts-alpine": "22.12.0-alpine",
      latest: "23.4.0",
      alpine: "23.4.0-alpine",
    },
    services: [
      { follows: "lts", current: "22.12.0", after: ["22.13.0"] },
      { follows: "22", current: "22.12.0", after: ["22.13.0"] },
      { follows: "latest", current: "23.4.0", after: ["23.5.0"] },
      { follows: "lts-alpine", current: "22.12.0-alpine", after: [] },
    ],
    releases: [
      ["22.13.0", "22.13", "22", "lts", "jod", "lts-jod", "22.13.0-bookworm", "22-bookworm", "lts-bookworm"],
      ["23.5.0", "23.5", "23", "current", "latest", "23.5.0-bookworm", "bookworm"],
    ],
  },
  {
    name: "a repository whose latest matches no version tag",
    images: [
      ["1.3.2", "1.3"],
      ["1.4.0", "1.4", "1"],
      ["latest", "main"],
    ],
    resolves: { latest: null, "1": "1.4.0", main: null },
    services: [
      { follows: "latest", current: "latest", after: [] },
      { follows: "1", current: "1.4.0", after: ["1.5.0"] },
    ],
    releases: [
      ["1.5.0", "1.5", "1"],
      ["latest", "main"],
    ],
  },
  {
    name: "grafana: an ubuntu variant and security builds",
    images: [
      ["11.3.1"],
      ["11.3.1-security-01"],
      ["11.3.2"],
      ["11.3.2-ubuntu"],
      ["11.4.0", "latest"],
      ["11.4.0-ubuntu", "latest-ubuntu"],
    ],
    resolves: { latest: "11.4.0", "latest-ubuntu": "11.4.0-ubuntu" },
    services: [
      { follows: "latest-ubuntu", current: "11.4.0-ubuntu", after: ["11.4.1-ubuntu"] },
      { follows: "latest", current: "11.4.0", after: [] },
    ],
    releases: [["11.4.1-ubuntu", "latest-ubuntu"]],
  },
  {
    name: "eclipse-temurin: _N builds, jre/jdk variants",
    images: [
      ["17.0.13_11-jre-alpine", "17-jre-alpine"],
      ["21.0.5_11-jre-alpine", "21-jre-alpine"],
      ["21.0.5_11-jdk-noble", "21-jdk-noble", "21-jdk", "21", "latest"],
    ],
    // No plain version is more specific than 21: it names its image itself, and latest too.
    resolves: { "21-jre-alpine": "21.0.5_11-jre-alpine", latest: "21", "21": "21" },
    order: ["21.0.5_12-jre-alpine", "21.0.5_11-jre-alpine"],
    services: [
      { follows: "21-jre-alpine", current: "21.0.5_11-jre-alpine", after: ["21.0.5_12-jre-alpine"] },
      { follows: "17-jre-alpine", current: "17.0.13_11-jre-alpine", after: [] },
    ],
    releases: [["21.0.5_12-jre-alpine", "21-jre-alpine"]],
  },
  {
    name: "python: slim variants and an -rc line that follows the newest pre-release",
    images: [
      ["3.13.0", "3.13.0-slim"],
      ["3.13.1", "3.13", "3", "latest"],
      ["3.13.1-slim", "3.13-slim", "3-slim", "slim"],
      ["3.14.0a2"],
      ["3.14.0a3", "3.14-rc"],
      ["3.14.0a3-slim", "3.14-rc-slim"],
    ],
    resolves: {
      latest: "3.13.1",
      slim: "3.13.1-slim",
      "3.14-rc": "3.14.0a3",
      "3.14-rc-slim": "3.14.0a3-slim",
    },
    order: ["3.14.0a3", "3.14.0a2", "3.13.1", "3.13.0"],
    services: [
      { follows: "latest", current: "3.13.1", after: ["3.13.2"] },
      { follows: "3.14-rc", current: "3.14.0a3", after: ["3.14.0b1"] },
      { follows: "slim", current: "3.13.1-slim", after: [] },
    ],
    releases: [
      ["3.13.2", "3.13", "3", "latest"],
      ["3.14.0b1", "3.14-rc"],
    ],
  },
  {
    name: "ubuntu: codenames as channels, the same version rebuilt",
    images: [
      ["22.04", "jammy"],
      ["24.04", "noble", "latest"],
    ],
    resolves: { noble: "24.04", jammy: "22.04", latest: "24.04" },
    services: [
      { follows: "noble", current: "24.04", after: [], rebuilt: true },
      { follows: "jammy", current: "22.04", after: [] },
    ],
    releases: [["24.04", "noble", "latest"]],
  },
];

/** A registry repository as a table: each image's tags share its digest; a release moves its tags. */
class Repo {
  readonly digests = new Map<string, string>();
  #next = 0;
  lookups = 0;
  constructor(images: string[][]) {
    for (const tags of images) this.push(tags);
  }
  push(tags: readonly string[]): void {
    const digest = `sha256:${String(++this.#next).padStart(64, "0")}`;
    for (const t of tags) this.digests.set(t, digest);
  }
  get tags(): string[] {
    return [...this.digests.keys()];
  }
  digestOf = async (tag: string): Promise<string> => {
    this.lookups++;
    const d = this.digests.get(tag);
    if (!d) throw new Error(`no tag ${tag}`);
    return d;
  };
}

describe.each(FAMILIES)("$name", (family) => {
  it.each(Object.entries(family.resolves))("resolves %s → %s", async (floating, expected) => {
    const repo = new Repo(family.images);
    const r = await resolveFloatingTag({
      tags: repo.tags,
      floating,
      digest: repo.digests.get(floating) as string,
      digestOf: repo.digestOf,
    });
    expect(r.tag).toBe(expected);
  });

  if (family.order) {
    it("orders versions newest first", () => {
      const order = family.order as string[];
      expect(sortVersionTagsDesc([...order].reverse(), { prereleases: true })).toEqual(order);
    });
  }

  it.each(family.services)(
    "$current following $follows: nothing before, $after after the releases",
    async (svc) => {
      const repo = new Repo(family.images);
      const recorded = repo.digests.get(svc.follows) as string;
      const check = () =>
        checkService({
          tags: repo.tags,
          current: svc.current,
          follows: svc.follows,
          recordedDigest: recorded,
          prereleases: svc.prereleases,
          digestOf: repo.digestOf,
        });
      // The service runs what its floating tag names: nothing is newer, and scripts are told so.
      const before = await check();
      expect(before.updates?.newer ?? []).toEqual(svc.before ?? []);
      expect(before.available).toBe((svc.before ?? []).length > 0);
      // The usual case costs one lookup: the floating tag's digest.
      expect(repo.lookups).toBe(1);
      for (const tags of family.releases) repo.push(tags);
      const after = await check();
      expect(after.updates?.newer ?? []).toEqual(svc.after);
      expect(after.available).toBe(
        svc.after.length > 0 ||
          Boolean(svc.rebuilt) ||
          (after.floatingMoved === true && after.floatingTo === null),
      );
    },
  );
});

describe("what check-updates never offers", () => {
  const postgres = new Repo(FAMILIES[0]?.images ?? []);
  it("reports a newer major apart, never as an update of a major line", async () => {
    const r = await checkService({
      tags: postgres.tags,
      current: "16.6",
      follows: "16",
      digestOf: postgres.digestOf,
    });
    expect(r.updates).toMatchObject({ newer: [], outside: ["17.2"] });
    expect(r.available).toBe(false);
  });
  it("crosses no variant", async () => {
    const r = await checkService({
      tags: postgres.tags,
      current: "16.5-alpine",
      follows: "16-alpine",
      digestOf: postgres.digestOf,
    });
    expect(r.updates).toMatchObject({ newer: ["16.6-alpine"], outside: ["17.2-alpine"] });
  });
  it("offers an older build or the running version under no name", async () => {
    const sonarr = new Repo(FAMILIES.find((f) => f.name.includes("sonarr"))?.images ?? []);
    const r = await checkService({
      tags: sonarr.tags,
      current: "4.0.10.2544-ls98",
      follows: "latest",
      prereleases: true,
      digestOf: sonarr.digestOf,
    });
    expect(r.updates?.newer).toEqual(["4.0.11.2680-ls100", "4.0.11.2680-ls99"]);
  });
});

describe("resolution properties", () => {
  /** A repository built from parts: images of one version under its spellings, variants and aliases. */
  const imageArb = fc
    .record({
      release: fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 1, maxLength: 3 }),
      build: fc.constantFrom("", "-ls7", "-ls12"),
      variant: fc.constantFrom("", "-alpine", "-rootless"),
      alias: fc.boolean(),
      floating: fc.subarray(["latest", "stable", "alpine", "latest-rootless"]),
    })
    .map((p) => {
      const v = `${p.release.join(".")}${p.build}`;
      const lines = p.release
        .slice(0, -1)
        .map((_, i) => `${p.release.slice(0, i + 1).join(".")}${p.variant}`);
      return [
        `${v}${p.variant}`,
        ...lines,
        ...(p.alias ? [`version-${p.release.join(".")}${p.variant}`] : []),
        ...p.floating,
      ];
    });

  it("names a floating tag only by a tag of its own variant with the same digest, never an alias before a plain name", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(imageArb, { minLength: 1, maxLength: 8 }), async (images) => {
        const repo = new Repo(images);
        const set = new TagSet(repo.tags);
        for (const floating of repo.tags) {
          const digest = repo.digests.get(floating) as string;
          const r = await resolveFloatingTag({ tags: repo.tags, floating, digest, digestOf: repo.digestOf });
          if (r.tag === null || r.matchedBy === "specific") continue;
          expect(repo.digests.get(r.tag)).toBe(digest);
          const line = set.lineOf(floating);
          expect(parseVersion(r.tag)?.variant).toBe(line.variant);
          const plain = set.named(line).some((v) => repo.digests.get(v.raw) === digest);
          if (plain) expect(parseVersion(r.tag)?.alias).toBe("");
        }
      }),
      { numRuns: 200 },
    );
  });
});
