// Floating tag → semantic tag: the newest version tag whose digest is the recorded one. Tries
// candidates newest-first and stops at the first match, so the usual case costs one lookup.
// Pure: the registry is reached only through the functions passed in.
import { isPrerelease, parseVersion, sortVersionTagsDesc } from "./tags.js";

export interface ResolveInput {
  /** Every tag of the repository, in any order; tags that are not versions are ignored. */
  tags: readonly string[];
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
  | { tag: string; matchedBy: "digest" | "platform-digest" | "label" }
  | { tag: null; reason: string };

export const DEFAULT_MAX_CANDIDATES = 100;

/** Release tags newest-first, then pre-releases (and suffixed tags like 1.2-alpine) newest-first. */
export function candidateTags(tags: readonly string[]): string[] {
  const all = sortVersionTagsDesc(tags, { prereleases: true });
  return [...all.filter((t) => !isPrerelease(t)), ...all.filter(isPrerelease)];
}

function short(digest: string): string {
  return digest.slice(digest.indexOf(":") + 1, digest.indexOf(":") + 13);
}

export async function resolveFloatingTag(input: ResolveInput): Promise<Resolution> {
  const all = candidateTags(input.tags);
  const max = input.maxCandidates ?? DEFAULT_MAX_CANDIDATES;
  const candidates = all.slice(0, max);
  for (const tag of candidates) {
    if ((await input.digestOf(tag)) === input.digest) return { tag, matchedBy: "digest" };
  }
  if (input.platformDigestOf) {
    for (const tag of candidates) {
      if ((await input.platformDigestOf(tag)) === input.digest) return { tag, matchedBy: "platform-digest" };
    }
  }
  if (input.versionLabel) {
    const label = await input.versionLabel();
    // Only a label naming a version tag that exists can be recorded: the tag must stay pullable.
    if (label && parseVersion(label) && input.tags.includes(label)) return { tag: label, matchedBy: "label" };
  }
  if (all.length === 0) return { tag: null, reason: "the repository has no version tags" };
  const scope =
    candidates.length < all.length
      ? `the newest ${candidates.length} of ${all.length} version tags`
      : `${all.length} version tag${all.length === 1 ? "" : "s"}`;
  return {
    tag: null,
    reason: `no version tag has digest ${short(input.digest)} (checked ${scope})`,
  };
}
