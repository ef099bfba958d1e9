// Remembers the validated record of a manifest's text between commands, so that a command
// reading a manifest no one changed since the last read does not parse and validate it again
// (a 200-service record is ~13 ms of a fresh process's first read; the memo's answer ~6 ms: a
// hash of the text and a JSON parse). The key is the text's SHA-256 with the executable's own
// identity (path, size, mtime, inode): another build of the plugin, which may read a text
// differently, never sees this one's entries. Only the single executable keeps entries: the
// sources run by Node (the tests) have no identity that changes with their code.
// In the plugin's cache directory (private-cache.ts: records/), at most MAX_ENTRIES.
// DOCKER_VERSIONS_RECORD_CACHE=off turns it off.
import path from "node:path";
import type { Manifest, RecordMemo } from "../core/manifest.js";
import { sha256Hex } from "../core/sha256.js";
import { executableIdentity, privateCacheDir, readCacheEntry, writeCacheEntry } from "./private-cache.js";

const FORMAT = 1;
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
  const fileOf = (source: string) =>
    path.join(dir, `${sha256Hex(`${FORMAT}\u0000${identity}\u0000`, source)}.json`);
  return {
    recall(source) {
      const text = readCacheEntry(fileOf(source), MAX_ENTRY_BYTES);
      try {
        return text === null ? undefined : JSON.parse(text);
      } catch {
        return undefined;
      }
    },
    keep(source: string, manifest: Manifest) {
      writeCacheEntry(dir, fileOf(source), JSON.stringify(manifest), MAX_ENTRIES);
    },
  };
}
