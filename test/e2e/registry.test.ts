// The registry client and tag resolution against the bed's real registries: the open one, and
// the one that demands Basic auth (credentials from a docker config). Repositories that a test
// writes are private to this process; the shared fixture repositories are only read.
import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_CONCURRENCY, RegistryClient } from "../../src/adapters/registry/client.js";
import { RegistryError } from "../../src/adapters/registry/errors.js";
import { imageVersionLabel, manifestDigest } from "../../src/adapters/registry/manifests.js";
import { checkUpdates, resolveTag } from "../../src/adapters/registry/resolution.js";
import { listRepositories, listTags } from "../../src/adapters/registry/tags.js";
import { mapLimit } from "../../src/core/limit.js";
import { parseReference } from "../../src/core/reference.js";
import { pushTags } from "../bed/push-tags.mjs";
import { authBed, bed, sh } from "./harness.js";

const FIXTURES = [
  "req_router",
  "taskservice",
  "settings",
  "conv_mgr",
  "wsfe",
  "jobsched",
  "apigateway",
  "ansi_processing",
  "dagknows_nuxt",
  "postgres",
];

async function must(cmd: string, args: string[], opts: Parameters<typeof sh>[2] = {}): Promise<string> {
  const r = await sh(cmd, args, opts);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(" ")} failed: ${r.stderr.trim()}`);
  return r.stdout;
}

/** A loopback port that nothing listens on: bound, then released. */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

describe.skipIf(!bed.available)("registry client against the real registries", () => {
  const ns = `regtest-${process.pid}`;
  const work = mkdtempSync(path.join(tmpdir(), "dv-registry-"));
  const emptyConfig = path.join(work, "empty");
  const client = () => new RegistryClient({ dockerConfigDir: emptyConfig, timeoutMs: 5000, backoffMs: 50 });
  const written: { repository: string; digests: string[] }[] = [];
  let edgeImage = "";

  beforeAll(async () => {
    mkdirSync(emptyConfig);
    writeFileSync(path.join(emptyConfig, "config.json"), "{}\n");
    // Two version tags with images of their own, and a floating tag `edge` whose image no version
    // tag shares (a fresh import), labelled as if it were 1.1.
    const versions = await pushTags({
      registry: bed.registry,
      from: "req_router:1.61",
      repository: `${ns}/x`,
      tags: ["1.0", "1.1"],
      distinct: true,
    });
    const root = path.join(work, "rootfs");
    mkdirSync(root);
    writeFileSync(path.join(root, "stamp"), `${ns} ${Date.now()}\n`);
    execFileSync("tar", ["-C", root, "-cf", path.join(work, "rootfs.tar"), "."]);
    edgeImage = `${bed.registry}/${ns}/x:edge`;
    await must("docker", [
      "import",
      "-c",
      "LABEL org.opencontainers.image.version=1.1",
      path.join(work, "rootfs.tar"),
      edgeImage,
    ]);
    await must("docker", ["push", "-q", edgeImage]);
    written.push({ repository: `${ns}/x`, digests: Object.values(versions) });
  });

  afterAll(async () => {
    // Leave the shared registry as it was: untag what this file pushed (delete is enabled there).
    for (const { repository, digests } of written) {
      for (const d of new Set(digests)) {
        await fetch(`http://${bed.registry}/v2/${repository}/manifests/${d}`, { method: "DELETE" }).catch(
          () => {},
        );
      }
    }
    if (edgeImage) await sh("docker", ["rmi", "-f", edgeImage]);
    rmSync(work, { recursive: true, force: true });
  });

  it("resolves latest to 1.64 in every fixture repository, with one tags/list and one HEAD each", async () => {
    const c = client();
    const results = await mapLimit(FIXTURES, DEFAULT_CONCURRENCY, async (repo) => {
      const ref = parseReference(`${bed.registry}/${repo}:latest`);
      const recorded = await manifestDigest(c, ref, "latest");
      const before = c.requestsFor(ref);
      const resolution = await resolveTag(c, ref, recorded.digest);
      return { repo, resolution, requests: c.requestsFor(ref) - before };
    });
    for (const r of results) {
      expect(r, r.repo).toEqual({
        repo: r.repo,
        resolution: { tag: "1.64", matchedBy: "digest" },
        requests: 2,
      });
    }
  });

  it("keeps a floating tag that no version tag shares, and says why", async () => {
    const c = client();
    const ref = parseReference(edgeImage);
    const { digest } = await manifestDigest(c, ref, "edge");
    const resolution = await resolveTag(c, ref, digest);
    expect(resolution).toEqual({
      tag: null,
      reason: `no version tag has digest ${digest.slice(7, 19)} (checked 2 version tags for 'edge')`,
    });
  });

  it("reads the image's version label as a second source only when asked", async () => {
    const c = client();
    const ref = parseReference(edgeImage);
    const { digest } = await manifestDigest(c, ref, "edge");
    expect(await imageVersionLabel(c, ref, "edge")).toBe("1.1");
    expect(await imageVersionLabel(c, parseReference(`${bed.registry}/wsfe`), "1.62")).toBe("1.62");
    expect(await resolveTag(c, ref, digest, { useLabel: true })).toEqual({ tag: "1.1", matchedBy: "label" });
  });

  it("lists newer tags and sees a floating tag move, for check-updates", async () => {
    const c = client();
    const latest = await manifestDigest(c, parseReference(`${bed.registry}/settings`), "latest");
    const check = await checkUpdates(c, `${bed.registry}/settings`, {
      currentTag: "1.62",
      floatingTag: "latest",
      recordedDigest: "sha256:0000000000000000000000000000000000000000000000000000000000000000",
    });
    expect(check).toEqual({
      updates: {
        current: "1.62",
        follows: "latest",
        newer: ["1.64", "1.63"],
        major: [],
        minor: ["1.64", "1.63"],
        patch: [],
        outside: [],
      },
      floatingDigest: latest.digest,
      floatingMoved: true,
      floatingTo: "1.64",
      available: true,
    });
  });

  describe("basic-auth registry", () => {
    const auth = authBed();
    const image = `${auth.registry}/private/app`;

    it("resolves with the credentials `docker login` wrote to a docker config", async () => {
      const dockerConfig = mkdtempSync(path.join(work, "login-"));
      await must("docker", ["login", "-u", auth.user, "--password-stdin", auth.registry], {
        env: { ...process.env, DOCKER_CONFIG: dockerConfig },
        input: auth.password,
      });
      const c = new RegistryClient({ dockerConfigDir: dockerConfig });
      const { digest } = await manifestDigest(c, parseReference(image), "latest");
      expect(await resolveTag(c, image, digest)).toEqual({ tag: "1.64", matchedBy: "digest" });
      // After the first 401, requests to that registry carry the credentials up front.
      const before = c.requests;
      await resolveTag(c, image, digest);
      expect(c.requests - before).toBe(2);
    });

    it("resolves with credentials from a credential helper named in credHelpers", async () => {
      const dir = mkdtempSync(path.join(work, "helper-"));
      const helper = path.join(dir, "docker-credential-dvbed");
      const answer = JSON.stringify({ ServerURL: auth.registry, Username: auth.user, Secret: auth.password });
      writeFileSync(
        helper,
        `#!/bin/sh\n[ "$1" = get ] && s=$(cat) && [ "$s" = ${auth.registry} ] && echo '${answer}'\n`,
      );
      chmodSync(helper, 0o755);
      writeFileSync(
        path.join(dir, "config.json"),
        JSON.stringify({ credHelpers: { [auth.registry]: "dvbed" } }),
      );
      const c = new RegistryClient({
        dockerConfigDir: dir,
        env: { ...process.env, PATH: `${dir}:${process.env.PATH}` },
      });
      expect((await listTags(c, parseReference(image))).tags.sort()).toEqual(["1.63", "1.64", "latest"]);
    });

    it.each([
      ["without credentials", null, "not logged in (run 'docker login 127.0.0.1:5078')"],
      [
        "with a wrong password",
        "not-the-password",
        "the credentials saved by docker login were not accepted",
      ],
    ])("fails in one line %s, naming no credential", async (_, password, why) => {
      const dir = mkdtempSync(path.join(work, "bad-"));
      const auths = password
        ? { [auth.registry]: { auth: Buffer.from(`${auth.user}:${password}`).toString("base64") } }
        : {};
      writeFileSync(path.join(dir, "config.json"), JSON.stringify({ auths }));
      const err = await resolveTag(new RegistryClient({ dockerConfigDir: dir }), image, "sha256:00").catch(
        (e) => e,
      );
      expect(err).toBeInstanceOf(RegistryError);
      expect(err.kind).toBe("auth");
      expect(err.message).toBe(`access to ${image} denied (401): ${why}, or it does not exist`);
      for (const secret of [auth.password, "not-the-password", auth.user])
        expect(err.message).not.toContain(secret);
    });
  });

  describe("failures, one line per kind", () => {
    it("404: a repository that does not exist", async () => {
      const c = client();
      const ref = parseReference(`${bed.registry}/${ns}/nothing-here`);
      for (const attempt of [() => manifestDigest(c, ref, "latest"), () => listTags(c, ref)]) {
        const err = await attempt().catch((e) => e);
        expect(err).toMatchObject({ kind: "repository-not-found" });
        expect(err.message).toBe(`repository ${bed.registry}/${ns}/nothing-here not found`);
      }
    });

    it("404: a tag that does not exist in a repository that does", async () => {
      const err = await manifestDigest(client(), parseReference(`${bed.registry}/wsfe`), "9.99").catch(
        (e) => e,
      );
      expect(err).toMatchObject({
        kind: "tag-not-found",
        message: `tag 9.99 not found in ${bed.registry}/wsfe`,
      });
    });

    it("unreachable: a loopback port nothing listens on", async () => {
      const port = await closedPort();
      const started = Date.now();
      const err = await resolveTag(client(), `127.0.0.1:${port}/app:latest`, "sha256:00").catch((e) => e);
      expect(err).toBeInstanceOf(RegistryError);
      expect(err).toMatchObject({
        kind: "unreachable",
        message: `cannot reach registry 127.0.0.1:${port}: connection refused`,
        exitCode: 1,
      });
      expect(Date.now() - started).toBeLessThan(3000); // a refused connection is not retried
    });
  });

  describe("pagination", () => {
    it("lists every tag of a repository with more tags than one page", async () => {
      const repository = `${ns}/many`;
      const tags = Array.from({ length: 120 }, (_, i) => `0.${Math.floor(i / 10)}.${i % 10}`);
      const digests = await pushTags({ registry: bed.registry, from: "req_router:1.61", repository, tags });
      written.push({ repository, digests: Object.values(digests) });
      const c = client();
      // distribution 2.8 answers tags/list whole, ignoring n; a registry that pages is walked by Link or last=.
      const listing = await listTags(c, parseReference(`${bed.registry}/${repository}`), { pageSize: 50 });
      expect(listing.truncated).toBe(false);
      expect(listing.tags.sort()).toEqual([...tags].sort());
    });

    it("follows the registry's Link header page after page (the catalog, which distribution 2.8 pages)", async () => {
      const c = client();
      const whole = await listRepositories(c, bed.registry);
      const before = c.requests;
      // Small pages, but few enough that a registry full of other tests' repositories fits the cap.
      const pageSize = Math.max(3, Math.ceil(whole.tags.length / 8));
      const paged = await listRepositories(c, bed.registry, { pageSize, maxPages: 50 });
      expect(c.requests - before).toBeGreaterThan(3);
      expect(new Set(paged.tags).size).toBe(paged.tags.length);
      for (const repo of FIXTURES) expect(paged.tags).toContain(repo);
      expect(paged.tags.length).toBeGreaterThanOrEqual(whole.tags.length - 5); // others may push meanwhile
    });

    it("stops at the page cap and says the listing is truncated", async () => {
      const paged = await listRepositories(client(), bed.registry, { pageSize: 2, maxPages: 2 });
      expect(paged).toMatchObject({ truncated: true });
      expect(paged.tags).toHaveLength(4);
    });
  });
});
