// The one rule for the files and directories the plugin keeps next to the compose file
// (manifest, versions.env, audit log, journal, lock, .version-backups/, logs/): each is a
// regular file or a real directory. A symbolic link, a FIFO, a socket or a device in its place
// is refused with one line naming it, before anything is written: the plugin never writes
// through a link, never follows one out of the project, and never blocks on a special file.
// Files are opened with O_NOFOLLOW (the check and the open are one step) and O_NONBLOCK (a
// FIFO cannot hang the open), then checked with fstat.
import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readSync,
  type Stats,
  writeSync,
} from "node:fs";
import path from "node:path";
import { UserError } from "../errors.js";

const { O_APPEND, O_CREAT, O_EXCL, O_NOFOLLOW, O_NONBLOCK, O_RDONLY, O_WRONLY } = constants;

const errCode = (err: unknown) => (err as NodeJS.ErrnoException | null)?.code;

function kindOf(st: Stats): string {
  if (st.isSymbolicLink()) return "a symbolic link";
  if (st.isDirectory()) return "a directory";
  if (st.isFIFO()) return "a FIFO";
  if (st.isSocket()) return "a socket";
  if (st.isBlockDevice() || st.isCharacterDevice()) return "a device";
  return "not a regular file";
}

/** The one line for a path that is not what the plugin keeps there. */
export function refused(file: string, what: string, wanted: "file" | "directory" = "file"): UserError {
  const fix = what === "a symbolic link" ? `replace the link with a regular ${wanted}` : `remove it`;
  return new UserError(
    `refusing ${file}: it is ${what}, and docker-versions keeps only a regular ${wanted} there (${fix})`,
  );
}

function ioError(action: string, file: string, err: unknown): unknown {
  if (err instanceof UserError || !errCode(err)) return err;
  const reason = /^\w+: ([^,]+)/.exec((err as Error).message)?.[1] ?? errCode(err);
  return new UserError(`cannot ${action} ${file}: ${reason}`);
}

/** lstat of an owned file: null when missing; throws the refusal unless it is a regular file. */
export function ownedFileStat(file: string): Stats | null {
  let st: Stats;
  try {
    st = lstatSync(file);
  } catch (err) {
    if (errCode(err) === "ENOENT") return null;
    throw ioError("read", file, err);
  }
  if (!st.isFile()) throw refused(file, kindOf(st));
  return st;
}

/**
 * Makes sure `root/p1`, `root/p1/p2`, … are real directories, creating the missing ones with
 * `mode` (an existing directory keeps the mode its owner gave it). `root` itself, the project
 * directory, is the operator's choice and is not checked. Returns the innermost path.
 */
export function ownedDirs(root: string, parts: readonly string[], mode = 0o777): string {
  let dir = root;
  for (const part of parts) {
    dir = path.join(dir, part);
    let st: Stats | null = null;
    try {
      st = lstatSync(dir);
    } catch (err) {
      if (errCode(err) !== "ENOENT") throw ioError("read", dir, err);
    }
    if (st && !st.isDirectory()) throw refused(dir, kindOf(st), "directory");
    if (!st) {
      try {
        mkdirSync(dir, { mode });
      } catch (err) {
        // Another process made it meanwhile: check what it made.
        if (errCode(err) !== "EEXIST") throw ioError("create", dir, err);
        const now = lstatSync(dir);
        if (!now.isDirectory()) throw refused(dir, kindOf(now), "directory");
      }
    }
  }
  return dir;
}

type OpenFor = "read" | "append" | "create";
const FLAGS: Record<OpenFor, number> = {
  read: O_RDONLY,
  append: O_WRONLY | O_APPEND | O_CREAT,
  create: O_WRONLY | O_CREAT | O_EXCL,
};

/**
 * Opens an owned file without following a link and without blocking; the descriptor is
 * closed again unless it names a regular file. `ENOENT` is passed through for the caller.
 */
export function openOwned(file: string, purpose: OpenFor, mode = 0o666): number {
  let fd: number;
  try {
    fd = openSync(file, FLAGS[purpose] | O_NOFOLLOW | O_NONBLOCK, mode);
  } catch (err) {
    const code = errCode(err);
    if (code === "ELOOP") throw refused(file, "a symbolic link");
    if (code === "EISDIR") throw refused(file, "a directory");
    // O_WRONLY|O_NONBLOCK on a FIFO nobody reads; a socket cannot be opened at all.
    if (code === "ENXIO" || code === "EOPNOTSUPP") throw refused(file, "a FIFO or socket");
    if (code === "ENOENT" || code === "EEXIST") throw err;
    throw ioError(purpose === "read" ? "read" : "write", file, err);
  }
  const st = fstatSync(fd);
  if (!st.isFile()) {
    closeSync(fd);
    throw refused(file, kindOf(st));
  }
  return fd;
}

const MiB = 1024 * 1024;
const size = (bytes: number) => (bytes >= MiB ? `${(bytes / MiB).toFixed(1)} MiB` : `${bytes} bytes`);

/** Up to `size` bytes from an open file, as read (fewer when it is shorter, or shrank meanwhile). */
export function readUpTo(fd: number, size: number): Buffer {
  const buf = Buffer.alloc(size);
  let got = 0;
  for (let n = 1; n > 0 && got < buf.length; got += n) n = readSync(fd, buf, got, buf.length - got, null);
  return buf.subarray(0, got);
}

/** Text of an owned file, at most `maxBytes` of it, or null when there is none. */
export function readOwned(file: string, maxBytes: number): string | null {
  let fd: number;
  try {
    fd = openOwned(file, "read");
  } catch (err) {
    if (errCode(err) === "ENOENT") return null;
    throw err;
  }
  try {
    const length = fstatSync(fd).size;
    if (length > maxBytes) {
      throw new UserError(
        `${file} is ${size(length)}, more than the ${size(maxBytes)} docker-versions reads; it is not a file the plugin wrote (restore it from .version-backups/ or move it away)`,
      );
    }
    // One byte more than allowed tells a file that grows while read from one that fits.
    const bytes = readUpTo(fd, length + 1);
    if (bytes.length > maxBytes) throw new UserError(`${file} grew past ${size(maxBytes)} while it was read`);
    return bytes.toString("utf8");
  } catch (err) {
    throw ioError("read", file, err);
  } finally {
    closeSync(fd);
  }
}

/** Appends `text` in one write (O_APPEND: concurrent appenders never interleave inside it). */
export function appendOwned(file: string, text: string, mode = 0o666): void {
  const fd = openOwned(file, "append", mode);
  try {
    writeSync(fd, text);
  } catch (err) {
    throw ioError("append to", file, err);
  } finally {
    closeSync(fd);
  }
}
