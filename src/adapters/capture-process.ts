// The capture process: the plugin executable re-run detached as `__capture-logs`, following
// `docker compose logs` of one kind's services into logs/<kind>/<YYYY-MM-DD>.log until `down`
// signals it, or until the project has had no container for a while. Starting and stopping it,
// and the pid file, are in logs.ts; the lines' rules are in core/log-lines.ts.
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, readdirSync, readSync, statSync, writeSync } from "node:fs";
import path from "node:path";
import { dayOf, formatCaptured, isoNano, parseComposeLine, SeenLines } from "../core/log-lines.js";
import { type ComposeProject, composeArgs } from "./compose.js";
import { type DockerCli, runDocker } from "./docker.js";
import {
  type CapturePaths,
  COMPOSE_LABEL_PROJECT,
  captureDirs,
  claimPidFile,
  dayFile,
  readPid,
  releasePidFile,
} from "./logs.js";
import { openOwned } from "./owned-files.js";

export interface RunCapture {
  cli: DockerCli;
  /** The project with the env files every Compose call gets (versions.env last). */
  project: ComposeProject;
  /** Extra environment for Compose (pinned variables blanked). */
  env?: NodeJS.ProcessEnv;
  paths: CapturePaths;
  services: readonly string[];
  clock: () => Date;
  /** How long the project may have no container at all before the capture ends by itself. */
  goneGraceMs?: number;
  /** Where the capture reports on itself (its diagnostics file). */
  say?: (line: string) => void;
}

/** What the newest captured file of a kind holds, read from its end (enough to resume from). */
function resumePoint(paths: CapturePaths): SeenLines {
  let files: string[];
  try {
    files = readdirSync(paths.dir)
      .filter((f) => /^\d{4}-\d\d-\d\d\.log$/.test(f))
      .sort();
  } catch {
    return new SeenLines();
  }
  const newest = files[files.length - 1];
  if (!newest) return new SeenLines();
  const file = path.join(paths.dir, newest);
  const size = statSync(file).size;
  const length = Math.min(size, 256 * 1024);
  const buf = Buffer.alloc(length);
  let fd: number;
  try {
    fd = openOwned(file, "read");
  } catch {
    return new SeenLines();
  }
  try {
    readSync(fd, buf, 0, length, size - length);
  } finally {
    closeSync(fd);
  }
  return SeenLines.fromCaptured(buf.toString("utf8"));
}

/** Writes captured lines into the file of the clock's current day, switching files at midnight. */
class DayWriter {
  #day?: string;
  #fd?: number;
  constructor(
    private readonly paths: CapturePaths,
    private readonly clock: () => Date,
  ) {}

  write(lines: string[]): void {
    if (lines.length === 0) return;
    const day = dayOf(this.clock());
    if (day !== this.#day || this.#fd === undefined) {
      this.close();
      captureDirs(this.paths);
      this.#fd = openOwned(dayFile(this.paths, day), "append");
      this.#day = day;
    }
    writeSync(this.#fd, `${lines.join("\n")}\n`);
  }

  close(): void {
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }
}

/** Services of the project with a running container, and whether it has any container at all. */
async function projectContainers(
  cli: DockerCli,
  project: string,
): Promise<{ running: Set<string>; any: boolean } | null> {
  const res = await runDocker(cli, [
    "ps",
    "--all",
    "--filter",
    `label=${COMPOSE_LABEL_PROJECT}=${project}`,
    "--format",
    '{{.State}}\t{{.Label "com.docker.compose.service"}}',
  ]);
  if (res.code !== 0) return null;
  const rows = res.stdout
    .split("\n")
    .filter(Boolean)
    .map((l) => l.split("\t"));
  return {
    running: new Set(
      rows.filter(([state]) => state === "running" || state === "restarting").map((r) => r[1] ?? ""),
    ),
    any: rows.length > 0,
  };
}

/**
 * Follows the logs of `services` into the day files until signalled, or until the project has
 * had no container for the grace period. Compose follows restarted and recreated containers
 * itself, if late; when it ends (every followed container stopped), or a container of ours
 * starts, it is run again from the newest timestamp already written, and lines seen before
 * are not written twice.
 */
export async function runCapture(opts: RunCapture): Promise<number> {
  const say = opts.say ?? ((l: string) => process.stdout.write(`${isoNano(new Date())} ${l}\n`));
  const { paths, project } = opts;
  if (!claimPidFile(paths, project.name)) {
    say(`a ${paths.kind} capture already runs for ${project.name} (pid ${readPid(paths.pidFile)}); exiting`);
    return 0;
  }
  const run = new CaptureRun(opts, say);
  for (const sig of ["SIGTERM", "SIGINT", "SIGHUP"] as const) process.on(sig, () => run.stop());
  say(`capturing ${paths.kind} logs of ${project.name} (${opts.services.join(", ")}) into ${paths.dir}`);
  try {
    await run.loop();
  } finally {
    run.close();
    releasePidFile(paths);
  }
  say("capture stopped");
  return 0;
}

/** One capture process's state: what was written, the Compose follower, the events watcher. */
class CaptureRun {
  private readonly seen: SeenLines;
  private readonly writer: DayWriter;
  // Where the next `compose logs` starts (ms since the epoch), when not from what the files hold:
  // a little before the last one ended, or before a container of ours (re)started.
  private resumeFrom: number | undefined;
  private follower: ChildProcess | undefined;
  private watcher: ChildProcess | undefined;
  private stopping = false;
  private wake: (() => void) | undefined;
  private refollow = false;
  private refollowTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly opts: RunCapture,
    private readonly say: (line: string) => void,
  ) {
    this.seen = resumePoint(opts.paths);
    this.writer = new DayWriter(opts.paths, opts.clock);
  }

  stop(): void {
    this.stopping = true;
    this.follower?.kill("SIGTERM");
    this.wake?.();
  }

  close(): void {
    if (this.refollowTimer) clearTimeout(this.refollowTimer);
    this.watcher?.kill("SIGTERM");
    this.writer.close();
  }

  private resumeAt(ms: number): void {
    this.resumeFrom = Math.min(this.resumeFrom ?? ms, ms);
  }

  private pause(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }

  /** Follows while a container of ours runs, looks again now and then while none does. */
  async loop(): Promise<void> {
    const { cli, project } = this.opts;
    const grace = this.opts.goneGraceMs ?? 15_000;
    let goneSince: number | undefined;
    let quickEnds = 0;
    while (!this.stopping) {
      if (!this.watcher) this.watchStarts();
      const state = await projectContainers(cli, project.name);
      if (this.stopping) break;
      if (state && !state.any) {
        goneSince ??= Date.now();
        if (Date.now() - goneSince >= grace) {
          this.say("the project has no containers any more; the capture ends");
          break;
        }
      } else goneSince = undefined;
      let wait = 3_000; // nothing of ours runs: look again now and then
      if (state && this.opts.services.some((s) => state.running.has(s))) {
        const started = Date.now();
        const code = await this.follow();
        if (this.stopping) break;
        if (this.refollow) {
          this.refollow = false;
          continue;
        }
        // Compose that ends at once again and again (a broken project) is not retried every second.
        quickEnds = Date.now() - started < 5_000 ? quickEnds + 1 : 0;
        wait = Math.min(30_000, 1_000 * 2 ** quickEnds);
        this.say(`docker compose logs ended (exit ${code}); following again when a container runs`);
      }
      await this.pause(wait);
    }
  }

  /** Compose's lines as the file gets them: new ones only, timestamp first. */
  private take(raws: string[]): string[] {
    const now = isoNano(this.opts.clock());
    const out: string[] = [];
    for (const raw of raws) {
      const line = parseComposeLine(raw);
      if (!line || (line.ts && !this.seen.fresh(line.container, line.ts))) continue;
      out.push(formatCaptured(line, now));
    }
    return out;
  }

  /** One `docker compose logs --follow`, until it ends or is stopped; its exit code. */
  private follow(): Promise<number> {
    const { cli, project } = this.opts;
    return new Promise<number>((resolve) => {
      const since = this.resumeFrom !== undefined ? isoNano(new Date(this.resumeFrom)) : this.seen.oldest();
      this.resumeFrom = undefined;
      const args = [
        ...cli.globals,
        ...composeArgs(project),
        "logs",
        "--follow",
        "--timestamps",
        "--no-color",
        ...(since ? ["--since", since] : []),
        ...this.opts.services,
      ];
      const child = spawn("docker", args, {
        cwd: project.workingDir,
        env: this.opts.env ? { ...cli.env, ...this.opts.env } : cli.env,
        stdio: ["ignore", "pipe", "pipe"],
      });
      this.follower = child;
      let partial = "";
      child.stdout?.setEncoding("utf8");
      child.stdout?.on("data", (chunk: string) => {
        const parts = (partial + chunk).split("\n");
        partial = parts.pop() ?? "";
        this.writer.write(this.take(parts));
      });
      child.stderr?.setEncoding("utf8");
      child.stderr?.on("data", (chunk: string) => {
        // "canceled" is Compose acknowledging our own SIGTERM when we follow again.
        for (const l of chunk.split("\n"))
          if (l.trim() && l.trim() !== "canceled") this.say(`compose: ${l.trim()}`);
      });
      child.on("error", (e) => {
        this.say(`cannot run docker: ${e.message}`);
        resolve(127);
      });
      child.on("close", (code) => {
        this.writer.write(this.take([partial]));
        partial = "";
        this.resumeAt(Date.now() - 5_000);
        resolve(code ?? 0);
      });
    });
  }

  // Compose attaches to a restarted or recreated container late and misses its first lines;
  // following again from the last timestamp written picks them up, so every start of one of
  // our containers (seen in the engine's events) makes the capture follow again a moment later.
  private refollowSoon(): void {
    this.refollowTimer ??= setTimeout(() => {
      this.refollowTimer = undefined;
      this.refollow = true;
      this.follower?.kill("SIGTERM");
      this.wake?.();
    }, 1_000);
  }

  private watchStarts(): void {
    const { cli, project } = this.opts;
    const child = spawn(
      "docker",
      [
        ...cli.globals,
        "events",
        "--filter",
        "type=container",
        "--filter",
        `label=${COMPOSE_LABEL_PROJECT}=${project.name}`,
        "--filter",
        "event=start",
        "--format",
        '{{.TimeNano}} {{index .Actor.Attributes "com.docker.compose.service"}}',
      ],
      { env: cli.env, stdio: ["ignore", "pipe", "ignore"] },
    );
    child.stdout?.setEncoding("utf8");
    child.stdout?.on("data", (chunk: string) => {
      for (const l of chunk.split("\n")) {
        const [nano, service] = l.trim().split(" ");
        if (!service || !this.opts.services.includes(service)) continue;
        this.resumeAt(Number(nano) / 1e6 - 1_000);
        this.refollowSoon();
      }
    });
    child.on("error", () => {});
    child.on("close", () => {
      if (this.watcher === child) this.watcher = undefined;
    });
    this.watcher = child;
  }
}
