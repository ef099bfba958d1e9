// Runs the `docker` CLI as a child process, always with an argument array (never a shell
// string), prefixed with the Docker global options the plugin was invoked with.
import { spawn } from "node:child_process";
import { constants } from "node:fs";
import { open } from "node:fs/promises";
import { UserError } from "../errors.js";

export interface DockerCli {
  /** Docker global options (`--context x`, `-H …`, `--config …`), forwarded unchanged. */
  readonly globals: readonly string[];
  /** Environment for children (DOCKER_HOST, DOCKER_CONFIG, COMPOSE_* pass through it). */
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
}

export interface RunOptions {
  cwd?: string;
  /**
   * Let the child write to our terminal instead of capturing its output; "stdout" lets it draw
   * there (Docker's progress) and still captures stderr, where the reason of a failure is.
   */
  inherit?: boolean | "stdout";
  /** Extra environment for this call only. */
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  /** Killed because `timeoutMs` passed. */
  timedOut?: boolean;
}

export function dockerCli(
  globals: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
  cwd = process.cwd(),
): DockerCli {
  return { globals, env, cwd };
}

/** Runs `docker <globals> <args>`; resolves with the exit code and captured output. */
export function runDocker(
  cli: DockerCli,
  args: readonly string[],
  opts: RunOptions = {},
): Promise<RunResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn("docker", [...cli.globals, ...args], {
      cwd: opts.cwd ?? cli.cwd,
      env: opts.env ? { ...cli.env, ...opts.env } : cli.env,
      stdio:
        opts.inherit === "stdout"
          ? ["ignore", "inherit", "pipe"]
          : opts.inherit
            ? ["ignore", "inherit", "inherit"]
            : ["ignore", "pipe", "pipe"],
      timeout: opts.timeoutMs,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on("data", (b: Buffer) => out.push(b));
    child.stderr?.on("data", (b: Buffer) => err.push(b));
    child.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code === "ENOENT") reject(new UserError("the docker CLI was not found on PATH", "engine"));
      else reject(e);
    });
    child.on("close", (code, signal) => {
      resolve({
        code: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
        // Only the timeout kills the child here (the docker CLI exits 143 on it, not by the signal).
        ...(opts.timeoutMs !== undefined && child.killed && Date.now() - started >= opts.timeoutMs
          ? { timedOut: true }
          : {}),
      });
    });
  });
}

/** The last non-empty line of a child's stderr, which is where Docker and Compose put the cause. */
export function lastLine(text: string): string {
  const lines = text
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
  return lines[lines.length - 1] ?? "";
}

/** Runs `docker <globals> <args>` with its stdout written to `file` (for archives of any size). */
export async function dockerToFile(
  cli: DockerCli,
  args: readonly string[],
  file: string,
  mode = 0o666,
): Promise<RunResult> {
  // Never through a link: the output lands in `file` itself, created with `mode`.
  const { O_WRONLY, O_CREAT, O_TRUNC, O_NOFOLLOW } = constants;
  const handle = await open(file, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, mode);
  try {
    return await new Promise((resolve, reject) => {
      const child = spawn("docker", [...cli.globals, ...args], {
        cwd: cli.cwd,
        env: cli.env,
        stdio: ["ignore", handle.fd, "pipe"],
      });
      const err: Buffer[] = [];
      child.stderr?.on("data", (b: Buffer) => err.push(b));
      child.on("error", reject);
      child.on("close", (code) =>
        resolve({ code: code ?? 1, stdout: "", stderr: Buffer.concat(err).toString("utf8") }),
      );
    });
  } finally {
    await handle.sync().catch(() => {});
    await handle.close();
  }
}
