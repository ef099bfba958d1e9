// Floating tag → the most specific tag of its line with the recorded digest (`16` → `16.6`,
// `alpine` → `17.2-alpine`, `latest-rootless` → `1.22.6-rootless`). Tries candidates in the
// order the tag most likely moved and stops at the first match, so the usual case costs one
// lookup. Pure: the registry is reached only through the functions passed in.
import {
  compareValue,
  compareVersionTags,
  type Line,
  parseVersion,
  TagSet,
  type VersionTag,
} from "./tags.js";

export interface ResolveInput {
  /** Every tag of the repository, in any order. */
  tags: readonly string[];
  /** The tag followed (`latest` when not given). */
  floating?: string;
  /** The version the service had before, if any: where a named channel most likely moved from. */
  hint?: string;
  /** The digest recorded for the floating tag (what `docker pull` reported). */
  digest: string;
  /** The digest a tag points at now (an index digest for a multi-platform image). */
  digestOf: (tag: string) => Promise<string>;
  /**
   * For a tag that is a multi-platform index, the digest of the host platform's manifest
   * (null otherwise): matches a recorded digest that is a platform manifest, not the index.
   */
  platformDigestOf?: (tag: string) => Promise<string | null>;
  /** The image's `org.opencontainers.image.version` label: a second source, used only when no digest matches. */
  versionLabel?: () => Promise<string | null>;
  /** How many candidates to look up at most (a bound on requests when nothing matches). */
  maxCandidates?: number;
}

export type Resolution =
  | { tag: string; matchedBy: "digest" | "platform-digest" | "label" | "specific" }
  | { tag: null; reason: string };

export const DEFAULT_MAX_CANDIDATES = 100;

/**
 * The tags that could name `floating`'s image, in the order to try them: releases, then
 * pre-releases, then aliases (`version-…`, `amd64-…`) for when no plain name has the digest.
 * Newest first, except for a named channel with a hint: it usually moved a step forward from
 * the hint, so the versions from the hint up come first, oldest first. Null when `floating`
 * is itself a version nothing more specific exists of: it names its image already.
 */
export function candidates(set: TagSet, floating: string, hint?: string): VersionTag[] | null {
  const line = set.lineOf(floating);
  const self = parseVersion(floating);
  if (self && self.alias === "" && !set.isFloating(self)) return null;
  const named = set.members(line).filter((v) => !set.isFloating(v) && v.raw !== floating);
  const from = hint ? parseVersion(hint) : null;
  // Of two names for one version (`v3.2.1`, `3.2.1`), the one spelled like the tag followed.
  const like = (self ?? from)?.prefix ?? "";
  const byLine = orderFor(line, from);
  const order = (a: VersionTag, b: VersionTag) =>
    compareValue(a, b) === 0 && a.prefix !== b.prefix ? (a.prefix === like ? -1 : 1) : byLine(a, b);
  const group = (keep: (v: VersionTag) => boolean) => named.filter(keep).sort(order);
  return [
    ...group((v) => v.alias === "" && v.pre === null),
    ...group((v) => v.alias === "" && v.pre !== null),
    ...group((v) => v.alias !== ""),
  ];
}

function orderFor(line: Line, from: VersionTag | null): (a: VersionTag, b: VersionTag) => number {
  const newestFirst = (a: VersionTag, b: VersionTag) => compareVersionTags(b, a);
  if (line.channel === null || from === null) return newestFirst;
  return (a, b) => {
    const aUp = compareValue(a, from) >= 0;
    const bUp = compareValue(b, from) >= 0;
    if (aUp !== bUp) return aUp ? -1 : 1;
    return aUp ? -newestFirst(a, b) : newestFirst(a, b);
  };
}

/** Release tags newest-first, then pre-releases, as resolution of `latest` tries them. */
export function candidateTags(tags: readonly string[], floating = "latest", hint?: string): string[] {
  return (candidates(new TagSet(tags), floating, hint) ?? []).map((v) => v.raw);
}

function short(digest: string): string {
  return digest.slice(digest.indexOf(":") + 1, digest.indexOf(":") + 13);
}

/** The most lookups of one resolution under way at once. */
export const LOOKAHEAD = 4;

/**
 * The first item in order that passes `test`, as if the items were tried one by one, in rounds
 * of 1, 2, then `LOOKAHEAD` lookups at once: the usual case (the first candidate) costs one
 * lookup, a tag that lags is found in a few round trips instead of one per version, and at most
 * `LOOKAHEAD - 1` lookups are made past the match. A failure counts where it stands in the
 * order: one after the match is never seen, as it would not have been asked one by one.
 */
export async function firstInOrder<T>(
  items: readonly T[],
  test: (item: T) => Promise<boolean>,
): Promise<T | undefined> {
  for (let at = 0, size = 1; at < items.length; at += size, size = Math.min(size * 2, LOOKAHEAD)) {
    const round = items.slice(at, at + size);
    const answers = await Promise.allSettled(round.map(test));
    for (const [i, a] of answers.entries()) {
      if (a.status === "rejected") throw a.reason;
      if (a.value) return round[i];
    }
  }
  return undefined;
}

export async function resolveFloatingTag(input: ResolveInput): Promise<Resolution> {
  const floating = input.floating ?? "latest";
  const set = new TagSet(input.tags);
  const all = candidates(set, floating, input.hint);
  if (all === null) return { tag: floating, matchedBy: "specific" };
  const max = input.maxCandidates ?? DEFAULT_MAX_CANDIDATES;
  const tried = all.slice(0, max).map((v) => v.raw);
  const byDigest = await firstInOrder(tried, async (tag) => (await input.digestOf(tag)) === input.digest);
  if (byDigest !== undefined) return { tag: byDigest, matchedBy: "digest" };
  const platformDigestOf = input.platformDigestOf;
  if (platformDigestOf) {
    const tag = await firstInOrder(tried, async (t) => (await platformDigestOf(t)) === input.digest);
    if (tag !== undefined) return { tag, matchedBy: "platform-digest" };
  }
  if (input.versionLabel) {
    const label = await input.versionLabel();
    // Only a tag of the line that exists can be recorded: it must stay pullable and the same variant.
    const variant = set.lineOf(floating).variant;
    const named = label
      ? all.find((v) => v.raw === label || (variant !== "" && v.raw === `${label}-${variant}`))
      : undefined;
    if (named) return { tag: named.raw, matchedBy: "label" };
  }
  const inLine = floating === "latest" ? "" : ` for '${floating}'`;
  if (all.length === 0) return { tag: null, reason: `the repository has no version tags${inLine}` };
  const n = (k: number) => `${k} version tag${k === 1 ? "" : "s"}`;
  const scope = tried.length < all.length ? `${tried.length} of ${all.length} version tags` : n(all.length);
  return {
    tag: null,
    reason: `no version tag has digest ${short(input.digest)} (checked ${scope}${inLine})`,
  };
}
