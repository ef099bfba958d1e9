// The memo of `docker compose config` against the real Compose: a command run again on an
// unchanged project starts no Compose config; any edit Compose would see (the compose file, .env,
// an included file, an extended file, an env_file, the shell's environment) makes it ask again,
// and what the plugin prints is always what it prints with the memo off. No value a service is
// given to run with reaches the memo on disk. Calls are counted by a `docker` first on PATH that
// logs its arguments and runs the real one. And the executable's memo of validated records: an
// unchanged manifest is not parsed again, an edited one always is.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bed, dockerCallLog, fixtureProject, installPlugin, must, seedNamespace, sh } from "./harness.js";

const REPOS = ["postgres", "apigateway", "taskservice"];

describe.skipIf(!bed.available)("the memo of docker compose config", () => {
  const plugin = installPlugin();
  const fx = fixtureProject("tracked");
  const ns = `memo${process.pid}`;
  const cache = mkdtempSync(path.join(tmpdir(), "dv-memo-cache-"));
  const docker = dockerCallLog({ ...plugin.env, XDG_CACHE_HOME: cache });
  const file = (name: string) => path.join(fx.dir, name);

  /** Runs the plugin; returns its output and how many `compose … config` calls it made. */
  const run = async (args: string[], extra: NodeJS.ProcessEnv = {}) => {
    docker.reset();
    const r = await sh("docker", ["versions", ...args], { cwd: fx.dir, env: { ...docker.env, ...extra } });
    expect(r.code, r.stderr).toBe(0);
    const calls = docker.calls();
    // What changes with the clock alone (a container's "Up 3 seconds") is left out.
    const out = r.stdout.replace(/"(status|uptime)": ("[^"]*"|\d+)/g, '"$1": …');
    return { out, configs: calls.filter((c) => /^compose .* config( |$)/.test(c)).length };
  };
  /** The same command with and without the memo prints the same; returns the memo run's configs. */
  const agreed = async (args: string[], extra: NodeJS.ProcessEnv = {}) => {
    const fresh = await run(args, { ...extra, DOCKER_VERSIONS_COMPOSE_CACHE: "off" });
    const memo = await run(args, extra);
    expect(memo.out).toBe(fresh.out);
    return memo.configs;
  };

  beforeAll(async () => {
    await seedNamespace(ns, REPOS, ["1.63", "1.64", "latest"]);
    writeFileSync(file(".env"), `DV_NS=${ns}\n`, { flag: "a" });
    await must("docker", ["compose", "up", "-d"], { cwd: fx.dir });
    await must("docker", ["versions", "migrate-versions", "--yes"], { cwd: fx.dir, env: plugin.env });
  });
  afterAll(async () => {
    await fx.cleanup();
    plugin.cleanup();
    docker.cleanup();
    rmSync(cache, { recursive: true, force: true });
  });

  it("asks Compose once, then answers from the memo while nothing changed", async () => {
    const first = await run(["version", "--json"]);
    expect(first.configs).toBe(2);
    const again = await run(["version", "--json"]);
    expect(again.configs).toBe(0);
    expect(again.out).toBe(first.out);
    expect(await agreed(["status", "--json"])).toBe(0);
    expect(await agreed(["generate-env", "--dry-run"])).toBe(0);
  });

  it("asks again after each edit Compose would see, and prints what Compose now says", async () => {
    const edits: [string, () => void, NodeJS.ProcessEnv?][] = [
      [".env", () => writeFileSync(file(".env"), "# a comment\n", { flag: "a" })],
      [
        "an included file",
        () => {
          writeFileSync(
            file("extra.yaml"),
            `services:\n  extra:\n    image: ${bed.registry}/${ns}/postgres:1.63\n`,
          );
          const text = readFileSync(file("compose.yaml"), "utf8");
          writeFileSync(file("compose.yaml"), `include:\n  - extra.yaml\n${text}`);
        },
      ],
      [
        "the included file itself",
        () =>
          writeFileSync(
            file("extra.yaml"),
            `services:\n  extra:\n    image: ${bed.registry}/${ns}/postgres:1.64\n`,
          ),
      ],
      [
        "an extended file",
        () => {
          writeFileSync(file("base.yaml"), "services:\n  base:\n    labels: { tier: one }\n");
          const text = readFileSync(file("compose.yaml"), "utf8");
          writeFileSync(
            file("compose.yaml"),
            text.replace("  worker:\n", "  worker:\n    extends: { file: base.yaml, service: base }\n"),
          );
        },
      ],
      [
        "the extended file itself",
        () => writeFileSync(file("base.yaml"), "services:\n  base:\n    labels: { tier: two }\n"),
      ],
      ["the shell's environment", () => {}, { DB_VERSION: "1.63" }],
    ];
    for (const [what, edit, extra] of edits) {
      edit();
      const configs = await agreed(["version", "--json"], extra);
      expect(configs, `after editing ${what}`).toBe(2);
      expect(await agreed(["version", "--json"], extra), `again after ${what}`).toBe(0);
    }
    // The include is seen: its service is listed (not running, not recorded).
    expect((await run(["status", "--json"])).out).toContain('"extra"');
  });

  it("remembers the manifest's record by its text: an edit by hand or by a command is read anew", async () => {
    const records = path.join(cache, "docker-versions", "records");
    const memoOff = { DOCKER_VERSIONS_RECORD_CACHE: "off" };
    const first = await run(["version", "--json"]);
    const kept = readdirSync(records).length;
    expect(kept).toBeGreaterThan(0);
    expect((await run(["version", "--json"])).out).toBe(first.out);
    expect(readdirSync(records)).toHaveLength(kept); // read again unchanged: nothing new kept
    expect((await run(["version", "--json"], memoOff)).out).toBe(first.out);

    const manifest = file("version-manifest.yaml");
    const text = readFileSync(manifest, "utf8");
    // The first service's tag, edited by hand to one no command wrote.
    writeFileSync(manifest, text.replace(/current_tag: .*/, 'current_tag: "9.9.9"'));
    const edited = await run(["version", "--json"]);
    expect(edited.out).not.toBe(first.out);
    expect(edited.out).toContain('"tag": "9.9.9"');
    expect((await run(["version", "--json"], memoOff)).out).toBe(edited.out);

    await run(["version-set", "--service", "api", "--tag", "1.64"]);
    const set = await run(["version-history", "--json"]);
    expect((await run(["version-history", "--json"], memoOff)).out).toBe(set.out);
    for (const e of readdirSync(records)) expect(statSync(path.join(records, e)).mode & 0o077).toBe(0);
  });

  it("keeps no service environment on disk", async () => {
    const text = readFileSync(file("compose.yaml"), "utf8");
    writeFileSync(
      file("compose.yaml"),
      text.replace("  api:\n", "  api:\n    environment:\n      DB_PASSWORD: hunter2-${DV_NS}\n"),
    );
    await run(["version", "--json"]);
    const dir = path.join(cache, "docker-versions", "compose-config");
    const entries = readdirSync(dir);
    expect(entries.length).toBeGreaterThan(0);
    for (const e of entries) expect(readFileSync(path.join(dir, e), "utf8")).not.toContain("hunter2");
  });

  it("starts a command with the code cache its first successful run left, the same output as without", async () => {
    const code = path.join(cache, "docker-versions", "code");
    const shaped = (word: string) => readdirSync(code).filter((e) => e.startsWith(`${word}-`));
    const off = { DOCKER_VERSIONS_CODE_CACHE: "off" };
    const plain = await run(["version-history", "--json"], off);
    const first = await run(["version-history", "--json"]);
    expect(shaped("version-history")).toHaveLength(1);
    const entry = path.join(code, shaped("version-history")[0] as string);
    const made = statSync(entry);
    expect(made.mode & 0o077).toBe(0);
    // The entry is this executable's: its identity (the executable's path) comes first.
    const exe = path.join(plugin.dockerConfig, "cli-plugins", "docker-versions");
    expect(
      readFileSync(entry)
        .subarray(0, exe.length + 1)
        .toString(),
    ).toBe(`${exe}\0`);
    // Taken by V8 on the next runs (a refused entry would be written again), output unchanged.
    for (let i = 0; i < 2; i++) expect((await run(["version-history", "--json"])).out).toBe(first.out);
    expect(statSync(entry).mtimeMs).toBe(made.mtimeMs);
    expect(first.out).toBe(plain.out);
    // Another shape of the command line is an entry of its own; a failed run leaves none.
    await run(["version-history"]);
    expect(shaped("version-history")).toHaveLength(2);
    const failed = await sh("docker", ["versions", "rollback", "--service", "no-such-service"], {
      cwd: fx.dir,
      env: docker.env,
    });
    expect(failed.code).not.toBe(0);
    expect(shaped("rollback")).toEqual([]);
  });
});
