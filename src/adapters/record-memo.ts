// Remembers the validated record of a manifest's text between commands, so that a command
// reading a manifest no one changed since the last read does not parse and validate it again
// (a 200-service record is ~13 ms of a fresh process's first read; the memo's answer a few ms:
// a file read, a string comparison and a JSON parse). An entry holds the executable's identity
// (path, size, mtime, inode), the text and its record, and is recalled only for that very text
// by that very build: another build of the plugin, which may read a text differently, never sees
// this one's entries. The entry's name comes from the build and a sample of the text, which
// hashing the whole text would cost more than the read saves (SHA-256 of 200 KB in a fresh
// process: ~5 ms); two texts of one name just take turns in it.
// Only the single executable keeps entries: the sources run by Node (the tests) have no
// identity that changes with their code.
// In the plugin's cache directory (private-cache.ts: records/), at most MAX_ENTRIES.
// DOCKER_VERSIONS_RECORD_CACHE=off turns it off.
import path from "node:path";
import type { Manifest, RecordMemo } from "../core/manifest.js";
import {
  executableIdentity,
  fnv1a,
  privateCacheDir,
  readCacheEntry,
  writeCacheEntry,
} from "./private-cache.js";

const FORMAT = 2;
// Characters of a text that name its entry, at most.
const SAMPLED = 4096;
const MAX_ENTRIES = 32;
const MAX_ENTRY_BYTES = 64 * 1024 * 1024;

/**
 * The memo of records for commands run with `env` by the build `identity` (the executable's, by
 * default); undefined when there is none to keep: switched off, no identity, or no private
 * cache directory.
 */
export function recordMemo(
  env: NodeJS.ProcessEnv,
  identity: string | undefined = executableIdentity(),
): RecordMemo | undefined {
  if (env.DOCKER_VERSIONS_RECORD_CACHE === "off" || identity === undefined) return undefined;
  const dir = privateCacheDir(env, "records");
  if (!dir) return undefined;
  const fileOf = (source: string) => path.join(dir, `${entryName(identity, source)}.json`);
  const headOf = (source: string) => `${FORMAT}\u0000${identity}\u0000${source.length}\u0000`;
  return {
    recall(source) {
      const text = readCacheEntry(fileOf(source), MAX_ENTRY_BYTES);
      const head = headOf(source);
      const end = head.length + source.length;
      if (text === null || !text.startsWith(head) || text.slice(head.length, end) !== source)
        return undefined;
      try {
        return JSON.parse(text.slice(end));
      } catch {
        return undefined;
      }
    },
    keep(source: string, manifest: Manifest) {
      writeCacheEntry(
        dir,
        fileOf(source),
        `${headOf(source)}${source}${JSON.stringify(manifest)}`,
        MAX_ENTRIES,
      );
    },
  };
}

/** A hash of the identity, the text's length and up to SAMPLED of its characters, evenly spaced. */
function entryName(identity: string, source: string): string {
  const step = Math.max(1, Math.floor(source.length / SAMPLED));
  const h = fnv1a(source, step, fnv1a(`${identity}\u0000${source.length}\u0000`));
  return `${FORMAT}-${h.toString(16).padStart(8, "0")}`;
}
