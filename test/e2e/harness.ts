// What every end-to-end test needs: the built plugin installed in a temporary DOCKER_CONFIG,
// a private copy of a fixture compose project with its own project name, and helpers that
// talk to the real engine and registry.
import { execFileSync, spawn } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { inject } from "vitest";

export const bed = inject("bed");
export const FIXTURES = path.resolve(import.meta.dirname, "fixtures");

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command with an argument array and collects its output. */
export function sh(
  cmd: string,
  args: readonly string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {},
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (b) => (stdout += b));
    child.stderr.on("data", (b) => (stderr += b));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr }));
    child.stdin.on("error", () => {}); // a child that exits without reading its input is fine
    child.stdin.end(opts.input ?? "");
  });
}

/** A temporary DOCKER_CONFIG with the built plugin in its cli-plugins directory. */
export function installPlugin(): { dockerConfig: string; env: NodeJS.ProcessEnv; cleanup: () => void } {
  const dockerConfig = mkdtempSync(path.join(tmpdir(), "dv-config-"));
  mkdirSync(path.join(dockerConfig, "cli-plugins"));
  const target = path.join(dockerConfig, "cli-plugins", "docker-versions");
  copyFileSync(bed.exe, target);
  chmodSync(target, 0o755);
  writeFileSync(path.join(dockerConfig, "config.json"), "{}\n");
  return {
    dockerConfig,
    env: { ...process.env, DOCKER_CONFIG: dockerConfig, NO_COLOR: "1" },
    cleanup: () => rmSync(dockerConfig, { recursive: true, force: true }),
  };
}

let seq = 0;
/** A private copy of fixtures/<name> whose compose project name is unique to this test. */
export function fixtureProject(name: string): { dir: string; project: string; cleanup: () => Promise<void> } {
  const dir = mkdtempSync(path.join(tmpdir(), `dv-${name}-`));
  cpSync(path.join(FIXTURES, name), dir, { recursive: true });
  const project = `dv${process.pid}x${++seq}${name.replace(/[^a-z0-9]/g, "")}`;
  writeFileSync(path.join(dir, ".env"), `COMPOSE_PROJECT_NAME=${project}\n`, { flag: "a" });
  return {
    dir,
    project,
    cleanup: async () => {
      await sh("docker", ["compose", "-p", project, "down", "--remove-orphans", "--timeout", "0"], {
        cwd: dir,
      });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function readText(p: string): string {
  return readFileSync(p, "utf8");
}

/** `docker inspect` of one field. */
export function inspect(ref: string, format: string): string {
  return execFileSync("docker", ["inspect", "--format", format, ref], { encoding: "utf8" }).trim();
}

/** Copies the shared fixture repositories into a registry namespace private to one test. */
export async function seedNamespace(
  ns: string,
  repos: readonly string[],
  tags = ["1.61", "1.62", "1.63", "1.64", "latest"],
): Promise<void> {
  for (const repo of repos) {
    for (const tag of tags) {
      const from = `${bed.registry}/${repo}:${tag}`;
      const to = `${bed.registry}/${ns}/${repo}:${tag}`;
      await must("docker", ["pull", "-q", from]);
      await must("docker", ["tag", from, to]);
      await must("docker", ["push", "-q", to]);
    }
  }
}

/** Builds a new image (distinct content, hence digest) and pushes it under each tag given. */
export async function pushImage(
  repository: string,
  tags: readonly string[],
  content = `${repository} ${Date.now()} ${Math.random()}`,
): Promise<void> {
  await must("bash", [path.resolve(import.meta.dirname, "../bed/image.sh"), repository, content, ...tags]);
}

/** The digest the registry serves for repository:tag (Docker-Content-Digest of a HEAD). */
export async function registryDigest(repository: string, tag: string): Promise<string> {
  const res = await fetch(`http://${bed.registry}/v2/${repository}/manifests/${tag}`, {
    method: "HEAD",
    headers: {
      Accept:
        "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json",
    },
  });
  const digest = res.headers.get("docker-content-digest");
  if (!res.ok || !digest) throw new Error(`no digest for ${repository}:${tag} (${res.status})`);
  return digest;
}

/** The registry digest the running container of `service` uses, read with docker inspect. */
export async function runningDigest(
  project: string,
  service: string,
  repository: string,
): Promise<string | undefined> {
  const id = (
    await must("docker", [
      "ps",
      "-q",
      "--filter",
      `label=com.docker.compose.project=${project}`,
      "--filter",
      `label=com.docker.compose.service=${service}`,
    ])
  ).stdout
    .trim()
    .split("\n")[0];
  if (!id) return undefined;
  const image = inspect(id, "{{.Image}}");
  const digests = JSON.parse(inspect(image, "{{json .RepoDigests}}")) as string[];
  return digests.find((d) => d.startsWith(`${repository}@`))?.split("@")[1];
}

export async function must(
  cmd: string,
  args: readonly string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {},
): Promise<Run> {
  const r = await sh(cmd, args, opts);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${r.code}): ${r.stderr}`);
  return r;
}

/** The basic-auth registry's port and test user, as test/bed/auth-registry.sh set it up. */
export function authBed(): { registry: string; user: string; password: string } {
  const env = readFileSync(path.resolve(import.meta.dirname, "../bed/auth-registry.env"), "utf8");
  const get = (k: string) => new RegExp(`^${k}=(.*)$`, "m").exec(env)?.[1] ?? "";
  return {
    registry: `127.0.0.1:${get("DV_AUTH_REGISTRY_PORT")}`,
    user: get("DV_AUTH_USER"),
    password: get("DV_AUTH_PASSWORD"),
  };
}

/**
 * A `docker` first on PATH that logs each call's arguments, one line a call, then runs the real
 * one: `env` puts it first on PATH; `calls()` lists what ran since the last `reset()`.
 */
export function dockerCallLog(base: NodeJS.ProcessEnv): {
  env: NodeJS.ProcessEnv;
  reset: () => void;
  calls: () => string[];
  cleanup: () => void;
} {
  const dir = mkdtempSync(path.join(tmpdir(), "dv-docker-log-"));
  const log = path.join(dir, "calls.log");
  const realDocker = execFileSync("sh", ["-c", "command -v docker"], { encoding: "utf8" }).trim();
  writeFileSync(
    path.join(dir, "docker"),
    `#!/bin/sh\nprintf '%s\\n' "$*" >> '${log}'\nexec '${realDocker}' "$@"\n`,
  );
  chmodSync(path.join(dir, "docker"), 0o755);
  return {
    env: { ...base, PATH: `${dir}:${base.PATH ?? process.env.PATH}` },
    reset: () => writeFileSync(log, ""),
    calls: () => {
      try {
        return readFileSync(log, "utf8").split("\n").filter(Boolean);
      } catch {
        return [];
      }
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
