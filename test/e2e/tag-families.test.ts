// Tag families on the real bed: repositories whose tags are spelled like public images'
// (several tags per digest: variants, major lines, channels, build counters with aliases,
// dates with commit tags), followed by services of one project. Everything current means
// check-updates --exit-code says 0; one release per line means 2 and exactly that release for
// each service that follows the line, nothing for the others; pull-latest records exact tags.
import { writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  bed,
  fixtureProject,
  installPlugin,
  must,
  pushImage,
  readText,
  registryDigest,
  runningDigest,
  sh,
} from "./harness.js";

interface Row {
  service: string;
  current: string;
  available: boolean;
  updates: { newer: string[]; outside: string[] } | null;
}

describe.skipIf(!bed.available)("tag families", () => {
  const plugin = installPlugin();
  const fx = fixtureProject("tag-families");
  const ns = `fam${process.pid}`;
  const repo = (name: string) => `${bed.registry}/${ns}/${name}`;
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
  const offers = async () => {
    const r = await dv("check-updates", "--json");
    expect(r.code, r.stderr).toBe(0);
    return Object.fromEntries(
      (JSON.parse(r.stdout) as Row[]).map((row) => [row.service, row.updates?.newer ?? []]),
    );
  };

  beforeAll(async () => {
    // Oldest first; the tags of one push share a digest.
    await pushImage(repo("postgres"), ["16.5", "16.5-bookworm"]);
    await pushImage(repo("postgres"), ["16.6", "16", "16.6-bookworm", "16-bookworm"]);
    await pushImage(repo("postgres"), ["16.6-alpine", "16-alpine", "16.6-alpine3.21", "16-alpine3.21"]);
    await pushImage(repo("postgres"), ["17.2", "17", "latest", "17.2-bookworm", "bookworm"]);
    await pushImage(repo("postgres"), ["17.2-alpine", "17-alpine", "alpine", "17.2-alpine3.21"]);
    await pushImage(repo("postgres"), ["18beta1", "18beta1-bookworm"]);
    await pushImage(repo("nginx"), ["1.26.2", "1.26", "stable", "1.26.2-alpine"]);
    await pushImage(repo("nginx"), ["1.27.3", "1.27", "1", "mainline", "latest"]);
    await pushImage(repo("gitea"), ["1.22.6", "1.22", "1", "latest"]);
    await pushImage(repo("gitea"), ["1.22.6-rootless", "1.22-rootless", "1-rootless", "latest-rootless"]);
    await pushImage(repo("gitea"), ["1.23.0-rc0-rootless"]);
    await pushImage(repo("sonarr"), ["4.0.11.2680-ls99"]);
    await pushImage(repo("sonarr"), ["4.0.11.2680-ls100", "version-4.0.11.2680", "latest"]);
    await pushImage(repo("app"), ["2024-11-13", "sha-9f8e7d6"]);
    await pushImage(repo("app"), ["2024-11-20", "sha-1a2b3c4", "latest", "main"]);
    writeFileSync(path.join(fx.dir, ".env"), `DV_NS=${ns}\n`, { flag: "a" });
    await must("docker", ["compose", "pull", "-q"], { cwd: fx.dir, env: plugin.env });
    await ok("migrate-versions", "--yes");
  });
  afterAll(async () => {
    await fx.cleanup();
    plugin.cleanup();
  });

  it("resolve-tags names every floating tag by the most specific tag of its own line", async () => {
    await ok("resolve-tags");
    expect(await tags()).toEqual({
      db: "16.6-alpine",
      pg17: "17.2-alpine",
      web: "1.26.2",
      edge: "1.27.3",
      git: "1.22.6-rootless",
      arr: "4.0.11.2680-ls100",
      app: "2024-11-20",
    });
    const manifest = readText(path.join(fx.dir, "version-manifest.yaml"));
    expect(manifest).toMatch(/floating_tag: "?16-alpine"?/);
  });

  it("everything current: after pull-latest and restart, check-updates --exit-code says 0", async () => {
    const pulled = await ok("pull-latest");
    expect(pulled.stdout).toMatch(/nothing changed/);
    await ok("restart", "--timeout", "60", "--settle", "1");
    const r = await dv("check-updates", "--exit-code");
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(Object.values(await offers()).flat()).toEqual([]);
    // A newer major is reported apart, not as an update of the line.
    const db = (JSON.parse((await ok("check-updates", "--json", "--service", "db")).stdout) as Row[])[0];
    expect(db?.updates?.outside).toEqual(["17.2-alpine"]);
  });

  it("one release per line: exit 2, and exactly that release for each service that follows it", async () => {
    await pushImage(repo("postgres"), ["16.7", "16", "16.7-bookworm", "16-bookworm"]);
    await pushImage(repo("postgres"), ["16.7-alpine", "16-alpine", "16.7-alpine3.21", "16-alpine3.21"]);
    await pushImage(repo("nginx"), ["1.26.3", "1.26", "stable"]);
    await pushImage(repo("nginx"), ["1.27.4", "1.27", "1", "mainline", "latest"]);
    await pushImage(repo("gitea"), ["1.22.7-rootless", "1.22-rootless", "1-rootless", "latest-rootless"]);
    await pushImage(repo("sonarr"), ["4.0.11.2680-ls101", "version-4.0.11.2680", "latest"]);
    await pushImage(repo("app"), ["2024-11-27", "sha-4d5e6f7", "latest", "main"]);
    expect((await dv("check-updates", "--exit-code")).code).toBe(2);
    expect(await offers()).toEqual({
      db: ["16.7-alpine"],
      pg17: [],
      web: ["1.26.3"],
      edge: ["1.27.4"],
      git: ["1.22.7-rootless"],
      arr: ["4.0.11.2680-ls101"],
      app: ["2024-11-27"],
    });
    const dry = await ok("update-safe", "--dry-run");
    expect(dry.stdout).toMatch(/db: 16\.6-alpine \(\w+\) → 16\.7-alpine \(\w+\)/);
  });

  it("pull-latest records the exact new tags, and the database runs 16.7-alpine's digest", async () => {
    const r = await ok("pull-latest");
    expect(r.stdout).toMatch(
      /^db: 16\.6-alpine \(\w+\) → 16\.7-alpine \(\w+\) \[16-alpine → 16\.7-alpine\]$/m,
    );
    expect(await tags()).toEqual({
      db: "16.7-alpine",
      pg17: "17.2-alpine",
      web: "1.26.3",
      edge: "1.27.4",
      git: "1.22.7-rootless",
      arr: "4.0.11.2680-ls101",
      app: "2024-11-27",
    });
    const history = await ok("version-history", "--service", "db");
    expect(history.stdout).toMatch(/16\.7-alpine.*\[current\]/);
    expect(history.stdout).toMatch(/16\.6-alpine.*\[previous\]/);
    await ok("restart", "--timeout", "60", "--settle", "1");
    expect(await runningDigest(fx.project, "db", repo("postgres"))).toBe(
      await registryDigest(`${ns}/postgres`, "16.7-alpine"),
    );
    const after = await dv("check-updates", "--exit-code");
    expect(after.code, after.stdout + after.stderr).toBe(0);
  });
});
