// Manifests: the digest a tag points at (HEAD, or GET and hash when HEAD is silent), the
// platform entries of a multi-platform index, and the version label of an image's config.
import { byName } from "../../core/names.js";
import { isDigest, shortDigest } from "../../core/reference.js";
import { sha256Hex } from "../../core/sha256.js";
import type { Answer } from "../http.js";
import type { RegistryClient, RepositoryRef } from "./client.js";
import { RegistryError } from "./errors.js";

export const MEDIA_TYPES = {
  ociIndex: "application/vnd.oci.image.index.v1+json",
  dockerList: "application/vnd.docker.distribution.manifest.list.v2+json",
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
} as const;

/** Indexes first: asking for a multi-platform image must return its index, as `docker pull` records it. */
export const MANIFEST_ACCEPT: readonly string[] = Object.values(MEDIA_TYPES);

export const VERSION_LABEL = "org.opencontainers.image.version";

export interface ManifestDigest {
  digest: string;
  mediaType: string;
}

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface IndexEntry {
  digest: string;
  platform?: Platform;
}

/** A manifest validated down to what we use: an index's entries, or an image's config blob. */
export type RegistryManifest = { kind: "index"; manifests: IndexEntry[] } | { kind: "image"; config: string };

export function isIndexMediaType(mediaType: string): boolean {
  return mediaType === MEDIA_TYPES.ociIndex || mediaType === MEDIA_TYPES.dockerList;
}

function describe(reference: string): string {
  return isDigest(reference) ? `manifest ${shortDigest(reference)}` : `tag ${reference}`;
}

function contentType(res: Answer): string {
  return (res.headers.get("content-type") ?? "").split(";")[0]?.trim() ?? "";
}

function asPlatform(x: unknown): Platform | undefined {
  if (typeof x !== "object" || x === null) return undefined;
  const { os, architecture, variant } = x as Record<string, unknown>;
  if (typeof os !== "string" || typeof architecture !== "string") return undefined;
  return typeof variant === "string" && variant ? { os, architecture, variant } : { os, architecture };
}

const KNOWN_TYPES = new Set<string>(MANIFEST_ACCEPT);

/** Validates a manifest body; its type is the Content-Type when that is a manifest type, else the body's. */
export function parseRegistryManifest(body: unknown, contentType: string): RegistryManifest | null {
  if (typeof body !== "object" || body === null) return null;
  const b = body as Record<string, unknown>;
  const type = KNOWN_TYPES.has(contentType)
    ? contentType
    : typeof b.mediaType === "string"
      ? b.mediaType
      : "";
  if (isIndexMediaType(type) || (!type && Array.isArray(b.manifests))) {
    if (!Array.isArray(b.manifests)) return null;
    const manifests: IndexEntry[] = [];
    for (const m of b.manifests as unknown[]) {
      const digest = (m as { digest?: unknown } | null)?.digest;
      if (typeof digest !== "string" || !isDigest(digest)) return null;
      const platform = asPlatform((m as { platform?: unknown }).platform);
      manifests.push(platform ? { digest, platform } : { digest });
    }
    return { kind: "index", manifests };
  }
  const config = (b.config as { digest?: unknown } | undefined)?.digest;
  return typeof config === "string" && isDigest(config) ? { kind: "image", config } : null;
}

/** The digest of the host platform's entry in an index, or null when it has none. */
export function pickPlatform(entries: readonly IndexEntry[], want: Platform): string | null {
  const same = entries.filter(
    (e) => e.platform?.os === want.os && e.platform.architecture === want.architecture,
  );
  // arm64 images often leave out the "v8" variant that the host reports, and the other way round.
  const exact = same.find((e) => (e.platform?.variant ?? "") === (want.variant ?? ""));
  return (exact ?? (same.length === 1 ? same[0] : undefined))?.digest ?? null;
}

/** The platform Docker pulls for on this machine (Linux images, also on Docker Desktop). */
export function hostPlatform(arch: string = process.arch, platform: string = process.platform): Platform {
  const os = platform === "win32" ? "windows" : "linux";
  switch (arch) {
    case "x64":
      return { os, architecture: "amd64" };
    case "arm64":
      return { os, architecture: "arm64", variant: "v8" };
    case "arm":
      return { os, architecture: "arm", variant: "v7" };
    case "ia32":
      return { os, architecture: "386" };
    case "ppc64":
      return { os, architecture: "ppc64le" };
    default:
      return { os, architecture: arch };
  }
}

/** The digest a tag or digest points at, from a HEAD; a registry that omits the header costs a GET. */
export async function manifestDigest(
  client: RegistryClient,
  repo: RepositoryRef,
  reference: string,
): Promise<ManifestDigest> {
  // Services of one repository ask about the same tags: once per command each.
  return client.once(`digest ${repo.registry}/${repo.repository} ${reference}`, () =>
    askManifestDigest(client, repo, reference),
  );
}

async function askManifestDigest(
  client: RegistryClient,
  repo: RepositoryRef,
  reference: string,
): Promise<ManifestDigest> {
  const res = await client.request(repo, client.url(repo, `manifests/${reference}`), {
    method: "HEAD",
    accept: MANIFEST_ACCEPT,
    missing: describe(reference),
  });
  const digest = res.headers.get("docker-content-digest");
  if (digest && isDigest(digest)) return { digest, mediaType: contentType(res) };
  const { manifest: _, ...found } = await fetchManifest(client, repo, reference);
  return found;
}

/** GETs a manifest; its digest is the header's or, when absent, the sha256 of the bytes received. */
export async function fetchManifest(
  client: RegistryClient,
  repo: RepositoryRef,
  reference: string,
): Promise<ManifestDigest & { manifest: RegistryManifest }> {
  const res = await client.request(repo, client.url(repo, `manifests/${reference}`), {
    accept: MANIFEST_ACCEPT,
    missing: describe(reference),
  });
  const bytes = await client.bytes(repo, res);
  const header = res.headers.get("docker-content-digest");
  const digest = header && isDigest(header) ? header : `sha256:${sha256Hex(bytes)}`;
  let body: unknown;
  try {
    body = JSON.parse(bytes.toString("utf8"));
  } catch {
    body = null;
  }
  const mediaType = contentType(res);
  const manifest = parseRegistryManifest(body, mediaType);
  if (!manifest) {
    throw new RegistryError(
      "bad-response",
      `registry ${repo.registry} sent an unreadable manifest for ${repo.repository}:${reference}`,
    );
  }
  return { digest, mediaType, manifest };
}

/** For a multi-platform index, the digest of the given platform's manifest; null for a single-platform image. */
export async function platformManifestDigest(
  client: RegistryClient,
  repo: RepositoryRef,
  reference: string,
  platform: Platform,
): Promise<string | null> {
  const { manifest } = await fetchManifest(client, repo, reference);
  return manifest.kind === "index" ? pickPlatform(manifest.manifests, platform) : null;
}

/** Validates an image config down to its labels. */
export function parseImageConfig(body: unknown): { labels: Record<string, string> } | null {
  if (typeof body !== "object" || body === null) return null;
  const labels = (body as { config?: { Labels?: unknown } }).config?.Labels;
  const out = byName<string>(); // label names come from the registry: `__proto__` is a name too
  if (typeof labels === "object" && labels !== null) {
    for (const [k, v] of Object.entries(labels)) if (typeof v === "string") out[k] = v;
  }
  return { labels: out };
}

/** The `org.opencontainers.image.version` label of the image a reference names, if it has one. */
export async function imageVersionLabel(
  client: RegistryClient,
  repo: RepositoryRef,
  reference: string,
  platform: Platform = hostPlatform(),
): Promise<string | null> {
  let { manifest } = await fetchManifest(client, repo, reference);
  if (manifest.kind === "index") {
    const entry = pickPlatform(manifest.manifests, platform);
    if (!entry) return null;
    ({ manifest } = await fetchManifest(client, repo, entry));
  }
  if (manifest.kind !== "image") return null;
  const res = await client.request(repo, client.url(repo, `blobs/${manifest.config}`), {
    missing: `image config ${shortDigest(manifest.config)}`,
  });
  const config = parseImageConfig(await client.json(repo, res, "an image config"));
  return config?.labels[VERSION_LABEL] || null;
}
