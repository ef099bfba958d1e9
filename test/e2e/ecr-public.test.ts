// ECR Public through the built executable: with AWS credentials, resolve-tags and
// check-updates ask DescribeImages (here a loopback endpoint speaking its JSON protocol, the
// only stand-in this project allows), on a manifest written by the Makefile-era tooling.

import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bed, installPlugin, sh } from "./harness.js";

const digest = (c: string) => `sha256:${c.repeat(64)}`;
// Two pages, as DescribeImages pages them: 1.64 and latest share a digest.
const PAGES = [
  [
    { imageDigest: digest("1"), imageTags: ["1.62"] },
    { imageDigest: digest("2"), imageTags: ["1.63"] },
  ],
  [
    { imageDigest: digest("3"), imageTags: ["1.64", "latest"] },
    { imageDigest: digest("4"), imageTags: ["1.65-rc.1"] },
  ],
];

describe.skipIf(!bed.available)("ECR Public through DescribeImages", () => {
  const plugin = installPlugin();
  const dir = mkdtempSync(path.join(tmpdir(), "dv-ecr-"));
  const calls: { target: string; body: Record<string, unknown> }[] = [];
  let server: Server;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    server = createServer((req, res) => {
      let text = "";
      req.on("data", (b) => (text += b));
      req.on("end", () => {
        const body = JSON.parse(text || "{}") as Record<string, unknown>;
        calls.push({ target: String(req.headers["x-amz-target"]), body });
        const page = Number(String(body.nextToken ?? "p0").slice(1));
        res.writeHead(200, { "content-type": "application/x-amz-json-1.1" });
        const imageDetails = (PAGES[page] ?? []).map((d) => ({
          ...d,
          repositoryName: body.repositoryName,
          registryId: "123456789012",
        }));
        res.end(
          JSON.stringify({ imageDetails, ...(page + 1 < PAGES.length ? { nextToken: `p${page + 1}` } : {}) }),
        );
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    env = {
      ...plugin.env,
      AWS_ACCESS_KEY_ID: "AKIDEXAMPLEDVTEST0001",
      AWS_SECRET_ACCESS_KEY: "dv-test-secret-not-real",
      DOCKER_VERSIONS_ECR_PUBLIC_ENDPOINT: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    };
    writeFileSync(
      path.join(dir, "compose.yaml"),
      "services:\n  taskservice:\n    image: public.ecr.aws/dagknows/taskservice:${TASKSERVICE_VERSION:-latest}\n",
    );
    // The Makefile system's shape: no schema, seed field names.
    writeFileSync(
      path.join(dir, "version-manifest.yaml"),
      `services:\n  taskservice:\n    current_tag: latest\n    image_digest: '${digest("3")}'\n    history:\n      - tag: '1.63'\n        deployed_at: '2026-01-12T12:20:31'\n`,
    );
  });
  afterAll(() => {
    server.close();
    plugin.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it("resolves latest → 1.64 from DescribeImages pages, upgrading the seed manifest after a backup", async () => {
    const r = await sh("docker", ["versions", "resolve-tags"], { cwd: dir, env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /^taskservice: latest \(333333333333\) → 1\.64 \(333333333333\) \[latest → 1\.64\]$/m,
    );
    expect(calls.map((c) => [c.target, c.body.repositoryName, c.body.nextToken ?? null])).toEqual([
      ["SpencerFrontendService.DescribeImages", "taskservice", null],
      ["SpencerFrontendService.DescribeImages", "taskservice", "p1"],
    ]);
    const manifest = readFileSync(path.join(dir, "version-manifest.yaml"), "utf8");
    expect(manifest).toMatch(/^schema: 1$/m);
    const backups = readdirSync(path.join(dir, ".version-backups"));
    expect(backups).toHaveLength(1);
    expect(readFileSync(path.join(dir, ".version-backups", backups[0] as string), "utf8")).not.toContain(
      "schema",
    );
    expect(manifest).toMatch(/current_tag: "?1\.64"?/);
    expect(r.stdout + r.stderr).not.toContain("dv-test-secret-not-real");
    expect(readFileSync(path.join(dir, "versions.env"), "utf8")).toContain(
      `TASKSERVICE_VERSION=1.64@${digest("3")}`,
    );
  });

  it("check-updates lists pre-releases only when asked", async () => {
    const plain = JSON.parse(
      (await sh("docker", ["versions", "check-updates", "--json"], { cwd: dir, env })).stdout,
    );
    expect(plain[0]).toMatchObject({ service: "taskservice", current: "1.64", floatingMoved: false });
    expect(plain[0].updates.newer).toEqual([]);
    const pre = JSON.parse(
      (await sh("docker", ["versions", "check-updates", "--json", "--prereleases"], { cwd: dir, env }))
        .stdout,
    );
    expect(pre[0].updates.newer).toEqual(["1.65-rc.1"]);
  });
});
