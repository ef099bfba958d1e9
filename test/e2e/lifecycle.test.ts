// Starting, stopping and watching a deployment end to end: the seed guide's "Starting and
// Stopping the Application" and "View Logs" through `docker versions` on the real engine.
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  bed,
  fixtureProject,
  inspect,
  installPlugin,
  must,
  registryDigest,
  runningDigest,
  sh,
} from "./harness.js";

/** Polls `check` until it returns a value, or fails after `ms`. */
async function eventually<T>(what: string, check: () => T | undefined | false, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Processes whose command line mentions both strings (the capture of one project). */
function processesWith(...needles: string[]): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let cmdline = "";
    try {
      cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8").replaceAll("\0", " ");
    } catch {
      continue;
    }
    if (needles.every((n) => cmdline.includes(n))) pids.push(Number(entry));
  }
  return pids;
}

describe.skipIf(!bed.available)("lifecycle: updb, up, restart, down and the captured logs", () => {
  const plugin = installPlugin();
  const fx = fixtureProject("lifecycle");
  const clockFile = path.join(fx.dir, "fake-now");
  const env = { ...plugin.env, DOCKER_VERSIONS_CLOCK_FILE: clockFile };
  const dv = (...args: string[]) => sh("docker", ["versions", ...args], { cwd: fx.dir, env });
  const ok = async (...args: string[]) => {
    const r = await dv(...args);
    expect(r.code, `docker versions ${args.join(" ")}: ${r.stderr}`).toBe(0);
    return r;
  };
  const containers = async () =>
    Object.fromEntries(
      (
        await must("docker", [
          "ps",
          "--all",
          "--filter",
          `label=com.docker.compose.project=${fx.project}`,
          "--format",
          '{{.Label "com.docker.compose.service"}} {{.ID}}',
        ])
      ).stdout
        .trim()
        .split("\n")
        .filter(Boolean)
        .map((l) => l.split(" ") as [string, string]),
    );
  const dayFile = (kind: string, day: string) => path.join(fx.dir, "logs", kind, `${day}.log`);
  const read = (file: string) => (existsSync(file) ? readFileSync(file, "utf8") : "");

  beforeAll(async () => {
    // The project's own .env asks for 1.61; the manifest pins 1.62, and versions.env must win.
    writeFileSync(path.join(fx.dir, ".env"), "API_VERSION=1.61\n", { flag: "a" });
    writeFileSync(clockFile, "2031-05-06T12:00:00\n");
    await must("docker", ["compose", "pull", "--quiet"], { cwd: fx.dir });
    await ok("migrate-versions", "--yes");
    await ok("version-pull", "--service", "api", "--tag", "1.62");
  });
  afterAll(async () => {
    await dv("down");
    await fx.cleanup();
    plugin.cleanup();
  });

  it("updb starts only the databases and returns once they are healthy", async () => {
    const r = await ok("updb", "--timeout", "30", "--settle", "1");
    expect(r.stdout).toMatch(/^db: healthy after/m);
    expect(r.stdout).toMatch(/^cache: running after/m);
    expect(inspect(`${fx.project}-db-1`, "{{.State.Health.Status}}")).toBe("healthy");
    expect(inspect(`${fx.project}-cache-1`, "{{.State.Status}}")).toBe("running");
    expect(Object.keys(await containers()).sort()).toEqual(["cache", "db"]);
  });

  it("a database whose healthcheck never passes fails updb within its timeout, naming it", async () => {
    const bad = fixtureProject("lifecycle-unhealthy");
    try {
      const started = Date.now();
      const r = await sh("docker", ["versions", "updb", "--timeout", "4"], { cwd: bad.dir, env: plugin.env });
      const elapsed = (Date.now() - started) / 1000;
      expect(r.code).toBe(1);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toMatch(/^error: db did not become healthy within 4s: it is starting/);
      // It waited for the timeout, and not much longer (starting and the log tail come on top).
      expect(elapsed).toBeGreaterThanOrEqual(4);
      expect(elapsed).toBeLessThan(4 + 20);
    } finally {
      await sh("docker", ["versions", "down"], { cwd: bad.dir, env: plugin.env });
      await bad.cleanup();
    }
  });

  it("up starts the app services on the manifest's digests", async () => {
    const r = await ok("up", "--timeout", "30", "--settle", "1");
    expect(r.stdout).toMatch(/^api: healthy after/m);
    expect(await runningDigest(fx.project, "api", `${bed.registry}/apigateway`)).toBe(
      await registryDigest("apigateway", "1.62"),
    );
    const manifest = readFileSync(path.join(fx.dir, "version-manifest.yaml"), "utf8");
    const worker = await runningDigest(fx.project, "worker", `${bed.registry}/taskservice`);
    expect(worker).toBeDefined();
    expect(manifest).toContain(`image_digest: ${worker}`);
    const status = JSON.parse((await ok("status", "--json")).stdout);
    const byName = (s: string) => status.services.find((x: { service: string }) => x.service === s);
    expect(byName("db")).toMatchObject({ role: "database", drift: "in sync" });
    expect(byName("cache")).toMatchObject({ role: "database", roleSource: "label" });
    expect(byName("api")).toMatchObject({ role: "app", drift: "in sync" });
    expect(byName("api").containers[0]).toMatchObject({ health: "healthy", restarts: 0 });
    const rows = JSON.parse((await ok("version", "--json")).stdout) as { service: string; role: string }[];
    expect(rows.map((r) => [r.service, r.role])).toEqual([
      ["api", "app"],
      ["cache", "database"],
      ["db", "database"],
      ["worker", "app"],
    ]);
    expect(status.captures.map((c: { kind: string; running: boolean }) => [c.kind, c.running])).toEqual([
      ["db", true],
      ["app", true],
    ]);
  });

  it("captures lines of a running service into a file per day and rotates when the date changes", async () => {
    const before = dayFile("db", "2031-05-06");
    await eventually("cache lines in the first day's file", () => /\| cache tick \d+/.test(read(before)));
    expect(read(before)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z cache-1 \| cache tick \d+$/m);
    expect(read(dayFile("app", "2031-05-06"))).toMatch(/worker-1 \| worker tick \d+/);
    // A second updb finds the capture running and does not start another.
    const pid = Number(readFileSync(path.join(fx.dir, "logs", "db.pid"), "utf8"));
    expect((await ok("updb", "--timeout", "30", "--settle", "1")).stdout).toContain(
      `already capturing database logs into ${path.join(fx.dir, "logs", "db")}/ (pid ${pid})`,
    );
    expect(processesWith("__capture-logs", "--kind db", fx.project)).toEqual([pid]);

    writeFileSync(clockFile, "2031-05-07T00:00:01\n");
    const after = dayFile("db", "2031-05-07");
    await eventually("cache lines in the next day's file", () => /\| cache tick \d+/.test(read(after)));
    const last = (text: string) =>
      Math.max(...[...text.matchAll(/cache tick (\d+)/g)].map((m) => Number(m[1])));
    expect(
      Math.min(...[...read(after).matchAll(/cache tick (\d+)/g)].map((m) => Number(m[1]))),
    ).toBeGreaterThan(last(read(before)) - 1);
    const today = await ok("dblogs-today", "--tail", "1", "--service", "cache");
    expect(today.stdout).toMatch(/^\S+ cache-1 \| cache tick \d+\n$/);
  });

  it("restart --service recreates that service alone", async () => {
    const before = await containers();
    await ok("restart", "--service", "worker", "--timeout", "30", "--settle", "1");
    const after = await containers();
    expect(after.worker).toBeDefined();
    expect(after.worker).not.toBe(before.worker);
    for (const s of ["db", "cache", "api"]) expect(after[s], s).toBe(before[s]);
  });

  it("a database killed with exit 137 shows in dblogs-errors, with the fatal lines it logged", async () => {
    rmSync(clockFile); // back to real time: the engine's events are on today's clock
    await must("docker", ["kill", "-s", "KILL", `${fx.project}-db-1`]);
    expect(inspect(`${fx.project}-db-1`, "{{.State.ExitCode}}")).toBe("137");
    const r = JSON.parse((await ok("dblogs-errors", "--json")).stdout);
    expect(r.services).toEqual(["cache", "db"]);
    expect(r.errors).toContainEqual(
      expect.objectContaining({
        service: "db",
        container: "db-1",
        kind: "killed",
        detail: expect.stringMatching(/^exit 137/),
      }),
    );
    // The cache's FATAL line was captured into the 2031 files; --since reaches back to them.
    const all = JSON.parse((await ok("dblogs-errors", "--since", "2000-01-01", "--json")).stdout);
    expect(all.errors).toContainEqual(
      expect.objectContaining({
        service: "cache",
        kind: "log",
        detail: expect.stringMatching(/^FATAL: could not map/),
      }),
    );
    const table = await ok("dblogs-errors");
    expect(table.stdout, table.stdout).toMatch(/^\S+Z\s+db\s+killed\s+exit 137/m);
  });

  it("down removes every container and stops every capture", async () => {
    const pids = ["db", "app"].map((k) =>
      Number(readFileSync(path.join(fx.dir, "logs", `${k}.pid`), "utf8")),
    );
    expect(processesWith("__capture-logs", fx.project).sort()).toEqual([...pids].sort());
    await ok("down");
    expect(await containers()).toEqual({});
    expect(processesWith("__capture-logs", fx.project)).toEqual([]);
    expect(processesWith("logs", "--follow", fx.project)).toEqual([]);
    expect(existsSync(path.join(fx.dir, "logs", "db.pid"))).toBe(false);
    expect(existsSync(path.join(fx.dir, "logs", "app.pid"))).toBe(false);
    const status = JSON.parse((await ok("status", "--json")).stdout);
    expect(status.captures.every((c: { running: boolean }) => !c.running)).toBe(true);
  });
});
