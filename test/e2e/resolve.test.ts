// resolve-tags, check-updates and pull-latest's tag resolution through `docker versions`,
// against the real registries (one open, one behind Basic auth with `docker login` credentials).
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  authBed,
  bed,
  fixtureProject,
  installPlugin,
  must,
  pushImage,
  registryDigest,
  seedNamespace,
  sh,
} from "./harness.js";

describe.skipIf(!bed.available)("tag resolution and update checks", () => {
  const plugin = installPlugin();
  const auth = authBed();
  const fx = fixtureProject("resolving");
  const ns = `res${process.pid}`;
  const manifestPath = path.join(fx.dir, "version-manifest.yaml");
  const dv = (...args: string[]) => sh("docker", ["versions", ...args], { cwd: fx.dir, env: plugin.env });
  const ok = async (...args: string[]) => {
    const r = await dv(...args);
    expect(r.code, `docker versions ${args.join(" ")}: ${r.stderr}`).toBe(0);
    return r;
  };
  const tags = async () =>
    Object.fromEntries(
      JSON.parse((await ok("version", "--json")).stdout).map((r: { service: string; tag: string }) => [
        r.service,
        r.tag,
      ]),
    );

  beforeAll(async () => {
    await seedNamespace(ns, ["req_router", "taskservice"]);
    // The private service's images live only on the registry that demands a login.
    await must("docker", ["login", "-u", auth.user, "--password-stdin", auth.registry], {
      env: plugin.env,
      input: auth.password,
    });
    for (const tag of ["1.63", "1.64"]) await pushPrivate(tag);
    await must(
      "docker",
      ["tag", `${auth.registry}/${ns}/settings:1.64`, `${auth.registry}/${ns}/settings:latest`],
      { env: plugin.env },
    );
    await must("docker", ["push", "-q", `${auth.registry}/${ns}/settings:latest`], { env: plugin.env });
    writeFileSync(path.join(fx.dir, ".env"), `DV_NS=${ns}\nDV_AUTH_REGISTRY=${auth.registry}\n`, {
      flag: "a",
    });
    await must("docker", ["compose", "pull", "-q"], { cwd: fx.dir, env: plugin.env });
    await ok("migrate-versions", "--yes");
  });
  afterAll(async () => {
    await fx.cleanup();
    plugin.cleanup();
  });

  async function pushPrivate(tag: string) {
    const ref = `${auth.registry}/${ns}/settings`;
    await must("docker", ["pull", "-q", `${bed.registry}/settings:${tag}`]);
    await must("docker", ["tag", `${bed.registry}/settings:${tag}`, `${ref}:${tag}`]);
    await must("docker", ["push", "-q", `${ref}:${tag}`], { env: plugin.env });
  }

  it("resolve-tags turns latest into 1.64 everywhere, digests and pins unchanged, using docker login credentials", async () => {
    expect(await tags()).toEqual({ private: "latest", router: "latest", tasks: "latest" });
    const before = readFileSync(manifestPath, "utf8");
    const dry = await ok("resolve-tags", "--dry-run");
    expect(dry.stdout).toMatch(/router: latest .* → 1\.64 .*\(dry run\)/);
    expect(readFileSync(manifestPath, "utf8")).toBe(before);
    const r = await ok("resolve-tags");
    expect(r.stdout).toMatch(/private: latest \(\w+\) → 1\.64 \(\w+\) \[latest → 1\.64\]/);
    expect(await tags()).toEqual({ private: "1.64", router: "1.64", tasks: "1.64" });
    const env = readFileSync(path.join(fx.dir, "versions.env"), "utf8");
    expect(env).toContain(`ROUTER_VERSION=1.64@${await registryDigest(`${ns}/req_router`, "1.64")}`);
    expect(r.stdout + r.stderr).not.toContain(auth.password);
  });

  it("check-updates lists newer tags and a moved floating tag; --exit-code says so to scripts", async () => {
    expect((await ok("check-updates", "--exit-code")).stdout).toMatch(
      /^router\s+1\.64\s+-\s+-\s+-\s+-\s+latest unchanged$/m,
    );
    await pushImage(`${bed.registry}/${ns}/req_router`, ["1.65", "latest"]);
    await pushImage(`${bed.registry}/${ns}/req_router`, ["2.0.0-rc.1"]);
    const r = await dv("check-updates", "--exit-code");
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/^router\s+1\.64\s+-\s+1\.65\s+-\s+-\s+latest → 1\.65$/m);
    const pre = JSON.parse(
      (await dv("check-updates", "--json", "--prereleases", "--service", "router")).stdout,
    );
    expect(pre[0].updates.newer).toEqual(["2.0.0-rc.1", "1.65"]);
  });

  it("pull-latest resolves what it pulled: latest → 1.65", async () => {
    const r = await ok("pull-latest");
    expect(r.stdout).toMatch(/^router: 1\.64 \(\w+\) → 1\.65 \(\w+\) \[latest → 1\.65\]$/m);
    expect(r.stdout).toMatch(/unchanged: private, tasks/);
    expect((await tags()).router).toBe("1.65");
  });

  it("a floating tag with no semantic twin is kept, with a warning, and the pull still succeeds", async () => {
    await pushImage(`${bed.registry}/${ns}/taskservice`, ["latest"]);
    const r = await ok("pull-latest");
    expect(r.stdout).toMatch(/^tasks: 1\.64 \(\w+\) → latest \(\w+\)$/m);
    expect(r.stderr).toMatch(/warning: kept 'latest' for tasks: .*resolve-tags/);
    expect((await tags()).tasks).toBe("latest");
  });

  it("names a floating tag from the image's version label when no tag has its digest, and says so", async () => {
    await pushImage(`${bed.registry}/${ns}/req_router`, ["1.70"]);
    await must("env", [
      "DV_IMAGE_VERSION_LABEL=1.70",
      "bash",
      path.resolve(import.meta.dirname, "../bed/image.sh"),
      `${bed.registry}/${ns}/req_router`,
      "router rebuilt",
      "latest",
    ]);
    const r = await ok("pull-latest");
    expect(r.stdout).toMatch(/^router: 1\.65 \(\w+\) → 1\.70 \(\w+\) \[latest → 1\.70\]$/m);
    expect(r.stderr).toMatch(
      /warning: router: no tag has the digest of 'latest'; named it 1\.70 from the image's org\.opencontainers\.image\.version label/,
    );
  });

  it("an unreachable registry leaves the manifest unchanged", async () => {
    const before = readFileSync(manifestPath, "utf8");
    writeFileSync(
      path.join(fx.dir, "compose.override.yaml"),
      "services:\n  tasks:\n    image: 127.0.0.1:9/none/taskservice:${TASKS_VERSION:-latest}\n",
    );
    try {
      const r = await dv("resolve-tags");
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(/kept 'latest' for tasks: cannot reach registry 127\.0\.0\.1:9/);
      const c = await dv("check-updates");
      expect(c.stderr).toMatch(/tasks: cannot reach registry/);
      const p = await dv("pull-latest", "--dry-run");
      expect(p.code).not.toBe(0);
      expect(p.stderr.trim().split("\n")).toHaveLength(1);
      expect(readFileSync(manifestPath, "utf8")).toBe(before);
    } finally {
      (await import("node:fs")).rmSync(path.join(fx.dir, "compose.override.yaml"));
    }
  });
});
