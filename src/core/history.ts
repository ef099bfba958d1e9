// History rules: recording a deployment, finding the previous version, bounding the list.
import { HISTORY_LIMIT, type HistoryEntry, type ServiceRecord } from "./manifest.js";

export interface Deployment {
  tag: string;
  digest?: string;
  at: string;
  source: string;
  custom?: boolean;
  image?: string;
}

/** Whether two records name the same image (by digest when both have one). */
export function sameVersion(
  a: { tag: string; digest?: string },
  b: { tag: string; digest?: string },
): boolean {
  if (a.digest && b.digest) return a.digest === b.digest;
  return a.tag === b.tag;
}

/** The record after deploying `d`; unchanged (same object) when `d` is already current. */
export function recordDeployment(rec: ServiceRecord | undefined, d: Deployment): ServiceRecord {
  const current = rec ? { tag: rec.current_tag, digest: rec.image_digest } : undefined;
  const custom = d.custom ?? false;
  if (rec && current && sameVersion(current, d) && current.tag === d.tag && rec.custom === custom) return rec;
  const entry: HistoryEntry = { tag: d.tag, digest: d.digest, at: d.at, source: d.source };
  const history = [entry, ...(rec?.history ?? [])].slice(0, HISTORY_LIMIT);
  return {
    ...(rec ?? { history: [] }),
    image: d.image ?? rec?.image,
    current_tag: d.tag,
    image_digest: d.digest,
    custom,
    updated_at: d.at,
    updated_by: d.source,
    history,
  };
}

/** The newest history entry that differs from what is current, or undefined. */
export function previousVersion(rec: ServiceRecord): HistoryEntry | undefined {
  const current = { tag: rec.current_tag, digest: rec.image_digest };
  return rec.history.find((e) => !sameVersion(e, current));
}

/** A named version from history (newest match first). */
export function findInHistory(rec: ServiceRecord, tag: string): HistoryEntry | undefined {
  return rec.history.find((e) => e.tag === tag);
}

/**
 * The record with its current version known by another tag of the same digest (resolve-tags:
 * `latest` → `1.64`). The deployment is the same one, so its history entry is renamed rather
 * than a new one added.
 */
export function renameCurrentTag(rec: ServiceRecord, tag: string, at: string, source: string): ServiceRecord {
  if (rec.current_tag === tag) return rec;
  const [first, ...rest] = rec.history;
  const history =
    first && first.digest === rec.image_digest && first.tag === rec.current_tag
      ? [{ ...first, tag }, ...rest]
      : rec.history;
  return { ...rec, current_tag: tag, updated_at: at, updated_by: source, history };
}
