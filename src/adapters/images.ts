// The engine's local images: which of many references it has (one `docker image inspect`, or the
// engine API's inspections when the CLI would talk to a local socket), which of them containers
// use, for prune; and the removal of image names. Through the docker CLI in batches (one call per
// 100 objects). Whether an image is missing is read from what inspect returns and its exit code
// (or the API's status), never from the wording of Docker's error.
import type { LocalImage } from "../core/prune-plan.js";
import { parseReference, repositoryName } from "../core/reference.js";
import { UserError } from "../errors.js";
import { type DockerCli, lastLine, runDocker } from "./docker.js";
import { EngineApiError, engineApi, inspectImageApi } from "./engine-api.js";

const BATCH = 100;

function batches<T>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += BATCH) out.push(items.slice(i, i + BATCH));
  return out;
}

/** `docker <args>`'s output; a failure is an engine error naming `what`. */
async function listed(cli: DockerCli, args: string[], what: string): Promise<string> {
  const res = await runDocker(cli, args);
  if (res.code !== 0) throw new UserError(`${what}: ${lastLine(res.stderr) || `exit ${res.code}`}`, "engine");
  return res.stdout;
}

const lines = (s: string) =>
  s
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);

/** Every local image (intermediate ones aside) with its names and size. */
export async function localImages(cli: DockerCli): Promise<LocalImage[]> {
  const ids = [
    ...new Set(lines(await listed(cli, ["image", "ls", "-q", "--no-trunc"], "cannot list images"))),
  ];
  const out: LocalImage[] = [];
  for (const batch of batches(ids)) {
    // An image removed meanwhile makes inspect exit 1 but still print the others.
    const res = await runDocker(cli, ["image", "inspect", "--format", "{{json .}}", ...batch]);
    for (const line of lines(res.stdout)) {
      const raw = JSON.parse(line) as {
        Id: string;
        RepoTags?: string[] | null;
        RepoDigests?: string[] | null;
        Size?: number;
      };
      out.push({
        id: raw.Id,
        repoTags: raw.RepoTags ?? [],
        repoDigests: raw.RepoDigests ?? [],
        size: raw.Size ?? 0,
      });
    }
  }
  return out;
}

/** Image ID → the first container (any state, any project) that uses it, by name. */
export async function imagesInUse(cli: DockerCli): Promise<Map<string, string>> {
  const ids = lines(await listed(cli, ["container", "ls", "-aq", "--no-trunc"], "cannot list containers"));
  const used = new Map<string, string>();
  for (const batch of batches(ids)) {
    const res = await runDocker(cli, ["container", "inspect", "--format", "{{.Image}} {{.Name}}", ...batch]);
    for (const line of lines(res.stdout)) {
      const [image, name] = line.split(" ") as [string, string | undefined];
      if (!used.has(image)) used.set(image, `container ${(name ?? "").replace(/^\//, "")}`);
    }
  }
  return used;
}

/** Removes image names (never by force: an image a container still uses stays). */
export async function removeImageRefs(cli: DockerCli, refs: readonly string[]): Promise<string | null> {
  for (const ref of refs) {
    const res = await runDocker(cli, ["image", "rm", ref]);
    // A name already gone is what was wanted; any other failure leaves the name in place.
    if (res.code !== 0 && (await inspectRefs(cli, [ref])).get(ref))
      return lines(res.stderr).at(-1) ?? `docker image rm ${ref} failed`;
  }
  return null;
}

/** Whether the engine still has the image. */
export async function imageExists(cli: DockerCli, id: string): Promise<boolean> {
  return (await inspectRefs(cli, [id])).get(id) != null;
}

/** What `docker image inspect` says of a local image, as far as this plugin reads it. */
export interface ImageInfo {
  id: string;
  repoTags: string[];
  repoDigests: string[];
  labels: Record<string, string>;
}

interface RawImage {
  Id: string;
  RepoTags?: string[] | null;
  RepoDigests?: string[] | null;
  Config?: { Labels?: Record<string, string> | null };
}

const imageInfo = (raw: RawImage): ImageInfo => ({
  id: raw.Id,
  repoTags: raw.RepoTags ?? [],
  repoDigests: raw.RepoDigests ?? [],
  labels: raw.Config?.Labels ?? {},
});

/** Whether `image` is the one `ref` names: by ID, by `repository@digest`, or by `repository:tag`. */
export function imageMatches(ref: string, image: ImageInfo): boolean {
  if (/^sha256:[0-9a-f]{64}$/.test(ref)) return image.id === ref;
  let parsed: ReturnType<typeof parseReference>;
  try {
    parsed = parseReference(ref);
  } catch {
    return false;
  }
  const name = repositoryName(parsed);
  if (parsed.digest) return image.repoDigests.includes(`${name}@${parsed.digest}`);
  return image.repoTags.includes(`${name}:${parsed.tag ?? "latest"}`);
}

/**
 * Which of `refs` the engine has, in one `docker image inspect` per 100 references (or one API
 * inspection each, in parallel): each ref to its image, or null when the engine has none.
 * Inspect prints the images it found (all of them, in the order asked, when it exits 0) and exits
 * non-zero when one is missing; when it found none at all, `docker version` tells a missing image
 * from an engine that did not answer.
 */
export async function inspectRefs(
  cli: DockerCli,
  refs: readonly string[],
): Promise<Map<string, ImageInfo | null>> {
  const out = new Map<string, ImageInfo | null>();
  const api = engineApi(cli);
  if (api) {
    const unique = [...new Set(refs)];
    try {
      const found = await Promise.all(unique.map((ref) => inspectImageApi<RawImage>(api, ref)));
      unique.forEach((ref, i) => {
        const raw = found[i];
        out.set(ref, raw ? imageInfo(raw) : null);
      });
    } catch (e) {
      if (e instanceof EngineApiError) throw new UserError(`cannot inspect images: ${e.message}`, "engine");
      throw e;
    }
    return out;
  }
  for (const batch of batches([...new Set(refs)])) {
    const res = await runDocker(cli, ["image", "inspect", "--format", "{{json .}}", ...batch]);
    const found = lines(res.stdout).map((l) => imageInfo(JSON.parse(l) as RawImage));
    if (res.code === 0 && found.length === batch.length) {
      batch.forEach((ref, i) => {
        out.set(ref, found[i] ?? null);
      });
      continue;
    }
    if (found.length === 0) await engineAnswers(cli, res.stderr);
    for (const ref of batch) out.set(ref, found.find((image) => imageMatches(ref, image)) ?? null);
  }
  return out;
}

/** Fails with the engine's own reason when it does not answer at all. */
async function engineAnswers(cli: DockerCli, reason: string): Promise<void> {
  const res = await runDocker(cli, ["version", "--format", "{{.Server.Version}}"]);
  if (res.code !== 0 || !res.stdout.trim())
    throw new UserError(
      `cannot inspect images: ${lastLine(reason) || lastLine(res.stderr) || "the Docker engine did not answer"}`,
      "engine",
    );
}
