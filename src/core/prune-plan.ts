// Which local images of the tracked repositories prune removes: those no record entry (a
// service's current version or any history entry, which a rollback may need offline) and no
// container (of any project, running or not) uses. Only references in tracked repositories are
// removed; an image also named by another repository loses just those names. Pure code.

export interface LocalImage {
  id: string;
  repoTags: string[];
  repoDigests: string[];
  size: number;
}

/** A version the record names: the current one or a history entry. */
export interface RecordedImage {
  repository: string;
  tag: string;
  digest?: string;
  /** Who needs it, e.g. `taskservice 1.64 (history)`. */
  why: string;
}

export interface PruneDecision {
  id: string;
  /** The image's names in tracked repositories. */
  refs: string[];
  size: number;
}

export interface PrunePlan {
  /** Images kept, with the reason (the first record entry or container that needs it). */
  keep: (PruneDecision & { why: string })[];
  /** Images whose tracked names are removed; `whole`: no other name keeps the image. */
  remove: (PruneDecision & { whole: boolean })[];
}

/** `repo` of `repo:tag` (the colon after the last slash, so a registry port is not a tag). */
export function repositoryOfTag(ref: string): string {
  const at = ref.lastIndexOf(":");
  return at > ref.lastIndexOf("/") ? ref.slice(0, at) : ref;
}

export function repositoryOfDigest(ref: string): string {
  const at = ref.lastIndexOf("@");
  return at >= 0 ? ref.slice(0, at) : ref;
}

export function planPrune(
  images: readonly LocalImage[],
  recorded: readonly RecordedImage[],
  inUse: ReadonlyMap<string, string>,
): PrunePlan {
  const tracked = new Set(recorded.map((r) => r.repository));
  const byDigest = new Map<string, string>();
  const byTag = new Map<string, string>();
  for (const r of recorded) {
    if (r.digest) {
      if (!byDigest.has(`${r.repository}@${r.digest}`)) byDigest.set(`${r.repository}@${r.digest}`, r.why);
    } else if (!byTag.has(`${r.repository}:${r.tag}`)) byTag.set(`${r.repository}:${r.tag}`, r.why);
  }
  const plan: PrunePlan = { keep: [], remove: [] };
  for (const img of images) {
    const tags = img.repoTags.filter((t) => tracked.has(repositoryOfTag(t)));
    const digests = img.repoDigests.filter((d) => tracked.has(repositoryOfDigest(d)));
    const refs = [...tags, ...digests];
    if (refs.length === 0) continue;
    const why =
      inUse.get(img.id) ??
      digests.map((d) => byDigest.get(d)).find(Boolean) ??
      tags.map((t) => byTag.get(t)).find(Boolean);
    if (why) plan.keep.push({ id: img.id, refs, size: img.size, why });
    else
      plan.remove.push({
        id: img.id,
        refs,
        size: img.size,
        whole: refs.length === img.repoTags.length + img.repoDigests.length,
      });
  }
  return plan;
}
