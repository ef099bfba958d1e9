// The engine's local images and which of them containers use, for prune; and the removal of
// image names. Everything through the docker CLI, in batches (one call per 100 objects).
import type { LocalImage } from "../core/prune-plan.js";
import { UserError } from "../errors.js";
import { type DockerCli, lastLine, runDocker } from "./docker.js";

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
    if (res.code !== 0 && !/no such image/i.test(res.stderr))
      return lines(res.stderr).at(-1) ?? `docker image rm ${ref} failed`;
  }
  return null;
}

/** Whether the engine still has the image. */
export async function imageExists(cli: DockerCli, id: string): Promise<boolean> {
  return (await runDocker(cli, ["image", "inspect", "--format", "{{.Id}}", id])).code === 0;
}
