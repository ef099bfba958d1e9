// check-updates' version logic: which tags are newer than the current one, newest first,
// grouped by the part of the version that changed. Pure code.
import { compareVersions, parseVersion, sortVersionTagsDesc, type Version } from "./tags.js";

export interface AvailableUpdates {
  current: string;
  /** Every newer version tag, newest first. */
  newer: string[];
  /** The same tags split by the first version part that differs from the current one. */
  major: string[];
  minor: string[];
  patch: string[];
}

/** Compares by value only: 1.64 and 1.64.0 are the same version, not one newer than the other. */
function compareValue(a: Version, b: Version): number {
  return compareVersions({ ...a, raw: "" }, { ...b, raw: "" });
}

/**
 * The updates available from `current` among `tags`. Tags that are not versions are ignored,
 * pre-releases only with `prereleases`. Null when `current` is itself not a version (a floating
 * tag has nothing to compare against until it is resolved).
 */
export function availableUpdates(
  current: string,
  tags: readonly string[],
  opts: { prereleases?: boolean } = {},
): AvailableUpdates | null {
  const now = parseVersion(current);
  if (!now) return null;
  const result: AvailableUpdates = { current, newer: [], major: [], minor: [], patch: [] };
  for (const tag of sortVersionTagsDesc(tags, opts)) {
    const v = parseVersion(tag) as Version;
    if (compareValue(v, now) <= 0) continue;
    result.newer.push(tag);
    if ((v.release[0] ?? 0) !== (now.release[0] ?? 0)) result.major.push(tag);
    else if ((v.release[1] ?? 0) !== (now.release[1] ?? 0)) result.minor.push(tag);
    else result.patch.push(tag);
  }
  return result;
}
