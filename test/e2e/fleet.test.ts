// The fleet view end to end: one project on two real engines (the bed's main dockerd and a
// second one on its own socket, test/bed/fleet-engine.sh), each a docker context, at different
// versions; `fleet status` names each digest (from the record, else the registry) and flags the
// drift. A stopped engine (this test's own, started and stopped here), a context whose URL
// carries a password and an engine that never answers are one line each.
import { execFileSync, spawn } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bed, fixtureProject, installPlugin, must, registryDigest, seedNamespace, sh } from "./harness.js";

const ENGINE_SCRIPT = path.resolve(import.meta.dirname, "../bed/fleet-engine.sh");
const MAIN_HOST = process.env.DOCKER_HOST ?? "unix:///var/run/docker.sock";

interface Row {
  service: string;
  digest?: string;
  containers: number;
  version: string | null;
  namedBy?: string;
  drift: string;
  recorded?: { tag: string; digest?: string };
}
type Host =
  | { context: string; endpoint: string; reachable: true; rows: Row[] }
  | { context: string; endpoint: string; reachable: false; reason: string };
interface Report {
  project: string;
  against: string | null;
  hosts: Host[];
  summary: { hosts: number; unreachable: number; drifting: number };
  exitCode: number;
}

/** Polls until `cond` holds (a generous cap, for a loaded machine); never a fixed sleep. */
async function until(cond: () => boolean, what: string, capMs = 60_000): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > capMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function engine(action: "up" | "remove", name: string): string {
  return execFileSync("bash", [ENGINE_SCRIPT, action, name], { encoding: "utf8" });
}

describe.skipIf(!bed.available)("fleet status over docker contexts", () => {
  const plugin = installPlugin();
  const fx = fixtureProject("hosts");
  const ns = `fleet${process.pid}`;
  // This test's own engine, stopped inside the test; the shared second engine is never stopped.
  const stopName = `dv-stop${process.pid}`;
  const scratch = mkdtempSync(path.join(tmpdir(), "dv-fleet-"));
  const hangSocket = path.join(scratch, "hang.sock");
  let hang: Server;
  const held: Socket[] = [];
  // The hanging engine's connections still open.
  const open = new Set<Socket>();
  let closedPort = 0;
  const dv = (...args: string[]) => sh("docker", ["versions", ...args], { cwd: fx.dir, env: plugin.env });
  const ok = async (...args: string[]) => {
    const r = await dv(...args);
    expect(r.code, `docker versions ${args.join(" ")}: ${r.stderr}`).toBe(0);
    return r;
  };
  const context = (name: string, host: string) =>
    must("docker", ["context", "create", name, "--docker", `host=${host}`], { env: plugin.env });
  /** The project on one engine, at the versions given (plain Compose, as a host runs it). */
  const deploy = (ctx: string, versions: Record<string, string>) =>
    must("docker", ["--context", ctx, "compose", "up", "-d", "--remove-orphans"], {
      cwd: fx.dir,
      env: { ...plugin.env, ...versions },
    });
  const status = async (...args: string[]) => {
    const r = await dv("fleet", "status", ...args, "--json");
    const report = JSON.parse(r.stdout) as Report;
    expect(report.exitCode).toBe(r.code);
    return { ...r, report };
  };
  const host = (report: Report, name: string) => report.hosts.find((h) => h.context === name) as Host;
  const rows = (report: Report, name: string) => {
    const h = host(report, name);
    if (!h.reachable) throw new Error(`${name} did not answer: ${h.reason}`);
    return h.rows.map((r) => [r.service, r.version, r.namedBy, r.drift, r.containers, r.digest]);
  };

  beforeAll(async () => {
    const second = /^FLEET_HOST=(.*)$/m.exec(engine("up", "dv-fleet"))?.[1] as string;
    const stopped = /^FLEET_HOST=(.*)$/m.exec(engine("up", stopName))?.[1] as string;
    await seedNamespace(ns, ["settings", "jobsched"]);
    writeFileSync(path.join(fx.dir, ".env"), `DV_NS=${ns}\n`, { flag: "a" });
    // A port nothing listens on, for a context whose URL carries a user and password.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
    closedPort = (probe.address() as { port: number }).port;
    await new Promise((r) => probe.close(r));
    // An engine that accepts the connection and never answers.
    hang = createServer((s) => {
      held.push(s);
      open.add(s);
      // Read (and drop) what comes, so the end of the call is seen; never answer.
      s.resume();
      s.on("close", () => open.delete(s));
    });
    await new Promise<void>((r) => hang.listen(hangSocket, r));

    await context("site-one", MAIN_HOST);
    await context("site-two", second);
    await context("down-stopped", stopped);
    await context("down-secret", `tcp://fleetuser:hunter2pw@127.0.0.1:${closedPort}`);
    await context("down-hang", `unix://${hangSocket}`);

    // Host one: the project recorded with the plugin, api's history 1.63 then 1.64.
    await deploy("site-one", {});
    await ok("migrate-versions", "--yes");
    await ok("version-pull", "--service", "api", "--tag", "1.63");
    await ok("version-pull", "--service", "api", "--tag", "1.64");
    await ok("version-pull", "--service", "worker", "--tag", "1.64");
    await ok("up");
    // Host two: the same project, older: api at a version of the record's history, worker at one
    // the record never had.
    await deploy("site-two", { API_VERSION: "1.63", WORKER_VERSION: "1.62" });
  });
  afterAll(async () => {
    for (const s of held) s.destroy();
    hang?.close();
    await sh("docker", ["--context", "site-two", "compose", "down", "--timeout", "0"], {
      cwd: fx.dir,
      env: plugin.env,
    });
    await fx.cleanup();
    engine("remove", stopName);
    rmSync(scratch, { recursive: true, force: true });
    plugin.cleanup();
  });

  it("shows both hosts' versions and digests, and flags the drift of the second (exit 3)", async () => {
    const { report, code, stderr } = await status("--context", "site-one", "--context", "site-two");
    expect(stderr).toBe("");
    expect(code).toBe(3);
    const d = (r: string, tag: string) => registryDigest(`${ns}/${r}`, tag);
    expect(rows(report, "site-one")).toEqual([
      ["api", "1.64", "record", "in sync", 1, await d("settings", "1.64")],
      ["worker", "1.64", "record", "in sync", 2, await d("jobsched", "1.64")],
    ]);
    expect(rows(report, "site-two")).toEqual([
      ["api", "1.63", "record", "drift", 1, await d("settings", "1.63")],
      ["worker", "1.62", "registry", "drift", 2, await d("jobsched", "1.62")],
    ]);
    const two = host(report, "site-two");
    expect(two.reachable && two.rows[0]?.recorded).toEqual({
      tag: "1.64",
      digest: await d("settings", "1.64"),
    });
    expect(report.summary).toEqual({ hosts: 2, unreachable: 0, drifting: 1 });
    expect(report.project).toBe(fx.project);
    expect(report.against).toBe(path.join(fx.dir, "version-manifest.yaml"));
  });

  it("the table says the same to a person, one line per service and host", async () => {
    const r = await dv("fleet", "status", "--contexts", "site-*");
    expect(r.code).toBe(3);
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^HOST\s+SERVICE\s+VERSION\s+DIGEST\s+DRIFT$/);
    expect(lines[1]).toMatch(/^site-one\s+api\s+1\.64\s+[0-9a-f]{12}\s+in sync$/);
    expect(lines[2]).toMatch(/^\s+worker\s+1\.64 ×2\s+[0-9a-f]{12}\s+in sync$/);
    expect(lines[3]).toMatch(
      /^site-two\s+api\s+1\.63\s+[0-9a-f]{12}\s+drift \(record: 1\.64 [0-9a-f]{12}\)$/,
    );
    expect(lines[4]).toMatch(/^\s+worker\s+1\.62 \[registry\] ×2\s+[0-9a-f]{12}\s+drift \(record: 1\.64 /);
    expect(lines[5]).toMatch(/2 host\(s\), 1 drifting, 0 unreachable/);
  });

  it("a stopped engine is one line and the others still answer (exit 4)", async () => {
    engine("remove", stopName);
    const { report, code } = await status(
      "--context",
      "site-one",
      "--context",
      "down-stopped",
      "--context",
      "site-two",
    );
    expect(code).toBe(4);
    expect(report.hosts.map((h) => [h.context, h.reachable])).toEqual([
      ["site-one", true],
      ["down-stopped", false],
      ["site-two", true],
    ]);
    const stopped = host(report, "down-stopped");
    expect(!stopped.reachable && stopped.reason).toMatch(/Cannot connect to the Docker daemon/);
    expect(rows(report, "site-two").map((r) => r[3])).toEqual(["drift", "drift"]);

    const table = await dv("fleet", "status", "--context", "down-stopped", "--context", "site-one");
    expect(table.code).toBe(4);
    const mentions = table.stdout.split("\n").filter((l) => l.includes("down-stopped"));
    expect(mentions).toHaveLength(1);
    expect(mentions[0]).toMatch(/unreachable: Cannot connect/);
  });

  it("never shows the credentials of a context's URL", async () => {
    const json = await status("--context", "down-secret", "--context", "site-one");
    const table = await dv("fleet", "status", "--context", "down-secret", "--context", "site-one");
    for (const text of [json.stdout, json.stderr, table.stdout, table.stderr]) {
      expect(text).not.toContain("hunter2pw");
      expect(text).not.toContain("fleetuser");
    }
    expect(host(json.report, "down-secret")).toMatchObject({
      reachable: false,
      endpoint: `tcp://127.0.0.1:${closedPort}`,
    });
    expect(table.stdout).toMatch(/^down-secret\s+-\s+-\s+-\s+unreachable: .*127\.0\.0\.1/m);

    // The engine the plugin itself was pointed at is not the one the fleet asks.
    const aimed = await sh(
      "docker",
      ["--context", "down-secret", "versions", "fleet", "status", "--context", "site-one", "--json"],
      { cwd: fx.dir, env: plugin.env },
    );
    expect(aimed.code, aimed.stderr).toBe(0);
    expect((JSON.parse(aimed.stdout) as Report).hosts.map((h) => [h.context, h.reachable])).toEqual([
      ["site-one", true],
    ]);
    expect(aimed.stdout + aimed.stderr).not.toContain("hunter2pw");
  });

  it("an engine that never answers costs the timeout and is one line", async () => {
    const { report, code } = await status("--context", "down-hang", "--timeout", "2");
    expect(code).toBe(4);
    expect(report.hosts).toEqual([
      {
        context: "down-hang",
        endpoint: `unix://${hangSocket}`,
        reachable: false,
        reason: "no answer within 2s",
      },
    ]);
  });

  it("Ctrl-C while a host hangs ends the calls in flight too, not only the command", async () => {
    // The calls of the timeout test ended with it (killed at their deadline).
    await until(() => open.size === 0, "earlier calls to the hanging engine to end");
    const before = held.length;
    // In a process group of its own, as a terminal's foreground job, which gets the Ctrl-C.
    const child = spawn(
      "docker",
      ["versions", "fleet", "status", "--context", "down-hang", "--timeout", "600"],
      {
        cwd: fx.dir,
        env: plugin.env,
        detached: true,
        stdio: "ignore",
      },
    );
    const ended = new Promise((r) => child.on("close", r));
    await until(() => held.length > before, "the call to reach the engine");
    process.kill(-(child.pid as number), "SIGINT");
    await ended;
    // No engine call is left behind (one that started a session of its own would be).
    await until(() => open.size === 0, "the calls in flight to end");
  });

  // The docker CLI runs ssh in a session of its own; this keeps it so for every call the fleet makes.
  it("an ssh:// context never prompts on the user's terminal (no password or host-key question)", async () => {
    const bin = path.join(scratch, "bin");
    const ttyOf = path.join(scratch, "ssh-tty");
    mkdirSync(bin, { recursive: true });
    // An ssh that notes which terminal it could ask on, then fails as a refused login does.
    writeFileSync(
      path.join(bin, "ssh"),
      `#!/bin/sh\ncut -d' ' -f7 /proc/$$/stat >>'${ttyOf}'\necho 'deploy@fleet-host.invalid: Permission denied (publickey,password).' >&2\nexit 255\n`,
      { mode: 0o755 },
    );
    await context("down-ssh", "ssh://deploy@fleet-host.invalid");
    // Under script(1) the command has a controlling terminal, as when a person runs it.
    const r = await sh(
      "script",
      ["-qec", "docker versions fleet status --context down-ssh --json", "/dev/null"],
      {
        cwd: fx.dir,
        env: { ...plugin.env, PATH: `${bin}:${process.env.PATH}` },
      },
    );
    expect(r.code, r.stdout).toBe(4);
    const ttys = readFileSync(ttyOf, "utf8").trim().split("\n");
    expect(ttys.length).toBeGreaterThan(0);
    // tty_nr of /proc/PID/stat: 0 is no controlling terminal.
    for (const t of ttys) expect(t.trim()).toBe("0");
    const report = JSON.parse(r.stdout.replace(/\r/g, "")) as Report;
    expect(host(report, "down-ssh")).toMatchObject({
      reachable: false,
      endpoint: "ssh://fleet-host.invalid",
    });
  });

  it("from a directory without a compose file: its own record, none, then --against one; in sync is exit 0", async () => {
    const elsewhere = path.join(scratch, "release.yaml");
    copyFileSync(path.join(fx.dir, "version-manifest.yaml"), elsewhere);
    const from = (...args: string[]) =>
      sh("docker", ["versions", "-p", fx.project, "fleet", "status", ...args, "--json"], {
        cwd: scratch,
        env: plugin.env,
      });
    // With -p alone the project's own record is found from its containers' labels, as every
    // command finds it; with no record at all, names come from the registry and nothing is judged.
    const own = await from("--contexts", "site-*");
    expect(own.code, own.stderr).toBe(3);
    expect((JSON.parse(own.stdout) as Report).against).toBe(path.join(fx.dir, "version-manifest.yaml"));
    const bare = await sh(
      "docker",
      [
        "versions",
        "--manifest",
        path.join(scratch, "none.yaml"),
        "-p",
        fx.project,
        "fleet",
        "status",
        "--contexts",
        "site-*",
        "--json",
      ],
      { cwd: scratch, env: plugin.env },
    );
    expect(bare.code, bare.stderr).toBe(0);
    const unjudged = JSON.parse(bare.stdout) as Report;
    expect(unjudged.against).toBeNull();
    expect(rows(unjudged, "site-two").map((x) => [x[0], x[1], x[2], x[3]])).toEqual([
      ["api", "1.63", "registry", "no record"],
      ["worker", "1.62", "registry", "no record"],
    ]);
    let r = await from("--contexts", "site-*", "--against", elsewhere);
    expect(r.code, r.stderr).toBe(3);
    expect((JSON.parse(r.stdout) as Report).against).toBe(elsewhere);
    // Host two brought to the record's versions: nothing drifts any more.
    await deploy("site-two", { API_VERSION: "1.64", WORKER_VERSION: "1.64" });
    r = await from("--contexts", "site-*", "--against", elsewhere);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as Report;
    expect(rows(report, "site-two").map((x) => [x[0], x[1], x[3]])).toEqual([
      ["api", "1.64", "in sync"],
      ["worker", "1.64", "in sync"],
    ]);
  });

  it("bad selections are one line each and change nothing", async () => {
    for (const [args, want] of [
      [["--context", "nowhere"], /^error: no docker context named 'nowhere' \(contexts: .*site-one/],
      [["--contexts", "qa-*"], /^error: no docker context matches 'qa-\*'/],
      [[], /^error: name the hosts/],
      [["--context", "site-one", "--against", "missing.yaml"], /^error: .*missing\.yaml/],
      [
        ["--stack", "shop", "fleet", "status", "--context", "site-one"],
        /^error: --stack shop: fleet status reads Compose projects/,
      ],
    ] as const) {
      const r = await dv(...(args[0] === "--stack" ? [] : ["fleet", "status"]), ...args);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stdout).toBe("");
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toMatch(want);
    }
  });
});
