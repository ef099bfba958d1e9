// Tags as versions: which tags are semantic versions, how they order, and which are floating
// ("latest", "stable", anything that is not a version). Pure code.

export interface Version {
  /** Numeric release parts: 1.64 → [1, 64]; 1.64.2 → [1, 64, 2]. */
  release: number[];
  /** Pre-release identifiers ("rc.1" → ["rc", 1]); empty for a release. */
  pre: (string | number)[];
  /** Anything after the version that is not a pre-release (build metadata, suffix). */
  raw: string;
  /** Leading "v" as written. */
  prefix: string;
}

const VERSION = /^(v?)(\d+(?:\.\d+){0,3})(?:-([0-9A-Za-z.-]+))?(?:\+([0-9A-Za-z.-]+))?$/;

/** Parses a tag as a version, or returns null when the tag is not one (a floating tag). */
export function parseVersion(tag: string): Version | null {
  const m = VERSION.exec(tag);
  if (!m) return null;
  const pre = m[3] ? m[3].split(".").map((p) => (/^\d+$/.test(p) ? Number(p) : p)) : [];
  return { prefix: m[1] ?? "", release: (m[2] as string).split(".").map(Number), pre, raw: tag };
}

export function isFloatingTag(tag: string): boolean {
  return parseVersion(tag) === null;
}

export function isPrerelease(tag: string): boolean {
  return (parseVersion(tag)?.pre.length ?? 0) > 0;
}

function comparePre(a: (string | number)[], b: (string | number)[]): number {
  if (a.length === 0 || b.length === 0) return b.length - a.length; // a release outranks its pre-releases
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i];
    const y = b[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    if (x === y) continue;
    if (typeof x === "number" && typeof y === "number") return x - y;
    if (typeof x === "number") return -1;
    if (typeof y === "number") return 1;
    return x < y ? -1 : 1;
  }
  return 0;
}

/** Orders two versions; missing release parts count as 0 (1.64 == 1.64.0, ties broken by text). */
export function compareVersions(a: Version, b: Version): number {
  for (let i = 0; i < Math.max(a.release.length, b.release.length); i++) {
    const d = (a.release[i] ?? 0) - (b.release[i] ?? 0);
    if (d !== 0) return d;
  }
  const p = comparePre(a.pre, b.pre);
  if (p !== 0) return p;
  return a.raw < b.raw ? -1 : a.raw > b.raw ? 1 : 0;
}

/** The version tags among `tags`, newest first; floating tags are left out. */
export function sortVersionTagsDesc(tags: readonly string[], opts: { prereleases?: boolean } = {}): string[] {
  return tags
    .map(parseVersion)
    .filter((v): v is Version => v !== null && (opts.prereleases || v.pre.length === 0))
    .sort((a, b) => compareVersions(b, a))
    .map((v) => v.raw);
}

export function compareTags(a: string, b: string): number {
  const va = parseVersion(a);
  const vb = parseVersion(b);
  if (va && vb) return compareVersions(va, vb);
  if (va) return 1;
  if (vb) return -1;
  return a < b ? -1 : a > b ? 1 : 0;
}
