// The tag grammar registries publish (not semver): a version — "v", calendar date, pre-release
// marker, build counter — followed by a variant (`16.6-bookworm`, `1.22.6-rootless`), or a name
// (`stable`, `alpine`, `mainline-alpine`), and how tags order and group into floating lines.
// Pure code.

export interface PreRelease {
  /** dev/nightly/snapshot < alpha < milestone < beta < preview < rc. */
  rank: number;
  num: number;
  /** Whether a number was written: `3.14-rc` (none) names whatever pre-release of 3.14 is newest. */
  numbered: boolean;
}

export interface VersionTag {
  kind: "version";
  raw: string;
  /** The prefix of an alias that repeats another tag: "version" (`version-1.2.3`) or an architecture (`amd64-1.2.3`). */
  alias: string;
  /** A leading "v" as written. */
  prefix: string;
  /** Numeric parts: `1.27.3` → [1, 27, 3]; `2024-11-20` and `20241120` → [2024, 11, 20]. */
  release: number[];
  /** A date (`2024-11-20`, `20241120`), not a version number: dates and numbers are not compared. */
  date: boolean;
  pre: PreRelease | null;
  /** A rebuild counter of the same version (`-ls100`, `-r1`, `_11`), ordered numerically. */
  build: number | null;
  /** A commit written into the tag (`1.41.3.9314-2f5d9e4a3-ls249`): part of the name, not of the order. */
  commit: string;
  /** What follows the version: `alpine3.21`, `rootless`, `bookworm-slim`; "" for the plain image. */
  variant: string;
}

/** A name: a channel (`latest`, `stable`, `nightly`), a variant (`alpine`), or both (`stable-alpine`). */
export interface NameTag {
  kind: "name";
  raw: string;
  words: string[];
}

/** A tag named after a commit or a digest (`sha-1a2b3c4`, `main-1a2b3c4`, `sha256-….sig`): never a version's name. */
export interface CommitTag {
  kind: "commit";
  raw: string;
}

export type Tag = VersionTag | NameTag | CommitTag;

const PRE_RANK: Record<string, number> = {
  dev: 0,
  nightly: 0,
  snapshot: 0,
  canary: 0,
  alpha: 1,
  a: 1,
  milestone: 2,
  m: 2,
  beta: 3,
  b: 3,
  pre: 4,
  preview: 4,
  rc: 5,
  cr: 5,
};
const PRE_WORDS = Object.keys(PRE_RANK)
  .sort((x, y) => y.length - x.length)
  .join("|");
/** The first segment of a version: numbers, then an optional marker glued on (`18beta1`, `2024.12.0b2`) and `_N` build. */
const HEAD = new RegExp(`^(v?)(\\d+(?:\\.\\d+)*)(?:[.]?(${PRE_WORDS})\\.?(\\d+)?)?(?:_(\\d+))?$`, "i");
const PRE_SEGMENT = new RegExp(`^(${PRE_WORDS})\\.?(\\d+)?$`, "i");
const BUILD_SEGMENT = /^(?:ls|r|build)?(\d+)$/i;
const DATE = /^((?:19|20)\d\d)(-?)(0[1-9]|1[0-2])\2(0[1-9]|[12]\d|3[01])(?=-|$)/;
const ARCHES = new Set([
  "amd64",
  "arm64",
  "arm64v8",
  "arm32v7",
  "arm32v6",
  "armhf",
  "armv7",
  "aarch64",
  "x86_64",
  "i386",
  "ppc64le",
  "s390x",
  "riscv64",
]);

/** A commit hash as tags write it: hex, with at least one letter and one digit. */
function isCommit(word: string): boolean {
  return /^[0-9a-f]{7,40}$/.test(word) && /[a-f]/.test(word) && /\d/.test(word);
}

function pre(word: string | undefined, num: string | undefined): PreRelease | null {
  if (!word) return null;
  return { rank: PRE_RANK[word.toLowerCase()] as number, num: num ? Number(num) : 0, numbered: Boolean(num) };
}

/** Parses the version part of a tag (after any alias prefix), or null when it is not a version. */
function parseVersionPart(raw: string, text: string, alias: string): VersionTag | null {
  let release: number[];
  let prefix = "";
  let isDate = false;
  let p: PreRelease | null = null;
  let build: number | null = null;
  let rest: string[];
  const date = DATE.exec(text);
  if (date) {
    release = [Number(date[1]), Number(date[3]), Number(date[4])];
    isDate = true;
    rest = text.slice(date[0].length).split("-").slice(1);
  } else {
    const [head, ...tail] = text.split("-");
    const m = HEAD.exec(head as string);
    if (!m) return null;
    prefix = m[1] ?? "";
    release = (m[2] as string).split(".").map(Number);
    p = pre(m[3], m[4]);
    build = m[5] ? Number(m[5]) : null;
    rest = tail;
  }
  let commit = "";
  const variant: string[] = [];
  for (const word of rest) {
    const pm = p === null && variant.length === 0 ? PRE_SEGMENT.exec(word) : null;
    const bm = build === null ? BUILD_SEGMENT.exec(word) : null;
    if (pm) p = pre(pm[1], pm[2]);
    else if (bm) build = Number(bm[1]);
    else if (!commit && isCommit(word)) commit = word;
    else if (word === "") return null;
    else variant.push(word);
  }
  if (release.some((n) => !Number.isSafeInteger(n))) return null;
  const v = variant.join("-");
  return { kind: "version", raw, alias, prefix, release, date: isDate, pre: p, build, commit, variant: v };
}

/** Numbers and dots only, as most version tags are (`1.27.3`, `v2.4`): read without the patterns below. */
const PLAIN = /^v?\d+(?:\.\d+)*$/;

/**
 * A plain version tag as parseVersionPart reads it, or null when the tag is not one to read this
 * way: a date (`20241120`) or a number too large to compare exactly.
 */
function parsePlain(raw: string): VersionTag | null {
  if (DATE.test(raw)) return null;
  const prefix = raw.charCodeAt(0) === 0x76 ? "v" : "";
  const release = (prefix ? raw.slice(1) : raw).split(".").map(Number);
  for (const n of release) if (!Number.isSafeInteger(n)) return null;
  return {
    kind: "version",
    raw,
    alias: "",
    prefix,
    release,
    date: false,
    pre: null,
    build: null,
    commit: "",
    variant: "",
  };
}

/** What a tag says, read the way registries write tags. */
export function parseTag(raw: string): Tag {
  return (PLAIN.test(raw) ? parsePlain(raw) : null) ?? parseTagFully(raw);
}

/** parseTag by the patterns alone, plain versions included (the tests hold parseTag to it). */
export function parseTagFully(raw: string): Tag {
  const version = parseVersionPart(raw, raw, "");
  if (version) return version;
  const words = raw.split("-");
  const first = words[0] as string;
  if ((first === "version" || ARCHES.has(first)) && words.length > 1) {
    const aliased = parseVersionPart(raw, words.slice(1).join("-"), first);
    if (aliased) return aliased;
  }
  if (/^sha256-[0-9a-f]{64}/.test(raw) || (first === "sha" && words.length > 1) || words.some(isCommit))
    return { kind: "commit", raw };
  return { kind: "name", raw, words };
}

/** The tag as a version, or null when it is a name or a commit. */
export function parseVersion(tag: string): VersionTag | null {
  const t = parseTag(tag);
  return t.kind === "version" ? t : null;
}

export function isPrerelease(tag: string): boolean {
  return parseVersion(tag)?.pre != null;
}

function compareRelease(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

function comparePre(a: PreRelease | null, b: PreRelease | null): number {
  if (a === null || b === null) return (a === null ? 1 : 0) - (b === null ? 1 : 0); // a release outranks its pre-releases
  return a.rank - b.rank || a.num - b.num;
}

/**
 * Orders by what a version is worth: release numbers (1.64 = 1.64.0), then release above its
 * pre-releases, then build counter (none below any). Zero means the same version, perhaps under
 * another name.
 */
export function compareValue(a: VersionTag, b: VersionTag): number {
  return (
    compareRelease(a.release, b.release) || comparePre(a.pre, b.pre) || (a.build ?? -1) - (b.build ?? -1)
  );
}

const text = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * A total order of versions: by value, then among equal values the name to prefer comes
 * last (more specific, then a plain name over an alias), then by text.
 */
export function compareVersionTags(a: VersionTag, b: VersionTag): number {
  return (
    compareValue(a, b) ||
    a.release.length - b.release.length ||
    Number(a.commit !== "") - Number(b.commit !== "") ||
    Number(a.alias === "") - Number(b.alias === "") ||
    text(b.variant, a.variant) ||
    text(b.raw, a.raw)
  );
}

const KIND_RANK = { commit: 0, name: 1, version: 2 } as const;

/** A total order of all tags: commits, then names (by text), then versions. */
export function compareTags(a: string, b: string): number {
  const ta = parseTag(a);
  const tb = parseTag(b);
  if (ta.kind === "version" && tb.kind === "version") return compareVersionTags(ta, tb);
  return KIND_RANK[ta.kind] - KIND_RANK[tb.kind] || text(a, b);
}

/** The version tags among `tags`, newest first; names and commits are left out, pre-releases unless asked. */
export function sortVersionTagsDesc(tags: readonly string[], opts: { prereleases?: boolean } = {}): string[] {
  return tags
    .map(parseVersion)
    .filter((v): v is VersionTag => v !== null && (opts.prereleases || v.pre === null))
    .sort((a, b) => compareVersionTags(b, a))
    .map((v) => v.raw);
}

/**
 * What a floating tag follows. A version line (`16`, `1.27-alpine`, `2024.11`, `v2`) moves among
 * the versions that start with its numbers, in its variant. `latest` and a bare variant
 * (`alpine`, `latest-rootless`) follow the newest version of that variant. Any other name is a
 * channel (`stable`, `mainline`, `lts`): the publisher decides where it points, not the order.
 */
export interface Line {
  tag: string;
  variant: string;
  /** The numbers every version of the line starts with; empty for latest and channels. */
  release: number[];
  pre: PreRelease | null;
  build: number | null;
  /** The channel's name; null for a version line or the newest of a variant. */
  channel: string | null;
}

/** The tags of one repository, parsed once, with the facts lines need. */
export class TagSet {
  readonly tags: Tag[];
  readonly versions: VersionTag[];
  /** Every variant some version tag has ("" for the plain image). */
  readonly variants: Set<string>;
  /** Keys of (variant, numbers) that a more specific version exists under. */
  readonly #hasMoreSpecific = new Set<string>();

  constructor(tags: readonly string[]) {
    this.tags = [...new Set(tags)].map(parseTag);
    this.versions = this.tags.filter((t): t is VersionTag => t.kind === "version");
    this.variants = new Set(this.versions.map((v) => v.variant));
    for (const v of this.versions) {
      for (let k = 1; k < v.release.length; k++)
        this.#hasMoreSpecific.add(key(v.variant, v.release.slice(0, k)));
      if (v.build !== null) this.#hasMoreSpecific.add(key(v.variant, v.release, v.pre));
      if (v.pre === null) continue;
      const n = v.pre.numbered ? v.release.length : v.release.length - 1;
      for (let k = 1; k <= n; k++) this.#hasMoreSpecific.add(key(v.variant, v.release.slice(0, k), ANY_PRE));
    }
  }

  /**
   * Whether a version tag moves: another tag of its variant adds numbers (`16` of `16.6`,
   * `1.64` of `1.64.0`), a build counter (`version-4.0.11` of `4.0.11-ls100`), or numbers to
   * its pre-release marker (`3.14-rc` of `3.14.0a3`) to it.
   */
  isFloating(v: VersionTag): boolean {
    if (v.build !== null) return false;
    if (v.pre && !v.pre.numbered && this.#hasMoreSpecific.has(key(v.variant, v.release, ANY_PRE)))
      return true;
    return this.#hasMoreSpecific.has(key(v.variant, v.release, v.pre));
  }

  /** What `tag` follows within this repository (a name is split into channel and variant by the variants that exist). */
  lineOf(tag: string): Line {
    const t = parseTag(tag);
    if (t.kind === "version")
      return { tag, variant: t.variant, release: t.release, pre: t.pre, build: t.build, channel: null };
    if (t.kind === "commit") return { tag, variant: "", release: [], pre: null, build: null, channel: tag };
    // The longest ending that is a variant of some version names the variant; the rest is the channel.
    let i = 0;
    while (i < t.words.length && !this.variants.has(t.words.slice(i).join("-"))) i++;
    const variant = t.words.slice(i).join("-");
    const channel = t.words.slice(0, i).join("-");
    return {
      tag,
      variant,
      release: [],
      pre: null,
      build: null,
      channel: channel === "" || channel === "latest" ? null : channel,
    };
  }

  /** The version tags in `line`, floating ones included. */
  members(line: Line): VersionTag[] {
    return this.versions.filter((v) => inLine(line, v));
  }

  /** The versions one would name an image by: not floating, not an alias. */
  named(line: Line): VersionTag[] {
    return this.members(line).filter((v) => v.alias === "" && !this.isFloating(v));
  }
}

const ANY_PRE = "any pre-release";

function key(
  variant: string,
  release: readonly number[],
  p: PreRelease | null | typeof ANY_PRE = null,
): string {
  const marker = p === ANY_PRE ? p : p ? `${p.rank}.${p.num}` : "";
  return `${variant}\u0000${release.join(".")}\u0000${marker}`;
}

/** Whether `v` belongs to `line` (a channel's members are every version of its variant). */
export function inLine(line: Line, v: VersionTag): boolean {
  if (v.variant !== line.variant) return false;
  if (!line.release.every((n, i) => v.release[i] === n)) return false;
  // `3.14-rc` follows every pre-release of 3.14; `3.14.0rc1` only itself (and its builds).
  if (line.pre !== null && !line.pre.numbered) return v.pre !== null && line.build === null;
  if (line.pre !== null && (v.release.length !== line.release.length || comparePre(v.pre, line.pre) !== 0))
    return false;
  return line.build === null || v.build === line.build;
}

/** Whether a tag is not a version at all (a name such as `latest`, or a commit). */
export function isFloatingTag(tag: string): boolean {
  return parseTag(tag).kind !== "version";
}
