// The user's cache directory of the plugin ($XDG_CACHE_HOME/docker-versions, else
// ~/.cache/docker-versions), where answers worth keeping between commands are kept: what Compose
// said of a project (compose-memo.ts), the validated record of a manifest's text (record-memo.ts),
// the commands' code as V8 compiled it for a command (code-cache.ts). Each kind has its own
// subdirectory, 0700 and the user's own, one 0600 file per entry, the newest kept. Nothing here is ever an error: a directory or an entry that is not one of ours
// (another owner, open to others, a link, not a regular file) is no cache, and a command just
// works the answer out again.
import * as fs from "node:fs";
import path from "node:path";
import { readUpTo } from "./owned-files.js";

const { O_NOFOLLOW, O_NONBLOCK, O_RDONLY } = fs.constants;

/** The running executable's identity when it is the plugin's single executable, else undefined. */
export function executableIdentity(): string | undefined {
  try {
    const sea = process.getBuiltinModule("node:sea") as { isSea?: () => boolean } | undefined;
    if (!sea?.isSea?.()) return undefined;
    const st = fs.statSync(process.execPath);
    return [process.execPath, st.size, st.mtimeMs, st.ino].join("\u0000");
  } catch {
    return undefined;
  }
}

/**
 * FNV-1a (32 bits) of every `step`-th character of `text`, going on from `seed`: a short name for
 * an entry that holds what it is for and is compared whole when read (code-cache.ts,
 * record-memo.ts), so two inputs of one name only share the entry.
 */
export function fnv1a(text: string, step = 1, seed = 0x811c9dc5): number {
  let h = seed;
  for (let i = 0; i < text.length; i += step) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** The cache subdirectory `name`, made if missing; null when it is not a private directory of ours. */
export function privateCacheDir(env: NodeJS.ProcessEnv, name: string): string | null {
  const root = env.XDG_CACHE_HOME || (env.HOME ? path.join(env.HOME, ".cache") : "");
  if (!root || !path.isAbsolute(root)) return null;
  const dir = path.join(root, "docker-versions", name);
  try {
    let st = fs.lstatSync(dir, { throwIfNoEntry: false });
    if (!st) {
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      st = fs.lstatSync(dir);
    }
    const uid = process.getuid?.();
    if (!st.isDirectory() || (uid !== undefined && st.uid !== uid) || (st.mode & 0o077) !== 0) return null;
    return dir;
  } catch {
    return null;
  }
}

/** An entry's bytes: null when absent, not a regular file of ours, or over `maxBytes`. */
export function readCacheBytes(file: string, maxBytes: number): Buffer | null {
  let fd: number;
  try {
    fd = fs.openSync(file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  } catch {
    return null;
  }
  try {
    const st = fs.fstatSync(fd);
    const uid = process.getuid?.();
    if (!st.isFile() || (uid !== undefined && st.uid !== uid) || st.size > maxBytes) return null;
    return readUpTo(fd, st.size);
  } catch {
    return null;
  } finally {
    fs.closeSync(fd);
  }
}

/** An entry's text: null when absent, not a regular file of ours, or over `maxBytes`. */
export function readCacheEntry(file: string, maxBytes: number): string | null {
  return readCacheBytes(file, maxBytes)?.toString("utf8") ?? null;
}

/**
 * Writes an entry whole (a reader sees the old one or the new one), then keeps the newest `keep`
 * entries of its kind (its file name's extension) in the directory. `synced`: its bytes reach the
 * disk before it takes its name, so that no crash leaves a name on bytes never written.
 */
export function writeCacheEntry(
  dir: string,
  file: string,
  data: string | Uint8Array,
  keep: number,
  options: { synced?: boolean } = {},
): void {
  const temp = `${file}.${process.pid}.tmp`;
  try {
    fs.writeFileSync(temp, data, { mode: 0o600, flag: "wx", flush: options.synced === true });
    fs.renameSync(temp, file);
  } catch {
    fs.rmSync(temp, { force: true });
    return;
  }
  prune(dir, path.extname(file), keep);
}

function prune(dir: string, extension: string, keep: number): void {
  try {
    const names = fs.readdirSync(dir).filter((n) => path.extname(n) === extension);
    if (names.length <= keep) return;
    const aged = names
      .map((n) => ({ n, t: fs.lstatSync(path.join(dir, n)).mtimeMs }))
      .sort((a, b) => b.t - a.t)
      .slice(keep);
    for (const { n } of aged) fs.unlinkSync(path.join(dir, n));
  } catch {
    // Another command pruned meanwhile.
  }
}
