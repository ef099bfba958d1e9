// The executor against the real engine and registry: a dry run prints the very plan a run then
// executes (and journals); pulls go through one `docker compose pull` after one
// `docker image inspect` (counted by a PATH wrapper that logs each docker call and runs the real
// docker); and a failure of any kind after the record changed puts the record and the previous
// digests back.
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  bed,
  dockerCallLog,
  fixtureProject,
  installPlugin,
  must,
  pushImage,
  registryDigest,
  runningDigest,
  seedNamespace,
  sh,
} from "./harness.js";

const REPOS = ["postgres", "apigateway", "taskservice"];

describe.skipIf(!bed.available)("the executor", () => {
  const plugin = installPlugin();
  const fx = fixtureProject("tracked");
  const ns = `exe${process.pid}`;
  const manifestPath = path.join(fx.dir, "version-manifest.yaml");
  const journalPath = path.join(fx.dir, "version-journal.jsonl");
  const repo = (name: string) => `${bed.registry}/${ns}/${name}`;
  // A `docker` first on PATH that logs its arguments, one call a line, then runs the real one.
  // The docker CLI path (DOCKER_VERSIONS_ENGINE_API=off), whose batching is what is counted here:
  // through the engine API on a local socket no `docker image inspect` runs at all.
  const docker = dockerCallLog({ ...plugin.env, DOCKER_VERSIONS_ENGINE_API: "off" });
  const dv = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    sh("docker", ["versions", ...args], { cwd: fx.dir, env: { ...plugin.env, ...env } });
  /** Runs the plugin through the logging docker; returns the run and the docker calls it made. */
  const counted = async (args: string[]) => {
    docker.reset();
    const r = await sh("docker", ["versions", ...args], { cwd: fx.dir, env: docker.env });
    return { r, calls: docker.calls().filter((c) => !c.startsWith("versions ")) };
  };
  const journal = () =>
    readFileSync(journalPath, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { id: string; step: string; outcome?: string; plan?: string[] });
  /** New tags for `names`, in the registry only (the local copies removed, so a run must pull). */
  const release = async (names: string[], tag: string) => {
    for (const n of names) {
      await pushImage(repo(n), [tag, "latest"]);
      await must("docker", ["image", "rm", `${repo(n)}:${tag}`, `${repo(n)}:latest`]);
    }
  };

  beforeAll(async () => {
    await seedNamespace(ns, REPOS, ["1.64", "latest"]);
    writeFileSync(path.join(fx.dir, ".env"), `DV_NS=${ns}\n`, { flag: "a" });
    await must("docker", ["compose", "up", "-d"], { cwd: fx.dir });
  });
  afterAll(async () => {
    await fx.cleanup();
    plugin.cleanup();
    docker.cleanup();
  });

  it("migrate-versions reads every service's image with one docker image inspect", async () => {
    const { r, calls } = await counted(["migrate-versions", "--yes", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(
      calls.filter((c) => c.startsWith("image inspect ")),
      calls.join("\n"),
    ).toHaveLength(1);
    expect((await dv(["resolve-tags"])).code).toBe(0);
  });

  it("pull-latest --dry-run prints the plan the run executes; the run pulls with one compose pull", async () => {
    await release(["apigateway", "taskservice"], "1.65");
    const dry = await dv(["pull-latest", "--dry-run", "--json"]);
    expect(dry.code, dry.stderr).toBe(0);
    const planned = JSON.parse(dry.stdout) as { plan: string[] };
    expect(planned.plan.map((l) => l.replace(/^\d+\. (\S+).*/, "$1"))).toEqual(["pull", "record"]);
    expect((await dv(["pull-latest", "--dry-run"])).stdout).toContain(
      `plan:\n${planned.plan.map((l) => `  ${l}\n`).join("")}`,
    );

    const { r, calls } = await counted(["pull-latest", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { plan: string[] }).plan).toEqual(planned.plan);
    const run = journal().filter((e) => e.id === journal().at(-1)?.id);
    expect(run[0]?.plan).toEqual(planned.plan);
    expect(run.map((e) => e.step)).toEqual(["begin", "pulled", "recording", "recorded", "end"]);
    expect(run.at(-1)?.outcome).toBe("updated");
    // One compose pull of both services, one inspect before it, and no docker pull.
    const pulls = calls.filter((c) => /(^| )pull( |$)/.test(c));
    expect(pulls, calls.join("\n")).toHaveLength(1);
    expect(pulls[0]).toMatch(/^compose .* pull( --quiet)? api worker$/);
    expect(
      calls.filter((c) => c.startsWith("image inspect ")),
      calls.join("\n"),
    ).toHaveLength(1);
    for (const name of ["apigateway", "taskservice"]) {
      const digest = await registryDigest(`${ns}/${name}`, "1.65");
      expect(readFileSync(manifestPath, "utf8")).toContain(digest);
      // pulled by digest: the engine has exactly the recorded image
      await must("docker", ["image", "inspect", "--format", "{{.Id}}", `${repo(name)}@${digest}`]);
    }
  });

  it("pull-latest --apply meeting an unexpected error after recreating puts the record and the running digests back", async () => {
    // The containers run what the record names (1.65) before the run starts.
    await must("docker", ["compose", "--env-file", ".env", "--env-file", "versions.env", "up", "-d"], {
      cwd: fx.dir,
    });
    const manifest = readFileSync(manifestPath, "utf8");
    const before = await runningDigest(fx.project, "api", repo("apigateway"));
    expect(before).toBe(await registryDigest(`${ns}/apigateway`, "1.65"));
    await release(["apigateway"], "1.66");
    const r = await dv(["pull-latest", "--apply"], { DOCKER_VERSIONS_FAULT: "pull-latest.recreated:throw" });
    expect(r.code).toBe(70);
    expect(r.stderr).toMatch(/pull-latest rolled back after an unexpected error: injected fault/);
    expect(readFileSync(manifestPath, "utf8")).toBe(manifest);
    expect(await runningDigest(fx.project, "api", repo("apigateway"))).toBe(before);
    expect(journal().at(-1)).toMatchObject({ step: "end", outcome: "rolled-back" });
    expect((await dv(["version"])).stderr).toBe("");

    const applied = await dv(["pull-latest", "--apply"]);
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toMatch(/^recreated: api$/m);
    expect(await runningDigest(fx.project, "api", repo("apigateway"))).toBe(
      await registryDigest(`${ns}/apigateway`, "1.66"),
    );
  });
});
