// The version manifest: its schema (version 1), validation of every field that is read, the
// upgrade of the Makefile-era shape (no `schema:` key, seed field names), and serialisation that
// keeps a human's comments and a stable key order. Scalars are read as the text that was typed
// (`1.10` is the tag "1.10", `2024-11-20` a tag, not a date) and written so that any YAML
// reader, 1.1 or 1.2, reads the same text back. Pure code: text in, text out.
import {
  isMap,
  isScalar,
  isSeq,
  type Node,
  Pair,
  type ParsedNode,
  parse,
  parseDocument,
  Scalar,
  YAMLMap,
  YAMLSeq,
} from "yaml";
import {
  freshBudget,
  isMapping,
  ManifestError,
  type Mapping,
  type Plain,
  plainOf,
  readBlockPlain,
  readFullPlain,
} from "./manifest-read.js";
import { isDigest, isValidTag, parseReference } from "./reference.js";

export { ManifestError, readBlockPlain, readFullPlain };

export const SCHEMA_VERSION = 1;
export const HISTORY_LIMIT = 5;

/** One deployment of a service: what ran, since when, and which command put it there. */
export interface HistoryEntry {
  tag: string;
  digest?: string;
  at: string;
  source: string;
}

export interface ServiceRecord {
  /** Repository the tag belongs to, e.g. "127.0.0.1:5000/req_router". */
  image?: string;
  current_tag: string;
  /** Registry manifest digest (sha256:…) of what should run, recorded even for `latest`. */
  image_digest?: string;
  /** A hotfix tag set with version-set; cleared by the next normal update. */
  custom: boolean;
  /** The tag pull-latest follows (default "latest"). */
  floating_tag?: string;
  /** Database or app; absent means "decide from the image". */
  role?: "database" | "app";
  /** An HTTP(S) URL that answers 2xx when the service is healthy (update-safe checks it). */
  health_url?: string;
  updated_at?: string;
  updated_by?: string;
  /** Newest first; the first entry is what is current. */
  history: HistoryEntry[];
}

export interface Manifest {
  schema: number;
  services: Record<string, ServiceRecord>;
  /** update-safe's data backup: a command (argv, no shell) run instead of the volume snapshot. */
  data_backup_command?: string[];
}

const SERVICE_KEYS = [
  "image",
  "current_tag",
  "image_digest",
  "custom",
  "floating_tag",
  "role",
  "health_url",
  "updated_at",
  "updated_by",
  "history",
] as const;
const ENTRY_KEYS = ["tag", "digest", "at", "source"] as const;

/** A service name as Compose allows it (its schema's pattern for the keys of `services`). */
const SERVICE_NAME = /^[a-zA-Z0-9._-]+$/;
/** Notes such as times and command names: one printable line of bounded length. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
const NOTE = /^[^\u0000-\u001f\u007f-\u009f]{0,200}$/;
const MAX_NAME = 255;
const TRUE = new Set(["true", "True", "TRUE"]);
const FALSE = new Set(["false", "False", "FALSE"]);

const text = (v: Plain | undefined): string | undefined => (typeof v === "string" ? v : undefined);

/**
 * Parses and validates manifest text; older shapes are read as they are and upgraded. Long on
 * purpose: the schema, field by field, in the order the file is written.
 */
export function parseManifest(source: string, memo?: RecordMemo): Manifest {
  // A command reads the record more than once (status: the services, the versions, the roles);
  // the same text is parsed once, and each reader gets its own copy to change.
  if (lastRead?.source === source) return copyManifest(lastRead.manifest);
  let manifest = memo ? restoreManifest(memo.recall(source)) : undefined;
  if (!manifest) {
    manifest = parseManifestText(source);
    memo?.keep(source, manifest);
  }
  lastRead = { source, manifest };
  return copyManifest(manifest);
}
let lastRead: { source: string; manifest: Manifest } | undefined;

/**
 * Where the validated record of a text is kept between commands (adapters/record-memo.ts): a
 * text read again unchanged is then not parsed again. `recall` gives what `keep` was given for
 * the same text, as JSON made plain, or undefined.
 */
export interface RecordMemo {
  recall(source: string): unknown;
  keep(source: string, manifest: Manifest): void;
}

/**
 * A record as parseManifest makes it (null-prototype services, every field of a service and of a
 * history entry present, in the same order) from its JSON form; undefined when the value is not
 * one, and the text is then parsed. Fields are checked for their types, not validated again:
 * the value is one parseManifest made from the same text.
 */
export function restoreManifest(value: unknown): Manifest | undefined {
  const v = value as { schema?: unknown; services?: unknown; data_backup_command?: unknown } | null;
  if (typeof v !== "object" || v === null || v.schema !== SCHEMA_VERSION) return undefined;
  if (typeof v.services !== "object" || v.services === null || Array.isArray(v.services)) return undefined;
  const command = v.data_backup_command;
  if (command !== undefined && !(Array.isArray(command) && command.every((c) => typeof c === "string")))
    return undefined;
  const services: Record<string, ServiceRecord> = Object.create(null);
  const raw = v.services as Record<string, unknown>;
  for (const name of Object.keys(raw)) {
    const r = raw[name] as Record<string, unknown> | null;
    if (typeof r !== "object" || r === null || typeof r.current_tag !== "string") return undefined;
    if (typeof r.custom !== "boolean" || !Array.isArray(r.history)) return undefined;
    if (!OPTIONAL_TEXT.every((k) => r[k] === undefined || typeof r[k] === "string")) return undefined;
    if (r.role !== undefined && r.role !== "database" && r.role !== "app") return undefined;
    const history: HistoryEntry[] = new Array(r.history.length);
    for (let i = 0; i < r.history.length; i++) {
      const e = r.history[i] as Record<string, unknown> | null;
      if (typeof e !== "object" || e === null || typeof e.tag !== "string") return undefined;
      if (typeof e.at !== "string" || typeof e.source !== "string") return undefined;
      if (e.digest !== undefined && typeof e.digest !== "string") return undefined;
      history[i] = { tag: e.tag, digest: e.digest as string | undefined, at: e.at, source: e.source };
    }
    services[name] = {
      image: r.image as string | undefined,
      current_tag: r.current_tag,
      image_digest: r.image_digest as string | undefined,
      custom: r.custom,
      floating_tag: r.floating_tag as string | undefined,
      role: r.role as ServiceRecord["role"],
      health_url: r.health_url as string | undefined,
      updated_at: r.updated_at as string | undefined,
      updated_by: r.updated_by as string | undefined,
      history,
    };
  }
  return command
    ? { schema: SCHEMA_VERSION, services, data_backup_command: command as string[] }
    : { schema: SCHEMA_VERSION, services };
}
const OPTIONAL_TEXT = ["image", "image_digest", "floating_tag", "health_url", "updated_at", "updated_by"];

/** A copy that shares nothing a caller could change with the original. */
function copyManifest(m: Manifest): Manifest {
  const services: Record<string, ServiceRecord> = Object.create(null);
  for (const [name, rec] of Object.entries(m.services))
    services[name] = { ...rec, history: rec.history.map((e) => ({ ...e })) };
  return m.data_backup_command
    ? { schema: m.schema, services, data_backup_command: [...m.data_backup_command] }
    : { schema: m.schema, services };
}

function parseManifestText(source: string): Manifest {
  const quick = readBlockPlain(source);
  const full = quick === undefined ? readFullPlain(source) : undefined;
  const root = quick ?? (full as { root: Plain }).root;
  // Lines are looked up only for an error's message: the full parse is then done, once.
  let lines = full?.lineAt;
  const lineAtPath = (path: string[]): number | undefined => {
    lines ??= readFullPlain(source).lineAt;
    return lines(path);
  };
  if (!isMapping(root)) throw new ManifestError("expected a mapping with a 'services' key", 1);
  const rawSchema = root.schema ?? "0";
  const schema = typeof rawSchema === "string" && /^\d{1,6}$/.test(rawSchema) ? Number(rawSchema) : -1;
  if (schema < 0 || schema > SCHEMA_VERSION) {
    throw new ManifestError(
      `unsupported schema '${typeof rawSchema === "string" ? rawSchema : "(not a number)"}' (this version reads up to ${SCHEMA_VERSION})`,
      lineAtPath(["schema"]),
    );
  }
  const rawServices = root.services ?? Object.create(null);
  if (!isMapping(rawServices))
    throw new ManifestError("'services' must be a mapping of service names", lineAtPath(["services"]));
  const services: Record<string, ServiceRecord> = Object.create(null);
  for (const name of Object.keys(rawServices))
    services[name] = serviceRecord(name, rawServices[name], (...p) => lineAtPath(["services", name, ...p]));
  const command = root.data_backup_command ?? null;
  if (
    command !== null &&
    (!Array.isArray(command) ||
      command.length === 0 ||
      !command.every((c) => typeof c === "string" && c !== "" && !c.includes("\u0000")))
  ) {
    throw new ManifestError(
      "data_backup_command must be a non-empty list of strings (program and arguments)",
      lineAtPath(["data_backup_command"]),
    );
  }
  return command
    ? { schema: SCHEMA_VERSION, services, data_backup_command: command as string[] }
    : { schema: SCHEMA_VERSION, services };
}

/** Where a service's field is (its line), looked up only for an error's message. */
type LineOf = (...path: string[]) => number | undefined;

/** One service's record, checked field by field (the first read of a command runs this in the
 * interpreter: nothing is made per field or per history entry that is not kept). */
function serviceRecord(name: string, raw: Plain | undefined, at: LineOf): ServiceRecord {
  if (!SERVICE_NAME.test(name) || name.length > MAX_NAME)
    throw new ManifestError(
      `'${JSON.stringify(name).slice(1, -1).slice(0, 80)}' is not a Compose service name (letters, digits, '.', '_', '-')`,
      at(),
    );
  if (!isMapping(raw)) throw new ManifestError(`service '${name}' must be a mapping`, at());
  const tag = field(name, at, "current_tag", raw.current_tag, isValidTag, "a valid tag");
  if (tag === undefined)
    throw new ManifestError(`service '${name}': current_tag '' is not a valid tag`, at("current_tag"));
  const role = field(name, at, "role", raw.role, isRole, "'database' or 'app'");
  const custom = field(name, at, "custom", raw.custom, isFlag, "true or false");
  const rawHistory = raw.history ?? [];
  if (!Array.isArray(rawHistory))
    throw new ManifestError(`service '${name}': history must be a list`, at("history"));
  const history: HistoryEntry[] = new Array(rawHistory.length);
  for (let i = 0; i < rawHistory.length; i++) history[i] = historyEntry(name, rawHistory[i] as Plain, i, at);
  return {
    image: field(name, at, "image", raw.image, isRepository, "an image repository (no tag, no digest)"),
    current_tag: tag,
    image_digest: field(name, at, "image_digest", raw.image_digest, isDigest, "a digest"),
    custom: custom !== undefined && TRUE.has(custom),
    floating_tag: field(name, at, "floating_tag", raw.floating_tag, isValidTag, "a valid tag"),
    role: role as ServiceRecord["role"],
    health_url: field(name, at, "health_url", raw.health_url, isHealthUrl, "an http:// or https:// URL"),
    // Seed-era records named it last_updated: read either, and name the one the file has.
    updated_at:
      raw.updated_at == null && raw.last_updated != null
        ? field(name, at, "last_updated", raw.last_updated, isNote, "one line of text")
        : field(name, at, "updated_at", raw.updated_at, isNote, "one line of text"),
    updated_by: field(name, at, "updated_by", raw.updated_by, isNote, "one line of text"),
    history,
  };
}

/** A service's text field: undefined when absent or null, else text that `valid` accepts. */
function field(
  name: string,
  at: LineOf,
  key: string,
  value: Plain | undefined,
  valid: (s: string) => boolean,
  what: string,
): string | undefined {
  if (value === null || value === undefined) return undefined;
  const s = text(value);
  if (s === undefined || !valid(s))
    throw new ManifestError(
      `service '${name}': ${key} ${s === undefined ? "must be text" : `'${JSON.stringify(s).slice(1, -1).slice(0, 80)}' is not ${what}`}`,
      at(key),
    );
  return s;
}

const isNote = (s: string): boolean => NOTE.test(s);
const isRole = (s: string): boolean => s === "database" || s === "app";
const isFlag = (s: string): boolean => TRUE.has(s) || FALSE.has(s);
/** Absent, or one line of text. */
const noteOrNull = (v: Plain): boolean => v === null || (typeof v === "string" && NOTE.test(v));

/** The error for a history entry; its line is looked up only then (it takes the full parse). */
const badEntry = (name: string, i: number, at: LineOf, what: string) =>
  new ManifestError(`service '${name}': history entry ${i + 1} ${what}`, at("history", String(i)));

function historyEntry(name: string, e: Plain, i: number, at: LineOf): HistoryEntry {
  if (!isMapping(e)) throw badEntry(name, i, at, "must be a mapping");
  const t = text(e.tag);
  if (!t || !isValidTag(t)) throw badEntry(name, i, at, "has no valid tag");
  // Seed-era entries named their fields differently; read both.
  const d = e.digest ?? e.image_digest ?? null;
  if (d !== null && (typeof d !== "string" || !isDigest(d)))
    throw badEntry(name, i, at, "digest is not a digest");
  const when = e.at ?? e.deployed_at ?? e.timestamp ?? e.date ?? null;
  const by = e.source ?? e.by ?? null;
  if (!noteOrNull(when) || !noteOrNull(by))
    throw badEntry(name, i, at, "has a field that is not one line of text");
  return {
    tag: t,
    digest: d ?? undefined,
    at: (when as string | null) ?? "",
    source: (by as string | null) ?? "",
  };
}

/** A repository as the `image` field names it: a reference without tag or digest. */
export function isRepository(value: string): boolean {
  if (value.length > MAX_NAME || !/^[A-Za-z0-9._:/-]+$/.test(value)) return false;
  try {
    const ref = parseReference(value);
    return ref.tag === undefined && ref.digest === undefined;
  } catch {
    return false;
  }
}

/** An http(s) URL with a host; userinfo is allowed (it is sent as Basic auth, never shown). */
export function isHealthUrl(value: string): boolean {
  if (value.length > 2048 || /\s/.test(value) || !/^https?:\/\//i.test(value)) return false;
  try {
    return new URL(value).hostname !== "";
  } catch {
    return false;
  }
}

const HEADER =
  " version-manifest.yaml: the image version of every service, written by docker-versions.\n" +
  " Change it with `docker versions` commands; versions.env is generated from it.";

/**
 * Whether `value`, written as a plain scalar, would read back as anything but that same string
 * in YAML 1.2 or YAML 1.1 (numbers `1.10`, dates `2024-11-20`, `yes`/`on`, `0755`, `1:20`, null).
 */
export function needsQuotes(value: string): boolean {
  const known = quoteCache.get(value);
  if (known !== undefined) return known;
  let quote = false;
  for (const version of ["1.1", "1.2"] as const) {
    try {
      quote ||= parse(value, { version, logLevel: "silent" }) !== value;
    } catch {
      quote = true;
    }
  }
  // Tags and times repeat across services and history entries; a small memo bounds the parsing.
  if (quoteCache.size >= 4096) quoteCache.clear();
  quoteCache.set(value, quote);
  return quote;
}
const quoteCache = new Map<string, boolean>();

/** A string scalar every reader reads back as that string; `typedPlain` for the schema's own
 * number and boolean (`schema: 1`, `custom: true`), which are meant to be read as such. */
function scalar(value: string, typedPlain = false): Scalar<string> {
  const node = new Scalar(value);
  node.type = !typedPlain && needsQuotes(value) ? "QUOTE_DOUBLE" : "PLAIN";
  return node;
}

/** Text of a node as typed, for comparing what is there with what would be written. */
function typed(node: unknown): string {
  return JSON.stringify(plainOf(node, () => null, freshBudget()));
}

/** Keeps `existing` when it holds `value` in a form every reader agrees on; else a new node. */
function reuse(existing: unknown, value: Plain, make: () => Node, typedPlain = false): Node {
  if (existing !== undefined && typed(existing) === JSON.stringify(value)) {
    const unambiguous = (n: unknown): boolean =>
      typedPlain ||
      (isScalar(n)
        ? n.type !== "PLAIN" || !needsQuotes(String(n.value ?? ""))
        : isSeq(n) || isMap(n)
          ? (n.items as unknown[]).every((i) => (i instanceof Pair ? unambiguous(i.value) : unambiguous(i)))
          : false);
    if (unambiguous(existing)) return existing as Node;
  }
  const fresh = make();
  // A comment on the value moves to its replacement.
  if (isScalar(existing) && isScalar(fresh)) fresh.comment = existing.comment;
  return fresh;
}

function mapNode(entries: [string, Plain][]): YAMLMap {
  const map = new YAMLMap();
  for (const [k, v] of entries) map.items.push(new Pair(scalar(k), valueNode(v)));
  return map;
}

function valueNode(v: Plain): Node {
  if (v === null) return new Scalar(null);
  if (typeof v === "string") return scalar(v);
  if (Array.isArray(v)) {
    const seq = new YAMLSeq();
    seq.items = v.map(valueNode);
    return seq;
  }
  return mapNode(Object.entries(v));
}

function findPair(map: YAMLMap, key: string): Pair | undefined {
  return (map.items as Pair[]).find((p) => typed(p.key) === JSON.stringify(key));
}

/** Sets `key` in `map` (keeping a node that already says the same), or removes it for undefined. */
function setKey(
  map: YAMLMap,
  key: string,
  value: Plain | undefined,
  make = () => valueNode(value ?? null),
  typedPlain = false,
): void {
  const pair = findPair(map, key);
  if (value === undefined) {
    if (pair) map.items.splice(map.items.indexOf(pair as never), 1);
    return;
  }
  if (pair) pair.value = reuse(pair.value, value, make, typedPlain);
  else map.items.push(new Pair(scalar(key), make()));
}

const entryPlain = (e: HistoryEntry): Mapping => {
  const out: Mapping = Object.create(null);
  for (const k of ENTRY_KEYS) if (e[k] !== undefined) out[k] = e[k] as string;
  return out;
};

/** The history list, reusing each entry node (and its comments) that still says the same. */
function historyNode(existing: unknown, history: readonly HistoryEntry[]): Node {
  const old = isSeq(existing) ? [...existing.items] : [];
  const seq = isSeq(existing) ? existing : new YAMLSeq();
  seq.items = history.map((e) => {
    const want = entryPlain(e);
    const i = old.findIndex((n) => typed(n) === JSON.stringify(want));
    const found = i >= 0 ? old.splice(i, 1)[0] : undefined;
    return reuse(found, want, () => mapNode(Object.entries(want)));
  });
  return seq;
}

function serviceNode(existing: YAMLMap | undefined, rec: ServiceRecord): YAMLMap {
  const node = existing ?? new YAMLMap();
  for (const key of SERVICE_KEYS) {
    if (key === "history") {
      const pair = findPair(node, key);
      if (!pair && rec.history.length === 0) continue;
      const value = historyNode(pair?.value, rec.history);
      if (pair) pair.value = value;
      else node.items.push(new Pair(scalar(key), value));
    } else if (key === "custom") {
      const flag = rec.custom ? "true" : findPair(node, key) ? "false" : undefined;
      setKey(node, key, flag, () => scalar(flag ?? "false", true), true);
    } else setKey(node, key, rec[key]);
  }
  // Keys this version does not know (a human's notes, seed leftovers) stay as they are.
  return node;
}

/**
 * Renders the manifest. With `previousText`, edits that document in place so comments, unknown
 * keys and every value that did not change keep their bytes; otherwise writes a fresh one in the
 * canonical key order.
 */
export function renderManifest(manifest: Manifest, previousText?: string): string {
  const doc = parseDocument(previousText ?? "", { schema: "failsafe" });
  if (!isMap(doc.contents)) doc.contents = new YAMLMap() as unknown as ParsedNode;
  if (!previousText) doc.commentBefore = HEADER;
  const root = doc.contents as unknown as YAMLMap;
  const schemaPair = findPair(root, "schema");
  const schema = () => scalar(String(SCHEMA_VERSION), true);
  if (schemaPair) schemaPair.value = reuse(schemaPair.value, String(SCHEMA_VERSION), schema, true);
  else root.items.unshift(new Pair(scalar("schema"), schema()));
  setKey(root, "data_backup_command", manifest.data_backup_command && [...manifest.data_backup_command]);
  let servicesPair = findPair(root, "services");
  if (!servicesPair || !isMap(servicesPair.value)) {
    if (servicesPair) root.items.splice(root.items.indexOf(servicesPair as never), 1);
    servicesPair = new Pair(scalar("services"), new YAMLMap());
    root.items.push(servicesPair);
  }
  const map = servicesPair.value as YAMLMap;
  map.items = (map.items as Pair[]).filter((p) => {
    const key = plainOf(p.key, () => null, freshBudget());
    return typeof key === "string" && Object.hasOwn(manifest.services, key);
  });
  for (const name of Object.keys(manifest.services).sort()) {
    const pair = findPair(map, name);
    const rec = manifest.services[name] as ServiceRecord;
    if (pair && isMap(pair.value)) pair.value = serviceNode(pair.value, rec);
    else if (pair) pair.value = serviceNode(undefined, rec);
    else map.items.push(new Pair(scalar(name), serviceNode(undefined, rec)));
  }
  return doc.toString({ lineWidth: 0 });
}
