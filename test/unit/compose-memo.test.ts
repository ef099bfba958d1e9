// The memo of Compose's answers: an answer comes back only while every file Compose reads to
// give it, the call and the environment are what they were. `ask` here stands in for Compose as
// a function of the same files (it reads them), so a stale answer shows as a wrong value.
import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type MemoLocation, reachedFiles, remembered } from "../../src/adapters/compose-memo.js";
import type { DockerCli } from "../../src/adapters/docker.js";

let root: string;
let dir: string;
let cache: string;

beforeEach(() => {
  root = mkdtempSync(path.join(tmpdir(), "dv-memo-"));
  dir = path.join(root, "project");
  cache = path.join(root, "cache");
  mkdirSync(dir);
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const write = (name: string, text: string) => {
  mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
  writeFileSync(path.join(dir, name), text);
};

function location(files = ["compose.yaml"], envFiles: string[] = []): MemoLocation {
  const abs = files.map((f) => path.join(dir, f));
  const envs = envFiles.map((f) => path.join(dir, f));
  return {
    files: abs,
    workingDir: dir,
    envFiles: envs,
    args: ["compose", ...abs.flatMap((f) => ["-f", f]), "--project-directory", dir],
  };
}

function cli(extra: NodeJS.ProcessEnv = {}): DockerCli {
  return {
    globals: [],
    env: { PATH: "/usr/bin:/bin", HOME: root, XDG_CACHE_HOME: cache, ...extra },
    cwd: dir,
  };
}

/** A stand-in for Compose: the contents of the given files, and how many times it was asked. */
function reader(files: () => string[]) {
  const counter = { asked: 0 };
  const ask = async () => {
    counter.asked++;
    const value = files().map((f) => {
      try {
        return readFileSync(path.join(dir, f), "utf8");
      } catch {
        return "(absent)";
      }
    });
    return { value, keep: true };
  };
  return { counter, ask };
}

describe("remembered", () => {
  it("asks once while nothing changes, again when a compose file, .env or env file changes", async () => {
    write("compose.yaml", "services:\n  api:\n    image: a:${V}\n");
    write("versions.env", "V=1\n");
    const at = location(["compose.yaml"], ["versions.env"]);
    const { counter, ask } = reader(() => ["compose.yaml", "versions.env", ".env"]);
    const get = () => remembered(cli(), at, "config", ask);
    expect(await get()).toEqual([readFileSync(at.files[0] as string, "utf8"), "V=1\n", "(absent)"]);
    await get();
    expect(counter.asked).toBe(1);
    write("versions.env", "V=2\n");
    expect((await get())[1]).toBe("V=2\n");
    write(".env", "X=1\n");
    expect((await get())[2]).toBe("X=1\n");
    write("compose.yaml", "services:\n  api:\n    image: b:${V}\n");
    expect((await get())[0]).toContain("b:");
    expect(counter.asked).toBe(4);
    await get();
    expect(counter.asked).toBe(4);
  });

  it("follows include, extends, env_file and label_file, also from included files", async () => {
    write(
      "compose.yaml",
      [
        "include:",
        "  - sub/inc.yaml",
        "  - path: [other/a.yaml]",
        "    env_file: other/vars.env",
        "services:",
        "  api:",
        "    extends: { file: base.yaml, service: base }",
        "    env_file: [api.env, { path: opt.env, required: false }]",
        "    label_file: api.labels",
        "",
      ].join("\n"),
    );
    write(
      "sub/inc.yaml",
      "services:\n  inc:\n    image: x\n    env_file: inc.env\n    extends:\n      file: deep.yaml\n      service: d\n",
    );
    const reached = reachedFiles(location());
    for (const f of [
      "sub/inc.yaml",
      "sub/.env",
      "sub/inc.env",
      "sub/deep.yaml",
      "other/a.yaml",
      "other/vars.env",
      "base.yaml",
      "api.env",
      "opt.env",
      "api.labels",
    ])
      expect(reached).toContain(path.join(dir, f));

    // inc.yaml last: once rewritten it no longer reaches deep.yaml.
    const watched = [
      "sub/deep.yaml",
      "other/vars.env",
      "opt.env",
      "api.labels",
      "sub/inc.env",
      "sub/inc.yaml",
    ];
    const { counter, ask } = reader(() => watched);
    const get = () => remembered(cli(), location(), "config", ask);
    await get();
    await get();
    expect(counter.asked).toBe(1);
    let expected = 1;
    for (const f of watched) {
      write(f, `changed ${f}\n`);
      const value = await get();
      expect(value[watched.indexOf(f)]).toBe(`changed ${f}\n`);
      expect(counter.asked).toBe(++expected);
    }
  });

  it("never remembers when a reached path holds a variable or is remote, or the files do not parse", async () => {
    write("compose.yaml", "include:\n  - ${WHERE}/inc.yaml\nservices: {}\n");
    expect(reachedFiles(location())).toBeNull();
    for (const remote of [
      "oci://registry.example/app:1",
      "https://github.com/org/repo.git#main:compose.yaml",
      "git@github.com:org/repo.git",
    ]) {
      write("compose.yaml", `include:\n  - ${remote}\nservices: {}\n`);
      expect(reachedFiles(location()), remote).toBeNull();
    }
    const { counter, ask } = reader(() => ["compose.yaml"]);
    await remembered(cli(), location(), "config", ask);
    await remembered(cli(), location(), "config", ask);
    expect(counter.asked).toBe(2);
    write("compose.yaml", "services: [unclosed\n");
    await remembered(cli(), location(), "config", ask);
    await remembered(cli(), location(), "config", ask);
    expect(counter.asked).toBe(4);
  });

  it("keys on the environment (not the Docker CLI's per-call socket), the call and the question", async () => {
    write("compose.yaml", "services: {}\n");
    const { counter, ask } = reader(() => ["compose.yaml"]);
    const at = location();
    await remembered(cli({ DOCKER_CLI_PLUGIN_SOCKET: "@a" }), at, "config", ask);
    await remembered(cli({ DOCKER_CLI_PLUGIN_SOCKET: "@b" }), at, "config", ask);
    expect(counter.asked).toBe(1);
    await remembered(cli({ TAG: "2" }), at, "config", ask);
    await remembered(cli(), at, "config --no-interpolate", ask);
    await remembered(cli(), { ...at, args: [...at.args, "--profile", "debug"] }, "config", ask);
    await remembered({ ...cli(), globals: ["--context", "other"] }, at, "config", ask);
    expect(counter.asked).toBe(5);
  });

  it("keys on which Compose plugin would run", async () => {
    write("compose.yaml", "services: {}\n");
    const config = path.join(root, "docker-config");
    mkdirSync(path.join(config, "cli-plugins"), { recursive: true });
    const { counter, ask } = reader(() => ["compose.yaml"]);
    const env = { DOCKER_CONFIG: config };
    await remembered(cli(env), location(), "config", ask);
    writeFileSync(path.join(config, "cli-plugins", "docker-compose"), "#!/bin/sh\n");
    await remembered(cli(env), location(), "config", ask);
    await remembered(cli(env), location(), "config", ask);
    expect(counter.asked).toBe(2);
  });

  it("does not keep an answer marked not to keep, nor with DOCKER_VERSIONS_COMPOSE_CACHE=off", async () => {
    write("compose.yaml", "services: {}\n");
    let asked = 0;
    const unkept = async () => ({ value: ++asked, keep: false });
    await remembered(cli(), location(), "config", unkept);
    expect(await remembered(cli(), location(), "config", unkept)).toBe(2);
    const { counter, ask } = reader(() => ["compose.yaml"]);
    const off = cli({ DOCKER_VERSIONS_COMPOSE_CACHE: "off" });
    await remembered(off, location(), "other", ask);
    await remembered(off, location(), "other", ask);
    expect(counter.asked).toBe(2);
  });

  it("keeps its files private, ignores a damaged or foreign memo and never fails the command", async () => {
    write("compose.yaml", "services: {}\n");
    const { counter, ask } = reader(() => ["compose.yaml"]);
    await remembered(cli(), location(), "config", ask);
    const memo = path.join(cache, "docker-versions", "compose-config");
    const [entry] = readdirSync(memo);
    expect(execFileSync("stat", ["-c", "%a", memo], { encoding: "utf8" }).trim()).toBe("700");
    expect(
      execFileSync("stat", ["-c", "%a", path.join(memo, entry as string)], { encoding: "utf8" }).trim(),
    ).toBe("600");
    writeFileSync(path.join(memo, entry as string), "{not json");
    await remembered(cli(), location(), "config", ask);
    expect(counter.asked).toBe(2);
    chmodSync(memo, 0o755); // not private any more: not used
    await remembered(cli(), location(), "config", ask);
    await remembered(cli(), location(), "config", ask);
    expect(counter.asked).toBe(4);
    rmSync(cache, { recursive: true });
    writeFileSync(cache, "a file where the cache directory would be");
    expect(await remembered(cli(), location(), "config", ask)).toEqual(["services: {}\n"]);
  });

  it("does not hang on a FIFO in a compose file's place, and does not remember it", async () => {
    execFileSync("mkfifo", [path.join(dir, "compose.yaml")]);
    let asked = 0;
    const ask = async () => ({ value: ++asked, keep: true });
    await remembered(cli(), location(), "config", ask);
    expect(await remembered(cli(), location(), "config", ask)).toBe(2);
  });

  it("answers what Compose would answer now, whatever the edits (property)", async () => {
    const names = ["compose.yaml", ".env", "inc.yaml", "a.env", "deep/x.yaml"];
    const main = "include:\n  - inc.yaml\nservices:\n  s:\n    env_file: a.env\n";
    const reaching = "services:\n  t:\n    extends: { file: deep/x.yaml, service: x }\n";
    // What Compose reads: deep/x.yaml only while inc.yaml names it.
    const read = () => {
      const inc = (() => {
        try {
          return readFileSync(path.join(dir, "inc.yaml"), "utf8");
        } catch {
          return "";
        }
      })();
      return names.filter((n) => n !== "deep/x.yaml" || inc.includes("deep/x.yaml"));
    };
    const edit = fc.record({
      file: fc.constantFrom(...names),
      text: fc.oneof(
        fc.constantFrom("", "A=1\n", "A=2\n", "services: {}\n", reaching),
        fc.string({ maxLength: 8 }),
      ),
      remove: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(edit, { minLength: 1, maxLength: 12 }), async (edits) => {
        rmSync(cache, { recursive: true, force: true });
        rmSync(dir, { recursive: true, force: true });
        mkdirSync(dir);
        write("compose.yaml", main);
        write("inc.yaml", reaching);
        const { ask } = reader(read);
        for (const e of edits) {
          // The main file keeps reaching the others; its content still changes.
          if (e.file === "compose.yaml") write(e.file, `${main}# ${JSON.stringify(e.text)}\n`);
          else if (e.remove) rmSync(path.join(dir, e.file), { force: true });
          else write(e.file, e.text);
          const fresh = (await reader(read).ask()).value;
          expect(await remembered(cli(), location(), "config", ask)).toEqual(fresh);
        }
      }),
      { numRuns: 40 },
    );
  });
});
