// Announce each new version once: what a check found becomes news (one key per version), news
// already sent to a destination is left out, and what a destination was told is remembered
// only while it is still news (a service that updated forgets it). Pure code.
import type { ImageLabels, ServiceNews } from "./notify-message.js";
import { cleanLabel, sourceLink } from "./notify-message.js";

/** What check-updates found for one service (the fields news is made of). */
export interface CheckedService {
  service: string;
  current: string;
  updates: { newer: string[]; outside: string[] } | null;
  floatingTag: string;
  floatingMoved?: boolean;
  /** What the moved floating tag now names (null: no version tag has its digest). */
  floatingTo?: string | null;
  /** The floating tag's digest in the registry now. */
  floatingDigest?: string;
  /** Whether something strictly newer than what runs exists in the line the service follows. */
  available: boolean;
  error?: string;
}

/** Per service, the keys of the versions already announced. */
export type Announced = Record<string, string[]>;

/** The news in one service's check, without labels yet; null when nothing is newer. */
export function newsOf(row: CheckedService, repository: string): ServiceNews | null {
  if (row.error) return null;
  const inLine = row.updates?.newer[0];
  const moved = row.floatingMoved && row.available ? row.floatingTo : undefined;
  const newest = inLine ?? moved ?? undefined;
  const major = row.updates?.outside[0];
  const keys: string[] = [];
  if (newest) keys.push(newest);
  // A floating tag that moved to an image no version names: news once per digest.
  else if (row.floatingMoved && row.available && row.floatingDigest)
    keys.push(`${row.floatingTag}@${row.floatingDigest}`);
  if (major) keys.push(`major:${major}`);
  if (keys.length === 0) return null;
  return {
    service: row.service,
    repository,
    current: row.current,
    newest: newest ?? (keys[0]?.includes("@") ? `${row.floatingTag} (a new image)` : undefined),
    major,
    labels: {},
    keys,
  };
}

/** The labels a message shows, taken from an image config's labels. */
export function withLabels(news: ServiceNews, labels: Record<string, string>): ServiceNews {
  const picked: ImageLabels = {
    version: cleanLabel(labels["org.opencontainers.image.version"]),
    revision: cleanLabel(labels["org.opencontainers.image.revision"]),
    source: cleanLabel(labels["org.opencontainers.image.source"]),
    created: cleanLabel(labels["org.opencontainers.image.created"]),
  };
  const clean = Object.fromEntries(Object.entries(picked).filter(([, v]) => v !== undefined)) as ImageLabels;
  return { ...news, labels: clean, link: sourceLink(clean) };
}

/** The news a destination has not been told yet. */
export function unannounced(news: readonly ServiceNews[], seen: Announced): ServiceNews[] {
  return news.filter((n) =>
    n.keys.some((k) => !(Object.hasOwn(seen, n.service) && seen[n.service]?.includes(k))),
  );
}

/**
 * What a destination has been told after `sent` was delivered: the keys still news today
 * (services that failed to check keep what they had).
 */
export function remember(
  seen: Announced,
  news: readonly ServiceNews[],
  sent: readonly ServiceNews[],
  unchecked: readonly string[] = [],
): Announced {
  const out: Announced = Object.create(null);
  for (const s of unchecked) if (Object.hasOwn(seen, s)) out[s] = [...(seen[s] ?? [])];
  for (const n of news) {
    const before = Object.hasOwn(seen, n.service) ? (seen[n.service] ?? []) : [];
    const told = sent.some((x) => x.service === n.service);
    const keys = n.keys.filter((k) => told || before.includes(k));
    if (keys.length > 0) out[n.service] = keys;
  }
  return out;
}
