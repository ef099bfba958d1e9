// check-updates' version logic: which versions are newer than the running one within the line
// the service follows (its variant and floating tag), one name per version, and which newer
// versions lie outside that line ("major available"). Pure code.
import { type ResolveInput, resolveFloatingTag } from "./resolve.js";
import { compareValue, compareVersionTags, parseVersion, TagSet, type VersionTag } from "./tags.js";

export interface AvailableUpdates {
  current: string;
  /** The floating tag the line comes from. */
  follows: string;
  /**
   * Newer versions within the line, newest first, one name each. Empty for a named channel
   * (`stable`, `mainline`): what it offers is where it moves, which only its digest tells.
   */
  newer: string[];
  /** The same tags split by the first version part that differs from the current one. */
  major: string[];
  minor: string[];
  patch: string[];
  /** Newer versions of the same variant outside the line (a `16` follower's 17.x), newest first. */
  outside: string[];
}

/** One tag per version value (the newest first), preferring the name written like `like`. */
function oneNamePerVersion(versions: VersionTag[], like: VersionTag): string[] {
  const sorted = [...versions].sort((a, b) => compareVersionTags(b, a));
  const out: VersionTag[] = [];
  for (const v of sorted) {
    const last = out.at(-1);
    if (last && compareValue(last, v) === 0) {
      if (last.prefix !== like.prefix && v.prefix === like.prefix) out[out.length - 1] = v;
      continue;
    }
    out.push(v);
  }
  return out.map((v) => v.raw);
}

/**
 * The updates available from `current` for a service following `follows` among `tags`. Only
 * tags one would name an image by are offered (not floating lines, not `version-`/`sha-`
 * aliases), pre-releases only with `prereleases`, and only strictly newer values (never the
 * running version under another name, never an older build). Null when `current` is not a
 * version or is itself a floating line: then only the floating tag's digest can tell whether
 * something changed. For a
 * named channel, `movedTo` is the tag its moved digest resolved to: that is its offer.
 */
export function availableUpdates(
  current: string,
  tags: readonly string[],
  opts: { follows?: string; prereleases?: boolean; movedTo?: string | null } = {},
): AvailableUpdates | null {
  const now = parseVersion(current);
  if (!now) return null;
  const follows = opts.follows ?? "latest";
  const set = new TagSet([...tags, current]);
  // A record still naming a floating line (`16-alpine` before resolve-tags) has no value to compare.
  if (set.isFloating(now)) return null;
  const line = set.lineOf(follows);
  const result: AvailableUpdates = {
    current,
    follows,
    newer: [],
    major: [],
    minor: [],
    patch: [],
    outside: [],
  };
  // Following a pre-release line (`3.14-rc`) is asking for its pre-releases.
  const pre = opts.prereleases || line.pre !== null;
  const newer = (v: VersionTag) => v.date === now.date && compareValue(v, now) > 0 && (pre || v.pre === null);
  const moved = opts.movedTo ? parseVersion(opts.movedTo) : null;
  const inside =
    line.channel === null
      ? set.named(line).filter(newer)
      : moved && compareValue(moved, now) > 0
        ? [moved]
        : [];
  const variantLine = { ...line, release: [], pre: null, build: null, channel: null };
  const insideNames = new Set(set.named(line).map((v) => v.raw));
  const beyond = set.named(variantLine).filter((v) => newer(v) && !insideNames.has(v.raw));
  result.newer = oneNamePerVersion(inside, now);
  result.outside = line.channel === null ? oneNamePerVersion(beyond, now) : [];
  for (const tag of result.newer) {
    const v = parseVersion(tag) as VersionTag;
    if ((v.release[0] ?? 0) !== (now.release[0] ?? 0)) result.major.push(tag);
    else if ((v.release[1] ?? 0) !== (now.release[1] ?? 0)) result.minor.push(tag);
    else result.patch.push(tag);
  }
  return result;
}

/**
 * Whether what a moved floating tag now names is news for a service on `current`: a newer
 * version, a rebuild of the same one, or an image no version names. Not when it moved back.
 */
export function movedForward(current: string, movedTo: string | null): boolean {
  const now = parseVersion(current);
  const to = movedTo ? parseVersion(movedTo) : null;
  return !now || !to || compareValue(to, now) >= 0;
}

export interface UpdateCheck {
  /** Newer versions than the current one; null when the current tag is not a version. */
  updates: AvailableUpdates | null;
  /** The floating tag's digest now. */
  floatingDigest: string;
  /** Whether that digest differs from the recorded one (undefined when none is recorded). */
  floatingMoved?: boolean;
  /** The most specific tag the moved floating tag now names (null: none has its digest). */
  floatingTo?: string | null;
  /** Whether something strictly newer than what runs exists in the service's line. */
  available: boolean;
}

/**
 * check-updates for one service following `follows` on `current`: newer versions in its line,
 * newer ones outside it, and where its floating tag moved, named the way pull-latest will name
 * it. Asks for the floating tag's digest, and resolves it only when it moved.
 */
export async function checkService(
  input: Pick<ResolveInput, "tags" | "digestOf" | "platformDigestOf"> & {
    current: string;
    follows: string;
    recordedDigest?: string;
    prereleases?: boolean;
  },
): Promise<UpdateCheck> {
  const floatingDigest = await input.digestOf(input.follows);
  const floatingMoved = input.recordedDigest ? floatingDigest !== input.recordedDigest : undefined;
  const floatingTo = floatingMoved
    ? (
        await resolveFloatingTag({
          tags: input.tags,
          floating: input.follows,
          hint: input.current,
          digest: floatingDigest,
          digestOf: input.digestOf,
          platformDigestOf: input.platformDigestOf,
        })
      ).tag
    : undefined;
  const updates = availableUpdates(input.current, input.tags, {
    follows: input.follows,
    prereleases: input.prereleases,
    movedTo: floatingTo,
  });
  const available =
    (updates?.newer.length ?? 0) > 0 ||
    (floatingMoved === true && movedForward(input.current, floatingTo ?? null));
  return { updates, floatingDigest, floatingMoved, floatingTo, available };
}
