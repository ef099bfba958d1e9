// A repository's tags: `GET /v2/<name>/tags/list?n=…`, page after page by the `Link` header
// (never to another host), or by `last=` when a registry fills pages without linking them; and
// the TagSource shape every source of tags (this OCI one, ECR Public's) answers in.
import type { ImageRef } from "../../core/reference.js";
import type { RegistryClient, RepositoryRef } from "./client.js";
import { RegistryError } from "./errors.js";
import { isIndexMediaType, manifestDigest } from "./manifests.js";

/** A registry's tags/list answer, validated. */
export interface TagList {
  name: string;
  tags: string[];
}

export interface TagListing {
  tags: string[];
  /** True when the page cap stopped the listing before the registry's last page. */
  truncated: boolean;
}

export interface TagListOptions {
  pageSize?: number;
  maxPages?: number;
  /** Names accepted in all; a registry listing more is answered with one line (default 100 000). */
  maxNames?: number;
}

// A tag as the distribution spec allows it; anything else in a tag list is not a tag (and must
// never reach the manifest or versions.env).
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

export function parseTagList(body: unknown): TagList | null {
  if (typeof body !== "object" || body === null) return null;
  const { name, tags } = body as { name?: unknown; tags?: unknown };
  if (typeof name !== "string") return null;
  // Registries answer `"tags": null` for a repository whose tags were all deleted.
  if (tags === null || tags === undefined) return { name, tags: [] };
  if (!Array.isArray(tags) || !tags.every((t) => typeof t === "string")) return null;
  return { name, tags };
}

/**
 * The next page named by a `Link: <…>; rel="next"` header, resolved against the current URL;
 * null when there is none. A link to another host is refused: pagination must not move us.
 */
export function nextPageUrl(link: string | null, current: URL): URL | null {
  if (!link) return null;
  for (const part of link.split(/,(?=\s*<)/)) {
    const m = /^\s*<([^>]*)>\s*;(.*)$/.exec(part);
    if (!m || !/(?:^|;)\s*rel\s*=\s*"?(?:[^";]*\s)?next(?:\s[^";]*)?"?\s*(?:;|$)/i.test(m[2] as string))
      continue;
    let next: URL;
    try {
      next = new URL(m[1] as string, current);
    } catch {
      return null;
    }
    if (next.origin !== current.origin) {
      throw new RegistryError(
        "bad-response",
        `registry ${current.host} sent a next-page link to another host (${next.host}); not following it`,
      );
    }
    return next;
  }
  return null;
}

/** Every tag of a repository, in the registry's order, following at most `maxPages` pages. */
export function listTags(
  client: RegistryClient,
  repo: RepositoryRef,
  opts: TagListOptions = {},
): Promise<TagListing> {
  return client.once(`tags ${repo.registry}/${repo.repository} ${JSON.stringify(opts)}`, () =>
    collectPages(
      client,
      repo,
      "tags/list",
      "a tag list",
      (body) => parseTagList(body)?.tags.filter((t) => TAG.test(t)) ?? null,
      opts,
    ),
  );
}

/**
 * Every repository of a registry (`/v2/_catalog`), paged like tags. Registries that page
 * tags/list and _catalog share the walk, and distribution 2.8 pages only the catalog.
 */
export function listRepositories(
  client: RegistryClient,
  registry: string,
  opts: TagListOptions = {},
): Promise<TagListing> {
  const pick = (body: unknown) => {
    const repos = (body as { repositories?: unknown } | null)?.repositories;
    return Array.isArray(repos) && repos.every((r) => typeof r === "string") ? repos : null;
  };
  return collectPages(client, { registry, repository: "" }, "_catalog", "a catalog", pick, opts);
}

async function collectPages(
  client: RegistryClient,
  repo: RepositoryRef,
  endpoint: "tags/list" | "_catalog",
  what: string,
  pick: (body: unknown) => string[] | null,
  opts: TagListOptions,
): Promise<TagListing> {
  const pageSize = opts.pageSize ?? 1000;
  const maxPages = opts.maxPages ?? 20;
  const maxNames = opts.maxNames ?? 100_000;
  const scope = endpoint === "_catalog" ? "registry:catalog:*" : undefined;
  const first = (query: string) =>
    endpoint === "_catalog"
      ? client.registryUrl(repo.registry, `_catalog?${query}`)
      : client.url(repo, `tags/list?${query}`);
  const seen = new Set<string>();
  let url: URL | null = first(`n=${pageSize}`);
  for (let page = 0; url && page < maxPages; page++) {
    const res = await client.request(repo, url, { scope });
    const names = pick(await client.json(repo, res, what));
    if (!names) throw new RegistryError("bad-response", `registry ${repo.registry} sent malformed ${what}`);
    const before = seen.size;
    for (const n of names) seen.add(n);
    if (seen.size > maxNames)
      throw new RegistryError(
        "bad-response",
        `registry ${repo.registry} listed more than ${maxNames} names in ${what} for ${repo.repository || "its catalog"}; not reading further`,
      );
    let next = nextPageUrl(res.headers.get("link"), url);
    // A full page without a link may still have a successor; a page that adds nothing new ends the walk.
    if (!next && names.length === pageSize && seen.size > before) {
      next = first(`n=${pageSize}&last=${encodeURIComponent(names.at(-1) as string)}`);
    }
    url = next;
  }
  return { tags: [...seen], truncated: url !== null };
}

export type TagSourceKind = "oci" | "ecr-public";

export interface TagDigest {
  digest: string;
  /** Whether it is a multi-platform index (only then can a platform's manifest match). */
  index: boolean;
}

export interface TagSource {
  readonly kind: TagSourceKind;
  /** Every tag of the repository, in no particular order. */
  listTags(): Promise<string[]>;
  /** The digest a tag points at now; a RegistryError of kind tag-not-found when it does not exist. */
  digestOf(tag: string): Promise<TagDigest>;
}

/** tags/list for the tags, a manifest HEAD per digest asked for. */
export function ociTagSource(client: RegistryClient, ref: ImageRef): TagSource {
  return {
    kind: "oci",
    listTags: async () => (await listTags(client, ref)).tags,
    digestOf: async (tag) => {
      const found = await manifestDigest(client, ref, tag);
      return { digest: found.digest, index: isIndexMediaType(found.mediaType) };
    },
  };
}
