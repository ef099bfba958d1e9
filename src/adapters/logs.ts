// The captured logs of a project: one background process per role (app, db) that follows
// `docker compose logs` into logs/<role>/<YYYY-MM-DD>.log next to the compose file, its pid
// file, and reading those files back. The capture process is the plugin executable itself,
// re-run detached with the hidden `__capture-logs` command, so it outlives the command that
// started it and needs nothing besides the one executable.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { closeSync, existsSync, readdirSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import path from "node:path";
import { isSea } from "node:sea";
import { setTimeout as sleep } from "node:timers/promises";
import { CAPTURE_COMMAND, type CaptureKind, dayOf } from "../core/log-lines.js";
import { UserError } from "../errors.js";
import { clockFrom } from "./clock.js";
import type { ComposeProject } from "./compose.js";
import { type DockerCli, runDocker } from "./docker.js";
import { openOwned, ownedDirs, ownedFileStat, readOwned } from "./owned-files.js";

// A day's capture is read whole by logs-today; past this it is not printed (one line says so).
const MAX_DAY_FILE_BYTES = 256 * 1024 * 1024;

export const COMPOSE_LABEL_PROJECT = "com.docker.compose.project";

/** logs/ and logs/<kind>/ as real directories in the project directory (links refused). */
export function captureDirs(paths: CapturePaths): void {
  const root = path.dirname(paths.dir);
  ownedDirs(path.dirname(root), [path.basename(root), path.basename(paths.dir)]);
}

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

export function dayFile(paths: CapturePaths, day: string): string {
  return path.join(paths.dir, `${day}.log`);
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

export function releasePidFile(paths: CapturePaths): void {
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
