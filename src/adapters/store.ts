// The file store of the version manifest: atomic writes that survive kill -9, timestamped
// backups in `.version-backups/`, and the lock that serializes every change to a manifest.
import { closeSync, constants, readFileSync, rmSync, unlinkSync, writeSync } from "node:fs";
import { access, lstat, open, readdir, rename, rm, stat } from "node:fs/promises";
import { hostname } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { UserError } from "../errors.js";
import { openOwned, ownedDirs, ownedFileStat, readOwned } from "./owned-files.js";

export const BACKUP_DIR = ".version-backups";
// Environment overrides of the defaults (an explicit option still wins):
//   DOCKER_VERSIONS_BACKUP_KEEP   how many backups of each file to keep (default 50)
//   DOCKER_VERSIONS_LOCK_TIMEOUT  seconds to wait for another run's lock (default 30)
const DEFAULT_KEEP = 50;
const DEFAULT_LOCK_TIMEOUT_S = 30;
const DEFAULT_POLL_MS = 100;
// A lock file with no readable holder is given this long for its creator to fill it in.
const UNREADABLE_GRACE_MS = 5_000;
// A temp file of a pid that looks alive is still removed past this age (the pid was reused).
const TEMP_MAX_AGE_MS = 10 * 60_000;
// `.<target>.<pid>.<12 hex>.tmp`, as writeAtomic names them.
const TEMP_NAME = /^\.(.+)\.(\d+)\.[0-9a-f]{12}\.tmp$/;
const BACKUP_SUFFIX = /^(\d{14})(?:-(\d+))?$/;
const SIGNALS = ["SIGINT", "SIGTERM"] as const;

const errCode = (err: unknown) => (err as NodeJS.ErrnoException | null)?.code;

/** A system error (permissions, full disk, …) becomes one line the user can act on. */
function ioError(action: string, file: string, err: unknown): unknown {
  const code = errCode(err);
  if (!code || err instanceof UserError) return err;
  const reason = /^\w+: ([^,]+)/.exec((err as Error).message)?.[1] ?? code;
  return new UserError(`cannot ${action} ${file}: ${reason}`);
}

/** What `work` (which reads `file`) gives, or null when the file does not exist. */
async function unlessMissing<T>(work: Promise<T>, file: string): Promise<T | null> {
  try {
    return await work;
  } catch (err) {
    if (errCode(err) === "ENOENT") return null;
    throw ioError("read", file, err);
  }
}

function envNumber(name: string, fallback: number, min: number): number {
  const raw = process.env[name]?.trim();
  if (!raw) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min) {
    throw new UserError(`${name} must be a number of at least ${min}, not '${raw}'`);
  }
  return value;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errCode(err) === "EPERM";
  }
}

// The manifest and its backups are a few KiB; this bounds what a hostile or broken file costs.
export const MAX_RECORD_BYTES = 8 * 1024 * 1024;
// A lock holds one line of JSON.
const MAX_LOCK_BYTES = 64 * 1024;

/** The file's text, or null when it does not exist (an owned file: no link, no FIFO, capped). */
export async function readText(file: string, maxBytes = MAX_RECORD_BYTES): Promise<string | null> {
  return readOwned(file, maxBytes);
}

/** A complete, synced temp file waiting to replace its target: `commit` renames it into place. */
export interface PreparedWrite {
  target: string;
  temp: string;
  commit(): Promise<void>;
  discard(): Promise<void>;
}

/**
 * `bytes` random bytes as hex, for names that must not collide. node:crypto is loaded here, when a
 * file is written, not when the plugin starts: reading commands never need it (core/sha256.ts).
 */
export function randomHex(bytes: number): string {
  const crypto = process.getBuiltinModule("node:crypto");
  return crypto.randomBytes(bytes).toString("hex");
}

/**
 * Writes `data` to a synced temp file next to `file` (through a symlink, to its target) and
 * returns what replaces the file with it. Nothing visible changes until `commit`, so a caller
 * can prepare every file of a change (and learn which one cannot be written) before any of
 * them changes. The file keeps its mode; a new file gets `mode` (default 0666 less the umask).
 */
export async function prepareAtomic(
  file: string,
  data: string | Uint8Array,
  options: { mode?: number } = {},
): Promise<PreparedWrite> {
  // Never through a link (nor over a FIFO or a directory): refused before anything is written.
  const target = file;
  const dir = path.dirname(target);
  const base = path.basename(target);
  const temp = path.join(dir, `.${base}.${process.pid}.${randomHex(6)}.tmp`);
  const existing = ownedFileStat(target);
  // What would make the rename fail is found now, before any other file of a change is replaced.
  if (existing && isMountPoint(target))
    throw new UserError(
      `cannot write ${file}: it is a file mounted on its own (a bind mount), which cannot be replaced; mount its directory instead`,
    );
  if (existing && (await access(target, constants.W_OK).catch((err: unknown) => errCode(err))) === "EROFS")
    throw new UserError(`cannot write ${file}: read-only file system`);
  const mode = existing ? existing.mode & 0o7777 : options.mode;
  try {
    const handle = await open(temp, "wx", mode ?? 0o666);
    try {
      if (mode !== undefined) await handle.chmod(mode); // the umask may have narrowed it
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (err) {
    await rm(temp, { force: true });
    throw ioError("write", file, err);
  }
  const discard = () => rm(temp, { force: true });
  return {
    target,
    temp,
    discard,
    async commit() {
      try {
        await rename(temp, target);
      } catch (err) {
        await discard();
        throw ioError("write", file, err);
      }
      await syncDir(dir);
      await removeStaleTemps(dir, (name) => name === base);
    },
  };
}

/** Whether `target` is itself a mount point (Linux: /proc/self/mountinfo); false where unknown. */
function isMountPoint(target: string): boolean {
  let info: string;
  try {
    info = readFileSync("/proc/self/mountinfo", "utf8");
  } catch {
    return false;
  }
  // Field 5 is the mount point, with space, tab, newline and backslash written as octal escapes.
  const decoded = (p: string) =>
    p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
  return info.split("\n").some((line) => decoded(line.split(" ")[4] ?? "") === target);
}

/** Makes renames and removals in `dir` durable; a file system that cannot fsync a directory keeps them anyway. */
export async function syncDir(dir: string): Promise<void> {
  const dirHandle = await open(dir, "r").catch(() => null);
  await dirHandle?.sync().catch(() => {});
  await dirHandle?.close();
}

/**
 * Replaces `file` with `data` so that a crash at any moment leaves either the old or the new
 * complete file. The file keeps its mode; a new file gets `mode` (default 0666 less the umask).
 */
export async function writeAtomic(
  file: string,
  data: string | Uint8Array,
  options: { mode?: number } = {},
): Promise<void> {
  await (await prepareAtomic(file, data, options)).commit();
}

/** Removes the temps that crashed writers of `files` left next to them. */
export async function removeStaleTempsOf(...files: string[]): Promise<void> {
  const byDir = new Map<string, Set<string>>();
  for (const file of files) {
    const target = file; // links are refused, never followed
    const dir = path.dirname(target);
    byDir.set(dir, (byDir.get(dir) ?? new Set()).add(path.basename(target)));
  }
  for (const [dir, names] of byDir) await removeStaleTemps(dir, (name) => names.has(name));
}

/** Removes temps left by crashed writers of the targets `isFor` accepts; live writers' stay. */
async function removeStaleTemps(dir: string, isFor: (target: string) => boolean): Promise<void> {
  for (const name of await readdir(dir).catch(() => [])) {
    const match = TEMP_NAME.exec(name);
    if (!match || !isFor(match[1] ?? "")) continue;
    const temp = path.join(dir, name);
    const old = await stat(temp)
      .then((s) => Date.now() - s.mtimeMs > TEMP_MAX_AGE_MS)
      .catch(() => false);
    if (old || !isAlive(Number(match[2]))) await rm(temp, { force: true });
  }
}

export interface BackupOptions {
  /** The time the backup is named after (default: now). */
  now?: Date;
  /** How many backups of this file to keep, at least 1 (default 50, or DOCKER_VERSIONS_BACKUP_KEEP). */
  keep?: number;
}

/**
 * Copies `file` (if it exists) to `.version-backups/<name>.YYYYMMDDHHMMSS` next to it (UTC,
 * `-1`, `-2`, … within one second), then keeps only the newest `keep` backups of that name.
 * Callers hold the manifest lock, which makes the choice of name race-free.
 */
export async function backupFile(file: string, options: BackupOptions = {}): Promise<string | null> {
  const keep = options.keep ?? envNumber("DOCKER_VERSIONS_BACKUP_KEEP", DEFAULT_KEEP, 1);
  const data = readOwned(file, MAX_RECORD_BYTES);
  if (data === null) return null;
  const mode = (ownedFileStat(file)?.mode ?? 0o666) & 0o7777;
  const dir = ownedDirs(path.dirname(file), [BACKUP_DIR]);
  const stem = `${path.basename(file)}.${(options.now ?? new Date()).toISOString().replace(/\D/g, "").slice(0, 14)}`;
  let target = path.join(dir, stem);
  for (let n = 1; await lstat(target).catch(() => null); n++) target = path.join(dir, `${stem}-${n}`);
  await writeAtomic(target, data, { mode });
  for (const old of (await listBackups(file)).slice(keep)) await rm(old, { force: true });
  await removeStaleTemps(dir, (name) => name.startsWith(`${path.basename(file)}.`));
  return target;
}

/** The newest backup of `file`, by the stamp in its name (not mtime), or null. */
export async function newestBackup(file: string): Promise<string | null> {
  return (await listBackups(file))[0] ?? null;
}

/** Backups of `file`, newest first. Only regular files named like a backup count. */
async function listBackups(file: string): Promise<string[]> {
  const dir = path.join(path.dirname(file), BACKUP_DIR);
  const prefix = `${path.basename(file)}.`;
  const found: { name: string; stamp: string; n: number }[] = [];
  for (const entry of (await unlessMissing(readdir(dir, { withFileTypes: true }), dir)) ?? []) {
    const match =
      entry.isFile() && entry.name.startsWith(prefix) && BACKUP_SUFFIX.exec(entry.name.slice(prefix.length));
    if (match) found.push({ name: entry.name, stamp: match[1] ?? "", n: Number(match[2] ?? 0) });
  }
  found.sort((a, b) => (a.stamp === b.stamp ? b.n - a.n : a.stamp < b.stamp ? 1 : -1));
  return found.map((f) => path.join(dir, f.name));
}

export interface LockOptions {
  /** What the holder is doing, shown to whoever waits for it. */
  command: string;
  timeoutMs?: number;
  pollMs?: number;
  /** Told once, in one line, when the wait for another holder gets long (default: stderr). */
  onWait?: (line: string) => void;
  /** The command's clock: the lock's `since` (default: now). */
  now?: Date;
}

export type LockHolder = { pid: number; host: string; command: string; since: string };

// Locks this process holds: a nested withLock of the same manifest (a Compose step inside
// update-safe checking the record) runs inside the outer one instead of waiting for itself.
const held = new Set<string>();
// A wait shorter than this is a queue of two quick commands, not worth a line.
const WAIT_NOTICE_MS = 2_000;

/**
 * Runs `fn` holding `<manifest>.lock`. Waits for a live holder up to the timeout, then fails
 * naming it; a holder that is gone (a dead pid on this host) blocks no one.
 */
export async function withLock<T>(
  manifest: string,
  options: LockOptions,
  fn: () => Promise<T> | T,
): Promise<T> {
  const lockPath = `${manifest}.lock`;
  const key = path.resolve(lockPath);
  if (held.has(key)) return fn();
  const text = await acquire(lockPath, options);
  held.add(key);
  const onSignal = (signal: NodeJS.Signals) => {
    for (const s of SIGNALS) process.off(s, onSignal);
    release(lockPath, text);
    // With no other listener left, die of the signal as if we had never listened.
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  };
  for (const s of SIGNALS) process.on(s, onSignal);
  try {
    return await fn();
  } finally {
    for (const s of SIGNALS) process.off(s, onSignal);
    held.delete(key);
    release(lockPath, text);
  }
}

/** Who holds the manifest's lock and whether that process still lives; null when no one does. */
export function lockHolder(manifest: string): (LockHolder & { alive: boolean }) | null {
  const found = inspect(`${manifest}.lock`);
  if (!found?.holder) return null;
  return { ...found.holder, alive: !found.stale };
}

const describeHolder = (holder: LockHolder | null) =>
  holder
    ? `pid ${holder.pid} (${holder.command}) on host ${holder.host} since ${holder.since}`
    : "a process that has not said who it is";

async function acquire(lockPath: string, options: LockOptions): Promise<string> {
  const wait =
    options.timeoutMs ?? envNumber("DOCKER_VERSIONS_LOCK_TIMEOUT", DEFAULT_LOCK_TIMEOUT_S, 0) * 1000;
  const started = Date.now();
  const deadline = started + wait;
  const onWait = options.onWait ?? ((line: string) => process.stderr.write(`${line}\n`));
  let told = false;
  for (;;) {
    const text = holderText(options.command, options.now);
    if (createExclusive(lockPath, text)) return text;
    const found = inspect(lockPath);
    if (!found || (found.stale && clearIfStale(lockPath))) continue;
    if (Date.now() >= deadline) throw lockedError(lockPath, found.holder);
    if (!told && Date.now() - started >= WAIT_NOTICE_MS) {
      told = true;
      onWait(
        `waiting up to ${Math.ceil(wait / 1000)}s for the lock on ${lockPath.slice(0, -".lock".length)}, held by ${describeHolder(found.holder)}`.replace(
          /[\r\n]+/g,
          " ",
        ),
      );
    }
    await sleep((options.pollMs ?? DEFAULT_POLL_MS) * (0.5 + Math.random())); // jitter: waiters not in step
  }
}

const holderText = (command: string, now = new Date()) =>
  JSON.stringify({ pid: process.pid, host: hostname(), command, since: now.toISOString() });

// Lock files are a few bytes, so they are handled synchronously: fewer interleavings to reason about.

/** Creates `file` with O_EXCL; false if it exists. (A create whose write fails leaves an
 * empty file, which the unreadable-lock grace period turns stale.) */
function createExclusive(file: string, text: string): boolean {
  let fd: number;
  try {
    fd = openOwned(file, "create");
  } catch (err) {
    if (errCode(err) === "EEXIST") return false;
    throw ioError("create", file, err);
  }
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
  return true;
}

/** Who holds a lock (or claim) file and whether it is stale; null when there is no file. */
function inspect(file: string): { holder: LockHolder | null; stale: boolean } | null {
  // A link, a FIFO or a directory in the lock's place is refused at once, never waited on.
  const text = readOwned(file, MAX_LOCK_BYTES);
  const age = Date.now() - (ownedFileStat(file)?.mtimeMs ?? Date.now());
  if (text === null) return null;
  const holder = parseHolder(text);
  // Another host's pids mean nothing here: its locks are only ever waited for.
  const stale = holder ? holder.host === hostname() && !isAlive(holder.pid) : age > UNREADABLE_GRACE_MS;
  return { holder, stale };
}

function parseHolder(text: string): LockHolder | null {
  try {
    const data = JSON.parse(text) as Record<string, unknown> | null;
    const pid = data?.pid;
    if (typeof pid === "number" && Number.isInteger(pid) && pid > 0 && typeof data?.host === "string") {
      return { pid, host: data.host, command: String(data.command), since: String(data.since) };
    }
  } catch {
    // not JSON: a lock being written, or garbage
  }
  return null;
}

/**
 * Removes `file` if its holder is gone; true if it is gone. Only the holder of the claim
 * `<file>.takeover` may remove a file it does not own, and it decides under the claim: while a
 * stale file stands, nothing else can remove or replace it (its owner is gone, other waiters
 * need the claim), so a waiter that saw the dead lock long ago can never remove the fresh lock
 * another waiter has since created. (Renaming the stale lock away would not do: the late waiter
 * would rename the fresh one.) A claimer that died leaves a stale claim, cleared the same way.
 */
function clearIfStale(file: string, depth = 0): boolean {
  const claim = `${file}.takeover`;
  const mine = holderText("takeover");
  if (!createExclusive(claim, mine))
    return depth < 2 && inspect(claim)?.stale === true && clearIfStale(claim, depth + 1);
  try {
    const found = inspect(file);
    if (found?.stale) rmSync(file, { force: true });
    return !found || found.stale;
  } finally {
    release(claim, mine);
  }
}

/** Removes a lock or claim only while it is still ours. */
function release(file: string, text: string): void {
  try {
    if (readOwned(file, MAX_LOCK_BYTES) === text) unlinkSync(file);
  } catch {
    // gone already; and a failed release must not hide the error of the work it guarded
  }
}

function lockedError(lockPath: string, holder: LockHolder | null): UserError {
  const message = `the manifest is locked by ${describeHolder(holder)}; try again when it finishes, or remove ${lockPath} if that process is gone`;
  return new UserError(message.replace(/[\r\n]+/g, " "), "conflict");
}
