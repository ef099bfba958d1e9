// prune keeps what rollbacks need: after several updates, prune removes the images no record
// entry and no container uses, keeps the rest, and then, with the registry stopped, rollback-to
// every tag of the history still succeeds from local images alone. The registry is a private
// instance on its own port and storage (the shared one is never stopped).
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bed, installPlugin, must, runningDigest, sh } from "./harness.js";

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

async function until(what: string, check: () => Promise<boolean>, tries = 200): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await check()) return;
    await sleep(100);
  }
  throw new Error(`timed out waiting until ${what}`);
}

const answers = (url: string) =>
  fetch(url, { signal: AbortSignal.timeout(2000) }).then(
    (r) => r.ok,
    () => false,
  );

describe.skipIf(!bed.available)("prune", () => {
  const plugin = installPlugin();
  const work = mkdtempSync(path.join(tmpdir(), "dv-prune-"));
  const project = `dv${process.pid}prune`;
  let registry: ChildProcess | undefined;
  let reg = "";
  const dv = (...args: string[]) =>
    sh("docker", ["versions", ...args], { cwd: path.join(work, "app"), env: plugin.env });
  const ok = async (...args: string[]) => {
    const r = await dv(...args);
    expect(r.code, `docker versions ${args.join(" ")}: ${r.stderr}`).toBe(0);
    return r;
  };
  const push = (repo: string, tag: string, ...more: string[]) =>
    must("bash", [
      path.resolve(import.meta.dirname, "../bed/image.sh"),
      `${reg}/${repo}`,
      `${repo} ${tag} ${Math.random()}`,
      tag,
      ...more,
    ]);
  const exists = async (ref: string) =>
    (await sh("docker", ["image", "inspect", "--format", "{{.Id}}", ref])).code === 0;
  const history = async () =>
    (
      JSON.parse((await ok("version-history", "--service", "app", "--json")).stdout) as {
        services: { entries: { tag: string; digest: string }[] }[];
      }
    ).services[0]?.entries ?? [];

  beforeAll(async () => {
    const port = await freePort();
    reg = `127.0.0.1:${port}`;
    mkdirSync(path.join(work, "storage"));
    writeFileSync(
      path.join(work, "registry.yml"),
      `version: 0.1\nlog: { level: warn }\nstorage:\n  filesystem: { rootdirectory: ${path.join(work, "storage")} }\nhttp: { addr: ${reg} }\n`,
    );
    registry = spawn("docker-registry", ["serve", path.join(work, "registry.yml")], { stdio: "ignore" });
    await until("the private registry answers", () => answers(`http://${reg}/v2/`));
    await push("pr/app", "1.0", "latest");
    await push("pr/db", "1.0", "latest");
    mkdirSync(path.join(work, "app"));
    writeFileSync(
      path.join(work, "app", "compose.yaml"),
      `services:\n  app:\n    image: ${reg}/pr/app:\${APP_VERSION:-latest}\n  db:\n    image: ${reg}/pr/db:\${DB_VERSION:-latest}\n`,
    );
    writeFileSync(path.join(work, "app", ".env"), `COMPOSE_PROJECT_NAME=${project}\n`);
    await must("docker", ["compose", "up", "-d"], { cwd: path.join(work, "app") });
    await ok("migrate-versions", "--yes");
    await ok("resolve-tags");
    for (const v of ["1.1", "1.2", "1.3"]) {
      await push("pr/app", v, "latest");
      await ok("update-safe", "--skip-data-backup", "--settle", "1", "--timeout", "60");
    }
    // A release never deployed, pulled by hand; and an old one a stray container uses.
    await push("pr/app", "1.4");
    await must("docker", ["pull", "-q", `${reg}/pr/app:1.4`]);
    await push("pr/app", "0.9");
    await must("docker", ["pull", "-q", `${reg}/pr/app:0.9`]);
    await must("docker", ["create", "--name", `${project}-stray`, `${reg}/pr/app:0.9`]);
  }, 300_000);
  afterAll(async () => {
    await sh("docker", ["rm", "-f", `${project}-stray`]);
    await sh("docker", ["compose", "-p", project, "down", "--timeout", "0"], { cwd: path.join(work, "app") });
    registry?.kill();
    // The images this test made, by repository (its private registry's port names them).
    const ids = (await sh("docker", ["image", "ls", "-q", "--filter", `reference=${reg}/pr/*`])).stdout
      .split("\n")
      .filter(Boolean);
    if (ids.length) await sh("docker", ["image", "rm", "-f", ...new Set(ids)]);
    rmSync(work, { recursive: true, force: true });
    plugin.cleanup();
  });

  it("plans without removing, then removes what nothing needs and keeps the rest", async () => {
    expect((await history()).map((e) => e.tag)).toEqual(["1.3", "1.2", "1.1", "1.0"]);
    const dry = JSON.parse((await ok("prune", "--dry-run", "--json")).stdout) as {
      plan: { remove: { refs: string[] }[]; keep: { refs: string[]; why: string }[] };
      freed: number;
    };
    expect(dry.plan.remove.flatMap((r) => r.refs).filter((r) => !r.includes("@"))).toEqual([
      `${reg}/pr/app:1.4`,
    ]);
    expect(dry.plan.keep.find((k) => k.refs.includes(`${reg}/pr/app:0.9`))?.why).toBe(
      `container ${project}-stray`,
    );
    for (const t of ["1.0", "1.1", "1.2"])
      expect(dry.plan.keep.find((k) => k.refs.includes(`${reg}/pr/app:${t}`))?.why).toBe(
        `app ${t} (history)`,
      );
    expect(dry.freed).toBeGreaterThan(0);
    expect(await exists(`${reg}/pr/app:1.4`)).toBe(true);

    const r = await ok("prune");
    expect(r.stdout).toMatch(/^removed \d+ image name\(s\); freed \d+(\.\d)? [KM]i?B$/m);
    expect(await exists(`${reg}/pr/app:1.4`)).toBe(false);
    expect(await exists(`${reg}/pr/app:0.9`)).toBe(true);
    for (const e of await history()) expect(await exists(`${reg}/pr/app@${e.digest}`), e.tag).toBe(true);
    expect((await ok("prune", "--dry-run")).stdout).toMatch(/^nothing to remove/m);
  });

  it("with the registry stopped, rolls back to every tag of the history", async () => {
    await ok("prune"); // (again, so this test stands on its own)
    registry?.kill();
    await until("the private registry is down", async () => !(await answers(`http://${reg}/v2/`)));
    const entries = await history();
    expect(entries.length).toBe(4);
    for (const e of [...entries].reverse()) {
      const r = await dv("rollback-to", "--service", "app", "--tag", e.tag, "--apply");
      expect(r.code, `rollback-to ${e.tag}: ${r.stderr}`).toBe(0);
      expect(await runningDigest(project, "app", `${reg}/pr/app`)).toBe(e.digest);
    }
  });
});
