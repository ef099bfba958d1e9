// The version record end to end: the seed guide's workflows on a real project, real registry
// and real engine, through `docker versions`.
import { execFileSync, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  bed,
  fixtureProject,
  installPlugin,
  must,
  pushImage,
  registryDigest,
  runningDigest,
  seedNamespace,
  sh,
} from "./harness.js";

describe.skipIf(!bed.available)("the version record", () => {
  const plugin = installPlugin();
  const fx = fixtureProject("tracked");
  const ns = `rec${process.pid}`;
  const manifestPath = path.join(fx.dir, "version-manifest.yaml");
  const envPath = path.join(fx.dir, "versions.env");
  const dv = (...args: string[]) => sh("docker", ["versions", ...args], { cwd: fx.dir, env: plugin.env });
  const ok = async (...args: string[]) => {
    const r = await dv(...args);
    expect(r.code, `docker versions ${args.join(" ")}: ${r.stderr}`).toBe(0);
    return r;
  };
  const repo = (name: string) => `${bed.registry}/${ns}/${name}`;
  const manifest = () => readFileSync(manifestPath, "utf8");
  const up = (...services: string[]) =>
    must(
      "docker",
      ["compose", "--env-file", path.join(fx.dir, ".env"), "--env-file", envPath, "up", "-d", ...services],
      { cwd: fx.dir },
    );

  beforeAll(async () => {
    await seedNamespace(ns, ["postgres", "apigateway", "taskservice"]);
    writeFileSync(path.join(fx.dir, ".env"), `DV_NS=${ns}\n`, { flag: "a" });
    // A Makefile-era deployment: plain compose on :latest, then migrated.
    await must("docker", ["compose", "up", "-d"], { cwd: fx.dir });
    await ok("migrate-versions", "--yes");
  });
  afterAll(async () => {
    await fx.cleanup();
    plugin.cleanup();
  });

  it("migrates a running project to digests equal to what runs", async () => {
    const v = JSON.parse((await ok("version", "--json")).stdout) as {
      service: string;
      digest: string;
      drift: string;
    }[];
    expect(v.map((r) => r.service)).toEqual(["api", "db", "worker"]);
    for (const r of v) expect(r.drift).toBe("in sync");
    expect(v.find((r) => r.service === "api")?.digest).toBe(
      await runningDigest(fx.project, "api", repo("apigateway")),
    );
  });

  it("pull-latest records the registry's digest, resolves its tag and pins both in versions.env", async () => {
    await pushImage(repo("apigateway"), ["1.65", "latest"]);
    const r = await ok("pull-latest");
    const expected = await registryDigest(`${ns}/apigateway`, "latest");
    expect(r.stdout).toMatch(
      new RegExp(`^api: .* → 1\\.65 \\(${expected.slice(7, 19)}\\) \\[latest → 1\\.65\\]`, "m"),
    );
    expect(r.stdout).toMatch(/unchanged: db, worker/);
    expect(manifest()).toContain(`image_digest: ${expected}`);
    expect(readFileSync(envPath, "utf8")).toMatch(new RegExp(`^API_VERSION=1\\.65@${expected}$`, "m"));
    await up("api");
    expect(await runningDigest(fx.project, "api", repo("apigateway"))).toBe(expected);
  });

  it("pull keeps the recorded digest when the registry's latest moves", async () => {
    const recorded = await registryDigest(`${ns}/apigateway`, "latest");
    const envBefore = readFileSync(envPath, "utf8");
    await pushImage(repo("apigateway"), ["latest"]);
    expect(await registryDigest(`${ns}/apigateway`, "latest")).not.toBe(recorded);
    await must("docker", ["image", "rm", "-f", `${repo("apigateway")}:latest`]);
    await ok("pull");
    expect(readFileSync(envPath, "utf8")).toBe(envBefore);
    await up("api");
    expect(await runningDigest(fx.project, "api", repo("apigateway"))).toBe(recorded);
  });

  it("version-pull --apply, then rollback-service --apply returns the container to the previous digest", async () => {
    const before = await runningDigest(fx.project, "worker", repo("taskservice"));
    const pulled = await ok("version-pull", "--service", "worker", "--tag", "1.62", "--apply");
    expect(pulled.stdout).toMatch(/^recreated: worker$/m);
    expect(await runningDigest(fx.project, "worker", repo("taskservice"))).toBe(
      await registryDigest(`${ns}/taskservice`, "1.62"),
    );
    const r = await ok("rollback-service", "--service", "worker", "--apply");
    expect(r.stdout).toMatch(/worker: 1\.62 .* → latest/);
    expect(await runningDigest(fx.project, "worker", repo("taskservice"))).toBe(before);
    const h = JSON.parse((await ok("version-history", "--service", "worker", "--json")).stdout);
    expect(h.services[0].entries.map((e: { tag: string; mark: string }) => [e.tag, e.mark])).toEqual([
      ["latest", "current"],
      ["1.62", "previous"],
      ["latest", ""],
    ]);
  });

  it("rollback-to and rollback --service --to reach a named tag, from history or the registry", async () => {
    await ok("rollback-to", "--service", "db", "--tag", "1.61");
    expect(manifest()).toContain(`image_digest: ${await registryDigest(`${ns}/postgres`, "1.61")}`);
    await ok("rollback", "--service", "db", "--to", "1.63");
    const rec = JSON.parse((await ok("version", "--json")).stdout).find(
      (r: { service: string }) => r.service === "db",
    );
    expect(rec).toMatchObject({ tag: "1.63", digest: await registryDigest(`${ns}/postgres`, "1.63") });
  });

  it("version-set marks a hotfix [custom] in every listing until a normal update", async () => {
    await pushImage(repo("taskservice"), ["1.64-hotfix-c123"]);
    await ok("version-set", "--service", "worker", "--tag", "1.64-hotfix-c123");
    expect((await ok("version")).stdout).toMatch(/^worker\s+app\s+1\.64-hotfix-c123\s+\S+\s+\[custom\]/m);
    await ok("version-pull", "--service", "worker", "--tag", "1.64");
    expect((await ok("version")).stdout).not.toContain("[custom]");
  });

  it("keeps at most five history entries and a backup of every change", async () => {
    const backupsBefore = readdirSync(path.join(fx.dir, ".version-backups")).length;
    for (const tag of ["1.61", "1.62", "1.63", "1.64", "1.61", "1.62"])
      await ok("version-pull", "--service", "api", "--tag", tag);
    const h = JSON.parse((await ok("history", "--service", "api", "--json")).stdout);
    expect(h.services[0].entries.map((e: { tag: string }) => e.tag)).toEqual([
      "1.62",
      "1.61",
      "1.64",
      "1.63",
      "1.62",
    ]);
    expect(readdirSync(path.join(fx.dir, ".version-backups")).length).toBe(backupsBefore + 6);
  });

  it("rollback of all services rolls back only those whose previous version differs", async () => {
    const dry = await ok("rollback", "--dry-run", "--json");
    const planned = JSON.parse(dry.stdout).changes.map((c: { service: string }) => c.service);
    expect(planned).toEqual(["api", "db", "worker"]);
    const before = manifest();
    expect(manifest()).toBe(before);
  });

  it("never loses an entry when two commands change the record at once", async () => {
    for (let round = 0; round < 3; round++) {
      const tags = ["1.61", "1.62", "1.63"];
      const [a, b] = await Promise.all([
        dv("version-pull", "--service", "api", "--tag", tags[round] as string),
        dv("version-pull", "--service", "db", "--tag", tags[round] as string),
      ]);
      expect(a.code, a.stderr).toBe(0);
      expect(b.code, b.stderr).toBe(0);
      const v = JSON.parse((await ok("version", "--json")).stdout);
      expect(v.find((r: { service: string }) => r.service === "api").tag).toBe(tags[round]);
      expect(v.find((r: { service: string }) => r.service === "db").tag).toBe(tags[round]);
    }
  });

  it("a kill -9 in the middle of a change leaves the old or the new manifest, never a torn one", async () => {
    for (let i = 0; i < 12; i++) {
      const before = manifest();
      const tag = i % 2 ? "1.64" : "1.63";
      const child = spawn("docker", ["versions", "version-pull", "--service", "worker", "--tag", tag], {
        cwd: fx.dir,
        env: plugin.env,
        stdio: "ignore",
      });
      const closed = new Promise((r) => child.on("close", r));
      await new Promise((r) => setTimeout(r, 100 + Math.random() * 500));
      // The plugin is the docker CLI's child: kill it, not the CLI, as a crash would.
      try {
        execFileSync("pkill", ["-9", "-P", String(child.pid)], { stdio: "ignore" });
      } catch {
        // it had already finished
      }
      await closed;
      const after = manifest();
      const v = JSON.parse((await ok("version", "--json")).stdout);
      expect([
        before === after,
        v.find((r: { service: string }) => r.service === "worker").tag === tag,
      ]).toContain(true);
      expect(readdirSync(fx.dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
    }
  });

  describe("bad input: one line, non-zero exit, nothing changed", () => {
    const cases: [string, string[], RegExp][] = [
      ["unknown service", ["version-pull", "--service", "nope", "--tag", "1.62"], /unknown service 'nope'/],
      ["tag with ;", ["version-pull", "--service", "api", "--tag", "1.62;rm"], /not a valid tag/],
      ["tag with a space", ["version-set", "--service", "api", "--tag", "1 62"], /not a valid tag/],
      ["tag with ..", ["rollback-to", "--service", "api", "--tag", "../1.62"], /not a valid tag/],
      [
        "tag of 129 characters",
        ["version-pull", "--service", "api", "--tag", "a".repeat(129)],
        /not a valid tag/,
      ],
      [
        "tag not in the registry",
        ["version-pull", "--service", "api", "--tag", "9.99"],
        /cannot pull .*apigateway:9\.99/,
      ],
      ["--to without --service", ["rollback", "--to", "1.62"], /--to needs --service/],
    ];
    it.each(cases)("%s", async (_name, args, message) => {
      const m = manifest();
      const e = readFileSync(envPath, "utf8");
      const r = await dv(...args);
      expect(r.code).not.toBe(0);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toMatch(message);
      expect(manifest()).toBe(m);
      expect(readFileSync(envPath, "utf8")).toBe(e);
    });

    it("no previous version to roll back to", async () => {
      const solo = fixtureProject("tracked");
      try {
        writeFileSync(path.join(solo.dir, ".env"), `DV_NS=${ns}\n`, { flag: "a" });
        const env = { cwd: solo.dir, env: plugin.env };
        expect((await sh("docker", ["versions", "migrate-versions", "--yes"], env)).code).toBe(0);
        const m = readFileSync(path.join(solo.dir, "version-manifest.yaml"), "utf8");
        const r = await sh("docker", ["versions", "rollback-service", "--service", "api"], env);
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(/^error: no previous version of 'api' to roll back to/);
        expect(r.stderr.trim().split("\n")).toHaveLength(1);
        expect(readFileSync(path.join(solo.dir, "version-manifest.yaml"), "utf8")).toBe(m);
      } finally {
        await solo.cleanup();
      }
    });

    it("registry unreachable", async () => {
      // Point the service at a registry nobody listens on.
      const file = path.join(fx.dir, "compose.override.yaml");
      writeFileSync(
        file,
        "services:\n  api:\n    image: 127.0.0.1:9/nothing/apigateway:${API_VERSION:-latest}\n",
      );
      const m = manifest();
      const e = readFileSync(envPath, "utf8");
      try {
        const r = await dv("version-pull", "--service", "api", "--tag", "1.63");
        expect(r.code).not.toBe(0);
        expect(r.stderr.trim().split("\n")).toHaveLength(1);
        expect(r.stderr).toMatch(/cannot pull 127\.0\.0\.1:9\/nothing\/apigateway:1\.63/);
        expect(manifest()).toBe(m);
        expect(readFileSync(envPath, "utf8")).toBe(e);
      } finally {
        rmSync(file);
      }
    });

    it("corrupt manifest: names the line and the newest backup", async () => {
      const good = manifest();
      const e = readFileSync(envPath, "utf8");
      const broken = good.replace(/current_tag: .*/, "current_tag: [unclosed");
      writeFileSync(manifestPath, broken);
      try {
        for (const args of [
          ["version"],
          ["pull-latest"],
          ["version-pull", "--service", "api", "--tag", "1.62"],
        ]) {
          const r = await dv(...args);
          expect(r.code).toBe(1);
          expect(r.stderr.trim().split("\n")).toHaveLength(1);
          expect(r.stderr).toMatch(
            /corrupt manifest .*version-manifest\.yaml:\d+: .*newest backup is .*\.version-backups\/version-manifest\.yaml\.\d{14}/,
          );
          expect(readFileSync(manifestPath, "utf8")).toBe(broken);
          expect(readFileSync(envPath, "utf8")).toBe(e);
        }
      } finally {
        writeFileSync(manifestPath, good);
      }
    });

    it("no compose file", async () => {
      const r = await sh("docker", ["versions", "pull-latest"], {
        cwd: path.dirname(fx.dir),
        env: plugin.env,
      });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/no compose file found/);
      expect(existsSync(path.join(path.dirname(fx.dir), "version-manifest.yaml"))).toBe(false);
    });
  });
});
