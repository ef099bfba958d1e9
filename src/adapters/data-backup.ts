// update-safe's data backup. By default: every named volume mounted by a database service,
// archived by the engine itself (`docker cp container:path -`, a tar stream) into
// .version-backups/data/<timestamp>/, so no tool inside the database image is needed.
// A manifest may name its own command instead (a consistent dump, say), run without a shell.
import { spawn } from "node:child_process";
import { mkdir, stat } from "node:fs/promises";
import path from "node:path";
import { UserError } from "../errors.js";
import type { ComposeProject, ContainerState } from "./compose.js";
import { type DockerCli, dockerToFile, lastLine } from "./docker.js";

export interface VolumeArchive {
  service: string;
  volume: string;
  /** Path inside the container the volume is mounted at (the archive's top directory is its basename). */
  target: string;
  file: string;
  bytes: number;
}

export interface DataBackup {
  dir: string;
  archives: VolumeArchive[];
  /** Database services whose volumes could not be archived, and why. */
  skipped: string[];
  command?: string[];
}

interface VolumeMount {
  type?: string;
  source?: string;
  target?: string;
}

/** The named volumes a service mounts: engine volume name and mount path. */
export function namedVolumes(project: ComposeProject, service: string): { volume: string; target: string }[] {
  const mounts = (project.services[service]?.volumes ?? []) as VolumeMount[];
  return mounts
    .filter((m) => m.type === "volume" && m.source && m.target)
    .map((m) => ({
      volume: project.volumes[m.source as string]?.name ?? `${project.name}_${m.source}`,
      target: m.target as string,
    }));
}

export async function snapshotVolumes(
  cli: DockerCli,
  project: ComposeProject,
  databases: readonly string[],
  containers: readonly ContainerState[],
  dir: string,
): Promise<DataBackup> {
  await mkdir(dir, { recursive: true });
  const archives: VolumeArchive[] = [];
  const skipped: string[] = [];
  for (const service of databases) {
    const volumes = namedVolumes(project, service);
    if (volumes.length === 0) continue;
    const container = containers.find((c) => c.service === service);
    if (!container) {
      skipped.push(`${service}: no container to read its volumes from`);
      continue;
    }
    for (const { volume, target } of volumes) {
      const file = path.join(dir, `${volume}.tar`);
      const res = await dockerToFile(cli, ["cp", `${container.id}:${target}`, "-"], file);
      if (res.code !== 0)
        throw new UserError(`data backup of ${service} (${volume}) failed: ${lastLine(res.stderr)}`);
      archives.push({ service, volume, target, file, bytes: (await stat(file)).size });
    }
  }
  return { dir, archives, skipped };
}

/** Runs the manifest's own backup command with DOCKER_VERSIONS_BACKUP_DIR pointing at `dir`. */
export async function runBackupCommand(
  command: readonly string[],
  dir: string,
  cwd: string,
  env: NodeJS.ProcessEnv,
): Promise<DataBackup> {
  await mkdir(dir, { recursive: true });
  const [program, ...args] = command as [string, ...string[]];
  const code = await new Promise<number>((resolve, reject) => {
    const child = spawn(program, args, {
      cwd,
      env: { ...env, DOCKER_VERSIONS_BACKUP_DIR: dir },
      stdio: ["ignore", "inherit", "inherit"],
    });
    child.on("error", (e) =>
      reject(new UserError(`data backup command ${program} could not start: ${e.message}`)),
    );
    child.on("close", (c) => resolve(c ?? 1));
  });
  if (code !== 0) throw new UserError(`data backup command ${program} exited ${code}`);
  return { dir, archives: [], skipped: [], command: [...command] };
}
