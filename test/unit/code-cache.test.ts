// The commands' code cache kept per command line shape, with V8's real caches (node:vm): an entry
// is left by a first successful run and given to V8 on the next; another build, another shape,
// a failed run, help, a foreign or refused entry, a directory that is not private never give
// V8 a cache that is not this build's.
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Script } from "node:vm";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { commandCodeCache, commandShape } from "../../src/adapters/code-cache.js";
import { writeCacheEntry } from "../../src/adapters/private-cache.js";

const SOURCE =
  "(function () { function used() { return 41 + 1; } function unused() { return 0; } return used(); })";

let home: string;
let env: NodeJS.ProcessEnv;
let hooks: ((code: number) => void)[];
const atExit = (then: (code: number) => void) => {
  hooks.push(then);
};
const exit = (code: number) => {
  for (const h of hooks.splice(0)) h(code);
};
const dir = () => path.join(home, "docker-versions", "code");
const entries = () => readdirSync(dir()).filter((n) => n.endsWith(".v8"));

let runs = 0;
/**
 * One run: the cache for `args` by build `identity`, the script compiled and run with it. Each
 * under a name of its own: V8 would take a script it compiled before in this process from memory
 * and never look at the cache given.
 */
function run(args: string[], identity = "build-a", source = SOURCE) {
  const own = commandCodeCache(env, args, identity, atExit);
  const script = new Script(source, { cachedData: own?.data, filename: `run-${++runs}.js` });
  own?.compiled(script);
  script.runInThisContext()();
  return { own, script };
}

beforeEach(() => {
  home = mkdtempSync(path.join(tmpdir(), "dv-code-cache-"));
  env = { XDG_CACHE_HOME: home };
  hooks = [];
});
afterEach(() => rmSync(home, { recursive: true, force: true }));

describe("commandShape", () => {
  it.each([
    [["status"], "status", ""],
    [["status", "--json", "-q"], "status", "--json -q"],
    [["rollback", "--service=api", "--service", "db", "--yes"], "rollback", "--service --yes"],
    [["--project-directory", "x", "status"], "x", "--project-directory"],
    [["../evil"], "none", ""],
    [[], "none", ""],
  ])("%j → %s [%s]", (args, word, flags) => {
    expect(commandShape(args)).toEqual({ word, flags });
  });
});

describe("commandCodeCache", () => {
  it("leaves an entry after a first successful run, and V8 takes it on the next", () => {
    const first = run(["status", "--json"]);
    expect(first.own?.data).toBeUndefined();
    expect(entries()).toEqual([]);
    exit(0);
    expect(entries()).toHaveLength(1);
    const [name] = entries();
    expect(name).toMatch(/^status-[0-9a-f]{8}\.v8$/);
    expect(
      readFileSync(path.join(dir(), name as string))
        .subarray(0, 8)
        .toString(),
    ).toBe("build-a\0");

    const second = run(["status", "--json"]);
    expect(second.own?.data).toBeDefined();
    expect(second.script.cachedDataRejected).toBe(false);
    expect(hooks).toEqual([]); // nothing to write again
  });

  it("keeps builds and command line shapes apart", () => {
    run(["status", "--json"]);
    exit(0);
    expect(run(["status", "--json"], "build-b").own?.data).toBeUndefined();
    expect(run(["status"]).own?.data).toBeUndefined();
    expect(run(["status", "--json=true"]).own?.data).toBeDefined();
  });

  it("leaves nothing after a failed run, and none for help", () => {
    run(["status"]);
    exit(1);
    expect(entries()).toEqual([]);
    for (const args of [["status", "--help"], ["status", "-h"], ["help"]])
      expect(commandCodeCache(env, args, "build-a", atExit)).toBeUndefined();
  });

  it("never gives V8 an entry of another build under this one's name", () => {
    run(["check-updates"]);
    exit(0);
    const file = path.join(dir(), entries()[0] as string);
    const bytes = readFileSync(file);
    bytes[0] = "c".charCodeAt(0); // "cuild-a": the name matches, the identity does not
    writeFileSync(file, bytes);
    const again = run(["check-updates"]);
    expect(again.own?.data).toBeUndefined();
    exit(0);
    expect(readFileSync(file).subarray(0, 8).toString()).toBe("build-a\0");
  });

  it("makes the entry again when V8 refuses it", () => {
    run(["version"], "build-a", `${SOURCE} `);
    exit(0); // an entry of a script one byte longer
    const refused = run(["version"]);
    expect(refused.own?.data).toBeDefined();
    expect(refused.script.cachedDataRejected).toBe(true);
    exit(0);
    expect(run(["version"]).script.cachedDataRejected).toBe(false);
  });

  it("is off by the variable, outside the executable, or without a private directory", () => {
    expect(
      commandCodeCache({ ...env, DOCKER_VERSIONS_CODE_CACHE: "off" }, ["status"], "build-a"),
    ).toBeUndefined();
    expect(commandCodeCache(env, ["status"], undefined)).toBeUndefined();
    run(["status"]);
    chmodSync(dir(), 0o755);
    expect(commandCodeCache(env, ["status"], "build-a")).toBeUndefined();
  });

  it("keeps the newest entries of its kind, whatever else the directory holds", () => {
    const d = dir();
    run(["status"]);
    writeFileSync(path.join(d, "other.json"), "{}");
    for (let i = 0; i < 30; i++) writeCacheEntry(d, path.join(d, `c${i}.v8`), "x", 24);
    expect(entries()).toHaveLength(24);
    expect(readdirSync(d)).toContain("other.json");
  });
});
