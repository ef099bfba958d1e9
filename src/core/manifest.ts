// The version manifest: its schema (version 1), validation of what is read, the upgrade of the
// Makefile-era shape (no `schema:` key, seed field names), and serialisation that keeps a
// human's comments and a stable key order. Pure code: text in, text out.
import { Document, isMap, LineCounter, parseDocument, type YAMLMap } from "yaml";
import { isDigest, isValidTag } from "./reference.js";

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

export class ManifestError extends Error {
  constructor(
    message: string,
    readonly line?: number,
  ) {
    super(message);
  }
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

type Raw = Record<string, unknown>;
const isObject = (v: unknown): v is Raw => typeof v === "object" && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined =>
  typeof v === "string"
    ? v
    : typeof v === "number"
      ? String(v)
      : v instanceof Date
        ? v.toISOString()
        : undefined;

function lineOf(doc: Document, lc: LineCounter, path: (string | number)[]): number | undefined {
  const node = doc.getIn(path, true) as { range?: [number, number] } | undefined;
  return node?.range ? lc.linePos(node.range[0]).line : undefined;
}

/** Parses and validates manifest text; older shapes are read as they are and upgraded. */
export function parseManifest(text: string): Manifest {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc });
  const syntax = doc.errors[0];
  if (syntax) {
    throw new ManifestError(`not valid YAML: ${syntax.message.split("\n")[0]}`, syntax.linePos?.[0].line);
  }
  const root = doc.toJS() as unknown;
  if (!isObject(root)) throw new ManifestError("expected a mapping with a 'services' key", 1);
  const schema = root.schema === undefined ? 0 : Number(root.schema);
  if (!Number.isInteger(schema) || schema < 0 || schema > SCHEMA_VERSION) {
    throw new ManifestError(
      `unsupported schema '${String(root.schema)}' (this version reads up to ${SCHEMA_VERSION})`,
      lineOf(doc, lc, ["schema"]),
    );
  }
  const rawServices = root.services ?? {};
  if (!isObject(rawServices))
    throw new ManifestError("'services' must be a mapping of service names", lineOf(doc, lc, ["services"]));
  const services: Record<string, ServiceRecord> = {};
  for (const [name, raw] of Object.entries(rawServices)) {
    const at = (...p: (string | number)[]) => lineOf(doc, lc, ["services", name, ...p]);
    if (!isObject(raw)) throw new ManifestError(`service '${name}' must be a mapping`, at());
    const tag = str(raw.current_tag);
    if (!tag || !isValidTag(tag))
      throw new ManifestError(
        `service '${name}': current_tag '${tag ?? ""}' is not a valid tag`,
        at("current_tag"),
      );
    const digest = str(raw.image_digest);
    if (digest !== undefined && digest !== "" && !isDigest(digest)) {
      throw new ManifestError(
        `service '${name}': image_digest '${digest}' is not a digest`,
        at("image_digest"),
      );
    }
    const role = raw.role;
    if (role !== undefined && role !== "database" && role !== "app")
      throw new ManifestError(`service '${name}': role must be 'database' or 'app'`, at("role"));
    const healthUrl = str(raw.health_url);
    if (healthUrl !== undefined && !/^https?:\/\/\S+$/.test(healthUrl)) {
      throw new ManifestError(
        `service '${name}': health_url must be an http:// or https:// URL`,
        at("health_url"),
      );
    }
    const rawHistory = raw.history ?? [];
    if (!Array.isArray(rawHistory))
      throw new ManifestError(`service '${name}': history must be a list`, at("history"));
    const history = rawHistory.map((e, i): HistoryEntry => {
      if (!isObject(e))
        throw new ManifestError(
          `service '${name}': history entry ${i + 1} must be a mapping`,
          at("history", i),
        );
      const t = str(e.tag);
      if (!t || !isValidTag(t))
        throw new ManifestError(
          `service '${name}': history entry ${i + 1} has no valid tag`,
          at("history", i),
        );
      // Seed-era entries named their fields differently; read both.
      const d = str(e.digest ?? e.image_digest);
      if (d !== undefined && d !== "" && !isDigest(d))
        throw new ManifestError(
          `service '${name}': history entry ${i + 1} digest is not a digest`,
          at("history", i),
        );
      return {
        tag: t,
        digest: d || undefined,
        at: str(e.at ?? e.deployed_at ?? e.timestamp ?? e.date) ?? "",
        source: str(e.source ?? e.by) ?? "",
      };
    });
    services[name] = {
      image: str(raw.image),
      current_tag: tag,
      image_digest: digest || undefined,
      custom: raw.custom === true,
      floating_tag: str(raw.floating_tag),
      role,
      health_url: healthUrl,
      updated_at: str(raw.updated_at ?? raw.last_updated),
      updated_by: str(raw.updated_by),
      history,
    };
  }
  const command = root.data_backup_command;
  if (
    command !== undefined &&
    (!Array.isArray(command) || command.length === 0 || !command.every((c) => typeof c === "string"))
  ) {
    throw new ManifestError(
      "data_backup_command must be a non-empty list of strings (program and arguments)",
      lineOf(doc, lc, ["data_backup_command"]),
    );
  }
  return command
    ? { schema: SCHEMA_VERSION, services, data_backup_command: command as string[] }
    : { schema: SCHEMA_VERSION, services };
}

const HEADER =
  " version-manifest.yaml: the image version of every service, written by docker-versions.\n" +
  " Change it with `docker versions` commands; versions.env is generated from it.";

function serviceNode(doc: Document, existing: YAMLMap | undefined, rec: ServiceRecord): YAMLMap {
  const node = existing ?? (doc.createNode({}) as YAMLMap);
  for (const key of SERVICE_KEYS) {
    const value = key === "history" ? rec.history.map((e) => ordered(e, ENTRY_KEYS)) : rec[key];
    if (value === undefined || (key === "custom" && value === false && !node.has(key))) node.delete(key);
    else node.set(key, doc.createNode(value));
  }
  // Keys this version does not know (a human's notes, seed leftovers) stay as they are.
  return node;
}

function ordered<T extends object>(obj: T, keys: readonly (keyof T)[]): Partial<T> {
  const out: Partial<T> = {};
  for (const k of keys) if (obj[k] !== undefined) out[k] = obj[k];
  return out;
}

/**
 * Renders the manifest. With `previousText`, edits that document in place so comments and
 * unknown keys survive; otherwise writes a fresh one in the canonical key order.
 */
export function renderManifest(manifest: Manifest, previousText?: string): string {
  const doc = previousText ? parseDocument(previousText) : new Document({});
  if (!isMap(doc.contents)) doc.contents = doc.createNode({}) as YAMLMap;
  if (!previousText) doc.commentBefore = HEADER;
  const root = doc.contents as YAMLMap;
  if (!root.has("schema")) root.items.unshift(doc.createPair("schema", SCHEMA_VERSION));
  else root.set("schema", SCHEMA_VERSION);
  if (manifest.data_backup_command)
    root.set("data_backup_command", doc.createNode(manifest.data_backup_command));
  const found: unknown = root.get("services", true);
  const map = isMap(found) ? found : (doc.createNode({}) as YAMLMap);
  if (map !== found) root.set("services", map);
  for (const key of map.items.map((p) => String((p.key as { value?: unknown })?.value ?? p.key))) {
    if (!(key in manifest.services)) map.delete(key);
  }
  for (const name of Object.keys(manifest.services).sort()) {
    const existing = map.get(name, true);
    const node = serviceNode(
      doc,
      isMap(existing) ? existing : undefined,
      manifest.services[name] as ServiceRecord,
    );
    if (!isMap(existing)) map.set(name, node);
  }
  return doc.toString({ lineWidth: 0 });
}
