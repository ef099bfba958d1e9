// What each notification destination has been told, and when the project was last checked:
// version-notify.json next to the manifest (an owned file, written atomically). Destinations
// are kept by a hash of their URL or command, so the file holds no webhook token.
import path from "node:path";
import type { Announced } from "../core/announced.js";
import { byName } from "../core/names.js";
import { sha256Hex } from "../core/sha256.js";
import { UserError } from "../errors.js";
import { readText, writeAtomic } from "./store.js";

export const NOTIFY_FILE = "version-notify.json";
const MAX_BYTES = 1024 * 1024;

export interface NotifyState {
  schema: 1;
  last_check?: string;
  destinations: Record<string, Announced>;
}

export function notifyStatePath(manifestPath: string): string {
  return path.join(path.dirname(manifestPath), NOTIFY_FILE);
}

/** The key a destination is remembered by: a hash, never the URL itself. */
export function destinationKey(what: string): string {
  return sha256Hex(what).slice(0, 16);
}

const strings = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === "string");

/** The state, or an empty one when there is none; a file that is not ours is refused in one line. */
export async function readNotifyState(manifestPath: string): Promise<NotifyState> {
  const file = notifyStatePath(manifestPath);
  const text = await readText(file, MAX_BYTES);
  const empty: NotifyState = { schema: 1, destinations: byName() };
  if (text === null) return empty;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new UserError(`${file} is not JSON; remove it (it only remembers what was announced)`);
  }
  const r = raw as { schema?: unknown; last_check?: unknown; destinations?: unknown };
  if (typeof raw !== "object" || raw === null || r.schema !== 1)
    throw new UserError(`${file} is not a docker-versions notification state; remove it`);
  const out: NotifyState = {
    schema: 1,
    last_check: typeof r.last_check === "string" ? r.last_check : undefined,
    destinations: byName(),
  };
  if (typeof r.destinations === "object" && r.destinations !== null) {
    for (const [key, announced] of Object.entries(r.destinations)) {
      if (typeof announced !== "object" || announced === null) continue;
      const services = byName<string[]>();
      for (const [service, keys] of Object.entries(announced)) if (strings(keys)) services[service] = keys;
      out.destinations[key] = services;
    }
  }
  return out;
}

export async function writeNotifyState(manifestPath: string, state: NotifyState): Promise<void> {
  await writeAtomic(notifyStatePath(manifestPath), `${JSON.stringify(state, null, 2)}\n`);
}
