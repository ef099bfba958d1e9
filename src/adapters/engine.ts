// The Docker engine's view of images and containers: pulls, repo digests, what each container
// runs. Everything goes through the docker CLI (so contexts, -H and DOCKER_HOST apply).
import { UserError } from "../errors.js";
import { type DockerCli, lastLine, runDocker } from "./docker.js";
import { type ImageInfo, inspectRefs } from "./images.js";

export type { ImageInfo } from "./images.js";

export interface ContainerInfo {
  id: string;
  name: string;
  imageId: string;
  running: boolean;
  restarting: boolean;
  oomKilled: boolean;
  exitCode: number;
  startedAt: string;
  health: string;
  restartCount: number;
}

/**
 * Pulls an image reference; the error names the reference and Docker's reason. With `progress`
 * Docker draws its own per-layer progress on our stdout (a terminal); otherwise it is quiet.
 */
export async function pullImage(
  cli: DockerCli,
  ref: string,
  opts: { progress?: boolean } = {},
): Promise<void> {
  const res = opts.progress
    ? await runDocker(cli, ["pull", ref], { inherit: "stdout" })
    : await runDocker(cli, ["pull", "--quiet", ref]);
  if (res.code !== 0)
    throw new UserError(
      `cannot pull ${ref}: ${lastLine(res.stderr) || `docker pull exited ${res.code}`}`,
      "engine",
    );
}

/** Local image details, or null when the engine does not have it. */
export async function inspectImage(cli: DockerCli, ref: string): Promise<ImageInfo | null> {
  return (await inspectRefs(cli, [ref])).get(ref) ?? null;
}

/** The registry digest an image has under `repository`, from its RepoDigests. */
export function digestFor(image: ImageInfo, repository: string): string | undefined {
  const hit = image.repoDigests.find((d) => d.slice(0, d.lastIndexOf("@")) === repository);
  return hit ? hit.slice(hit.lastIndexOf("@") + 1) : undefined;
}

/** Inspects containers by ID or name (missing ones are left out). */
export async function inspectContainers(cli: DockerCli, ids: readonly string[]): Promise<ContainerInfo[]> {
  if (ids.length === 0) return [];
  const res = await runDocker(cli, ["container", "inspect", "--format", "{{json .}}", ...ids]);
  type Raw = {
    Id: string;
    Name: string;
    Image: string;
    RestartCount?: number;
    State: {
      Running: boolean;
      Restarting: boolean;
      OOMKilled: boolean;
      ExitCode: number;
      StartedAt: string;
      Health?: { Status: string };
    };
  };
  return res.stdout
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Raw)
    .map((c) => ({
      id: c.Id,
      name: c.Name.replace(/^\//, ""),
      imageId: c.Image,
      running: c.State.Running,
      restarting: c.State.Restarting,
      oomKilled: c.State.OOMKilled,
      exitCode: c.State.ExitCode,
      startedAt: c.State.StartedAt,
      health: c.State.Health?.Status ?? "",
      restartCount: c.RestartCount ?? 0,
    }));
}
