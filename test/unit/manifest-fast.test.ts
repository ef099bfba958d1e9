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
// Values a manifest holds: plain, null in its spellings, quoted with a comment sign, a doubled
// single quote or an escape inside.
const MANIFEST_VALUES = [
  "",
  "~",
  "null",
  '""',
  "''",
  '"2026-11-20T10:00:00Z"',
  '"a # b"',
  "'a '' b'",
  '"a\\"b"',
];
const scalar = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.:/@-]{0,12}$/),
  fc.constantFrom(
    ...MANIFEST_VALUES,
    "1.10",
    "2024-11-20",
    "NULL",
    "true",
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
/** Trees of keys `k` and values `v`; `unique`: no mapping repeats a key (a text YAML refuses). */
const treeOf = (k: fc.Arbitrary<string>, v: fc.Arbitrary<string>, unique = false) =>
  fc.letrec<{ node: Tree }>((tie) => ({
    node: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      v,
      fc.array(tie("node"), { minLength: 1, maxLength: 3 }).map((seq) => ({ seq })),
      (unique
        ? fc.uniqueArray(fc.tuple(k, tie("node")), { minLength: 1, maxLength: 3, selector: ([name]) => name })
        : fc.array(fc.tuple(k, tie("node")), { minLength: 1, maxLength: 3 })
      ).map((map) => ({ map })),
    ),
  })).node;
/** `gap`: the spaces after an item's dash (`-   key: v` lines its keys up three columns further). */
function write(
  t: Exclude<Tree, string>,
  indent: number,
  step: number,
  sameIndentSeq: boolean,
  gap = 1,
): string[] {
  const pad = " ".repeat(indent);
  const out: string[] = [];
  if ("map" in t) {
    for (const [k, v] of t.map) {
      if (typeof v === "string") out.push(`${pad}${k}: ${v}`);
      else {
        out.push(`${pad}${k}:`);
        out.push(...write(v, "seq" in v && sameIndentSeq ? indent : indent + step, step, sameIndentSeq, gap));
      }
    }
  } else {
    for (const v of t.seq) {
      const dash = `${pad}-${" ".repeat(gap)}`;
      if (typeof v === "string") out.push(`${dash}${v}`);
      else {
        const inner = write(v, dash.length, step, sameIndentSeq, gap);
        // The first line of a nested block goes after the dash: `- key: value`, `- - x`.
        out.push(`${dash}${(inner[0] ?? "").slice(dash.length)}`, ...inner.slice(1));
      }
    }
  }
  return out;
}
/** What a person adds to a written block: comment and blank lines between any two lines (at any
 * indentation), spaces or a comment at the end of a line. */
const touch = fc.tuple(
  fc.nat(),
  fc.oneof(
    fc.constantFrom("# between", "    # deeper", "  #", "", "   ").map((line) => ({ line })),
    fc.constantFrom("   ", " # tail", "  # tail: x", "#tight").map((end) => ({ end })),
  ),
);
function touched(lines: string[], touches: [number, { line: string } | { end: string }][]): string[] {
  const out = [...lines];
  for (const [at, what] of touches) {
    const i = at % (out.length + 1);
    if ("line" in what) out.splice(i, 0, what.line);
    else if (i < out.length) out[i] = `${out[i]}${what.end}`;
  }
  return out;
}
const blockDocumentOf = (k: fc.Arbitrary<string>, v: fc.Arbitrary<string>, unique = false) =>
  fc
    .tuple(
      unique
        ? fc.uniqueArray(fc.tuple(k, treeOf(k, v, true)), {
            minLength: 1,
            maxLength: 4,
            selector: ([name]) => name,
          })
        : fc.array(fc.tuple(k, treeOf(k, v)), { minLength: 1, maxLength: 4 }),
      fc.constantFrom(2, 4),
      fc.boolean(),
      fc.constantFrom(1, 1, 2, 3),
      fc.array(touch, { maxLength: 4 }),
    )
    .map(
      ([map, step, same, gap, touches]) =>
        `${touched(write({ map }, 0, step, same, gap), touches).join("\n")}\n`,
    );
const blockDocument = blockDocumentOf(key, scalar);
/** Keys and values as manifests hold them, so that most documents are read by the quick reader. */
const commonDocument = blockDocumentOf(
  fc.oneof(
    { weight: 4, arbitrary: fc.stringMatching(/^[a-z_][a-z0-9_.-]{0,8}$/) },
    { weight: 1, arbitrary: fc.constantFrom('"quoted key"', "'single'", "a#b", "updated_at", "updated_by") },
  ),
  fc.oneof(
    fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_./@-]{0,12}$/),
    fc.constantFrom(...MANIFEST_VALUES, "a#b", "a # comment", "http://x:80/y", "-x", "é ü 中"),
  ),
  true,
);

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

  it("reads the usual block shapes, touched by hand, as the full parser does", SLOW, () => {
    let read = 0;
    fc.assert(
      fc.property(commonDocument, (text) => {
        if (agrees(text)) read++;
      }),
      { numRuns: 1000 },
    );
    // About half are for the quick reader to read; it declines a sequence right inside a sequence
    // (`- - x`), which the generator writes often.
    expect(read).toBeGreaterThan(350);
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
    // Shapes the quick reader reads itself (it hands none of them to the full parser).
    const read = [
      // An item's keys line up after the dash and the spaces that follow it, not two columns in.
      "a:\n-   b: 1\n    c: 2\n-  d: 3\n   e:\n   - f\n",
      "a:\n  -  'q': 1\n     \"r\": 2\n  # between items\n\n  - s: 3 # note\n    t: 'u' # v\n",
      // An empty value followed by a sequence at the key's own indentation, then more keys.
      "a:\n- x\nb: \n- y\n-\nc: z  \n",
      // Keys alike in length and first and last letters, and the same key again further on.
      "abct: 1\naxyt: 2\nm:\n  abct: 3\n  axyt: 4\nn:\n  - abct: 5\n",
      "updated_at: x\nupdated_by: y\nh:\n  - updated_by: z\n    updated_at: w\n",
      // Alike to the last 8 bits of their first letter ('a' is U+0061, 'š' U+0161).
      "m:\n  ab: 1\nn:\n  šb: 2\n",
      // `#` inside values and keys: a comment only after a space.
      "a: b#c\nd: 'e # f'\ng: h # i\nj#k: l\n\"m # n\": o\np: q  #\n",
      // A comment after a quoted value needs a space before it.
      'a: "x" #c\n',
      // Trailing spaces after keys, values and dashes.
      "a:   \n  b:  c  \n  d:\n  -   \n  - e  \n",
      "a: 1",
    ];
    for (const c of read) expect(agrees(c), c).toBe(true);
    // And some it declines, the full parser reading them otherwise or refusing them.
    const declined = [
      "a:\n-   b: 1\n  c: 2\n",
      'a: "x"#c\n',
      "a: 'x'#c\n",
      "a:\n- - b\n",
      // Quoted scalars over several lines (the full parser folds them: "x y", "x #").
      'a: "x\n  y"\n',
      "a: 'x\n  y'\n",
      'a: "x\n#"\n',
      "a: 'x\n#'\n",
      '"a\n b": x\n',
    ];
    for (const c of declined) expect(agrees(c), c).toBe(false);
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
