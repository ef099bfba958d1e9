// Reading a manifest's text into a plain tree (text scalars, lists, null-prototype mappings),
// before any field is validated: a quick one-pass reader for the block style the plugin writes,
// the full YAML parser (failsafe schema, aliases expanded within a budget) for anything else.
// Pure code. The schema and the writing are in manifest.ts.
import { isAlias, isMap, isNode, isScalar, isSeq, LineCounter, parseDocument, visit } from "yaml";

export class ManifestError extends Error {
  constructor(
    message: string,
    readonly line?: number,
  ) {
    super(message);
  }
}

// Nodes visited while reading, aliases expanded: far above any real manifest (a few hundred),
// far below what would exhaust memory. An alias bomb stops here as a corrupt manifest.
const MAX_NODES = 200_000;
export const NULLS = new Set(["", "~", "null", "Null", "NULL"]);

/** What a manifest is made of once read: text scalars, lists and null-prototype mappings. */
export type Plain = string | null | Plain[] | { [key: string]: Plain };
export type Mapping = { [key: string]: Plain };
export const isMapping = (v: Plain | undefined): v is Mapping =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** The node as typed: scalars as their text (a plain `null`/`~`/empty is null), aliases expanded. */
export function plainOf(node: unknown, resolveAlias: (n: unknown) => unknown, budget: Budget): Plain {
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
export const freshBudget = (): Budget => ({ left: MAX_NODES, open: new Set() });

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
  // One pass over the text by offsets: the line being read is three numbers, and a string is cut
  // only for a key or a value that is kept (the first read of a command runs in the interpreter,
  // where every object and string made per line shows).
  let budget = MAX_NODES;
  /** The current line with content: its indentation (-1 once the text is over), where its text
   * starts after the indentation, where it ends (its `\n`, or the end of the text), and whether it
   * is a sequence item (`-` then a space or nothing). */
  let indent = -1;
  let start = 0;
  let end = 0;
  let item = false;

  /** Moves to the first line with content at or after offset `at`; blank and comment lines are skipped. */
  const seek = (at: number): void => {
    while (at <= source.length) {
      let nl = source.indexOf("\n", at);
      if (nl < 0) nl = source.length;
      let s = at;
      // Most lines are indented as the one before: that many spaces are checked at once.
      if (indent > 0 && indent < INDENTS.length && source.startsWith(INDENTS[indent] as string, at))
        s += indent;
      while (source.charCodeAt(s) === SPACE) s++;
      if (s < nl && source.charCodeAt(s) !== HASH) {
        indent = s - at;
        start = s;
        end = nl;
        item = dashAt(s);
        return;
      }
      at = nl + 1;
    }
    indent = -1;
  };
  /** Whether the text at `at` (up to the line's end) is a sequence item: `-` then a space or nothing. */
  const dashAt = (at: number): boolean =>
    source.charCodeAt(at) === DASH && (at + 1 === end || source.charCodeAt(at + 1) === SPACE);
  /** The first `:` at or after `at` anywhere in the text (-1: none). The last answer is kept:
   * lines ask from further and further on, so the text is searched about once in all. */
  let colonAsked = Number.POSITIVE_INFINITY;
  let colonAt = -1;
  const colonFrom = (at: number): number => {
    if (at < colonAsked || (colonAt >= 0 && colonAt < at)) {
      colonAt = source.indexOf(":", at);
      colonAsked = at;
    }
    return colonAt;
  };

  /** The first offset from `at` on the current line that is not a space. */
  const skipSpaces = (at: number): number => {
    while (at < end && source.charCodeAt(at) === SPACE) at++;
    return at;
  };

  /** One scalar as typed, from `from` to the line's end or a comment; undefined when not a simple one. */
  const scalarAt = (from: number): Plain | undefined => {
    if (--budget < 0) return undefined;
    const first = source.charCodeAt(from);
    if (first === DOUBLE || first === SINGLE) {
      let close: number;
      let value = "";
      if (first === DOUBLE) {
        close = source.indexOf('"', from + 1);
        if (close < 0 || close >= end) return undefined;
        value = source.slice(from + 1, close);
        if (value.includes("\\")) {
          // A backslash may escape a quote: the value is read again, up to its real closing quote,
          // with only the escapes YAML and JSON share, by JSON's own reader.
          const raw = source.slice(from, end);
          let at = 1;
          while (at < raw.length && raw[at] !== '"') at += raw[at] === "\\" ? 2 : 1;
          const body = raw.slice(1, at);
          if (at >= raw.length || /\\(?!["\\/bfnrt]|u[0-9a-fA-F]{4})/.test(body)) return undefined;
          value = JSON.parse(`"${body}"`) as string;
          close = from + at;
        }
      } else {
        // '' is one quote inside single quotes.
        let at = from + 1;
        for (;;) {
          const q = source.indexOf("'", at);
          if (q < 0 || q >= end) return undefined;
          value += source.slice(at, q);
          if (source.charCodeAt(q + 1) !== SINGLE) {
            close = q;
            break;
          }
          value += "'";
          at = q + 2;
        }
      }
      // After the closing quote: nothing, or a comment after a space.
      const rest = skipSpaces(close + 1);
      if (rest < end && (source.charCodeAt(rest) !== HASH || rest === close + 1)) return undefined;
      return value;
    }
    // Trailing spaces, then a comment and the spaces before it, are not the value.
    let to = end;
    while (source.charCodeAt(to - 1) === SPACE) to--;
    let value = source.slice(from, to);
    const hash = value.indexOf(" #");
    if (hash >= 0) {
      to = from + hash;
      while (source.charCodeAt(to - 1) === SPACE) to--;
      value = source.slice(from, to);
    }
    if (value === "") return null;
    // A plain scalar that starts with an indicator, or holds `: ` (a nested mapping), is not simple.
    // (`-`, `?` and `:` start a plain scalar when a non-space follows: `-c`, `:x`.) Most values
    // start with a letter or a digit, which is none of these.
    const lead = source.charCodeAt(from);
    const word = ((lead | 0x20) >= 0x61 && (lead | 0x20) <= 0x7a) || (lead >= 0x30 && lead <= 0x39);
    if (
      !word &&
      (INDICATORS.includes(value[0] as string) ||
        ((lead === DASH || lead === QUESTION || lead === COLON) &&
          (value.length === 1 || value[1] === " ")) ||
        value === "---" ||
        value === "...")
    )
      return undefined;
    if (value.includes(": ") || value.endsWith(":")) return undefined;
    return value.length <= 4 && NULLS.has(value) ? null : value;
  };

  /** A plain key from `from` to its `:` at `to`, or undefined when it cannot be one. Keys repeat on
   * every service and history entry: one already accepted (same length, same first and last
   * character, same text) is reused rather than checked and cut again. */
  const plainKeys = new Map<number, string>();
  const plainKey = (from: number, to: number): string | undefined => {
    const slot =
      (to - from) * 0x10000 + (source.charCodeAt(from) & 0xff) * 0x100 + (source.charCodeAt(to - 1) & 0xff);
    const seen = plainKeys.get(slot);
    if (seen !== undefined && source.startsWith(seen, from)) return seen;
    if (KEY_INDICATORS.includes(source[from] as string) || source.charCodeAt(to - 1) === SPACE)
      return undefined;
    const key = source.slice(from, to);
    if (key.includes(" #") || NULLS.has(key)) return undefined;
    plainKeys.set(slot, key);
    return key;
  };

  /** Where the value of a key starts, set by keyOf: the line's end when nothing follows the `:`. */
  let valueFrom = 0;
  /** The key of a block mapping at `from` on the current line (plain, or quoted on one line). */
  const keyOf = (from: number): string | undefined => {
    let key: string;
    let colon: number;
    const first = source.charCodeAt(from);
    if (first === DOUBLE || first === SINGLE) {
      const close = source.indexOf(first === DOUBLE ? '"' : "'", from + 1);
      if (close < 0 || close >= end || source.charCodeAt(close + 1) === first) return undefined;
      key = source.slice(from + 1, close);
      colon = close + 1;
      if (key.includes("\\") || source.charCodeAt(colon) !== COLON) return undefined;
      if (colon + 1 < end && source.charCodeAt(colon + 1) !== SPACE) return undefined;
    } else {
      // The first `:` followed by a space or the line's end.
      colon = colonFrom(from);
      while (colon >= 0 && colon + 1 < end && source.charCodeAt(colon + 1) !== SPACE)
        colon = colonFrom(colon + 1);
      if (colon < 0 || colon >= end || colon === from) return undefined;
      const plain = plainKey(from, colon);
      if (plain === undefined) return undefined;
      key = plain;
    }
    valueFrom = colon + 1;
    while (valueFrom < end && source.charCodeAt(valueFrom) === SPACE) valueFrom++;
    return key;
  };

  /** The value after `key:` or `- ` (from `from`, the line's end when none): inline, or the block that
   * follows at a deeper indentation. */
  const valueAfter = (from: number, parent: number, seqAtSameIndent: boolean): Plain | undefined => {
    if (from < end && source.charCodeAt(from) !== HASH) {
      const v = scalarAt(from);
      seek(end + 1);
      // A deeper line after a scalar would continue it (a multi-line plain scalar).
      if (v === undefined || indent > parent) return undefined;
      return v;
    }
    seek(end + 1);
    if (indent > parent) return block(indent);
    if (seqAtSameIndent && indent === parent && item) return block(parent);
    if (--budget < 0) return undefined;
    return null;
  };

  /** The block (mapping or sequence) whose lines start at `at` (the current line's indentation). */
  const block = (at: number): Plain | undefined => {
    if (indent !== at) return undefined;
    if (--budget < 0) return undefined;
    if (item) {
      const items: Plain[] = [];
      while (indent === at && item) {
        const body = skipSpaces(start + 1);
        let value: Plain | undefined;
        if (body === end || source.charCodeAt(body) === HASH) value = valueAfter(end, at, false);
        else if (dashAt(body)) return undefined;
        else if (keyOf(body) !== undefined) {
          // `- key: value`: a mapping whose keys line up with this first one, read as if the dash
          // and the spaces after it were indentation.
          indent = at + (body - start);
          start = body;
          item = false;
          value = block(indent);
        } else value = valueAfter(body, at, false);
        if (value === undefined) return undefined;
        items.push(value);
      }
      return indent > at ? undefined : items;
    }
    const map = emptyMapping();
    while (indent === at) {
      if (item) return undefined;
      const key = keyOf(start);
      if (key === undefined || Object.hasOwn(map, key)) return undefined;
      const value = valueAfter(valueFrom, at, true);
      if (value === undefined) return undefined;
      map[key] = value;
    }
    return indent > at ? undefined : map;
  };

  seek(0);
  if (indent !== 0 || source.startsWith("---", start) || source.startsWith("...", start)) return undefined;
  if (source.charCodeAt(start) === PERCENT) return undefined;
  const root = block(0);
  return indent < 0 ? root : undefined;
}

/**
 * A mapping with no prototype. Written as a literal, V8 makes it in one step (as a small hash
 * table); `Object.setPrototypeOf({}, null)`, which kept the fast form, is a call into the runtime
 * for each of the ~1,200 mappings of a 200-service manifest, and its first read in a fresh
 * process was 2–3 ms slower for it (12.1–15.1 against 10.4–12.6 ms, medians of 15, interleaved).
 * The mappings live only until the record is built from them.
 */
const emptyMapping = (): Mapping => ({ __proto__: null }) as unknown as Mapping;

/** Indentations of up to 32 spaces, as text. */
const INDENTS = Array.from({ length: 33 }, (_, n) => " ".repeat(n));

const SPACE = 0x20;
const HASH = 0x23;
const DASH = 0x2d;
const COLON = 0x3a;
const QUESTION = 0x3f;
const PERCENT = 0x25;
const DOUBLE = 0x22;
const SINGLE = 0x27;
/** Characters that make a plain scalar, or a plain key, more than text when they start it. */
const INDICATORS = ",[]{}#&*!|>'\"%@`";
const KEY_INDICATORS = "-?:,[]{}#&*!|>%@`<";

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

function lineOf(doc: ReturnType<typeof parseDocument>, lc: LineCounter, path: string[]): number | undefined {
  // An entry of a mapping is shown at its key: a block value only starts on the line after it.
  const parent = doc.getIn(path.slice(0, -1), true);
  if (isMap(parent)) {
    const pair = parent.items.find((p) => isScalar(p.key) && String(p.key.value) === path.at(-1));
    const key = pair?.key as { range?: [number, number] } | undefined;
    if (key?.range) return lc.linePos(key.range[0]).line;
  }
  const node = doc.getIn(path, true) as { range?: [number, number] } | undefined;
  return node?.range ? lc.linePos(node.range[0]).line : undefined;
}
