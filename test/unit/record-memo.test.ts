// The memo of validated records on its own: what parseManifest keeps and recalls through it, by
// text and by build; that a changed or corrupt text, another build, an entry not of a record's
// shape, or a cache directory that is not private never gives a stale or foreign record.
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { executableIdentity } from "../../src/adapters/private-cache.js";
import { recordMemo } from "../../src/adapters/record-memo.js";
import { type Manifest, ManifestError, parseManifest, type RecordMemo } from "../../src/core/manifest.js";

const text = (tag: string, service = "api") =>
  `schema: 1\nservices:\n  ${service}:\n    image: reg/api\n    current_tag: "${tag}"\n    custom: false\n    history:\n      - tag: "${tag}"\n        at: "2026-11-29T10:00:00Z"\n        source: pull-latest\n`;

/** The memo with its calls counted. */
function counted(memo: RecordMemo) {
  const n = { recall: 0, recalled: 0, keep: 0 };
  const wrapped: RecordMemo = {
    recall(source) {
      n.recall++;
      const v = memo.recall(source);
      if (v !== undefined) n.recalled++;
      return v;
    },
    keep(source: string, m: Manifest) {
      n.keep++;
      memo.keep(source, m);
    },
  };
  return { memo: wrapped, n };
}

describe("the memo of validated records", () => {
  let cache: string;
  let env: NodeJS.ProcessEnv;
  const entries = () => readdirSync(path.join(cache, "docker-versions", "records"));
  beforeEach(() => {
    cache = mkdtempSync(path.join(tmpdir(), "dv-record-memo-"));
    env = { XDG_CACHE_HOME: cache };
    parseManifest("schema: 1\nservices: {}\n"); // the last text read in this process is not one of these
  });
  afterEach(() => rmSync(cache, { recursive: true, force: true }));

  it("keeps a text's record once, and gives it back, equal, for the same text", () => {
    const { memo, n } = counted(recordMemo(env, "build-1") as RecordMemo);
    const first = parseManifest(text("1.0.0"), memo);
    parseManifest(text("2.0.0"), memo); // another text read in between
    const again = parseManifest(text("1.0.0"), memo);
    expect(n).toEqual({ recall: 3, recalled: 1, keep: 2 });
    expect(again).toStrictEqual(first);
    expect(Object.getPrototypeOf(again.services)).toBeNull();
    expect(entries()).toHaveLength(2);
  });

  it("a changed text is parsed again, never answered with the old record", () => {
    const { memo } = counted(recordMemo(env, "build-1") as RecordMemo);
    parseManifest(text("1.0.0"), memo);
    expect(parseManifest(text("1.0.1"), memo).services.api?.current_tag).toBe("1.0.1");
    expect(parseManifest(text("1.0.0"), memo).services.api?.current_tag).toBe("1.0.0");
  });

  it("another build does not see this one's records", () => {
    parseManifest(text("1.0.0"), recordMemo(env, "build-1"));
    parseManifest("schema: 1\nservices: {}\n"); // the in-process copy moves on
    const { memo, n } = counted(recordMemo(env, "build-2") as RecordMemo);
    parseManifest(text("1.0.0"), memo);
    expect(n.recalled).toBe(0);
  });

  it("keeps nothing of a corrupt text", () => {
    const { memo, n } = counted(recordMemo(env, "build-1") as RecordMemo);
    expect(() => parseManifest(text("bad tag!"), memo)).toThrow(ManifestError);
    expect(n.keep).toBe(0);
    expect(entries()).toEqual([]);
  });

  it("an entry that is not a record's shape is parsed again from the text", () => {
    parseManifest(text("1.0.0"), recordMemo(env, "build-1"));
    parseManifest("schema: 1\nservices: {}\n");
    const [entry] = entries();
    const file = path.join(cache, "docker-versions", "records", entry as string);
    // The entry's text and build as they were, a record after them that is not of a record's shape.
    const kept = readFileSync(file, "utf8");
    const source = text("1.0.0");
    writeFileSync(
      file,
      `${kept.slice(0, kept.indexOf(source) + source.length)}${JSON.stringify({ schema: 1, services: { api: { current_tag: 7 } } })}`,
    );
    const { memo, n } = counted(recordMemo(env, "build-1") as RecordMemo);
    expect(parseManifest(text("1.0.0"), memo).services.api?.current_tag).toBe("1.0.0");
    expect(n.keep).toBe(1);
  });

  it("two texts whose entries share a name take turns in it, each recalled only for itself", () => {
    // Long enough that only some characters name the entry: the texts differ in one that does not.
    const long = (tag: string, pad: string) => text(tag).replace("schema: 1\n", `# ${pad}\nschema: 1\n`);
    const a = long("1.0.0", "a".repeat(20000));
    const b = long("1.0.0", `${"a".repeat(9999)}b${"a".repeat(10000)}`);
    expect(b.length).toBe(a.length);
    const { memo, n } = counted(recordMemo(env, "build-1") as RecordMemo);
    parseManifest(a, memo);
    parseManifest(b, memo);
    expect(entries()).toHaveLength(1); // one name
    expect(n).toEqual({ recall: 2, recalled: 0, keep: 2 });
    const other = () => parseManifest("schema: 1\nservices: {}\n"); // the in-process copy moves on
    other();
    parseManifest(b, memo);
    other();
    parseManifest(a, memo);
    expect(n).toEqual({ recall: 4, recalled: 1, keep: 3 }); // b's entry answered b only
  });

  it("an entry of another build under this one's name is never recalled", () => {
    parseManifest(text("1.0.0"), recordMemo(env, "build-1"));
    parseManifest("schema: 1\nservices: {}\n");
    const file = path.join(cache, "docker-versions", "records", entries()[0] as string);
    writeFileSync(file, readFileSync(file, "utf8").replace("build-1", "build-9"));
    const { memo, n } = counted(recordMemo(env, "build-1") as RecordMemo);
    parseManifest(text("1.0.0"), memo);
    expect(n.recalled).toBe(0);
  });

  it("is off when switched off, without a build identity, or when its directory is open to others", () => {
    expect(recordMemo({ ...env, DOCKER_VERSIONS_RECORD_CACHE: "off" }, "build-1")).toBeUndefined();
    expect(recordMemo(env, undefined)).toBeUndefined();
    expect(recordMemo({ HOME: "relative/home" }, "build-1")).toBeUndefined();
    recordMemo(env, "build-1");
    chmodSync(path.join(cache, "docker-versions", "records"), 0o755);
    expect(recordMemo(env, "build-1")).toBeUndefined();
  });

  it("the sources run by Node have no build identity (only the single executable keeps records)", () => {
    expect(executableIdentity()).toBeUndefined();
  });
});
