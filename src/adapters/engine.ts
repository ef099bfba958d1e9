// The Docker engine's view of images and containers: pulls, repo digests, what each container
// runs. Through the docker CLI (so contexts, -H and DOCKER_HOST apply), except the reads, which
// ask the engine API directly when the CLI would talk to a local socket (engine-api.ts).
import { groupBy } from "../core/group.js";
import { UserError } from "../errors.js";
import {
  type ComposeProject,
  type ContainerState,
  listContainers,
  listedThroughApi,
  projectContainersApi,
  projectSummariesApi,
  psState,
} from "./compose.js";
import { type DockerCli, lastLine, runDocker } from "./docker.js";
import { EngineApiError, engineApi, inspectContainerApi, type RawContainer } from "./engine-api.js";
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

const containerInfo = (c: RawContainer): ContainerInfo => ({
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
});

/** Inspects containers by ID or name, in the order asked (missing ones are left out). */
export async function inspectContainers(cli: DockerCli, ids: readonly string[]): Promise<ContainerInfo[]> {
  if (ids.length === 0) return [];
  const api = engineApi(cli);
  if (api) {
    // As `docker container inspect` of several: what the engine cannot give is left out.
    const found = await Promise.all(
      ids.map((id) =>
        inspectContainerApi(api, id).catch((e: unknown) => {
          if (e instanceof EngineApiError) return null;
          throw e;
        }),
      ),
    );
    return found.filter((c): c is RawContainer => c !== null).map(containerInfo);
  }
  const res = await runDocker(cli, ["container", "inspect", "--format", "{{json .}}", ...ids]);
  return res.stdout
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => containerInfo(JSON.parse(l) as RawContainer));
}

/** A project's containers (as `compose ps --all` lists them) and each one's inspection. */
export interface ObservedContainers {
  containers: ContainerState[];
  /** Every container of the project, inspected (a container gone in between is left out). */
  infos: ContainerInfo[];
}

/**
 * Lists and inspects the project's containers: through the engine API one list and one
 * inspection per container serve both; through the CLI, one `compose ps` and one inspect.
 */
export async function observeProject(cli: DockerCli, project: ComposeProject): Promise<ObservedContainers> {
  const api = engineApi(cli);
  if (api) {
    const found = await listedThroughApi(() => projectContainersApi(api, project.name));
    return { containers: found.map(psState), infos: found.map((c) => containerInfo(c.inspect)) };
  }
  const containers = await listContainers(cli, project);
  return {
    containers,
    infos: await inspectContainers(
      cli,
      containers.map((c) => c.id),
    ),
  };
}

/** A running container of the project: its service and the image (ID) it runs. */
export interface RunningContainer {
  service: string;
  imageId: string;
}

/**
 * The project's running containers and their images: through the engine API the list alone says
 * it (no inspection); through the CLI one `compose ps` and one inspect of the running ones.
 */
export async function runningContainers(
  cli: DockerCli,
  project: ComposeProject,
): Promise<RunningContainer[]> {
  const api = engineApi(cli);
  if (api)
    return (await listedThroughApi(() => projectSummariesApi(api, project.name)))
      .filter((c) => c.State === "running" && c.ImageID)
      .map((c) => ({
        service: c.Labels?.["com.docker.compose.service"] ?? "",
        imageId: c.ImageID as string,
      }));
  const running = (await listContainers(cli, project)).filter((c) => c.state === "running");
  return runningOf({
    containers: running,
    infos: await inspectContainers(
      cli,
      running.map((c) => c.id),
    ),
  });
}

/** The running containers of what was observed, with their images. */
export function runningOf(seen: ObservedContainers): RunningContainer[] {
  // A listing names a container by a prefix of its ID, the short one (12 characters) as `ps`
  // prints it: the inspections are looked up by theirs, not scanned once per container.
  const byShortId = groupBy(seen.infos, (i) => i.id.slice(0, SHORT_ID));
  return seen.containers
    .filter((c) => c.state === "running")
    .flatMap((c) =>
      (c.id.length >= SHORT_ID ? (byShortId.get(c.id.slice(0, SHORT_ID)) ?? []) : seen.infos)
        .filter((i) => i.id.startsWith(c.id))
        .map((i) => ({ service: c.service, imageId: i.imageId })),
    );
}

const SHORT_ID = 12;
