// The version manifest: its schema (version 1), validation of every field that is read, the
// upgrade of the Makefile-era shape (no `schema:` key, seed field names), and serialisation that
// keeps a human's comments and a stable key order. Scalars are read as the text that was typed
// (`1.10` is the tag "1.10", `2024-11-20` a tag, not a date) and written so that any YAML
// reader, 1.1 or 1.2, reads the same text back. Pure code: text in, text out.
import {
  isAlias,
  isMap,
  isNode,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  Pair,
  type ParsedNode,
  parse,
  parseDocument,
  Scalar,
  visit,
  YAMLMap,
  YAMLSeq,
} from "yaml";
import { isDigest, isValidTag, parseReference } from "./reference.js";

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

/** A service name as Compose allows it (its schema's pattern for the keys of `services`). */
const SERVICE_NAME = /^[a-zA-Z0-9._-]+$/;
/** Notes such as times and command names: one printable line of bounded length. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
const NOTE = /^[^\u0000-\u001f\u007f-\u009f]{0,200}$/;
const MAX_NAME = 255;
// Nodes visited while reading, aliases expanded: far above any real manifest (a few hundred),
// far below what would exhaust memory. An alias bomb stops here as a corrupt manifest.
const MAX_NODES = 200_000;
const NULLS = new Set(["", "~", "null", "Null", "NULL"]);
const TRUE = new Set(["true", "True", "TRUE"]);
const FALSE = new Set(["false", "False", "FALSE"]);

/** What a manifest is made of once read: text scalars, lists and null-prototype mappings. */
type Plain = string | null | Plain[] | { [key: string]: Plain };
type Mapping = { [key: string]: Plain };
const isMapping = (v: Plain | undefined): v is Mapping =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** The node as typed: scalars as their text (a plain `null`/`~`/empty is null), aliases expanded. */
function plainOf(node: unknown, resolveAlias: (n: unknown) => unknown, budget: Budget): Plain {
  if (--budget.left < 0)
    throw new ManifestError(`more than ${MAX_NODES} values once aliases are expanded (an alias bomb?)`);
  if (node === null || node === undefined) return null;
  if (isAlias(node)) {
    const target = resolveAlias(node);
    // `&a` on a collection with `*a` inside it: a value that contains itself, never a manifest.
    if (budget.open.has(target))
      throw new ManifestError(`alias *${node.source} is inside the value it names`);
    return plainOf(target, resolveAlias, budget);
  }
  if (isScalar(node)) {
    const text = String(node.source ?? node.value ?? "");
    return (node.type === "PLAIN" || node.type === undefined) && NULLS.has(text) ? null : text;
  }
  if (!isSeq(node) && !isMap(node)) throw new ManifestError("unsupported YAML node");
  budget.open.add(node);
  try {
    if (isSeq(node)) return node.items.map((i) => plainOf(i, resolveAlias, budget));
    const out: Mapping = Object.create(null);
    for (const pair of node.items) {
      const key = plainOf(pair.key, resolveAlias, budget);
      if (typeof key !== "string") throw new ManifestError("a mapping key is not plain text");
      out[key] = plainOf(pair.value, resolveAlias, budget);
    }
    return out;
  } finally {
    budget.open.delete(node);
  }
}

/** What one read may still expand, and the collections it is inside of (to refuse a cycle). */
type Budget = { left: number; open: Set<unknown> };
const freshBudget = (): Budget => ({ left: MAX_NODES, open: new Set() });

/** Resolves an alias to the node its anchor names: the nearest definition before the alias. */
function anchorsOf(doc: ReturnType<typeof parseDocument>): (alias: unknown) => unknown {
  const defined = new Map<string, { at: number; node: unknown }[]>();
  visit(doc, {
    Node(_, node) {
      if (isNode(node) && node.anchor && node.range)
        defined.set(node.anchor, [...(defined.get(node.anchor) ?? []), { at: node.range[0], node }]);
    },
  });
  return (alias) => {
    const { source, range } = alias as { source: string; range?: [number, number] };
    const before = (defined.get(source) ?? []).filter((d) => !range || d.at < range[0]);
    const found = before[before.length - 1]?.node;
    if (!found) throw new ManifestError(`alias *${source} names no anchor defined before it`);
    return found;
  };
}

/**
 * The plain tree of a manifest in the block style this plugin writes (and people usually type):
 * block mappings and sequences, plain and quoted one-line scalars, comments. Anything else
 * (anchors, flow collections, tags, multi-line scalars, escapes, tabs, duplicate keys, several
 * documents) returns undefined, and the full YAML parser reads the text instead. Where both read a
 * text, they read the same tree (test/unit/manifest-fast.test.ts checks it on generated
 * manifests); this one is a single pass over the lines, some 20× faster on a 200-service record.
 */
export function readBlockPlain(source: string): Plain | undefined {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: such text is the full parser's to read
  if (/[\t\r\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\u0085\u2028\u2029\ufeff]/.test(source))
    return undefined;
  const lines = source.split("\n");
  let i = 0;
  let budget = MAX_NODES;

  /** The next line with content: its indentation and text, comments and blank lines skipped. */
  const next = (): { indent: number; text: string } | null => {
    for (; i < lines.length; i++) {
      const line = lines[i] as string;
      const body = line.replace(/^ +/, "");
      if (body === "" || body.startsWith("#")) continue;
      return { indent: line.length - body.length, text: body };
    }
    return null;
  };

  /** One scalar as typed, up to an end of line or a comment; undefined when not a simple one. */
  const scalarText = (raw: string): Plain | undefined => {
    if (--budget < 0) return undefined;
    const first = raw[0];
    if (first === '"' || first === "'") {
      let end: number;
      let value = "";
      if (first === '"') {
        // Only the escapes YAML and JSON share, read by JSON's own reader.
        end = 1;
        while (end < raw.length && raw[end] !== '"') end += raw[end] === "\\" ? 2 : 1;
        const body = raw.slice(1, end);
        if (end >= raw.length || /\\(?!["\\/bfnrt]|u[0-9a-fA-F]{4})/.test(body)) return undefined;
        value = JSON.parse(`"${body}"`) as string;
      } else {
        // '' is one quote inside single quotes.
        let j = 1;
        for (;;) {
          const q = raw.indexOf("'", j);
          if (q < 0) return undefined;
          value += raw.slice(j, q);
          if (raw[q + 1] === "'") {
            value += "'";
            j = q + 2;
            continue;
          }
          end = q;
          break;
        }
      }
      const rest = raw.slice(end + 1);
      // After the closing quote: nothing, or a comment after a space.
      if (!/^( *| +#.*)$/.test(rest)) return undefined;
      return value;
    }
    const hash = raw.search(/ #/);
    const value = (hash < 0 ? raw : raw.slice(0, hash)).replace(/ +$/, "");
    if (value === "") return null;
    // A plain scalar that starts with an indicator, or holds `: ` (a nested mapping), is not simple.
    // (`-`, `?` and `:` start a plain scalar when a non-space follows: `-c`, `:x`.)
    if (/^([,[\]{}#&*!|>'"%@`]|[-?:]( |$))/.test(value) || value.includes(": ") || value.endsWith(":"))
      return undefined;
    if (value === "---" || value === "...") return undefined;
    return NULLS.has(value) ? null : value;
  };

  /** A key of a block mapping: plain, or quoted on one line. */
  const keyOf = (text: string): { key: string; rest: string } | undefined => {
    let key: string;
    let after: number;
    const first = text[0];
    if (first === '"' || first === "'") {
      const close = text.indexOf(first, 1);
      if (close < 0 || text.slice(1, close).includes("\\") || text[close + 1] === first) return undefined;
      key = text.slice(1, close);
      after = close + 1;
      if (text[after] !== ":" || (text[after + 1] !== undefined && text[after + 1] !== " ")) return undefined;
    } else {
      const colon = text.search(/:( |$)/);
      if (colon <= 0) return undefined;
      key = text.slice(0, colon);
      after = colon;
      if (/^[-?:,[\]{}#&*!|>%@`<]/.test(key) || key.includes(" #") || key !== key.replace(/ +$/, ""))
        return undefined;
      if (NULLS.has(key)) return undefined;
    }
    return { key, rest: text.slice(after + 1).replace(/^ +/, "") };
  };

  /** The value after `key:` or `- `: inline, or the block that follows at a deeper indentation. */
  const valueAfter = (rest: string, indent: number, seqAtSameIndent: boolean): Plain | undefined => {
    if (rest !== "" && !rest.startsWith("#")) {
      const v = scalarText(rest);
      i++;
      // A deeper line after a scalar would continue it (a multi-line plain scalar).
      const after = next();
      if (v === undefined || (after && after.indent > indent)) return undefined;
      return v;
    }
    i++;
    const child = next();
    if (child && child.indent > indent) return block(child.indent);
    if (seqAtSameIndent && child && child.indent === indent && /^-( |$)/.test(child.text))
      return block(indent);
    if (--budget < 0) return undefined;
    return null;
  };

  /** The block (mapping or sequence) whose lines start at `indent`. */
  const block = (indent: number): Plain | undefined => {
    const head = next();
    if (!head || head.indent !== indent) return undefined;
    if (--budget < 0) return undefined;
    if (/^-( |$)/.test(head.text)) {
      const items: Plain[] = [];
      for (let line = next(); line && line.indent === indent && /^-( |$)/.test(line.text); line = next()) {
        const body = line.text.slice(1).replace(/^ +/, "");
        const inner = indent + (line.text.length - body.length);
        let item: Plain | undefined;
        if (body === "" || body.startsWith("#")) item = valueAfter("", indent, false);
        else if (body.startsWith("- ") || body === "-") return undefined;
        else if (keyOf(body) !== undefined) {
          // `- key: value`: a mapping whose keys line up with this first one.
          lines[i] = `${" ".repeat(inner)}${body}`;
          item = block(inner);
        } else item = valueAfter(body, indent, false);
        if (item === undefined) return undefined;
        items.push(item);
      }
      const after = next();
      if (after && after.indent > indent) return undefined;
      return items;
    }
    const map: Mapping = Object.create(null);
    for (let line = next(); line && line.indent === indent; line = next()) {
      if (/^-( |$)/.test(line.text)) return undefined;
      const kv = keyOf(line.text);
      if (!kv || Object.hasOwn(map, kv.key)) return undefined;
      const value = valueAfter(kv.rest, indent, true);
      if (value === undefined) return undefined;
      map[kv.key] = value;
    }
    const after = next();
    if (after && after.indent > indent) return undefined;
    return map;
  };

  const first = next();
  if (first?.indent !== 0 || /^(---|\.\.\.|%)/.test(first.text)) return undefined;
  const root = block(0);
  return next() === null ? root : undefined;
}

/** The plain tree by the full YAML parser (any YAML), with a way to find a path's line. */
export function readFullPlain(source: string): {
  root: Plain;
  lineAt: (path: string[]) => number | undefined;
} {
  const lc = new LineCounter();
  // The failsafe schema: every scalar stays the string that was typed.
  const doc = parseDocument(source, { lineCounter: lc, schema: "failsafe" });
  const syntax = doc.errors[0];
  if (syntax) {
    throw new ManifestError(`not valid YAML: ${syntax.message.split("\n")[0]}`, syntax.linePos?.[0].line);
  }
  const root = plainOf(doc.contents, anchorsOf(doc), freshBudget());
  return { root, lineAt: (path) => lineOf(doc, lc, path) };
}

/** The plain tree of a manifest: the quick block reader when it can, the full parser otherwise. */
export function readPlain(source: string): Plain {
  return readBlockPlain(source) ?? readFullPlain(source).root;
}

function lineOf(doc: ReturnType<typeof parseDocument>, lc: LineCounter, path: string[]): number | undefined {
  const node = doc.getIn(path, true) as { range?: [number, number] } | undefined;
  return node?.range ? lc.linePos(node.range[0]).line : undefined;
}

const text = (v: Plain | undefined): string | undefined => (typeof v === "string" ? v : undefined);

/**
 * Parses and validates manifest text; older shapes are read as they are and upgraded. Long on
 * purpose: the schema, field by field, in the order the file is written.
 */
export function parseManifest(source: string): Manifest {
  // A command reads the record more than once (status: the services, the versions, the roles);
  // the same text is parsed once, and each reader gets its own copy to change.
  if (lastRead?.source === source) return copyManifest(lastRead.manifest);
  const manifest = parseManifestText(source);
  lastRead = { source, manifest };
  return copyManifest(manifest);
}
let lastRead: { source: string; manifest: Manifest } | undefined;

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
  for (const [name, raw] of Object.entries(rawServices)) {
    const at = (...p: string[]) => lineAtPath(["services", name, ...p]);
    if (!SERVICE_NAME.test(name) || name.length > MAX_NAME)
      throw new ManifestError(
        `'${JSON.stringify(name).slice(1, -1).slice(0, 80)}' is not a Compose service name (letters, digits, '.', '_', '-')`,
        at(),
      );
    if (!isMapping(raw)) throw new ManifestError(`service '${name}' must be a mapping`, at());
    const field = (key: string, value: Plain | undefined, valid: (s: string) => boolean, what: string) => {
      if (value === null || value === undefined) return undefined;
      const s = text(value);
      if (s === undefined || !valid(s))
        throw new ManifestError(
          `service '${name}': ${key} ${s === undefined ? "must be text" : `'${JSON.stringify(s).slice(1, -1).slice(0, 80)}' is not ${what}`}`,
          at(key),
        );
      return s;
    };
    const tag = field("current_tag", raw.current_tag, isValidTag, "a valid tag");
    if (tag === undefined)
      throw new ManifestError(`service '${name}': current_tag '' is not a valid tag`, at("current_tag"));
    const note = (key: string, value: Plain | undefined) =>
      field(key, value, (s) => NOTE.test(s), "one line of text");
    const role = field("role", raw.role, (s) => s === "database" || s === "app", "'database' or 'app'");
    const custom = field("custom", raw.custom, (s) => TRUE.has(s) || FALSE.has(s), "true or false");
    const rawHistory = raw.history ?? [];
    if (!Array.isArray(rawHistory))
      throw new ManifestError(`service '${name}': history must be a list`, at("history"));
    const history = rawHistory.map((e, i): HistoryEntry => {
      // The line only for an error: finding it takes the full parse.
      const where = () => at("history", String(i));
      if (!isMapping(e))
        throw new ManifestError(`service '${name}': history entry ${i + 1} must be a mapping`, where());
      const t = text(e.tag);
      if (!t || !isValidTag(t))
        throw new ManifestError(`service '${name}': history entry ${i + 1} has no valid tag`, where());
      // Seed-era entries named their fields differently; read both.
      const d = e.digest ?? e.image_digest ?? null;
      if (d !== null && (typeof d !== "string" || !isDigest(d)))
        throw new ManifestError(`service '${name}': history entry ${i + 1} digest is not a digest`, where());
      const when = e.at ?? e.deployed_at ?? e.timestamp ?? e.date ?? null;
      const by = e.source ?? e.by ?? null;
      for (const v of [when, by])
        if (v !== null && (typeof v !== "string" || !NOTE.test(v)))
          throw new ManifestError(
            `service '${name}': history entry ${i + 1} has a field that is not one line of text`,
            where(),
          );
      return {
        tag: t,
        digest: d ?? undefined,
        at: (when as string | null) ?? "",
        source: (by as string | null) ?? "",
      };
    });
    services[name] = {
      image: field("image", raw.image, isRepository, "an image repository (no tag, no digest)"),
      current_tag: tag,
      image_digest: field("image_digest", raw.image_digest, isDigest, "a digest"),
      custom: custom !== undefined && TRUE.has(custom),
      floating_tag: field("floating_tag", raw.floating_tag, isValidTag, "a valid tag"),
      role: role as ServiceRecord["role"],
      health_url: field("health_url", raw.health_url, isHealthUrl, "an http:// or https:// URL"),
      updated_at: note("updated_at", raw.updated_at ?? raw.last_updated),
      updated_by: note("updated_by", raw.updated_by),
      history,
    };
  }
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
