// update-safe against the real engine and registry: only what changed is recreated, a bad
// release rolls itself back, a registry outage changes nothing, an interrupted run is seen by
// the next command and finished by --resume, and the data backup restores.
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
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

const APPS = ["req_router", "taskservice", "settings", "conv_mgr", "wsfe", "apigateway", "dagknows_nuxt"];
const REPOS = ["postgres", "jobsched", ...APPS];
// Serves only once /gate/open exists (the fixture mounts ./gate there for conv_mgr).
const GATED_CMD =
  '["/bin/busybox","sh","-c","trap \\"exit 0\\" TERM; until [ -e /gate/open ]; do sleep 1; done; /bin/busybox httpd -f -p 8080 -h /www & wait"]';
const BAD_CMD = '["/bin/busybox","sh","-c","trap \\"exit 0\\" TERM; while true; do sleep 1; done"]';

/** service → { id, started } of the project's containers. */
async function containers(project: string): Promise<Record<string, { id: string; started: string }>> {
  const ids = (
    await must("docker", ["ps", "-q", "--filter", `label=com.docker.compose.project=${project}`])
  ).stdout
    .trim()
    .split("\n")
    .filter(Boolean);
  const out: Record<string, { id: string; started: string }> = {};
  for (const line of (
    await must("docker", [
      "inspect",
      "--format",
      '{{index .Config.Labels "com.docker.compose.service"}} {{.Id}} {{.State.StartedAt}}',
      ...ids,
    ])
  ).stdout
    .trim()
    .split("\n")) {
    const [service, id, started] = line.split(" ") as [string, string, string];
    out[service] = { id, started };
  }
  return out;
}

describe.skipIf(!bed.available)("update-safe", () => {
  const plugin = installPlugin();
  const fx = fixtureProject("fleet");
  const ns = `upd${process.pid}`;
  const manifestPath = path.join(fx.dir, "version-manifest.yaml");
  const dv = (...args: string[]) => sh("docker", ["versions", ...args], { cwd: fx.dir, env: plugin.env });
  const repo = (name: string) => `${bed.registry}/${ns}/${name}`;

  beforeAll(async () => {
    await seedNamespace(ns, REPOS, ["1.64", "latest"]);
    writeFileSync(path.join(fx.dir, ".env"), `DV_NS=${ns}\n`, { flag: "a" });
    mkdirSync(path.join(fx.dir, "gate"));
    await must("docker", ["compose", "up", "-d", "--wait"], { cwd: fx.dir });
    await must(
      "docker",
      ["compose", "exec", "-T", "postgres", "sh", "-c", "echo precious > /var/lib/data/table.dat"],
      { cwd: fx.dir },
    );
    expect((await dv("migrate-versions", "--yes")).code).toBe(0);
    expect((await dv("resolve-tags")).code).toBe(0);
  });
  afterAll(async () => {
    await fx.cleanup();
    plugin.cleanup();
  });

  it("recreates exactly the two services whose latest moved; databases keep their containers", async () => {
    const before = await containers(fx.project);
    expect(Object.keys(before)).toHaveLength(9);
    await pushImage(repo("taskservice"), ["1.65", "latest"]);
    await pushImage(repo("wsfe"), ["1.65", "latest"]);
    const dry = await dv("update-safe", "--dry-run");
    expect(dry.stdout).toMatch(/^taskservice: 1\.64 .* → 1\.65 .*\[latest → 1\.65\]$/m);
    expect(await containers(fx.project)).toEqual(before);

    const r = await dv("update-safe", "--timeout", "60");
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.stdout).toMatch(/updated and healthy: taskservice, wsfe/);
    const after = await containers(fx.project);
    for (const s of Object.keys(before)) {
      if (s === "taskservice" || s === "wsfe") expect(after[s]?.id).not.toBe(before[s]?.id);
      else expect(after[s], s).toEqual(before[s]);
    }
    for (const s of ["taskservice", "wsfe"])
      expect(await runningDigest(fx.project, s, repo(s))).toBe(await registryDigest(`${ns}/${s}`, "1.65"));
    const h = JSON.parse((await dv("version-history", "--service", "wsfe", "--json")).stdout);
    expect(h.services[0].entries[0]).toMatchObject({ tag: "1.65", source: "update-safe", mark: "current" });
  });

  it("backs up the databases' volumes as archives that restore", async () => {
    const dataDir = path.join(fx.dir, ".version-backups", "data");
    const runs = readdirSync(dataDir).sort();
    const archive = path.join(dataDir, runs[runs.length - 1] as string, `${fx.project}_pgdata.tar`);
    // Owner-only: the database's files are inside.
    const mode = (p: string) => statSync(p).mode & 0o777;
    expect([mode(dataDir), mode(path.dirname(archive)), mode(archive)]).toEqual([0o700, 0o700, 0o600]);
    const fresh = `${fx.project}_restored`;
    await must("docker", ["volume", "create", fresh]);
    const c = (
      await must("docker", ["run", "-d", "-v", `${fresh}:/restore`, `${repo("postgres")}:1.64`])
    ).stdout.trim();
    try {
      await must("sh", ["-c", `docker cp - ${c}:/restore < '${archive}'`]);
      expect((await must("docker", ["exec", c, "cat", "/restore/data/table.dat"])).stdout).toBe("precious\n");
    } finally {
      await sh("docker", ["rm", "-f", c]);
      await sh("docker", ["volume", "rm", fresh]);
    }
  });

  it("rolls a release that never gets healthy back to the previous digest, manifest as before plus the audit", async () => {
    const manifestBefore = readFileSync(manifestPath, "utf8");
    const running = await runningDigest(fx.project, "settings", repo("settings"));
    const others = await containers(fx.project);
    await must("env", [
      `DV_IMAGE_CMD=${BAD_CMD}`,
      "bash",
      path.resolve(import.meta.dirname, "../bed/image.sh"),
      repo("settings"),
      "broken settings",
      "1.66",
      "latest",
    ]);
    const r = await dv("update-safe", "--timeout", "20", "--skip-data-backup");
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/update-safe rolled back: settings /);
    expect(await runningDigest(fx.project, "settings", repo("settings"))).toBe(running);
    expect(readFileSync(manifestPath, "utf8")).toBe(manifestBefore);
    const after = await containers(fx.project);
    for (const s of Object.keys(others)) if (s !== "settings") expect(after[s], s).toEqual(others[s]);
    const audit = readFileSync(path.join(fx.dir, "version-audit.log"), "utf8").trim().split("\n");
    expect(audit.slice(-2)[0]).toMatch(/\tupdate-safe\tsettings: 1\.64@sha256:\w+ → 1\.66@sha256:\w+$/);
    expect(audit.slice(-1)[0]).toMatch(
      /\tupdate-safe \(rollback\)\tsettings: 1\.66@sha256:\w+ → 1\.64@sha256:\w+$/,
    );
    // Put a good latest back so later tests start from a healthy registry.
    await must("docker", ["tag", `${repo("settings")}:1.64`, `${repo("settings")}:latest`]);
    await must("docker", ["push", "-q", `${repo("settings")}:latest`]);
  });

  // conv_mgr's slow release serves only once ./gate/open exists (see the fixture): the test,
  // not a sleep racing the healthcheck, decides when it becomes healthy.
  const gate = () => path.join(fx.dir, "gate", "open");
  const pushGated = (tag: string) =>
    must("env", [
      `DV_IMAGE_CMD=${GATED_CMD}`,
      "bash",
      path.resolve(import.meta.dirname, "../bed/image.sh"),
      repo("conv_mgr"),
      `gated conv_mgr ${tag} ${Date.now()}`,
      tag,
      "latest",
    ]);
  const journalPath = () => path.join(fx.dir, "version-journal.jsonl");
  /** Polls the journal until its last entry is `step` (the run has reached it). */
  const untilStep = async (step: string) => {
    const last = () => readFileSync(journalPath(), "utf8").trim().split("\n").slice(-1)[0] ?? "";
    for (let i = 0; i < 1200 && !last().includes(`"step":"${step}"`); i++) await sleep(100);
    expect(last()).toContain(`"step":"${step}"`);
  };

  it("an interrupted run is reported by the next command and finished by --resume", async () => {
    rmSync(gate(), { force: true });
    await pushGated("1.67");
    const child = spawn("docker", ["versions", "update-safe", "--skip-data-backup", "--timeout", "600"], {
      cwd: fx.dir,
      env: plugin.env,
      stdio: "ignore",
    });
    const closed = new Promise((r) => child.on("close", r));
    // The gate is shut, so the run waits for health for as long as the test likes: kill it there.
    await untilStep("health");
    execFileSync("pkill", ["-9", "-P", String(child.pid)]);
    await closed;

    const next = await dv("version");
    expect(next.code).toBe(0);
    expect(next.stderr).toMatch(/warning: an update-safe run started at .* did not finish .*--resume/);
    const blocked = await dv("update-safe");
    expect(blocked.code).toBe(1);
    expect(blocked.stderr).toMatch(/did not finish/);

    writeFileSync(gate(), "");
    const resumed = await dv("update-safe", "--resume", "--timeout", "60");
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toMatch(/updated and healthy: conv_mgr/);
    expect(await runningDigest(fx.project, "conv_mgr", repo("conv_mgr"))).toBe(
      await registryDigest(`${ns}/conv_mgr`, "1.67"),
    );
    expect((await dv("version")).stderr).toBe("");
  });

  it("a run in progress is not an interrupted one: others say so, and a second update-safe waits for it", async () => {
    rmSync(gate(), { force: true });
    await pushGated("1.68");
    const first = sh("docker", ["versions", "update-safe", "--skip-data-backup", "--timeout", "600"], {
      cwd: fx.dir,
      env: plugin.env,
    });
    await untilStep("health");
    const holder = JSON.parse(readFileSync(`${manifestPath}.lock`, "utf8")) as { pid: number; since: string };

    for (const command of ["status", "version"]) {
      const r = await dv(command);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toBe(
        `note: an update-safe run is in progress (pid ${holder.pid} on ${hostname()}, since ${holder.since}); commands that change the record wait for it to finish\n`,
      );
    }
    // A second run gives up at its lock timeout, naming the run that holds the lock.
    const impatient = await sh("docker", ["versions", "update-safe", "--skip-data-backup"], {
      cwd: fx.dir,
      env: { ...plugin.env, DOCKER_VERSIONS_LOCK_TIMEOUT: "1" },
    });
    expect(impatient.code).toBe(1);
    expect(impatient.stderr).toMatch(
      new RegExp(
        `^error: the manifest is locked by pid ${holder.pid} \\(update-safe\\) on host .* since `,
        "m",
      ),
    );
    expect(impatient.stderr).not.toMatch(/did not finish|--resume/);
    // A patient one says what it waits for, then runs once the first is done.
    let waitLine = "";
    const patient = spawn("docker", ["versions", "update-safe", "--skip-data-backup", "--timeout", "60"], {
      cwd: fx.dir,
      env: { ...plugin.env, DOCKER_VERSIONS_LOCK_TIMEOUT: "600" },
    });
    patient.stderr.on("data", (b: Buffer) => (waitLine += b));
    const patientDone = new Promise<number | null>((r) => patient.on("close", r));
    for (let i = 0; i < 1200 && !waitLine.includes("waiting up to"); i++) await sleep(100);
    expect(waitLine).toMatch(
      new RegExp(
        `^waiting up to 600s for the lock on ${manifestPath}, held by pid ${holder.pid} \\(update-safe\\)`,
      ),
    );

    writeFileSync(gate(), "");
    const done = await first;
    expect(done.code, done.stderr).toBe(0);
    expect(done.stdout).toMatch(/updated and healthy: conv_mgr/);
    expect(await patientDone).toBe(0);
    expect(await runningDigest(fx.project, "conv_mgr", repo("conv_mgr"))).toBe(
      await registryDigest(`${ns}/conv_mgr`, "1.68"),
    );
    expect((await dv("version")).stderr).toBe("");
  });

  it("an unexpected error after the record changed rolls back like an unhealthy release: old digests run, record restored", async () => {
    const manifestBefore = readFileSync(manifestPath, "utf8");
    const running = await runningDigest(fx.project, "wsfe", repo("wsfe"));
    await pushImage(repo("wsfe"), ["1.69", "latest"]);
    // A test-only fault throws a plain Error (a bug's shape, not a UserError) once wsfe is recreated.
    const r = await sh("docker", ["versions", "update-safe", "--skip-data-backup", "--timeout", "60"], {
      cwd: fx.dir,
      env: { ...plugin.env, DOCKER_VERSIONS_FAULT: "update-safe.recreated:throw" },
    });
    expect(r.code).toBe(70);
    expect(r.stderr).toMatch(
      /update-safe rolled back after an unexpected error: injected fault at update-safe\.recreated/,
    );
    expect(await runningDigest(fx.project, "wsfe", repo("wsfe"))).toBe(running);
    expect(readFileSync(manifestPath, "utf8")).toBe(manifestBefore);
    const last = JSON.parse(readFileSync(journalPath(), "utf8").trim().split("\n").slice(-1)[0] ?? "{}");
    expect(last).toMatchObject({ step: "end", outcome: "rolled-back" });
    const audit = readFileSync(path.join(fx.dir, "version-audit.log"), "utf8").trim().split("\n");
    expect(audit.slice(-1)[0]).toMatch(
      /\tupdate-safe \(rollback\)\twsfe: 1\.69@sha256:\w+ → 1\.65@sha256:\w+$/,
    );
    // Nothing is left for the next command to warn about.
    expect((await dv("version")).stderr).toBe("");
  });
});

describe.skipIf(!bed.available)("update-safe when the registry stops answering", () => {
  const plugin = installPlugin();
  const fx = fixtureProject("tracked");
  const state = mkdtempSync(path.join(tmpdir(), "dv-reg-"));
  let registry: ReturnType<typeof spawn> | undefined;
  let port = 0;

  beforeAll(async () => {
    port = 20000 + (process.pid % 20000);
    writeFileSync(
      path.join(state, "config.yml"),
      `version: 0.1\nlog: { level: error }\nstorage: { filesystem: { rootdirectory: ${state}/data } }\nhttp: { addr: 127.0.0.1:${port} }\n`,
    );
    registry = spawn("docker-registry", ["serve", path.join(state, "config.yml")], { stdio: "ignore" });
    for (let i = 0; i < 50; i++) {
      if ((await sh("curl", ["-fsS", `http://127.0.0.1:${port}/v2/`])).code === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const ns = `127.0.0.1:${port}/outage`;
    for (const r of ["postgres", "apigateway", "taskservice"]) {
      await must("docker", ["pull", "-q", `${bed.registry}/${r}:1.64`]);
      await must("docker", ["tag", `${bed.registry}/${r}:1.64`, `${ns}/${r}:latest`]);
      await must("docker", ["push", "-q", `${ns}/${r}:latest`]);
    }
    const compose = readFileSync(path.join(fx.dir, "compose.yaml"), "utf8").replaceAll(
      "127.0.0.1:5077/${DV_NS}",
      `127.0.0.1:${port}/outage`,
    );
    writeFileSync(path.join(fx.dir, "compose.yaml"), compose);
    await must("docker", ["compose", "up", "-d"], { cwd: fx.dir });
    expect(
      (await sh("docker", ["versions", "migrate-versions", "--yes"], { cwd: fx.dir, env: plugin.env })).code,
    ).toBe(0);
    // A second version of api in the history, so there is something to roll back to offline.
    await must("docker", ["pull", "-q", `${bed.registry}/apigateway:1.63`]);
    await must("docker", ["tag", `${bed.registry}/apigateway:1.63`, `${ns}/apigateway:1.63`]);
    await must("docker", ["push", "-q", `${ns}/apigateway:1.63`]);
    const pulled = await sh("docker", ["versions", "version-pull", "--service", "api", "--tag", "1.63"], {
      cwd: fx.dir,
      env: plugin.env,
    });
    expect(pulled.code, pulled.stderr).toBe(0);
  });
  afterAll(async () => {
    registry?.kill("SIGKILL");
    await fx.cleanup();
    plugin.cleanup();
    rmSync(state, { recursive: true, force: true });
  });

  it("stops before anything is touched: same containers, same manifest", async () => {
    const before = await containers(fx.project);
    const manifest = readFileSync(path.join(fx.dir, "version-manifest.yaml"), "utf8");
    registry?.kill("SIGKILL");
    const r = await sh("docker", ["versions", "update-safe", "--skip-data-backup"], {
      cwd: fx.dir,
      env: plugin.env,
    });
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(
      /update-safe stopped before changing anything: cannot pull 127\.0\.0\.1:\d+\/outage\//,
    );
    expect(await containers(fx.project)).toEqual(before);
    expect(readFileSync(path.join(fx.dir, "version-manifest.yaml"), "utf8")).toBe(manifest);
    expect((await sh("docker", ["versions", "version"], { cwd: fx.dir, env: plugin.env })).stderr).toBe("");
  });

  it("rolls back to a digest the host still holds while the registry is gone", async () => {
    const r = await sh("docker", ["versions", "rollback-service", "--service", "api", "--apply"], {
      cwd: fx.dir,
      env: plugin.env,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^api: 1\.63 .* → latest /m);
    const v = JSON.parse(
      (await sh("docker", ["versions", "version", "--json"], { cwd: fx.dir, env: plugin.env })).stdout,
    );
    expect(v.find((x: { service: string }) => x.service === "api")).toMatchObject({
      tag: "latest",
      drift: "in sync",
    });
  });
});
