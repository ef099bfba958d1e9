// The captured logs of a project: one background process per role (app, db) that follows
// `docker compose logs` into logs/<role>/<YYYY-MM-DD>.log next to the compose file, its pid
// file, and reading those files back. The capture process is the plugin executable itself,
// re-run detached with the hidden `__capture-logs` command, so it outlives the command that
// started it and needs nothing besides the one executable.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import {
  closeSync,
  existsSync,
  readdirSync,
  readFileSync,
  readSync,
  statSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import path from "node:path";
import { isSea } from "node:sea";
import { setTimeout as sleep } from "node:timers/promises";
import { UserError } from "../errors.js";
import { type ComposeProject, composeArgs } from "./compose.js";
import { type DockerCli, runDocker } from "./docker.js";
import { openOwned, ownedDirs, ownedFileStat, readOwned } from "./owned-files.js";

// A day's capture is read whole by logs-today; past this it is not printed (one line says so).
const MAX_DAY_FILE_BYTES = 256 * 1024 * 1024;

/** logs/ and logs/<kind>/ as real directories in the project directory (links refused). */
function captureDirs(paths: CapturePaths): void {
  const root = path.dirname(paths.dir);
  ownedDirs(path.dirname(root), [path.basename(root), path.basename(paths.dir)]);
}

/** The hidden command the capture process runs. */
export const CAPTURE_COMMAND = "__capture-logs";
/**
 * A file holding an ISO date-time that stands in for "now" in the capture and the commands
 * that read today's files: the injectable clock of the tests (and of anyone checking rotation).
 */
export const CLOCK_FILE_VARIABLE = "DOCKER_VERSIONS_CLOCK_FILE";

/** Directory names of the two captures. */
export type CaptureKind = "app" | "db";
export const CAPTURE_KINDS: readonly CaptureKind[] = ["db", "app"];

export interface CapturePaths {
  kind: CaptureKind;
  /** logs/<kind>/, one file per day. */
  dir: string;
  /** logs/<kind>.pid while the capture runs. */
  pidFile: string;
  /** logs/<kind>.capture.log: what the capture process itself has to say (restarts, errors). */
  diagnostics: string;
}

/** Where the captured logs of a project live: `logs/` next to its first compose file. */
export function logsRoot(project: Pick<ComposeProject, "files">): string {
  return path.join(path.dirname(project.files[0] as string), "logs");
}

export function capturePaths(root: string, kind: CaptureKind): CapturePaths {
  return {
    kind,
    dir: path.join(root, kind),
    pidFile: path.join(root, `${kind}.pid`),
    diagnostics: path.join(root, `${kind}.capture.log`),
  };
}

// ---------------------------------------------------------------------------------------------
// The clock

/** Real time, unless `DOCKER_VERSIONS_CLOCK_FILE` names a file with a date-time in it. */
export function clockFrom(env: NodeJS.ProcessEnv): () => Date {
  const file = env[CLOCK_FILE_VARIABLE];
  if (!file) return () => new Date();
  let cached: { at: number; value: Date } | undefined;
  return () => {
    const now = Date.now();
    if (cached && now - cached.at < 200) return cached.value;
    let value = new Date();
    try {
      const parsed = new Date(readFileSync(file, "utf8").trim());
      if (!Number.isNaN(parsed.getTime())) value = parsed;
    } catch {
      // no file (yet): real time
    }
    cached = { at: now, value };
    return value;
  };
}

const two = (n: number) => String(n).padStart(2, "0");

/** The local calendar day of a date, as the captured files are named: 2026-01-12. */
export function dayOf(d: Date): string {
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}`;
}

export function dayFile(paths: CapturePaths, day: string): string {
  return path.join(paths.dir, `${day}.log`);
}

// ---------------------------------------------------------------------------------------------
// Lines: what Compose prints, what the files hold

// biome-ignore lint/suspicious/noControlCharactersInRegex: Compose clears the line even without colour
const ANSI = /\u001b\[[0-9;?]*[A-Za-z]/g;
/** Text without terminal escape sequences. */
export const stripAnsi = (text: string): string => text.replace(ANSI, "");

const TIMESTAMP = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z(?: |$)/;

/** RFC 3339 UTC with exactly nine fraction digits, so timestamps compare as strings. */
export function normalTimestamp(ts: string): string | undefined {
  const m = TIMESTAMP.exec(ts.endsWith(" ") ? ts : `${ts} `);
  if (!m) return undefined;
  return `${m[1]}.${(m[2] ?? "").padEnd(9, "0")}Z`;
}

export const isoNano = (d: Date): string => normalTimestamp(d.toISOString()) as string;

export interface ComposeLine {
  /** Container as Compose prefixes it ("db-1"); for Compose's own notices, the one it names. */
  container: string;
  /** The container's timestamp, normalised; absent on Compose's own notices. */
  ts?: string;
  text: string;
  /** Compose's own line ("db-1 exited with code 137"), not the container's output. */
  notice: boolean;
}

/** One line of `docker compose logs --timestamps --no-color`. */
export function parseComposeLine(raw: string): ComposeLine | null {
  const line = raw.replace(ANSI, "").replace(/\r$/, "");
  if (!line.trim()) return null;
  const m = /^(\S+)\s+\| ?(.*)$/.exec(line);
  if (m) {
    const rest = m[2] as string;
    const t = TIMESTAMP.exec(rest);
    if (t) {
      return {
        container: m[1] as string,
        ts: normalTimestamp(t[0].trimEnd()),
        text: rest.slice(t[0].length),
        notice: false,
      };
    }
    return { container: m[1] as string, text: rest, notice: false };
  }
  const first = line.split(" ", 1)[0] as string;
  return { container: first, text: line.slice(first.length + 1), notice: true };
}

/** A line as the capture writes it: `<timestamp> <container> | <text>` (`*` for Compose's notices). */
export function formatCaptured(line: ComposeLine, fallbackTs: string): string {
  return `${line.ts ?? fallbackTs} ${line.container} ${line.notice ? "*" : "|"} ${line.text}`;
}

export interface CapturedLine {
  ts: string;
  container: string;
  /** The compose service: the container name without its replica number. */
  service: string;
  text: string;
  notice: boolean;
  raw: string;
}

/** Reads back one line of a captured file. */
export function parseCaptured(raw: string): CapturedLine | null {
  const m = /^(\S+) (\S+) ([|*]) ?(.*)$/.exec(raw);
  if (!m) return null;
  const ts = normalTimestamp(m[1] as string);
  if (!ts) return null;
  const container = m[2] as string;
  return {
    ts,
    container,
    service: container.replace(/-\d+$/, ""),
    text: m[4] as string,
    notice: m[3] === "*",
    raw,
  };
}

/**
 * Which container lines were written already. A high-water mark per container, and the exact
 * timestamps of the last few minutes below it: Compose attaches late to a restarted container
 * and can deliver its first lines after later ones, so "older than the newest" is not "seen".
 */
export class SeenLines {
  readonly #last = new Map<string, string>();
  readonly #recent = new Map<string, Set<string>>();

  constructor(readonly windowMs = 5 * 60_000) {}

  #cutoff(ts: string): string {
    return isoNano(new Date(Date.parse(ts) - this.windowMs));
  }

  /** True the first time a container's line with this timestamp is offered. */
  fresh(container: string, ts: string): boolean {
    const last = this.#last.get(container);
    if (last && ts <= this.#cutoff(last)) return false;
    let recent = this.#recent.get(container);
    if (!recent) {
      recent = new Set();
      this.#recent.set(container, recent);
    }
    if (recent.has(ts)) return false;
    recent.add(ts);
    if (!last || ts > last) {
      this.#last.set(container, ts);
      if (recent.size > 2_000) {
        const cutoff = this.#cutoff(ts);
        for (const t of recent) if (t <= cutoff) recent.delete(t);
      }
    }
    return true;
  }

  /** Where following from scratch should start: the oldest container's newest line. */
  oldest(): string | undefined {
    return [...this.#last.values()].sort()[0];
  }

  /** What a file already holds (its container lines; Compose's notices are not counted). */
  static fromCaptured(text: string, windowMs?: number): SeenLines {
    const seen = new SeenLines(windowMs);
    for (const raw of text.split("\n")) {
      const l = parseCaptured(raw);
      if (l && !l.notice) seen.fresh(l.container, l.ts);
    }
    return seen;
  }
}

// ---------------------------------------------------------------------------------------------
// The pid file and whether a pid is really a capture of this project

/** The pid in a pid file, if there is a well-formed one. */
export function readPid(file: string): number | undefined {
  try {
    const n = Number.parseInt((readOwned(file, 64) ?? "").trim(), 10);
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

function commandLine(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
  } catch {
    if (existsSync("/proc/self")) return [];
  }
  try {
    // Without /proc (macOS): ps prints the arguments joined by spaces.
    return execFileSync("ps", ["-o", "args=", "-p", String(pid)], { encoding: "utf8" })
      .trim()
      .split(/\s+/);
  } catch {
    return [];
  }
}

/** Whether `pid` is alive and is the capture process of `kind` for project `project` (not a reused pid). */
export function isCaptureProcess(pid: number, project: string, kind: CaptureKind): boolean {
  const argv = commandLine(pid);
  const at = argv.indexOf(CAPTURE_COMMAND);
  if (at < 0) return false;
  const after = argv.slice(at);
  const value = (flag: string) => after[after.indexOf(flag) + 1];
  return value("-p") === project && value("--kind") === kind;
}

export interface CaptureState {
  kind: CaptureKind;
  running: boolean;
  pid?: number;
  pidFile: string;
  dir: string;
}

export function captureState(paths: CapturePaths, project: string): CaptureState {
  const pid = readPid(paths.pidFile);
  const running = pid !== undefined && isCaptureProcess(pid, project, paths.kind);
  return {
    kind: paths.kind,
    running,
    pid: running ? pid : undefined,
    pidFile: paths.pidFile,
    dir: paths.dir,
  };
}

/**
 * Claims the pid file for this process. False when a live capture of the same project and kind
 * already holds it; a stale file (dead pid, or a pid now used by something else) is replaced.
 */
export function claimPidFile(paths: CapturePaths, project: string): boolean {
  captureDirs(paths);
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const fd = openOwned(paths.pidFile, "create");
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    const holder = readPid(paths.pidFile);
    if (holder === process.pid) return true;
    if (holder !== undefined && isCaptureProcess(holder, project, paths.kind)) return false;
    try {
      unlinkSync(paths.pidFile);
    } catch {
      // another starter removed it first
    }
  }
  return false;
}

function releasePidFile(paths: CapturePaths): void {
  if (readPid(paths.pidFile) === process.pid) {
    try {
      unlinkSync(paths.pidFile);
    } catch {
      // already gone
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Starting and stopping a capture from a command

/** How to run this same program again: the single executable, or node with the script in dev. */
export function selfCommand(): string[] {
  let sea = false;
  try {
    sea = isSea();
  } catch {
    sea = false;
  }
  return sea ? [process.execPath] : [process.execPath, ...process.execArgv, process.argv[1] as string];
}

export interface StartCapture {
  cli: DockerCli;
  project: ComposeProject;
  paths: CapturePaths;
  /** Compose's global options that pin the child to this project (-f, -p, --env-file, …). */
  projectArgs: string[];
  waitMs?: number;
}

export interface StartedCapture {
  pid: number;
  /** False when a capture was already running. */
  started: boolean;
}

/** Starts the capture of one kind unless one runs; resolves once its pid file names it. */
export async function startCapture(opts: StartCapture): Promise<StartedCapture> {
  const { paths, project } = opts;
  const current = captureState(paths, project.name);
  if (current.running && current.pid) return { pid: current.pid, started: false };
  // Every file the capture will write is checked here, so a link is refused by the command
  // with one line rather than by the background process.
  captureDirs(paths);
  ownedFileStat(paths.pidFile);
  ownedFileStat(dayFile(paths, dayOf(clockFrom(opts.cli.env)())));
  const [exe, ...pre] = selfCommand() as [string, ...string[]];
  const out = openOwned(paths.diagnostics, "append");
  let child: ChildProcess;
  try {
    child = spawn(
      exe,
      [...pre, ...opts.cli.globals, CAPTURE_COMMAND, "--kind", paths.kind, ...opts.projectArgs],
      { cwd: project.workingDir, env: opts.cli.env, detached: true, stdio: ["ignore", out, out] },
    );
  } finally {
    closeSync(out);
  }
  let exited: number | null | undefined;
  child.on("exit", (code) => {
    exited = code;
  });
  child.on("error", () => {
    exited = -1;
  });
  child.unref();
  const deadline = Date.now() + (opts.waitMs ?? 10_000);
  while (Date.now() < deadline) {
    const state = captureState(paths, project.name);
    if (state.running && state.pid) return { pid: state.pid, started: state.pid === child.pid };
    if (exited !== undefined) break;
    await sleep(50);
  }
  const why = lastDiagnostic(paths);
  throw new UserError(`the ${paths.kind} log capture did not start${why ? `: ${why}` : ""}`);
}

function lastDiagnostic(paths: CapturePaths): string {
  try {
    const lines = (readOwned(paths.diagnostics, 16 * 1024 * 1024) ?? "").trim().split("\n");
    return (lines[lines.length - 1] ?? "").trim();
  } catch {
    return "";
  }
}

/** Stops the capture of one kind (its whole process group); true when one was running. */
export async function stopCapture(paths: CapturePaths, project: string): Promise<CaptureState> {
  const state = captureState(paths, project);
  if (state.running && state.pid) {
    const pid = state.pid;
    const signal = (sig: NodeJS.Signals) => {
      try {
        // The capture leads its own process group: its `docker compose logs` goes with it.
        process.kill(-pid, sig);
      } catch {
        try {
          process.kill(pid, sig);
        } catch {
          // gone
        }
      }
    };
    signal("SIGTERM");
    const deadline = Date.now() + 5_000;
    while (isCaptureProcess(pid, project, paths.kind) && Date.now() < deadline) await sleep(50);
    if (isCaptureProcess(pid, project, paths.kind)) signal("SIGKILL");
  }
  if (existsSync(paths.pidFile) && !captureState(paths, project).running) {
    try {
      unlinkSync(paths.pidFile);
    } catch {
      // the capture removed it as it stopped
    }
  }
  return state;
}

// ---------------------------------------------------------------------------------------------
// The capture process itself

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

const COMPOSE_LABEL_PROJECT = "com.docker.compose.project";

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
  const { paths, project, cli } = opts;
  const say = opts.say ?? ((l: string) => process.stdout.write(`${isoNano(new Date())} ${l}\n`));
  if (!claimPidFile(paths, project.name)) {
    say(`a ${paths.kind} capture already runs for ${project.name} (pid ${readPid(paths.pidFile)}); exiting`);
    return 0;
  }
  const seen = resumePoint(paths);
  // Where the next `compose logs` starts (ms since the epoch), when not from what the files hold:
  // a little before the last one ended, or before a container of ours (re)started.
  let resumeFrom: number | undefined;
  const resumeAt = (ms: number) => {
    resumeFrom = Math.min(resumeFrom ?? ms, ms);
  };
  const writer = new DayWriter(paths, opts.clock);
  let follower: ChildProcess | undefined;
  let stopping = false;
  let wake: (() => void) | undefined;
  const stop = () => {
    stopping = true;
    follower?.kill("SIGTERM");
    wake?.();
  };
  for (const sig of ["SIGTERM", "SIGINT", "SIGHUP"] as const) process.on(sig, stop);
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  say(`capturing ${paths.kind} logs of ${project.name} (${opts.services.join(", ")}) into ${paths.dir}`);

  /** Compose's lines as the file gets them: new ones only, timestamp first. */
  const take = (raws: string[]): string[] => {
    const now = isoNano(opts.clock());
    const out: string[] = [];
    for (const raw of raws) {
      const line = parseComposeLine(raw);
      if (!line || (line.ts && !seen.fresh(line.container, line.ts))) continue;
      out.push(formatCaptured(line, now));
    }
    return out;
  };

  const follow = () =>
    new Promise<number>((resolve) => {
      const since = resumeFrom !== undefined ? isoNano(new Date(resumeFrom)) : seen.oldest();
      resumeFrom = undefined;
      const args = [
        ...cli.globals,
        ...composeArgs(project),
        "logs",
        "--follow",
        "--timestamps",
        "--no-color",
        ...(since ? ["--since", since] : []),
        ...opts.services,
      ];
      const child = spawn("docker", args, {
        cwd: project.workingDir,
        env: opts.env ? { ...cli.env, ...opts.env } : cli.env,
        stdio: ["ignore", "pipe", "pipe"],
      });
      follower = child;
      let partial = "";
      child.stdout?.setEncoding("utf8");
      child.stdout?.on("data", (chunk: string) => {
        const parts = (partial + chunk).split("\n");
        partial = parts.pop() ?? "";
        writer.write(take(parts));
      });
      child.stderr?.setEncoding("utf8");
      child.stderr?.on("data", (chunk: string) => {
        // "canceled" is Compose acknowledging our own SIGTERM when we follow again.
        for (const l of chunk.split("\n"))
          if (l.trim() && l.trim() !== "canceled") say(`compose: ${l.trim()}`);
      });
      child.on("error", (e) => {
        say(`cannot run docker: ${e.message}`);
        resolve(127);
      });
      child.on("close", (code) => {
        writer.write(take([partial]));
        partial = "";
        resumeAt(Date.now() - 5_000);
        resolve(code ?? 0);
      });
    });

  // Compose attaches to a restarted or recreated container late and misses its first lines;
  // following again from the last timestamp written picks them up, so every start of one of
  // our containers (seen in the engine's events) makes the capture follow again a moment later.
  let refollow = false;
  let refollowTimer: NodeJS.Timeout | undefined;
  const refollowSoon = () => {
    refollowTimer ??= setTimeout(() => {
      refollowTimer = undefined;
      refollow = true;
      follower?.kill("SIGTERM");
      wake?.();
    }, 1_000);
  };
  let watcher: ChildProcess | undefined;
  const watchStarts = () => {
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
        if (!service || !opts.services.includes(service)) continue;
        resumeAt(Number(nano) / 1e6 - 1_000);
        refollowSoon();
      }
    });
    child.on("error", () => {});
    child.on("close", () => {
      if (watcher === child) watcher = undefined;
    });
    watcher = child;
  };

  const grace = opts.goneGraceMs ?? 15_000;
  let goneSince: number | undefined;
  let quickEnds = 0;
  try {
    while (!stopping) {
      if (!watcher) watchStarts();
      const state = await projectContainers(cli, project.name);
      if (stopping) break;
      if (state && !state.any) {
        goneSince ??= Date.now();
        if (Date.now() - goneSince >= grace) {
          say("the project has no containers any more; the capture ends");
          break;
        }
      } else goneSince = undefined;
      let wait = 3_000; // nothing of ours runs: look again now and then
      if (state && opts.services.some((s) => state.running.has(s))) {
        const started = Date.now();
        const code = await follow();
        if (stopping) break;
        if (refollow) {
          refollow = false;
          continue;
        }
        // Compose that ends at once again and again (a broken project) is not retried every second.
        quickEnds = Date.now() - started < 5_000 ? quickEnds + 1 : 0;
        wait = Math.min(30_000, 1_000 * 2 ** quickEnds);
        say(`docker compose logs ended (exit ${code}); following again when a container runs`);
      }
      await pause(wait);
    }
  } finally {
    if (refollowTimer) clearTimeout(refollowTimer);
    watcher?.kill("SIGTERM");
    writer.close();
    releasePidFile(paths);
  }
  say("capture stopped");
  return 0;
}

// ---------------------------------------------------------------------------------------------
// Reading captured files

/** The days for which a kind has a captured file, oldest first. */
export function capturedDays(paths: CapturePaths): string[] {
  try {
    return readdirSync(paths.dir)
      .filter((f) => /^\d{4}-\d\d-\d\d\.log$/.test(f))
      .map((f) => f.slice(0, 10))
      .sort();
  } catch {
    return [];
  }
}

/** The lines of one day's file, or null when there is none. */
export function readCaptured(paths: CapturePaths, day: string): string[] | null {
  try {
    const text = readOwned(dayFile(paths, day), MAX_DAY_FILE_BYTES);
    return text === null ? null : text.split("\n").filter((l) => l.length > 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------
// The engine's own record of container deaths

export interface ContainerEvent {
  /** die, oom, stop, kill */
  action: string;
  service: string;
  container: string;
  id: string;
  time: Date;
  exitCode?: number;
  signal?: string;
}

/** When each container last stopped (State.FinishedAt), by full ID; never-stopped ones are left out. */
export async function finishTimes(cli: DockerCli, ids: readonly string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if (ids.length === 0) return out;
  const res = await runDocker(cli, [
    "container",
    "inspect",
    "--format",
    "{{.Id}} {{.State.FinishedAt}}",
    ...ids,
  ]);
  for (const line of res.stdout.split("\n")) {
    const [id, at] = line.trim().split(" ");
    if (id && at && !at.startsWith("0001-")) out.set(id, at);
  }
  return out;
}

/**
 * Container deaths, OOM events and stops of a project between two times, from `docker events`.
 * The engine remembers only its most recent events: an empty answer proves nothing.
 */
export async function containerEvents(
  cli: DockerCli,
  project: string,
  since: Date,
  until: Date,
): Promise<ContainerEvent[]> {
  const sec = (d: Date) => (d.getTime() / 1000).toFixed(3);
  const res = await runDocker(cli, [
    "events",
    "--since",
    sec(since),
    "--until",
    sec(until),
    "--filter",
    "type=container",
    "--filter",
    `label=${COMPOSE_LABEL_PROJECT}=${project}`,
    "--filter",
    "event=die",
    "--filter",
    "event=oom",
    "--filter",
    "event=stop",
    "--filter",
    "event=kill",
    "--format",
    "{{json .}}",
  ]);
  if (res.code !== 0) return [];
  type Raw = {
    Action?: string;
    id?: string;
    timeNano?: number;
    time?: number;
    Actor?: { ID?: string; Attributes?: Record<string, string> };
  };
  const events: ContainerEvent[] = [];
  for (const line of res.stdout.split("\n")) {
    if (!line.trim()) continue;
    let raw: Raw;
    try {
      raw = JSON.parse(line) as Raw;
    } catch {
      continue;
    }
    const attrs = raw.Actor?.Attributes ?? {};
    const exit = attrs.exitCode;
    events.push({
      action: raw.Action ?? "",
      service: attrs["com.docker.compose.service"] ?? "",
      container: attrs.name ?? "",
      id: raw.Actor?.ID ?? raw.id ?? "",
      time: new Date(raw.timeNano ? raw.timeNano / 1e6 : (raw.time ?? 0) * 1000),
      exitCode: exit === undefined ? undefined : Number(exit),
      signal: attrs.signal,
    });
  }
  return events;
}

// ---------------------------------------------------------------------------------------------
// Small rules for reading captured logs

// What a database says when it is in real trouble (ordinary query errors are left out).
const ERROR_LINE =
  /\b(?:fatal|panic|oom|oom[- ]?kill(?:ed|er)?)\b|out ?of ?memory|cannot allocate memory|killed process|segmentation fault|core dumped/i;

/** Whether a captured line speaks of a fatal error, a panic or memory exhaustion. */
export function isErrorLine(text: string): boolean {
  return ERROR_LINE.test(text);
}

const UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `--since`: a duration back from now (90s, 30m, 2h, 1d, 1h30m) or a date-time; undefined if neither. */
export function parseSince(text: string, now: Date): Date | undefined {
  const t = text.trim();
  if (/^(\d+[smhd])+$/.test(t)) {
    let ms = 0;
    for (const [, n, unit] of t.matchAll(/(\d+)([smhd])/g)) ms += Number(n) * (UNITS[unit as string] ?? 0);
    return new Date(now.getTime() - ms);
  }
  if (!/^\d{4}-\d\d-\d\d/.test(t)) return undefined;
  const d = new Date(t);
  return Number.isNaN(d.getTime()) ? undefined : d;
}
