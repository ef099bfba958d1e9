// The engine API over the local socket against the docker CLI, on the real engine: `status` and
// `version` give the same --json both ways (DOCKER_VERSIONS_ENGINE_API=off keeps the CLI) for
// healthy, unhealthy, exited and one-off `compose run` containers; through the API they make no
// `docker` call but Compose's config; and -H or a context naming the bed's second engine makes
// that engine the one asked.
import { execFileSync } from "node:child_process";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bed, dockerCallLog, fixtureProject, inspect, installPlugin, must, sh } from "./harness.js";

const ENGINE_SCRIPT = path.resolve(import.meta.dirname, "../bed/fleet-engine.sh");
const CLI = { DOCKER_VERSIONS_ENGINE_API: "off" };

interface StatusJson {
  services: {
    service: string;
    containers: { name: string; state: string; health: string; exitCode: number; status: string }[];
  }[];
}

/** Polls until `cond` holds (a generous cap, for a loaded machine); never a fixed sleep. */
async function until(cond: () => boolean, what: string, capMs = 90_000): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > capMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The output without what moves with the clock: "Up 3 seconds (healthy)" → "Up (healthy)". */
function steady(json: string): unknown {
  return JSON.parse(json, (key, value) => {
    if (key === "uptime") return undefined;
    if (key === "status" && typeof value === "string")
      return value.replace(/ (Less than a second|About an? \w+|\d+ \w+)( ago)?/, "");
    return value;
  });
}

describe.skipIf(!bed.available)("engine reads over the local socket", () => {
  const plugin = installPlugin();
  const fx = fixtureProject("engine-api");
  // A `docker` first on PATH that logs its arguments, one call a line, then runs the real one.
  const docker = dockerCallLog(plugin.env);
  let fleetHost = "";

  /** `docker [globals] versions <args>` through the logging docker: the run and the calls it made. */
  const dv = async (args: string[], opts: { globals?: string[]; env?: NodeJS.ProcessEnv } = {}) => {
    docker.reset();
    const r = await sh("docker", [...(opts.globals ?? []), "versions", ...args], {
      cwd: fx.dir,
      env: { ...docker.env, ...opts.env },
    });
    const calls = docker.calls();
    // The first line is the plugin's own start: only its children count.
    return { ...r, calls: calls.filter((c) => !/(^| )versions( |$)/.test(c)) };
  };
  /** Both ways: through the API and through the CLI, each must succeed; their steady JSON. */
  const bothWays = async (args: string[], globals: string[] = [], env: NodeJS.ProcessEnv = {}) => {
    const api = await dv([...args, "--json"], { globals, env });
    expect(api.code, api.stderr).toBe(0);
    const cli = await dv([...args, "--json"], { globals, env: { ...env, ...CLI } });
    expect(cli.code, cli.stderr).toBe(0);
    return { api, cli };
  };
  const state = (container: string, format: string) => inspect(container, format);

  beforeAll(async () => {
    fleetHost = /^FLEET_HOST=(.*)$/m.exec(
      execFileSync("bash", [ENGINE_SCRIPT, "up", "dv-fleet"], { encoding: "utf8" }),
    )?.[1] as string;
    await must("docker", ["compose", "up", "-d"], { cwd: fx.dir });
    // A one-off container of worker, as `docker compose run` makes it (Compose's ps --all lists it).
    await must("docker", ["compose", "run", "-d", "worker"], { cwd: fx.dir });
    await must("docker", ["versions", "migrate-versions", "--yes"], { cwd: fx.dir, env: plugin.env });
    const p = fx.project;
    await until(
      () =>
        state(`${p}-web-1`, "{{.State.Health.Status}}") === "healthy" &&
        state(`${p}-sick-1`, "{{.State.Health.Status}}") === "unhealthy" &&
        state(`${p}-gone-1`, "{{.State.Status}}") === "exited",
      "web healthy, sick unhealthy, gone exited",
    );
    // The second engine runs only worker of the same project.
    await must("docker", ["-H", fleetHost, "compose", "up", "-d", "worker"], { cwd: fx.dir });
  });
  afterAll(async () => {
    await sh("docker", ["-H", fleetHost, "compose", "down", "--timeout", "0"], { cwd: fx.dir });
    await fx.cleanup();
    plugin.cleanup();
    docker.cleanup();
  });

  it("status gives the same --json through the engine API and through the docker CLI", async () => {
    const { api, cli } = await bothWays(["status"]);
    expect(steady(api.stdout)).toEqual(steady(cli.stdout));
    // And it is the project as it runs, in every state.
    const report = JSON.parse(api.stdout) as StatusJson;
    const of = (service: string) => report.services.find((s) => s.service === service)?.containers ?? [];
    expect(of("web").map((c) => [c.state, c.health])).toEqual([["running", "healthy"]]);
    expect(of("sick").map((c) => [c.state, c.health])).toEqual([["running", "unhealthy"]]);
    expect(of("gone").map((c) => [c.state, c.exitCode])).toEqual([["exited", 3]]);
    expect(of("gone")[0]?.status).toMatch(/^Exited \(3\)/);
    const workers = of("worker").map((c) => c.name);
    expect(workers).toHaveLength(2);
    expect(workers.some((n) => n.startsWith(`${fx.project}-worker-run-`))).toBe(true);
  });

  it("version gives the same --json through the engine API and through the docker CLI", async () => {
    const { api, cli } = await bothWays(["version"]);
    expect(JSON.parse(api.stdout)).toEqual(JSON.parse(cli.stdout));
    const rows = JSON.parse(api.stdout) as { service: string; drift: string }[];
    expect(rows.find((r) => r.service === "web")?.drift).toBe("in sync");
    expect(rows.find((r) => r.service === "gone")?.drift).toBe("not running");
  });

  it("through the engine API status and version call docker only for Compose's config", async () => {
    for (const command of ["status", "version"]) {
      // Compose's config asked each time (not remembered), so there are calls to look at.
      const { api, cli } = await bothWays([command], [], { DOCKER_VERSIONS_COMPOSE_CACHE: "off" });
      expect(api.calls.length, api.calls.join("\n")).toBeGreaterThan(0);
      for (const call of api.calls) expect(call, api.calls.join("\n")).toMatch(/^compose .* config( |$)/);
      // The CLI path, forced, still lists and inspects through docker.
      expect(
        cli.calls.some((c) => /^compose .* ps --all/.test(c)),
        cli.calls.join("\n"),
      ).toBe(true);
      expect(
        cli.calls.some((c) => c.startsWith("container inspect ")),
        cli.calls.join("\n"),
      ).toBe(true);
    }
  });

  it("-H and a context naming the second engine make that engine the one asked", async () => {
    const { api, cli } = await bothWays(["status"], ["-H", fleetHost]);
    expect(steady(api.stdout)).toEqual(steady(cli.stdout));
    for (const call of api.calls) expect(call).toMatch(new RegExp(`^-H ${fleetHost} compose .* config( |$)`));
    const running = (json: string) =>
      (JSON.parse(json) as StatusJson).services.flatMap((s) =>
        s.containers.map((c) => `${s.service} ${c.state}`),
      );
    // Only worker runs there (no one-off, no web): not the main engine's containers.
    expect(running(api.stdout)).toEqual(["worker running"]);

    await must("docker", ["context", "create", "second-engine", "--docker", `host=${fleetHost}`], {
      env: plugin.env,
    });
    const viaContext = await bothWays(["status"], ["--context", "second-engine"]);
    expect(steady(viaContext.api.stdout)).toEqual(steady(api.stdout));
    expect(steady(viaContext.cli.stdout)).toEqual(steady(api.stdout));
    const versions = await bothWays(["version"], ["--context", "second-engine"]);
    expect(JSON.parse(versions.api.stdout)).toEqual(JSON.parse(versions.cli.stdout));
    // The same through DOCKER_CONTEXT, and the main engine again with --context default.
    const env = await dv(["status", "--json"], { env: { DOCKER_CONTEXT: "second-engine" } });
    expect(steady(env.stdout)).toEqual(steady(api.stdout));
    const main = await dv(["status", "--json"], { globals: ["--context", "default"] });
    expect(running(main.stdout)).toContain("web running");
  });

  it("an engine that does not answer is one line, the same both ways", async () => {
    const gone = path.join(tmpdir(), `dv-no-engine-${process.pid}.sock`);
    const api = await dv(["status"], { globals: ["-H", `unix://${gone}`] });
    const cli = await dv(["status"], { globals: ["-H", `unix://${gone}`], env: CLI });
    expect(api.code).toBe(1);
    expect(api.stderr).toBe(cli.stderr);
    expect(api.stderr.trim().split("\n")).toHaveLength(1);
    expect(api.stderr).toMatch(
      /^error: cannot list the project's containers: Cannot connect to the Docker daemon/,
    );
  });
});
