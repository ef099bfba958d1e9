// A Swarm stack on the real engine (a single-node swarm): the record is made from the services'
// specs, pull-latest --apply and rollback-to --apply deploy the stack with the pinned values,
// and update-safe with a release that never gets healthy ends with Swarm's own rollback and the
// record as it was. Each step is checked with docker service inspect and the tasks' containers.
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  bed,
  fixtureProject,
  inspect,
  installPlugin,
  must,
  pushImage,
  registryDigest,
  seedNamespace,
  sh,
} from "./harness.js";

const SERVICES = { web: "taskservice", api: "apigateway", worker: "settings" } as const;
type Service = keyof typeof SERVICES;
const BAD_CMD = '["/bin/busybox","sh","-c","trap \\"exit 0\\" TERM; while true; do sleep 1; done"]';

/** This engine as a single-node swarm manager; init only when it is not one yet (never leave). */
async function ensureSwarm(): Promise<void> {
  const state = (await must("docker", ["info", "--format", "{{.Swarm.LocalNodeState}}"])).stdout.trim();
  if (state === "active") return;
  const r = await sh("docker", ["swarm", "init", "--advertise-addr", "127.0.0.1"]);
  // Another run may have initialised it meanwhile: what counts is that it is active now.
  if (r.code !== 0 && !/already part of a swarm/i.test(r.stderr)) throw new Error(r.stderr);
}

/** Polls `check` until it returns a value (Swarm converges asynchronously); fails after `seconds`. */
async function until<T>(what: string, seconds: number, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + seconds * 1000;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
    await sleep(500);
  }
}

describe.skipIf(!bed.available)("Swarm stack", () => {
  const plugin = installPlugin();
  const fx = fixtureProject("stack");
  const ns = `stk${process.pid}`;
  const stack = `dvs${process.pid}`;
  const manifestPath = path.join(fx.dir, "version-manifest.yaml");
  const dv = (...args: string[]) =>
    sh("docker", ["versions", "--stack", stack, ...args], { cwd: fx.dir, env: plugin.env });
  const repo = (s: Service) => `${bed.registry}/${ns}/${SERVICES[s]}`;
  const digestOf = (s: Service, tag: string) => registryDigest(`${ns}/${SERVICES[s]}`, tag);

  /** The digest the service's spec names (docker service inspect). */
  const specDigest = (s: Service) =>
    inspect(`${stack}_${s}`, "{{.Spec.TaskTemplate.ContainerSpec.Image}}").split("@")[1];

  /** The registry digests the containers of the service's running tasks run, one per task. */
  async function taskDigests(s: Service): Promise<string[]> {
    const ids = (
      await must("docker", [
        "service",
        "ps",
        "--quiet",
        "--no-trunc",
        "--filter",
        "desired-state=running",
        `${stack}_${s}`,
      ])
    ).stdout
      .split("\n")
      .filter(Boolean);
    const out: string[] = [];
    for (const id of ids) {
      const status = JSON.parse(inspect(id, "{{json .Status}}")) as {
        State?: string;
        ContainerStatus?: { ContainerID?: string };
      };
      const container = status.ContainerStatus?.ContainerID;
      const state = status.State;
      if (state !== "running" || !container) continue;
      const image = inspect(container, "{{.Image}}");
      const digests = JSON.parse(inspect(image, "{{json .RepoDigests}}")) as string[];
      out.push(digests.find((d) => d.startsWith(`${repo(s)}@`))?.split("@")[1] ?? image);
    }
    return out.sort();
  }

  /** Waits until every running task of the service runs `digest`, as many as `replicas`. */
  const converged = (s: Service, digest: string, replicas: number) =>
    until(`${s} on ${digest}`, 90, async () => {
      const tasks = await taskDigests(s);
      return tasks.length === replicas && tasks.every((d) => d === digest) ? tasks : undefined;
    });

  /** Spec and tasks of every service, checked against the registry digests of `tags`. */
  async function expectRunning(tags: Record<Service, string>): Promise<void> {
    for (const s of Object.keys(SERVICES) as Service[]) {
      const digest = await digestOf(s, tags[s]);
      expect(specDigest(s), `${s} spec`).toBe(digest);
      await converged(s, digest, s === "web" ? 2 : 1);
    }
  }

  beforeAll(async () => {
    await ensureSwarm();
    await seedNamespace(ns, Object.values(SERVICES), ["1.63", "1.64", "latest"]);
    writeFileSync(path.join(fx.dir, ".env"), `DV_NS=${ns}\n`, { flag: "a" });
    // The operator's own first deploy: stack deploy reads its environment, not .env.
    await must("docker", ["stack", "deploy", "--detach=true", "--quiet", "-c", "compose.yaml", stack], {
      cwd: fx.dir,
      env: { ...process.env, DV_NS: ns },
    });
    await expectRunning({ web: "latest", api: "latest", worker: "latest" });
  });
  afterAll(async () => {
    await sh("docker", ["stack", "rm", stack]);
    await fx.cleanup();
    plugin.cleanup();
  });

  it("migrates from the services' specs, and status shows replicas and the digest each task runs", async () => {
    const r = await dv("migrate-versions", "--yes");
    expect(r.code, r.stderr).toBe(0);
    const manifest = readFileSync(manifestPath, "utf8");
    for (const s of Object.keys(SERVICES) as Service[])
      expect(manifest).toContain(await digestOf(s, "latest"));
    expect((await dv("resolve-tags")).code).toBe(0); // latest → 1.64 by digest

    const status = JSON.parse((await dv("status", "--json")).stdout);
    expect(status.stack).toBe(stack);
    const web = status.services.find((s: { service: string }) => s.service === "web");
    expect(web.swarm.replicas).toEqual({
      running: 2,
      desired: 2,
      digests: [{ digest: await digestOf("web", "1.64"), tasks: 2 }],
    });
    expect(web.drift).toBe("in sync");
    expect((await dv("status")).stdout).toMatch(
      /^web\s+app\s+\S+taskservice:1\.64\s+2\/2\s+2× [0-9a-f]{12}\s+in sync$/m,
    );
    const rows = JSON.parse((await dv("version", "--json")).stdout);
    expect(
      rows.map((x: { service: string; tag: string; drift: string }) => [x.service, x.tag, x.drift]),
    ).toEqual([
      ["api", "1.64", "in sync"],
      ["web", "1.64", "in sync"],
      ["worker", "1.64", "in sync"],
    ]);
  });

  it("pull-latest --apply deploys the new digests; rollback-to --apply goes back two versions by name", async () => {
    await pushImage(repo("web"), ["1.65", "latest"]);
    await pushImage(repo("api"), ["1.65", "latest"]);
    const first = await dv("pull-latest", "--apply");
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/^web: 1\.64 .* → 1\.65 /m);
    await expectRunning({ web: "1.65", api: "1.65", worker: "1.64" });

    await pushImage(repo("web"), ["1.66", "latest"]);
    const second = await dv("pull-latest", "--apply");
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toMatch(/^unchanged: api, worker$/m);
    await expectRunning({ web: "1.66", api: "1.65", worker: "1.64" });

    const back = await dv("rollback-to", "--service", "web", "--tag", "1.64", "--apply");
    expect(back.code, back.stderr).toBe(0);
    expect(back.stdout).toMatch(/^web: 1\.66 .* → 1\.64 /m);
    await expectRunning({ web: "1.64", api: "1.65", worker: "1.64" });
    const h = JSON.parse((await dv("version-history", "--service", "web", "--json")).stdout);
    expect(h.services[0].entries.map((e: { tag: string }) => e.tag)).toEqual([
      "1.64",
      "1.66",
      "1.65",
      "1.64",
    ]);
  });

  it("update-safe with a release that never gets healthy ends with Swarm's rollback and the record restored", async () => {
    await must(
      "env",
      [
        `DV_IMAGE_CMD=${BAD_CMD}`,
        "bash",
        "test/bed/image.sh",
        repo("web"),
        "never healthy",
        "1.67",
        "latest",
      ],
      {
        cwd: path.resolve(import.meta.dirname, "../.."),
      },
    );
    const before = readFileSync(manifestPath, "utf8");
    const r = await dv("update-safe", "--skip-data-backup", "--timeout", "100");
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toEqual([
      expect.stringMatching(
        /^error: update-safe rolled back: Swarm rolled web back: rollback completed( \(.+\))?$/,
      ),
    ]);
    expect(readFileSync(manifestPath, "utf8")).toBe(before);
    await expectRunning({ web: "1.64", api: "1.65", worker: "1.64" });
    const audit = readFileSync(path.join(fx.dir, "version-audit.log"), "utf8");
    expect(audit).toMatch(/update-safe \(rollback\)\tweb: 1\.67@\S+ → 1\.64@/);
    const rows = JSON.parse((await dv("version", "--json")).stdout);
    expect(rows.find((x: { service: string }) => x.service === "web")).toMatchObject({
      tag: "1.64",
      drift: "in sync",
    });
  });

  it("refuses the Compose lifecycle on a stack, and a stack that does not exist, in one line", async () => {
    const up = await dv("up");
    expect(up.code).toBe(1);
    expect(up.stderr.trim().split("\n")).toHaveLength(1);
    const none = await sh("docker", ["versions", "--stack", `${stack}nope`, "version"], {
      cwd: fx.dir,
      env: plugin.env,
    });
    expect(none.code).toBe(1);
    expect(none.stderr.trim()).toMatch(/^error: stack \S+nope has no services on this swarm/);
  });
});
