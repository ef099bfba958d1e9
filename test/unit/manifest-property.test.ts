// Properties of the manifest's reader and writer over generated input (fast-check):
// - any manifest the plugin writes reads back equal (fresh, or written over another one);
// - any text either reads as a valid manifest or fails with the one ManifestError, never
//   another exception;
// - a write keeps hand-written comments and every line outside the values that changed.
import fc from "fast-check";
import { describe, expect, it } from "vitest";

// Hundreds of generated documents each: far from a timing test, but slow on a loaded host.
const SLOW = { timeout: 120_000 };

import { recordDeployment } from "../../src/core/history.js";
import {
  HISTORY_LIMIT,
  type Manifest,
  ManifestError,
  parseManifest,
  renderManifest,
  restoreManifest,
  type ServiceRecord,
} from "../../src/core/manifest.js";

// ---------------------------------------------------------------------------------------------
// Generators of what the plugin may hold

/** Tags as registries spell them, with the ones YAML readers love to misread mixed in. */
const tag = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,24}$/),
  fc.constantFrom(
    "1.10",
    "2024-11-20",
    "1e3",
    "0x1F",
    "010",
    "yes",
    "No",
    "on",
    "null",
    "true",
    "1_000",
    "0o17",
    "y",
    "latest",
    "16",
    "1.27.3-alpine",
  ),
);
/** Service names as Compose allows them, JavaScript built-ins included. */
const serviceName = fc.oneof(
  fc.stringMatching(/^[a-zA-Z0-9._-]{1,20}$/),
  fc.constantFrom("constructor", "__proto__", "toString", "hasOwnProperty", "1.10", "yes", "null", "-"),
);
const digest = fc.stringMatching(/^[0-9a-f]{64}$/).map((h) => `sha256:${h}`);
/** One line of text: times, command names, a human's words (no control characters). */
const note = fc
  .string({ unit: "grapheme", maxLength: 40 })
  // biome-ignore lint/suspicious/noControlCharactersInRegex: notes may not hold control characters
  .filter((s) => !/[\u0000-\u001f\u007f-\u009f]/.test(s));
const repository = fc.constantFrom(
  "nginx",
  "127.0.0.1:5077/team/app",
  "ghcr.io/org/x",
  "registry.example.com:5000/a/b-c",
);

const entry = fc.record({ tag, digest: fc.option(digest, { nil: undefined }), at: note, source: note });
const service: fc.Arbitrary<ServiceRecord> = fc.record(
  {
    image: fc.option(repository, { nil: undefined }),
    current_tag: tag,
    image_digest: fc.option(digest, { nil: undefined }),
    custom: fc.boolean(),
    floating_tag: fc.option(tag, { nil: undefined }),
    role: fc.option(fc.constantFrom("database" as const, "app" as const), { nil: undefined }),
    health_url: fc.option(
      fc.constantFrom("http://127.0.0.1:8080/health", "https://user:p%40ss@h.example/x?y=1"),
      {
        nil: undefined,
      },
    ),
    updated_at: fc.option(note, { nil: undefined }),
    updated_by: fc.option(note, { nil: undefined }),
    history: fc.array(entry, { maxLength: HISTORY_LIMIT }),
  },
  { requiredKeys: ["current_tag", "custom", "history"] },
);
const manifest: fc.Arbitrary<Manifest> = fc
  .record({
    services: fc.dictionary(serviceName, service, { minKeys: 1, maxKeys: 5, noNullPrototype: false }),
    data_backup_command: fc.option(
      fc.array(
        note.filter((s) => s !== ""),
        { minLength: 1, maxLength: 3 },
      ),
      {
        nil: undefined,
      },
    ),
  })
  .map(({ services, data_backup_command }) => {
    const own: Record<string, ServiceRecord> = Object.create(null);
    for (const [k, v] of Object.entries(services)) own[k] = v;
    return data_backup_command
      ? { schema: 1, services: own, data_backup_command }
      : { schema: 1, services: own };
  });

/** The manifest as the reader returns it (absent optional fields read as undefined). */
const normal = (m: Manifest) => JSON.parse(JSON.stringify(m));

describe("what the plugin writes reads back equal", () => {
  it("written fresh", SLOW, () => {
    fc.assert(
      fc.property(manifest, (m) => {
        expect(normal(parseManifest(renderManifest(m)))).toEqual(normal(m));
      }),
      { numRuns: 200 },
    );
  });

  it("written over another manifest's text", SLOW, () => {
    fc.assert(
      fc.property(manifest, manifest, (before, after) => {
        const text = renderManifest(after, renderManifest(before));
        expect(normal(parseManifest(text))).toEqual(normal(after));
      }),
      { numRuns: 100 },
    );
  });
});

describe("a record kept as JSON between commands (record-memo.ts)", () => {
  /** Every object's prototype, keys in order and values, as a comparable outline. */
  const outline = (v: unknown): unknown => {
    if (typeof v !== "object" || v === null) return v;
    if (Array.isArray(v)) return v.map(outline);
    return [Object.getPrototypeOf(v) === null, ...Object.keys(v).map((k) => [k, outline((v as never)[k])])];
  };

  it("restores to what parseManifest made: prototypes, every field, their order", SLOW, () => {
    fc.assert(
      fc.property(manifest, (m) => {
        const parsed = parseManifest(renderManifest(m));
        const restored = restoreManifest(JSON.parse(JSON.stringify(parsed)));
        expect(outline(restored)).toEqual(outline(parsed));
      }),
      { numRuns: 200 },
    );
  });

  it("is not restored when it is not a record's shape", () => {
    const good = JSON.parse(
      JSON.stringify(parseManifest("schema: 1\nservices:\n  a:\n    current_tag: '1'\n")),
    );
    expect(restoreManifest(good)?.services.a?.current_tag).toBe("1");
    for (const bad of [
      null,
      [],
      { ...good, schema: 2 },
      { ...good, services: [] },
      { ...good, data_backup_command: "rm -rf /" },
      { ...good, services: { a: { ...good.services.a, current_tag: 1 } } },
      { ...good, services: { a: { ...good.services.a, custom: "false" } } },
      { ...good, services: { a: { ...good.services.a, role: "db" } } },
      { ...good, services: { a: { ...good.services.a, image: ["x"] } } },
      { ...good, services: { a: { ...good.services.a, history: [{ tag: "1", at: "", source: 3 }] } } },
    ])
      expect(restoreManifest(bad)).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------------------
// Any text: a manifest or the one error

const YAMLISH = [
  "services:",
  "schema: 1",
  "\n",
  "  ",
  "    ",
  "- ",
  "current_tag: ",
  "image_digest: ",
  "history:",
  "custom: ",
  "floating_tag: ",
  "&a ",
  "*a",
  "&b ",
  "*b",
  "<<: ",
  "!!int ",
  "!!binary ",
  "!custom ",
  "{",
  "}",
  "[",
  "]",
  ", ",
  ": ",
  "'",
  '"',
  "1.10",
  "2024-11-20",
  "#",
  "? ",
  "|",
  ">",
  "%YAML 1.1\n",
  "---\n",
  "...\n",
  "\t",
  "\u0000",
  "\u001b",
  "__proto__",
  "constructor",
  "toString",
  "~",
  "null",
  "sha256:",
  "a".repeat(64),
  "\\",
  "\r\n",
  "\uFEFF",
];
const yamlish = fc.array(fc.constantFrom(...YAMLISH), { maxLength: 60 }).map((parts) => parts.join(""));

function readsOrOneError(text: string): void {
  try {
    parseManifest(text);
  } catch (e) {
    if (!(e instanceof ManifestError))
      throw new Error(`not a ManifestError: ${(e as Error)?.stack ?? String(e)}`);
    expect(e.message).not.toContain("\n");
  }
}

describe("any text reads as a manifest or fails with the one ManifestError", () => {
  // Found by the token soup below: an anchor on the whole document, its alias inside it.
  it.each(["&b \r\ncustom: *b", "&m\na: [*m]\n", "services: &s\n  x: *s\n"])(
    "a value that contains its own alias is one ManifestError: %j",
    (text) => {
      expect(() => parseManifest(text)).toThrow(ManifestError);
      readsOrOneError(text);
    },
  );

  it("random strings", SLOW, () => {
    fc.assert(fc.property(fc.string({ unit: "binary", maxLength: 200 }), readsOrOneError), { numRuns: 500 });
  });

  it("random bytes decoded as UTF-8", SLOW, () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) =>
        readsOrOneError(Buffer.from(bytes).toString("utf8")),
      ),
      { numRuns: 500 },
    );
  });

  it("YAML-shaped token soup", SLOW, () => {
    fc.assert(fc.property(yamlish, readsOrOneError), { numRuns: 1000 });
  });

  it("valid manifests with bytes inserted, removed or replaced", SLOW, () => {
    const edit = fc.record({ at: fc.nat(), remove: fc.nat({ max: 8 }), insert: fc.constantFrom(...YAMLISH) });
    fc.assert(
      fc.property(manifest, fc.array(edit, { minLength: 1, maxLength: 4 }), (m, edits) => {
        let text = renderManifest(m);
        for (const e of edits) {
          const at = e.at % (text.length + 1);
          text = text.slice(0, at) + e.insert + text.slice(at + e.remove);
        }
        readsOrOneError(text);
      }),
      { numRuns: 300 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// A write keeps what a human added and every line it did not need to change

/** `text` with a comment line before some lines (at their indentation) and after some values. */
function withComments(text: string, picks: readonly number[]): string {
  const lines = text.split("\n");
  const out: string[] = [];
  lines.forEach((line, i) => {
    const indent = /^\s*/.exec(line)?.[0] ?? "";
    const pick = picks[i % picks.length] ?? 0;
    if (line.trim() && pick % 3 === 0) out.push(`${indent}# note ${i}`);
    // A trailing comment after a scalar value of a block mapping.
    if (pick % 4 === 1 && /^\s+[a-z_]+: [^{[\s#][^#]*$/.test(line) && !line.includes(": |"))
      out.push(`${line} # why ${i}`);
    else out.push(line);
  });
  return out.join("\n");
}

const isSubsequence = (small: readonly string[], big: readonly string[]) => {
  let j = 0;
  for (const line of big) if (j < small.length && line === small[j]) j++;
  return j === small.length;
};

describe("a write keeps comments and the lines it did not change", () => {
  it("a new current_tag changes that one line and nothing else", SLOW, () => {
    fc.assert(
      fc.property(
        manifest,
        fc.array(fc.nat(), { minLength: 1, maxLength: 20 }),
        tag,
        fc.nat(),
        (m, picks, newTag, which) => {
          const names = Object.keys(m.services).sort();
          const name = names[which % names.length] as string;
          const before = withComments(renderManifest(m), picks);
          const loaded = parseManifest(before);
          const rec = loaded.services[name] as ServiceRecord;
          loaded.services[name] = { ...rec, current_tag: newTag };
          const after = renderManifest(loaded, before);
          const [a, b] = [before.split("\n"), after.split("\n")];
          expect(b.length).toBe(a.length);
          const changed = a.flatMap((line, i) => (line === b[i] ? [] : [i]));
          expect(changed.length).toBeLessThanOrEqual(1);
          for (const i of changed) expect(b[i]).toMatch(/^\s+current_tag: /);
          expect(parseManifest(after).services[name]?.current_tag).toBe(newTag);
        },
      ),
      { numRuns: 150 },
    );
  });

  it("a deployment keeps every comment and every line of the other services, in order", SLOW, () => {
    fc.assert(
      fc.property(
        manifest,
        fc.array(fc.nat(), { minLength: 1, maxLength: 20 }),
        tag,
        digest,
        fc.nat(),
        (m, picks, newTag, d, which) => {
          const names = Object.keys(m.services).sort();
          const name = names[which % names.length] as string;
          // A full history drops its oldest entry (and that entry's comments) on a deployment.
          const full = m.services[name] as ServiceRecord;
          m.services[name] = { ...full, history: full.history.slice(0, HISTORY_LIMIT - 1) };
          const before = withComments(renderManifest(m), picks);
          const loaded = parseManifest(before);
          loaded.services[name] = recordDeployment(loaded.services[name], {
            tag: newTag,
            digest: d,
            at: "now",
            source: "pull-latest",
          });
          const after = renderManifest(loaded, before).split("\n");
          // Comments: all of them, in the same order.
          const comments = (lines: string[]) =>
            lines.flatMap((l) => /#\s(?:note|why) \d+$/.exec(l)?.[0] ?? []);
          expect(comments(after)).toEqual(comments(before.split("\n")));
          // Lines of every other service, and everything outside `services`, unchanged and in order.
          const blockOf = (lines: string[]) => {
            const start = lines.findIndex(
              (l) =>
                l.replace(/\s#.*$/, "") === `  ${JSON.stringify(name)}:` ||
                l.replace(/\s#.*$/, "") === `  ${name}:`,
            );
            let end = start + 1;
            while (
              end < lines.length &&
              (/^ {4}/.test(lines[end] as string) || /^\s+#/.test(lines[end] as string))
            )
              end++;
            return [start, end] as const;
          };
          const a = before.split("\n");
          const [s, e] = blockOf(a);
          const outside = s >= 0 ? [...a.slice(0, s), ...a.slice(e)] : a;
          expect(
            isSubsequence(
              outside.filter((l) => !/^\s+#/.test(l)),
              after,
            ),
          ).toBe(true);
          expect(parseManifest(after.join("\n")).services[name]?.current_tag).toBe(newTag);
        },
      ),
      { numRuns: 150 },
    );
  });
});
