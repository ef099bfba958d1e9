// Floating tags of multi-platform images: resolved on the index digest Docker records, and on
// the host platform's manifest digest when that is what a record holds.
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pushTags } from "../bed/push-tags.mjs";
import { bed, fixtureProject, installPlugin, must, sh } from "./harness.js";

const LIST = "application/vnd.docker.distribution.manifest.list.v2+json";
const V2 = "application/vnd.docker.distribution.manifest.v2+json";

/** PUTs a manifest list of `entries` under each tag; returns its digest. */
async function pushIndex(
  repository: string,
  entries: { digest: string; arch: string }[],
  tags: string[],
): Promise<string> {
  const sizes = await Promise.all(
    entries.map(async (e) => {
      const r = await fetch(`http://${bed.registry}/v2/${repository}/manifests/${e.digest}`, {
        headers: { accept: V2 },
      });
      return (await r.arrayBuffer()).byteLength;
    }),
  );
  const body = JSON.stringify({
    schemaVersion: 2,
    mediaType: LIST,
    manifests: entries.map((e, i) => ({
      mediaType: V2,
      size: sizes[i],
      digest: e.digest,
      platform: { architecture: e.arch, os: "linux" },
    })),
  });
  let digest = "";
  for (const tag of tags) {
    const r = await fetch(`http://${bed.registry}/v2/${repository}/manifests/${tag}`, {
      method: "PUT",
      headers: { "content-type": LIST },
      body,
    });
    if (r.status !== 201) throw new Error(`cannot push index ${repository}:${tag}: ${r.status}`);
    digest = r.headers.get("docker-content-digest") ?? "";
  }
  return digest;
}

describe.skipIf(!bed.available)("multi-platform images", () => {
  const plugin = installPlugin();
  const fx = fixtureProject("multiplatform");
  const ns = `mp${process.pid}`;
  const repository = `${ns}/multi`;
  const host = process.arch === "arm64" ? "arm64" : "amd64";
  const other = host === "amd64" ? "arm64" : "amd64";
  let platform164 = "";
  let index164 = "";
  const dv = (...args: string[]) => sh("docker", ["versions", ...args], { cwd: fx.dir, env: plugin.env });

  beforeAll(async () => {
    // Platform manifests copied from the fixture images, each under a tag of its own.
    const p = await pushTags({ registry: bed.registry, from: "req_router:1.63", repository, tags: ["p163"] });
    const q = await pushTags({ registry: bed.registry, from: "req_router:1.64", repository, tags: ["p164"] });
    const r = await pushTags({ registry: bed.registry, from: "req_router:1.62", repository, tags: ["p162"] });
    platform164 = q.p164 as string;
    await pushIndex(
      repository,
      [
        { digest: p.p163 as string, arch: host },
        { digest: r.p162 as string, arch: other },
      ],
      ["1.63"],
    );
    index164 = await pushIndex(
      repository,
      [
        { digest: platform164, arch: host },
        { digest: r.p162 as string, arch: other },
      ],
      ["1.64", "latest"],
    );
    writeFileSync(path.join(fx.dir, ".env"), `DV_NS=${ns}\n`, { flag: "a" });
    await must("docker", ["compose", "up", "-d"], { cwd: fx.dir });
    expect((await dv("migrate-versions", "--yes")).code).toBe(0);
  });
  afterAll(async () => {
    await fx.cleanup();
    plugin.cleanup();
  });

  it("records the index digest Docker pulled and resolves latest → 1.64 on it", async () => {
    const manifest = readFileSync(path.join(fx.dir, "version-manifest.yaml"), "utf8");
    expect(manifest).toContain(`image_digest: ${index164}`);
    const r = await dv("resolve-tags");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^multi: latest \(\w+\) → 1\.64 \(\w+\) \[latest → 1\.64\]$/m);
  });

  it("resolves a record that holds the host platform's manifest digest", async () => {
    const file = path.join(fx.dir, "version-manifest.yaml");
    const text = readFileSync(file, "utf8")
      .replace(/current_tag: .*/, "current_tag: latest")
      .replaceAll(index164, platform164);
    writeFileSync(file, text);
    const r = await dv("resolve-tags");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^multi: latest \(\w+\) → 1\.64 \(\w+\)/m);
    expect(readFileSync(file, "utf8")).toContain(`image_digest: ${platform164}`);
  });
});
