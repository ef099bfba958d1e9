// Installs, shows and removes a project's schedule: a systemd service + timer pair per job when
// systemd runs (system units as root, user units otherwise), else a block in the user's
// crontab between markers. What was installed is written to version-schedule.json next to the
// manifest, so `schedule remove` removes exactly that. Every program runs with an argument
// array; the crontab goes through `crontab -` on stdin.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { homedir } from "node:os";
import path from "node:path";
import {
  blockIn,
  crontabBlock,
  type ScheduleSpec,
  unitFiles,
  withBlock,
  withoutBlock,
} from "../core/schedule.js";
import { sha256Hex } from "../core/sha256.js";
import { UserError } from "../errors.js";
import { readOwned } from "./owned-files.js";
import { readText, writeAtomic } from "./store.js";

export const SCHEDULE_FILE = "version-schedule.json";
export type Scheduler = "systemd" | "cron";

export interface InstalledSchedule {
  schema: 1;
  scheduler: Scheduler;
  installed_at: string;
  id: string;
  jobs: { name: string; when: string; command: string }[];
  /** systemd: where the unit files are, and whether they are user units. */
  units?: { dir: string; user: boolean; files: string[]; enabled: boolean };
  /** cron: whose crontab (absent: the invoking user's) and the block written into it. */
  crontab?: { user?: string; block: string };
}

/** What `schedule install` did or would do. */
export interface ScheduleReport {
  installed: InstalledSchedule;
  /** Lines saying what was written and run (or what an operator must still do). */
  notes: string[];
}

export function scheduleStatePath(manifestPath: string): string {
  return path.join(path.dirname(manifestPath), SCHEDULE_FILE);
}

/** systemd is the init system when /run/systemd/system exists (what sd_booted checks). */
export function systemdRuns(): boolean {
  return existsSync("/run/systemd/system");
}

/** The block's marker id: the project and a hash of its manifest path (two copies never collide). */
export function scheduleId(project: string, manifestPath: string): string {
  return `${project} ${sha256Hex(manifestPath).slice(0, 12)}`;
}

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: readonly string[], input?: string, env = process.env): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ["pipe", "pipe", "pipe"], timeout: 30_000 });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (b: Buffer) => (stdout += b.toString("utf8")));
    child.stderr.on("data", (b: Buffer) => (stderr += b.toString("utf8")));
    child.stdin.on("error", () => {});
    child.on("error", (e: NodeJS.ErrnoException) =>
      reject(e.code === "ENOENT" ? new UserError(`${cmd} was not found on PATH`) : e),
    );
    child.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr }));
    child.stdin.end(input ?? "");
  });
}

const lastLine = (s: string) => s.trim().split("\n").at(-1) ?? "";

// Test only: DOCKER_VERSIONS_CRONTAB_USER makes every crontab call `crontab -u USER` (root
// only), so the tests can use a throwaway user's crontab instead of root's own.
function crontabArgs(env: NodeJS.ProcessEnv, user?: string): string[] {
  const u = user ?? env.DOCKER_VERSIONS_CRONTAB_USER;
  return u ? ["-u", u] : [];
}

async function readCrontab(env: NodeJS.ProcessEnv, user?: string): Promise<string> {
  const r = await run("crontab", [...crontabArgs(env, user), "-l"], undefined, env);
  if (r.code === 0) return r.stdout;
  if (/no crontab for/i.test(r.stderr)) return "";
  throw new UserError(`crontab -l failed: ${lastLine(r.stderr) || `exit ${r.code}`}`);
}

async function writeCrontab(env: NodeJS.ProcessEnv, text: string, user?: string): Promise<void> {
  // An empty crontab is removed rather than left empty: as it was before the install.
  const r =
    text.trim() === ""
      ? await run("crontab", [...crontabArgs(env, user), "-r"], undefined, env)
      : await run("crontab", [...crontabArgs(env, user), "-"], text, env);
  if (r.code !== 0 && !(text.trim() === "" && /no crontab for/i.test(r.stderr)))
    throw new UserError(`crontab could not be written: ${lastLine(r.stderr) || `exit ${r.code}`}`);
}

/**
 * Where unit files go: /etc/systemd/system for root, ~/.config/systemd/user otherwise.
 * Test only: DOCKER_VERSIONS_SYSTEMD_DIR puts them elsewhere, and systemctl is then not run.
 */
function unitDir(env: NodeJS.ProcessEnv): { dir: string; user: boolean; override: boolean } {
  if (env.DOCKER_VERSIONS_SYSTEMD_DIR)
    return { dir: env.DOCKER_VERSIONS_SYSTEMD_DIR, user: false, override: true };
  if (process.getuid?.() === 0) return { dir: "/etc/systemd/system", user: false, override: false };
  return { dir: path.join(env.HOME || homedir(), ".config", "systemd", "user"), user: true, override: false };
}

async function systemctl(user: boolean, args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  const r = await run("systemctl", [...(user ? ["--user"] : []), ...args], undefined, env);
  if (r.code !== 0)
    throw new UserError(`systemctl ${args.join(" ")} failed: ${lastLine(r.stderr) || `exit ${r.code}`}`);
}

export async function readSchedule(manifestPath: string): Promise<InstalledSchedule | null> {
  const file = scheduleStatePath(manifestPath);
  const text = await readText(file, 1024 * 1024);
  if (text === null) return null;
  try {
    const s = JSON.parse(text) as InstalledSchedule;
    if (s.schema === 1 && (s.scheduler === "systemd" || s.scheduler === "cron") && Array.isArray(s.jobs))
      return s;
  } catch {
    // fall through to the refusal
  }
  throw new UserError(`${file} is not a docker-versions schedule record; remove it and the schedule by hand`);
}

export async function installSchedule(
  manifestPath: string,
  spec: ScheduleSpec,
  scheduler: Scheduler,
  at: string,
  env: NodeJS.ProcessEnv,
  commands: { name: string; when: string; command: string }[],
): Promise<ScheduleReport> {
  const previous = await readSchedule(manifestPath);
  const notes: string[] = [];
  if (previous)
    notes.push(...(await removeSchedule(manifestPath, previous, env)).notes.map((n) => `previous: ${n}`));
  const id = scheduleId(spec.project, manifestPath);
  const installed: InstalledSchedule = { schema: 1, scheduler, installed_at: at, id, jobs: commands };
  if (scheduler === "systemd") {
    const where = unitDir(env);
    await mkdir(where.dir, { recursive: true, mode: 0o755 });
    const files = unitFiles(spec);
    for (const [name, text] of files) {
      // The units may carry webhook URLs (tokens): readable by their owner only.
      await writeAtomic(path.join(where.dir, name), text, { mode: 0o600 });
      notes.push(`wrote ${path.join(where.dir, name)}`);
    }
    const timers = [...files.keys()].filter((f) => f.endsWith(".timer"));
    const live = systemdRuns() && !where.override;
    installed.units = { dir: where.dir, user: where.user, files: [...files.keys()], enabled: live };
    // Recorded before systemctl runs: a failure there still leaves `schedule remove` knowing the files.
    await writeAtomic(scheduleStatePath(manifestPath), `${JSON.stringify(installed, null, 2)}\n`);
    if (live) {
      await systemctl(where.user, ["daemon-reload"], env);
      await systemctl(where.user, ["enable", "--now", ...timers], env);
      notes.push(`enabled ${timers.join(", ")}`);
    } else
      notes.push(
        `systemd is not running here: once it runs, enable the timers with systemctl${where.user ? " --user" : ""} enable --now ${timers.join(" ")}`,
      );
  } else {
    const user = env.DOCKER_VERSIONS_CRONTAB_USER || undefined;
    const block = crontabBlock(spec, id);
    const before = await readCrontab(env, user);
    installed.crontab = { user, block };
    await writeAtomic(scheduleStatePath(manifestPath), `${JSON.stringify(installed, null, 2)}\n`);
    await writeCrontab(env, withBlock(before, id, block), user);
    notes.push(`added ${spec.jobs.length} line(s) to ${user ? `${user}'s` : "your"} crontab`);
  }
  return { installed, notes };
}

/** Removes exactly what `installed` records, then the record itself. */
export async function removeSchedule(
  manifestPath: string,
  installed: InstalledSchedule,
  env: NodeJS.ProcessEnv,
): Promise<{ notes: string[] }> {
  const notes: string[] = [];
  if (installed.scheduler === "systemd" && installed.units) {
    const { dir, user, files, enabled } = installed.units;
    const timers = files.filter((f) => f.endsWith(".timer"));
    if (enabled && systemdRuns()) {
      await systemctl(user, ["disable", "--now", ...timers], env);
      notes.push(`disabled ${timers.join(", ")}`);
    }
    for (const f of files) {
      const file = path.join(dir, f);
      if (existsSync(file)) {
        await rm(file);
        notes.push(`removed ${file}`);
      }
    }
    if (enabled && systemdRuns()) await systemctl(user, ["daemon-reload"], env);
  } else if (installed.crontab) {
    const before = await readCrontab(env, installed.crontab.user);
    const { text, found } = withoutBlock(before, installed.id);
    if (found) {
      await writeCrontab(env, text, installed.crontab.user);
      notes.push(
        `removed the docker-versions lines from ${installed.crontab.user ? `${installed.crontab.user}'s` : "your"} crontab`,
      );
    } else notes.push("the crontab no longer held the docker-versions lines");
  }
  await rm(scheduleStatePath(manifestPath), { force: true });
  return { notes };
}

/** Whether what the record says was installed is still there, job by job. */
export async function scheduleIsPresent(
  installed: InstalledSchedule,
  env: NodeJS.ProcessEnv,
): Promise<string[]> {
  const problems: string[] = [];
  if (installed.units) {
    for (const f of installed.units.files) {
      const file = path.join(installed.units.dir, f);
      if (readOwned(file, 1024 * 1024) === null) problems.push(`${file} is missing`);
    }
  }
  if (installed.crontab) {
    const now = blockIn(await readCrontab(env, installed.crontab.user), installed.id);
    if (now === null) problems.push("the crontab no longer holds the docker-versions lines");
    else if (now !== installed.crontab.block)
      problems.push("the docker-versions lines in the crontab were edited");
  }
  return problems;
}
