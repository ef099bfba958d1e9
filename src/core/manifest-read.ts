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
  const lines = source.split("\n");
  let i = 0;
  let budget = MAX_NODES;
  // Each line is looked at several times (by the block that ends at it, then the one it starts):
  // its indentation and text are worked out once. -1: a blank or comment line.
  const indents = new Int32Array(lines.length).fill(-2);
  const texts: string[] = new Array(lines.length);
  const measure = (at: number): void => {
    const line = lines[at] as string;
    let n = 0;
    while (line.charCodeAt(n) === 32) n++;
    const blank = n === line.length || line.charCodeAt(n) === 35; // only spaces, or `#`
    indents[at] = blank ? -1 : n;
    texts[at] = blank ? "" : line.slice(n);
  };

  /** The next line with content: its indentation and text, comments and blank lines skipped. */
  const next = (): { indent: number; text: string } | null => {
    for (; i < lines.length; i++) {
      if (indents[i] === -2) measure(i);
      const indent = indents[i] as number;
      if (indent >= 0) return { indent, text: texts[i] as string };
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
          measure(i);
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

function lineOf(doc: ReturnType<typeof parseDocument>, lc: LineCounter, path: string[]): number | undefined {
  const node = doc.getIn(path, true) as { range?: [number, number] } | undefined;
  return node?.range ? lc.linePos(node.range[0]).line : undefined;
}
