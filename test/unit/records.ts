// Records as plain data for the unit tables: digests by number, a service's history newest first.
import type { Manifest, ServiceRecord } from "../../src/core/manifest.js";

/** A digest that reads as its number: D(7) is sha256:777…. */
export const D = (n: number) => `sha256:${String(n).repeat(64).slice(0, 64)}`;

/** A record whose history is `versions`, newest first, the first one current. */
export function rec(...versions: [string, number | undefined][]): ServiceRecord {
  const [tag, digest] = versions[0] as [string, number | undefined];
  return {
    current_tag: tag,
    image_digest: digest === undefined ? undefined : D(digest),
    custom: false,
    history: versions.map(([t, d]) => ({
      tag: t,
      digest: d === undefined ? undefined : D(d),
      at: "2026-01-01T00:00:00Z",
      source: "pull",
    })),
  };
}

export const manifest = (services: Record<string, ServiceRecord>): Manifest => ({ schema: 1, services });
