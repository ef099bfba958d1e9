// The V8 code cache each command is started with in the single executable (src/sea-commands.ts).
// The executable carries one cache of every function of the commands (~2 MB): reading it costs a
// start ~7 ms, though one command runs about a third of them. So the first successful run of a
// command line's shape (the command and the names of its flags) by a build compiles the commands
// lazily, as V8 does without a cache, and leaves V8's cache of what it compiled in the plugin's
// cache directory (private-cache.ts: code/); the next runs of that shape start with it (~0.7 MB
// for resolve-tags, ~6 ms less). That first run costs ~45 ms more, once. A function a later run
// needs and the cache lacks is compiled when first called, as without a cache. A run that fails
// or asks for help leaves nothing: it would keep too little of the command.
// An entry is the executable's identity (path, size, mtime, inode) and V8's cache after it: one
// of another build, which may have other code at the same offsets, is never given to V8. V8 itself
// refuses a cache of another V8, other flags, another script length or another length of its own
// (a cut entry); a refused entry is made again by that run. V8 does not check a cache's bytes
// beyond that, so an entry is written whole and synced before it takes its name; it is then as
// safe from change as the executable beside it, in a directory only the user can write.
// Without a private cache directory, or with DOCKER_VERSIONS_CODE_CACHE=off, the executable's own
// cache is used, as before.
import path from "node:path";
import {
  executableIdentity,
  fnv1a,
  privateCacheDir,
  readCacheBytes,
  writeCacheEntry,
} from "./private-cache.js";

const MAX_ENTRY_BYTES = 16 * 1024 * 1024;
// Entries kept: a command per entry, and a new build's entries push out the old one's.
const MAX_ENTRIES = 24;

/** What the cache needs of V8's compiled script (node:vm's Script). */
export interface CompiledScript {
  readonly cachedDataRejected?: boolean;
  createCachedData(): Buffer;
}

export interface CommandCodeCache {
  /** V8's cache for this command, or undefined when there is none yet. */
  readonly data: Buffer | undefined;
  /**
   * Called once the script is compiled: when there was no entry or V8 refused it, one is left
   * when the process exits with 0.
   */
  compiled(script: CompiledScript): void;
}

/**
 * The shape of a command line: the word that names the command (`status`, else "none") and the
 * names of the flags given, sorted (`--json`, `-q`), without their values.
 */
export function commandShape(args: readonly string[]): { word: string; flags: string } {
  const word = args.find((a) => !a.startsWith("-"));
  const flags = new Set(args.filter((a) => a.startsWith("-")).map((a) => a.split("=", 1)[0] as string));
  return {
    word: word !== undefined && /^[a-z][a-z0-9-]{0,39}$/.test(word) ? word : "none",
    flags: [...flags].sort().join(" "),
  };
}

/** The name of an entry: the command and a hash of the build and the flags' names. */
function entryName(identity: string, shape: { word: string; flags: string }): string {
  return `${shape.word}-${fnv1a(`${identity}\u0000${shape.flags}`).toString(16).padStart(8, "0")}.v8`;
}

/** The entry's V8 cache when the entry is this build's, else undefined. */
function cacheOf(entry: Buffer | null, identity: Buffer): Buffer | undefined {
  if (!entry || entry.length <= identity.length + 1) return undefined;
  if (entry[identity.length] !== 0 || !entry.subarray(0, identity.length).equals(identity)) return undefined;
  return entry.subarray(identity.length + 1);
}

/**
 * The code cache of the command named in `args` (the plugin's own arguments), for the build
 * `identity` (the running executable's, by default); undefined when there is none to keep.
 */
export function commandCodeCache(
  env: NodeJS.ProcessEnv,
  args: readonly string[],
  identity: string | undefined = executableIdentity(),
  atExit: (then: (code: number) => void) => void = (then) => process.once("exit", then),
): CommandCodeCache | undefined {
  if (env.DOCKER_VERSIONS_CODE_CACHE === "off" || identity === undefined) return undefined;
  const shape = commandShape(args);
  if (/(^| )(--help|-h|--version)( |$)/.test(shape.flags) || shape.word === "help") return undefined;
  const dir = privateCacheDir(env, "code");
  if (!dir) return undefined;
  const file = path.join(dir, entryName(identity, shape));
  const id = Buffer.from(identity, "utf8");
  const data = cacheOf(readCacheBytes(file, MAX_ENTRY_BYTES), id);
  return {
    data,
    compiled(script) {
      if (data !== undefined && script.cachedDataRejected === false) return;
      atExit((code) => {
        if (code !== 0) return;
        try {
          const entry = Buffer.concat([id, Buffer.of(0), script.createCachedData()]);
          writeCacheEntry(dir, file, entry, MAX_ENTRIES, { synced: true });
        } catch {
          // No entry this time: the next run makes one.
        }
      });
    },
  };
}
