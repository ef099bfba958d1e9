// Remembers what `docker compose config` answered for a project, so that a command run again on
// an unchanged project does not start Compose to be told the same thing (60–100 ms of the
// 100–200 ms a read command costs). The answer is reused only when everything Compose read to
// give it is byte for byte what it was:
//   - the compose files, the env files passed, the project directory's `.env`, and every file the
//     compose files reach (`include`, `extends.file`, `env_file`, `label_file`, an included
//     project's `.env`), by content;
//   - the call itself (Docker global options, Compose options, working directory) and the whole
//     environment but the Docker CLI's per-call socket name;
//   - which `docker` and which Compose plugin would run (path, size, mtime, inode) and the Docker
//     CLI's config.json.
// A file that cannot be hashed (a FIFO, a path that itself holds a variable, a remote include)
// means no memo: Compose runs as before. Files read change under the call → nothing is kept.
// Any I/O trouble with the memo directory is never an error: the command just asks Compose.
// Kept in the plugin's cache directory (private-cache.ts: compose-config/, one file per answer, at
// most MAX_ENTRIES). DOCKER_VERSIONS_COMPOSE_CACHE=off turns it off.
import * as fs from "node:fs";
import path from "node:path";
import { parseAllDocuments } from "yaml";
import { sha256Hex } from "../core/sha256.js";
import { dockerConfigDir } from "../docker-globals.js";
import type { DockerCli } from "./docker.js";
import { readUpTo } from "./owned-files.js";
import { privateCacheDir, readCacheEntry, writeCacheEntry } from "./private-cache.js";

/** What the memo needs of a project's location (see ProjectLocation in compose.ts). */
export interface MemoLocation {
  files: readonly string[];
  workingDir: string;
  envFiles: readonly string[];
  args: readonly string[];
}

const FORMAT = 1;
const MAX_ENTRIES = 128;
const MAX_FILE_BYTES = 4 * 1024 * 1024;
const MAX_REACHED_FILES = 64;
// Set by the Docker CLI to a new name on every plugin call; Compose never reads it for config.
const PER_CALL_VARIABLES = new Set(["DOCKER_CLI_PLUGIN_SOCKET"]);
const PLUGIN_DIRS = [
  "/usr/local/lib/docker/cli-plugins",
  "/usr/local/libexec/docker/cli-plugins",
  "/usr/lib/docker/cli-plugins",
  "/usr/libexec/docker/cli-plugins",
];

/** A file's state for the key: its content hash, "absent", or undefined when it cannot be one. */
type FileState = string | undefined;

const { O_NONBLOCK, O_RDONLY } = fs.constants;

/**
 * A regular file's bytes (links followed, as Compose follows them), "absent", or undefined when it
 * is not one to read: a FIFO, a directory, too large, or growing while read.
 */
function readRegular(file: string): Buffer | "absent" | undefined {
  let fd: number;
  try {
    // O_NONBLOCK: a FIFO never hangs the open.
    fd = fs.openSync(file, O_RDONLY | O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === "ENOENT" || code === "ENOTDIR" ? "absent" : undefined;
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile() || st.size > MAX_FILE_BYTES) return undefined;
    // One byte more than its size tells a file that grows while read.
    const bytes = readUpTo(fd, st.size + 1);
    return bytes.length === st.size ? bytes : undefined;
  } catch {
    return undefined;
  } finally {
    fs.closeSync(fd);
  }
}

function fileState(file: string): FileState {
  const bytes = readRegular(file);
  return bytes === "absent" || bytes === undefined ? bytes : sha256Hex(bytes);
}

function identity(file: string): string {
  try {
    const st = fs.statSync(file);
    return `${st.size}:${st.mtimeMs}:${st.ino}:${st.mode}`;
  } catch {
    return "absent";
  }
}

/** Which `docker` runs and which Compose plugin it would start, as far as files can say. */
function toolStates(cli: DockerCli): string[] {
  const states: string[] = [];
  const onPath = (cli.env.PATH ?? "")
    .split(path.delimiter)
    .filter(Boolean)
    .map((d) => path.resolve(cli.cwd, d, "docker"));
  const docker = onPath.find((p) => identity(p) !== "absent");
  states.push(`docker=${docker ?? "none"}:${docker ? identity(docker) : ""}`);
  const configDir = dockerConfigDir(cli.globals, cli.env, cli.cwd);
  const configJson = path.join(configDir, "config.json");
  states.push(`config=${configJson}:${fileState(configJson)}`);
  const dirs = [path.join(configDir, "cli-plugins"), ...PLUGIN_DIRS];
  for (const d of dirs) states.push(`${d}=${identity(path.join(d, "docker-compose"))}`);
  return states;
}

function environment(env: NodeJS.ProcessEnv): [string, string][] {
  return Object.entries(env)
    .filter((e): e is [string, string] => e[1] !== undefined && !PER_CALL_VARIABLES.has(e[0]))
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

const REMOTE = /^([a-z][a-z0-9+.-]*:\/\/|[\w.-]+@[\w.-]+:)/i;
const asList = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined || v === null ? [] : [v]);

/**
 * Every file the compose files reach beyond themselves, as absolute paths (both of Compose's
 * bases for a relative path: the file's own directory and the project directory), or null when
 * that cannot be known (a path written with a variable, a file that does not parse).
 */
export function reachedFiles(at: MemoLocation): string[] | null {
  const reached = new Set<string>();
  const queue = [...at.files];
  const parsed = new Set<string>();
  const add = (from: string, p: unknown, parse: boolean): boolean => {
    // A variable, or a remote resource (git, oci://, a URL) whose content no file here holds.
    if (typeof p !== "string" || p.includes("$") || REMOTE.test(p)) return false;
    for (const base of new Set([path.dirname(from), at.workingDir])) {
      const abs = path.resolve(base, p);
      reached.add(abs);
      if (parse && !parsed.has(abs)) queue.push(abs);
    }
    return true;
  };
  const paths = (v: unknown): unknown[] =>
    asList(v).map((e) => (e && typeof e === "object" && "path" in e ? (e as { path: unknown }).path : e));
  while (queue.length > 0) {
    const file = queue.shift() as string;
    if (parsed.has(file)) continue;
    parsed.add(file);
    if (parsed.size > MAX_REACHED_FILES) return null;
    const bytes = readRegular(file);
    // Absent (a second base that Compose did not use) or unreadable: its state is in the key.
    if (bytes === "absent" || bytes === undefined) continue;
    const text = bytes.toString("utf8");
    let doc: unknown;
    try {
      const docs = parseAllDocuments(text, { merge: true });
      if (!Array.isArray(docs) || docs.some((d) => d.errors.length > 0)) return null;
      doc = docs[0]?.toJS({ maxAliasCount: 10_000 });
    } catch {
      return null;
    }
    if (!doc || typeof doc !== "object") continue;
    const top = doc as { include?: unknown; services?: unknown };
    for (const item of asList(top.include)) {
      if (typeof item === "string") {
        if (!add(file, item, true)) return null;
        reached.add(path.join(path.dirname(path.resolve(path.dirname(file), item)), ".env"));
        continue;
      }
      if (!item || typeof item !== "object") return null;
      const inc = item as { path?: unknown; env_file?: unknown; project_directory?: unknown };
      for (const p of asList(inc.path)) {
        if (!add(file, p, true)) return null;
        reached.add(path.join(path.dirname(path.resolve(path.dirname(file), p as string)), ".env"));
      }
      for (const e of asList(inc.env_file)) if (!add(file, e, false)) return null;
      if (inc.project_directory !== undefined) {
        if (typeof inc.project_directory !== "string" || inc.project_directory.includes("$")) return null;
        reached.add(path.join(path.resolve(path.dirname(file), inc.project_directory), ".env"));
      }
    }
    const services = top.services && typeof top.services === "object" ? Object.values(top.services) : [];
    for (const s of services) {
      if (!s || typeof s !== "object") continue;
      const spec = s as { extends?: unknown; env_file?: unknown; label_file?: unknown };
      if (spec.extends && typeof spec.extends === "object") {
        const f = (spec.extends as { file?: unknown }).file;
        if (f !== undefined && !add(file, f, true)) return null;
      }
      for (const e of paths(spec.env_file)) if (!add(file, e, false)) return null;
      for (const e of paths(spec.label_file)) if (!add(file, e, false)) return null;
    }
  }
  for (const f of at.files) reached.delete(f);
  return [...reached].sort();
}

/** The key of one question to Compose, or null when one of its inputs cannot be hashed. */
function keyOf(cli: DockerCli, at: MemoLocation, question: string): string | null {
  const files = [...at.files, ...at.envFiles, path.join(at.workingDir, ".env")];
  const states = files.map((f) => [f, fileState(f)] as const);
  if (states.some(([, s]) => s === undefined)) return null;
  return sha256Hex(
    JSON.stringify([
      FORMAT,
      question,
      cli.globals,
      at.args,
      cli.cwd,
      environment(cli.env),
      toolStates(cli),
      states,
    ]),
  );
}

function statesOf(files: readonly string[]): [string, string][] | null {
  const out: [string, string][] = [];
  for (const f of files) {
    const s = fileState(f);
    if (s === undefined) return null;
    out.push([f, s]);
  }
  return out;
}

/** The memo directory; null when switched off or not a private directory of ours. */
function memoDir(env: NodeJS.ProcessEnv): string | null {
  return env.DOCKER_VERSIONS_COMPOSE_CACHE === "off" ? null : privateCacheDir(env, "compose-config");
}

interface Entry {
  format: number;
  reached: [string, string][];
  value: unknown;
}

function readEntry(file: string): Entry | null {
  const text = readCacheEntry(file, 64 * 1024 * 1024);
  try {
    const entry = text === null ? null : (JSON.parse(text) as Entry | null);
    return entry?.format === FORMAT && Array.isArray(entry.reached) ? entry : null;
  } catch {
    return null;
  }
}

const sameStates = (a: readonly (readonly [string, string])[], b: readonly (readonly [string, string])[]) =>
  a.length === b.length && a.every(([f, s], i) => b[i]?.[0] === f && b[i]?.[1] === s);

/**
 * `ask()`'s answer for this question about this project: remembered from an earlier call when
 * nothing Compose reads has changed since, else asked now (and kept when nothing changed while
 * it was asked and `ask` says the answer is one to keep). `ask` must depend only on what the key
 * covers; its value must be JSON.
 */
export async function remembered<T>(
  cli: DockerCli,
  at: MemoLocation,
  question: string,
  ask: () => Promise<{ value: T; keep: boolean }>,
): Promise<T> {
  const dir = memoDir(cli.env);
  const key = dir ? keyOf(cli, at, question) : null;
  if (!dir || !key) return (await ask()).value;
  const file = path.join(dir, `${key}.json`);
  const entry = readEntry(file);
  if (entry) {
    const now = statesOf(entry.reached.map(([f]) => f));
    if (now && sameStates(now, entry.reached)) return entry.value as T;
  }
  const reached = reachedFiles(at);
  const before = reached && statesOf(reached);
  const { value, keep } = await ask();
  if (!keep || !reached || !before) return value;
  const after = statesOf(reached);
  if (after && sameStates(before, after) && keyOf(cli, at, question) === key)
    writeCacheEntry(dir, file, JSON.stringify({ format: FORMAT, reached: before, value }), MAX_ENTRIES);
  return value;
}
