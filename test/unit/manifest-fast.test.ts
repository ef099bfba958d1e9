// The quick block reader of the manifest (readBlockPlain) against the full YAML parser: on any
// text, it either declines (undefined) or reads exactly the tree the full parser reads, and it
// never accepts a text the full parser refuses. It must not decline what the plugin writes.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ManifestError, readBlockPlain, readFullPlain, renderManifest } from "../../src/core/manifest.js";

const SLOW = { timeout: 120_000 };

/** The full parser's tree, or "refused" when it reports the text as not valid YAML. */
function full(text: string): unknown {
  try {
    return readFullPlain(text).root;
  } catch (e) {
    if (e instanceof ManifestError) return "refused";
    throw e;
  }
}

/** Whether the quick reader read the text (and then, that it read what the full parser reads). */
function agrees(text: string): boolean {
  const quick = readBlockPlain(text);
  if (quick === undefined) return false;
  expect(quick).toEqual(full(text));
  return true;
}

// Pieces of block YAML, the tricky ones included: quotes, comments, indicators, anchors,
// flow collections, escapes, colons and hashes inside values, odd indentation.
const key = fc.oneof(
  fc.stringMatching(/^[a-z_][a-z0-9_.-]{0,8}$/),
  fc.constantFrom(
    '"quoted key"',
    "'single'",
    "'it''s'",
    '"a\\tb"',
    "null",
    "~",
    "<<",
    "? k",
    "a:b",
    "a #b",
    "[x]",
    "&a k",
    "-k",
    "k ",
  ),
);
const scalar = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.:/@-]{0,12}$/),
  fc.constantFrom(
    "",
    "1.10",
    "2024-11-20",
    "~",
    "null",
    "NULL",
    "true",
    '""',
    "''",
    '"2026-11-20T10:00:00Z"',
    '"a # b"',
    "'a '' b'",
    '"a\\"b"',
    '"\\u00e9"',
    '"unclosed',
    "'unclosed",
    "a # comment",
    "a#b",
    "a: b",
    "a:",
    "http://x:80/y",
    "[a, b]",
    "{a: 1}",
    "&anchor x",
    "*anchor",
    "!!str x",
    "|",
    ">-",
    "- x",
    "-x",
    "?x",
    "%x",
    "@x",
    "`x",
    '"a" b',
    "'a' # c",
    "---",
    "...",
    "é ü 中",
    "a\u2003",
    "\u00a0x",
    "x\u3000",
  ),
  // biome-ignore lint/suspicious/noControlCharactersInRegex: one line of text, no control characters
  fc.string({ unit: "grapheme", maxLength: 8 }).filter((s) => !/[\u0000-\u001f\u007f-\u009f]/.test(s)),
);
const line = fc
  .tuple(
    fc.constantFrom("", "  ", "    ", " ", "      "),
    fc.oneof(
      fc.tuple(key, scalar).map(([k, v]) => `${k}:${v === "" ? "" : ` ${v}`}`),
      fc.tuple(key, scalar).map(([k, v]) => `- ${k}: ${v}`),
      scalar.map((v) => `- ${v}`),
      fc.constantFrom("-", "# a comment", "", "---", "key: # c", "- - x", "k:  v  ", "k: v\t", "k:\r"),
    ),
  )
  .map(([indent, body]) => indent + body);
const document = fc.array(line, { minLength: 1, maxLength: 14 }).map((ls) => `${ls.join("\n")}\n`);

/** A tree of block mappings and sequences, written out with the scalars above typed raw. */
type Tree = string | { seq: Tree[] } | { map: [string, Tree][] };
const tree = fc.letrec<{ node: Tree }>((tie) => ({
  node: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    scalar,
    fc.array(tie("node"), { minLength: 1, maxLength: 3 }).map((seq) => ({ seq })),
    fc.array(fc.tuple(key, tie("node")), { minLength: 1, maxLength: 3 }).map((map) => ({ map })),
  ),
})).node;
function write(t: Exclude<Tree, string>, indent: number, step: number, sameIndentSeq: boolean): string[] {
  const pad = " ".repeat(indent);
  const out: string[] = [];
  if ("map" in t) {
    for (const [k, v] of t.map) {
      if (typeof v === "string") out.push(`${pad}${k}: ${v}`);
      else {
        out.push(`${pad}${k}:`);
        out.push(...write(v, "seq" in v && sameIndentSeq ? indent : indent + step, step, sameIndentSeq));
      }
    }
  } else {
    for (const v of t.seq) {
      if (typeof v === "string") out.push(`${pad}- ${v}`);
      else {
        const inner = write(v, indent + 2, step, sameIndentSeq);
        // The first line of a nested block goes after the dash: `- key: value`, `- - x`.
        out.push(`${pad}- ${(inner[0] ?? "").slice(indent + 2)}`, ...inner.slice(1));
      }
    }
  }
  return out;
}
const blockDocument = fc
  .tuple(fc.array(fc.tuple(key, tree), { minLength: 1, maxLength: 4 }), fc.constantFrom(2, 4), fc.boolean())
  .map(([map, step, same]) => `${write({ map }, 0, step, same).join("\n")}\n`);

describe("readBlockPlain", () => {
  it("reads what the full parser reads, or declines", SLOW, () => {
    let read = 0;
    fc.assert(
      fc.property(fc.oneof(document, blockDocument), (text) => {
        if (agrees(text)) read++;
      }),
      { numRuns: 3000 },
    );
    // Not a test that passes by declining everything.
    expect(read).toBeGreaterThan(100);
  });

  it("agrees on hand-picked shapes", () => {
    const cases = [
      "services:\n  a:\n    current_tag: 1.0\n    history:\n      - tag: 1.0\n        at: x\n",
      "services:\n  a:\n    history:\n    - tag: 1.0\n      at: x\n    - tag: 0.9\n",
      "a:\n  - x\n  - 'y'\n  -\n    - z\n",
      "a:\n- b: 1\n  c:\n  - d\n",
      "a: 1\na: 2\n",
      "a:\n    b: 1\n  c: 2\n",
      "a:\n  b\n",
      "a: b\n  c\n",
      "- a\n- b\n",
      "a: 'x' #c\nb: \"y\"   # d\n",
      "# only a comment\n",
      "",
      "a: [1]\n",
      "\ufeffa: 1\n",
    ];
    for (const c of cases) agrees(c);
    expect(agrees(cases[0] as string) && agrees(cases[1] as string) && agrees(cases[2] as string)).toBe(true);
  });

  it("reads every manifest the plugin writes itself, whatever its notes say", SLOW, () => {
    const note = fc
      .string({ unit: "grapheme", maxLength: 30 })
      // biome-ignore lint/suspicious/noControlCharactersInRegex: notes hold no control characters
      .filter((s) => !/[\u0000-\u001f\u007f-\u009f]/.test(s));
    fc.assert(
      fc.property(note, note, fc.array(note, { minLength: 1, maxLength: 3 }), (at, by, command) => {
        const services = Object.create(null);
        services.app = {
          current_tag: "1.0",
          custom: false,
          updated_by: by,
          history: [{ tag: "1.0", at, source: by }],
        };
        const text = renderManifest({ schema: 1, services, data_backup_command: command });
        const quick = readBlockPlain(text);
        // Declined only for an escape JSON does not share (`\_` for a no-break space, `\x85`),
        // or a character YAML 1.1 took for a line break.
        if (!/\\[^"\\/bfnrtu]|[\u0085\u2028\u2029\ufeff]/.test(text)) expect(quick).toBeDefined();
        if (quick !== undefined) expect(quick).toEqual(full(text));
      }),
      { numRuns: 500 },
    );
  });

  it("reads the names and values YAML readers misread, quoted as the plugin writes them", () => {
    const digest = `sha256:${"ab".repeat(32)}`;
    const services = Object.create(null);
    for (const name of ["app", "db", "1.10", "yes", "__proto__"])
      services[name] = {
        image: "127.0.0.1:5077/team/app",
        current_tag: "1.10",
        image_digest: digest,
        custom: true,
        floating_tag: "latest",
        updated_at: "2026-11-20T10:00:00Z",
        updated_by: "it's: a # note",
        history: [{ tag: "2024-11-20", digest, at: "2026-11-20T10:00:00Z", source: "pull-latest" }],
      };
    const text = renderManifest({ schema: 1, services, data_backup_command: ["sh", "-c", "a: b"] });
    const quick = readBlockPlain(text);
    expect(quick).toBeDefined();
    expect(quick).toEqual(full(text));
  });
});
