// Image references as Docker reads them: [registry[:port]/]path[:tag][@digest], with Docker
// Hub's defaults (docker.io, library/ for single-name images). Pure code.

export interface ImageRef {
  /** Registry host as written or defaulted: "docker.io", "127.0.0.1:5000", "ghcr.io". */
  registry: string;
  /** Repository path inside the registry: "library/nginx", "team/app". */
  repository: string;
  tag?: string;
  digest?: string;
}

const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-fA-F0-9]{32,}$/;
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;

export const DOCKER_HUB = "docker.io";

export function isValidTag(tag: string): boolean {
  return TAG.test(tag);
}

export function isDigest(value: string): boolean {
  return DIGEST.test(value);
}

/** Parses an image reference; throws a plain Error with the reason when it is not one. */
export function parseReference(input: string): ImageRef {
  let rest = input.trim();
  if (!rest) throw new Error("empty image reference");
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!isDigest(digest)) throw new Error(`invalid digest '${digest}'`);
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf("/");
  const colon = rest.lastIndexOf(":");
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!isValidTag(tag)) throw new Error(`invalid tag '${tag}'`);
  }
  const parts = rest.split("/");
  let registry = DOCKER_HUB;
  const first = parts[0] as string;
  if (
    parts.length > 1 &&
    (first.includes(".") || first.includes(":") || first === "localhost" || first !== first.toLowerCase())
  ) {
    registry = first === "index.docker.io" || first === "registry-1.docker.io" ? DOCKER_HUB : first;
    parts.shift();
  }
  for (const p of parts) if (!PATH_COMPONENT.test(p)) throw new Error(`invalid repository name '${rest}'`);
  if (registry === DOCKER_HUB && parts.length === 1) parts.unshift("library");
  return { registry, repository: parts.join("/"), tag, digest };
}

/** The repository as Docker names it locally ("nginx", "127.0.0.1:5000/app"). */
export function repositoryName(ref: Pick<ImageRef, "registry" | "repository">): string {
  if (ref.registry !== DOCKER_HUB) return `${ref.registry}/${ref.repository}`;
  return ref.repository.startsWith("library/") ? ref.repository.slice("library/".length) : ref.repository;
}

/** First 12 hex characters of a digest, as Docker shortens IDs. */
export function shortDigest(digest: string | undefined): string {
  if (!digest) return "-";
  const hex = digest.includes(":") ? digest.slice(digest.indexOf(":") + 1) : digest;
  return hex.slice(0, 12);
}
