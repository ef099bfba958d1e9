// The plugin protocol and `status`, through the real Docker CLI against a running project.
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hostTarget, pinnedNode } from "../../build/targets.mjs";
import { bed, fixtureProject, installPlugin, sh } from "./harness.js";

const root = path.resolve(import.meta.dirname, "../..");
const pkg = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")) as {
  version: string;
};

describe.skipIf(!bed.available)("plugin protocol and status", () => {
  const plugin = installPlugin();
  const fx = fixtureProject("sample");

  beforeAll(async () => {
    const up = await sh("docker", ["compose", "up", "-d", "--wait"], { cwd: fx.dir });
    expect(up.code, up.stderr).toBe(0);
  });
  afterAll(async () => {
    await fx.cleanup();
    plugin.cleanup();
  });

  it("answers docker-cli-plugin-metadata with the schema the CLI expects", async () => {
    const r = await sh(bed.exe, ["docker-cli-plugin-metadata"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      SchemaVersion: "0.1.0",
      Version: pkg.version,
      Vendor: expect.any(String),
      ShortDescription: expect.any(String),
    });
  });

  it("is listed by docker --help and reports its version through the CLI", async () => {
    const help = await sh("docker", ["--help"], { env: plugin.env });
    expect(help.stdout).toMatch(/^\s+versions\*?\s+Pin, record and roll back/m);
    const v = await sh("docker", ["versions", "--version"], { env: plugin.env });
    expect(v.stdout.trim()).toBe(pkg.version);
  });

  it("lists every command of the product in --help, grouped", async () => {
    const help = await sh("docker", ["versions", "--help"], { env: plugin.env });
    for (const cmd of [
      "version",
      "version-history",
      "pull",
      "pull-latest",
      "version-pull",
      "version-set",
      "rollback",
      "rollback-service",
      "rollback-to",
      "resolve-tags",
      "check-updates",
      "generate-env",
      "migrate-versions",
      "updb",
      "up",
      "down",
      "restart",
      "update",
      "update-safe",
      "status",
      "logs",
      "logs-today",
      "dblogs-today",
      "dblogs-errors",
    ]) {
      expect(help.stdout).toMatch(new RegExp(`^  ${cmd}\\s`, "m"));
    }
  });

  it("shows the running project's services and their state", async () => {
    const r = await sh("docker", ["versions", "status", "--json"], { cwd: fx.dir, env: plugin.env });
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.project).toBe(fx.project);
    expect(report.composeFiles).toEqual([path.join(fx.dir, "compose.yaml")]);
    expect(report.manifest).toEqual({ path: path.join(fx.dir, "version-manifest.yaml"), present: false });
    const byName = Object.fromEntries(report.services.map((s: { service: string }) => [s.service, s]));
    expect(Object.keys(byName).sort()).toEqual(["postgres", "req_router", "settings", "taskservice"]);
    expect(byName.postgres.image).toBe(`${bed.registry}/postgres:latest`);
    expect(byName.postgres.containers[0]).toMatchObject({ state: "running", health: "healthy" });
    expect(byName.settings.containers[0]).toMatchObject({ state: "running" });

    const table = await sh("docker", ["versions", "status"], { cwd: path.join(fx.dir), env: plugin.env });
    expect(table.stdout).toMatch(
      /^postgres\s+database\s+\S+postgres:latest\s+healthy\s+\d+[smhd]\S*\s+0\s+untracked$/m,
    );
  });

  it("finds the project from a subdirectory, with -f, and with COMPOSE_FILE", async () => {
    const sub = path.join(fx.dir, "nested", "deeper");
    (await import("node:fs")).mkdirSync(sub, { recursive: true });
    const fromSub = await sh("docker", ["versions", "status", "--json"], { cwd: sub, env: plugin.env });
    expect(fromSub.code, fromSub.stderr).toBe(0);
    expect(JSON.parse(fromSub.stdout).composeFiles).toEqual([path.join(fx.dir, "compose.yaml")]);
    const withF = await sh(
      "docker",
      ["versions", "-f", path.join(fx.dir, "compose.yaml"), "-p", fx.project, "status", "--json"],
      { cwd: tmpdir(), env: plugin.env },
    );
    expect(JSON.parse(withF.stdout).project).toBe(fx.project);
    const withEnv = await sh("docker", ["versions", "status", "--json"], {
      cwd: fx.dir,
      env: { ...plugin.env, COMPOSE_FILE: "compose.yaml", COMPOSE_PROJECT_NAME: fx.project },
    });
    expect(JSON.parse(withEnv.stdout).project).toBe(fx.project);
  });

  it("forwards Docker's global options to every docker child", async () => {
    const ok = await sh("docker", ["-H", "unix:///var/run/docker.sock", "versions", "status", "--json"], {
      cwd: fx.dir,
      env: plugin.env,
    });
    expect(ok.code, ok.stderr).toBe(0);
    const bad = await sh("docker", ["-H", "unix:///nonexistent/dv.sock", "versions", "status"], {
      cwd: fx.dir,
      env: plugin.env,
    });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("/nonexistent/dv.sock");
    expect(bad.stderr.trim().split("\n")).toHaveLength(1);
  });

  it("without a manifest, pull and pull-latest are plain Compose pulls and create no files", async () => {
    const before = readdirSync(fx.dir).sort();
    for (const cmd of ["pull", "pull-latest"]) {
      const r = await sh("docker", ["versions", cmd], { cwd: fx.dir, env: plugin.env });
      expect(r.code, r.stderr).toBe(0);
    }
    expect(readdirSync(fx.dir).sort()).toEqual(before);
  });

  it("says in one line that there is no compose file", async () => {
    const empty = mkdtempSync(path.join(tmpdir(), "dv-empty-"));
    try {
      const r = await sh("docker", ["versions", "status"], { cwd: empty, env: plugin.env });
      expect(r.code).toBe(1);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toMatch(/no compose file found/);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it("stops printing quietly when the reader of its output goes away (| head)", async () => {
    for (const args of [
      ["versions", "completion", "bash"],
      ["versions", "status"],
      ["versions", "status", "--json"],
    ]) {
      const child = spawn("docker", args, {
        cwd: fx.dir,
        env: plugin.env,
        stdio: ["ignore", "pipe", "pipe"],
      });
      child.stdout.destroy(); // before the plugin has written anything
      let stderr = "";
      child.stderr.on("data", (b) => (stderr += b));
      const code = await new Promise((resolve) => child.on("close", resolve));
      expect(stderr, args.join(" ")).toBe("");
      expect(code, args.join(" ")).toBe(0);
    }
  });

  it("answers the same when V8 rejects its code caches (V8 flags in NODE_OPTIONS)", async () => {
    // A V8 flag NODE_OPTIONS accepts and V8 counts in a cache's flag hash: the commands then
    // compile as they run (--max-semi-space-size was one up to Node 20, not since).
    const flag = "--jitless";
    const flagged = { ...plugin.env, NODE_OPTIONS: flag };
    // That the flag makes the executable's Node refuse a cache made as the build makes it (Node
    // says nothing when it drops a cache of its own).
    const dir = mkdtempSync(path.join(tmpdir(), "dv-cache-"));
    try {
      const node = pinnedNode(root, hostTarget() ?? "x86_64");
      const [app, cache] = [path.join(dir, "app.cjs"), path.join(dir, "app.cache")];
      writeFileSync(app, "(function () { return 42; })");
      const tool = path.join(root, "build/code-cache.cjs");
      expect((await sh(node, ["--random-seed=1", tool, "make", app, cache])).code).toBe(0);
      expect((await sh(node, [tool, "check", app, cache])).code).toBe(0);
      const refused = await sh(node, [tool, "check", app, cache], {
        env: { ...process.env, NODE_OPTIONS: flag },
      });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/V8 rejects the cache/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    for (const args of [
      ["versions", "--help"],
      ["versions", "completion", "bash"],
      ["versions", "status", "--json"],
    ]) {
      const plain = await sh("docker", args, { cwd: fx.dir, env: plugin.env });
      const rejected = await sh("docker", args, { cwd: fx.dir, env: flagged });
      expect(rejected.code, rejected.stderr).toBe(plain.code);
      const timeless = (out: string) => out.replace(/"(uptime|status)": ?("[^"]*"|\d+)/g, "");
      expect(timeless(rejected.stdout), args.join(" ")).toBe(timeless(plain.stdout));
    }
  });

  it("runs without node on PATH", async () => {
    const bin = mkdtempSync(path.join(tmpdir(), "dv-nonode-"));
    const docker = (await sh("sh", ["-c", "command -v docker"])).stdout.trim();
    symlinkSync(docker, path.join(bin, "docker"));
    try {
      const env = { ...plugin.env, PATH: bin };
      expect(
        (await sh("/bin/sh", ["-c", "command -v node || echo none"], { env: { PATH: bin } })).stdout.trim(),
      ).toBe("none");
      const r = await sh(bed.exe, ["status", "--json"], { cwd: fx.dir, env });
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout).project).toBe(fx.project);
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });
});
