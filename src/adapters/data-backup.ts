// update-safe's data backup. By default: every named volume mounted by a database service,
// archived by the engine itself (`docker cp container:path -`, a tar stream) into
// .version-backups/data/<timestamp>/, so no tool inside the database image is needed.
// A manifest may name its own command instead (a consistent dump, say), run without a shell.
// `dir` is always `<project>/.version-backups/data/<timestamp>`.
import { spawn } from "node:child_process";
import { stat } from "node:fs/promises";
import path from "node:path";
import { UserError } from "../errors.js";
import type { ComposeProject, ContainerState } from "./compose.js";
import { type DockerCli, dockerToFile, lastLine } from "./docker.js";
import { ownedDirs } from "./owned-files.js";

// Database files are as private as the database: archives 0600 in 0700 directories. A directory
// that already exists keeps the mode its owner gave it.
const PRIVATE_DIR = 0o700;
const PRIVATE_FILE = 0o600;

/** Creates `<root>/.version-backups/data/<stamp>/` (owner-only), refusing links on the way. */
function makeBackupDir(dir: string): void {
  const stampDir = path.dirname(dir);
  const backups = path.dirname(stampDir);
  ownedDirs(path.dirname(backups), [path.basename(backups)]);
  ownedDirs(backups, [path.basename(stampDir), path.basename(dir)], PRIVATE_DIR);
}

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
  makeBackupDir(dir);
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
      const res = await dockerToFile(cli, ["cp", `${container.id}:${target}`, "-"], file, PRIVATE_FILE);
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
  makeBackupDir(dir);
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
