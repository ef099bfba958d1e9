// Registry work by repository, not by service: one client (one command) lists a repository's
// tags once and asks each tag's digest once, however many services share the repository.
// Against a small registry on loopback that counts what it is asked.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RegistryClient } from "../../src/adapters/registry/client.js";
import { checkUpdates, resolveTag } from "../../src/adapters/registry/resolution.js";
import { mapLimit } from "../../src/core/limit.js";

const V2 = "application/vnd.docker.distribution.manifest.v2+json";
const TAGS = ["1.0.0", "1.0.1", "1.0.2", "latest"];
const digestOf = (repo: string, tag: string) =>
  `sha256:${Buffer.from(`${repo}:${tag === "latest" ? "1.0.2" : tag}`)
    .toString("hex")
    .padEnd(64, "0")
    .slice(0, 64)}`;

let server: Server;
let registry: string;
const asked: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    asked.push(`${req.method} ${req.url}`);
    const list = /^\/v2\/(.+)\/tags\/list/.exec(req.url ?? "");
    if (list) {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ name: list[1], tags: TAGS }));
      return;
    }
    const manifest = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(req.url ?? "");
    if (manifest && TAGS.includes(manifest[2] as string)) {
      res.writeHead(200, {
        "content-type": V2,
        "docker-content-digest": digestOf(manifest[1] as string, manifest[2] as string),
      });
      res.end();
      return;
    }
    res.writeHead(404, { "content-type": "application/json" });
    res.end(JSON.stringify({ errors: [{ code: "MANIFEST_UNKNOWN" }] }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  registry = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const client = () => new RegistryClient({ dockerConfigDir: "/nonexistent", retries: 0, oneCommand: true });
const services = (n: number) => Array.from({ length: n }, (_, i) => `${registry}/team/app${i % 2}`);

describe("one command asks the registry by repository", () => {
  it("check-updates: one tag list and one HEAD per distinct tag of each repository", async () => {
    asked.length = 0;
    const c = client();
    // Twelve services over two repositories, four at a time as the command runs them.
    const rows = await mapLimit(services(12), 4, (repo) =>
      checkUpdates(c, repo, {
        currentTag: "1.0.1",
        floatingTag: "latest",
        recordedDigest: digestOf(repo.slice(registry.length + 1), "1.0.1"),
      }),
    );
    expect(rows.every((r) => r.available)).toBe(true);
    const lists = asked.filter((a) => a.includes("/tags/list"));
    const heads = asked.filter((a) => a.startsWith("HEAD "));
    expect(lists).toHaveLength(2);
    expect(new Set(heads).size).toBe(heads.length);
    // latest, and the tag it moved to, per repository.
    expect(heads.length).toBeLessThanOrEqual(2 * 2);
    expect(c.requests).toBe(asked.length);
  });

  it("resolve-tags: the same, and a second client (the next command) asks again", async () => {
    asked.length = 0;
    const resolveAll = (c: RegistryClient) =>
      mapLimit(services(6), 4, (repo) =>
        resolveTag(c, `${repo}:latest`, digestOf(repo.slice(registry.length + 1), "latest")),
      );
    const first = await resolveAll(client());
    expect(first.map((r) => r.tag)).toEqual(Array(6).fill("1.0.2"));
    const once = asked.length;
    expect(asked.filter((a) => a.includes("/tags/list"))).toHaveLength(2);
    await resolveAll(client());
    expect(asked.length).toBe(2 * once);
  });

  it("a client not made for one command asks every time", async () => {
    asked.length = 0;
    const c = new RegistryClient({ dockerConfigDir: "/nonexistent", retries: 0 });
    for (const repo of services(4)) await resolveTag(c, `${repo}:latest`, digestOf("team/app0", "1.0.2"));
    expect(asked.filter((a) => a.includes("/tags/list"))).toHaveLength(4);
  });

  it("a failure is the same answer for every service of the repository, asked once", async () => {
    asked.length = 0;
    const c = client();
    const results = await mapLimit([1, 2, 3], 3, () =>
      resolveTag(c, `${registry}/team/app0:nosuchtag`, digestOf("team/app0", "1.0.0")).then(
        (r) => r.tag,
        (e: Error) => e.message,
      ),
    );
    expect(new Set(results).size).toBe(1);
    expect(asked.filter((a) => a.includes("/tags/list"))).toHaveLength(1);
  });
});

describe("check-updates asks the tag list and the floating tag's digest together", () => {
  it("sends the HEAD of latest before the tag list is answered", async () => {
    // The tag list is held until the HEAD of latest arrives: one after the other would never end.
    let headSeen: () => void = () => {};
    const head = new Promise<void>((resolve) => {
      headSeen = resolve;
    });
    const held = createServer((req, res) => {
      if (req.url?.includes("/tags/list")) {
        void head.then(() => {
          res.writeHead(200, { "content-type": "application/json" });
          res.end(JSON.stringify({ name: "team/held", tags: TAGS }));
        });
        return;
      }
      if (req.method === "HEAD" && req.url?.endsWith("/manifests/latest")) headSeen();
      res.writeHead(200, { "content-type": V2, "docker-content-digest": digestOf("team/held", "latest") });
      res.end();
    });
    await new Promise<void>((resolve) => held.listen(0, "127.0.0.1", resolve));
    try {
      const host = `127.0.0.1:${(held.address() as AddressInfo).port}`;
      const c = client();
      const row = await checkUpdates(c, `${host}/team/held`, {
        currentTag: "1.0.2",
        floatingTag: "latest",
        recordedDigest: digestOf("team/held", "latest"),
      });
      expect(row).toMatchObject({ floatingMoved: false, available: false });
      expect(c.requests).toBe(2);
    } finally {
      held.closeAllConnections();
      await new Promise((resolve) => held.close(resolve));
    }
  });
});
