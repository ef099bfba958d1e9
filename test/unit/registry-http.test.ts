// The registry client's HTTP (the plugin's own HTTP/1.1 with keep-alive, in place of fetch) against small loopback
// servers: connections reused, HEAD without a body, redirects followed with the credentials kept
// to their origin, one deadline that covers the body, a kept-alive connection the server dropped
// asked again once, and an endless body cut at the cap.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { HttpPool } from "../../src/adapters/http.js";
import { RegistryClient } from "../../src/adapters/registry/client.js";

interface Seen {
  method: string;
  url: string;
  authorization?: string;
  connection: number;
}

const servers: Server[] = [];

/** A server that answers with `handle`, numbering its connections and recording each request. */
async function serve(handle: (req: IncomingMessage, res: ServerResponse, seen: Seen) => void) {
  const seen: Seen[] = [];
  const numbers = new WeakMap<Socket, number>();
  let connections = 0;
  const server = createServer((req, res) => {
    const s: Seen = {
      method: req.method ?? "",
      url: req.url ?? "",
      authorization: req.headers.authorization,
      connection: numbers.get(req.socket) ?? -1,
    };
    seen.push(s);
    handle(req, res, s);
  });
  server.on("connection", (socket) => numbers.set(socket, ++connections));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { host, seen, connections: () => connections };
}

afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
});

const json = (res: ServerResponse, body: unknown, status = 200) => {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
};
const repo = (host: string) => ({ registry: host, repository: "team/app" });
const client = (timeoutMs = 5000) =>
  new RegistryClient({ dockerConfigDir: "/nonexistent", retries: 0, timeoutMs });

describe("registry HTTP", () => {
  it("asks one request after another over one kept-alive connection, HEADs included", async () => {
    const s = await serve((req, res) => {
      if (req.method === "HEAD") {
        // A HEAD says the length of what a GET would send: here more than a body worth draining.
        res.writeHead(200, {
          "docker-content-digest": `sha256:${"a".repeat(64)}`,
          "content-length": "999999",
        });
        res.end();
      } else json(res, { name: "team/app", tags: ["1.0"] });
    });
    const c = client();
    const r = repo(s.host);
    for (let i = 0; i < 3; i++) {
      expect(await c.json(r, await c.request(r, c.url(r, "tags/list")), "a tag list")).toEqual({
        name: "team/app",
        tags: ["1.0"],
      });
      const head = await c.request(r, c.url(r, "manifests/1.0"), { method: "HEAD" });
      expect(head.body).toBeNull();
      expect(head.headers.get("Docker-Content-Digest")).toBe(`sha256:${"a".repeat(64)}`);
    }
    expect(s.seen.map((x) => x.connection)).toEqual([1, 1, 1, 1, 1, 1]);
    expect(c.requests).toBe(6);
  });

  it("follows redirects, keeping the Authorization header only within its origin", async () => {
    const other = await serve((_req, res) => json(res, { where: "other" }));
    const s = await serve((req, res) => {
      if (req.url === "/v2/team/app/blobs/a") {
        res.writeHead(307, { location: "/v2/team/app/blobs/b" });
        res.end();
      } else if (req.url === "/v2/team/app/blobs/b") {
        res.writeHead(302, { location: `http://${other.host}/storage/b` });
        res.end();
      } else json(res, {}, 404);
    });
    const pool = new HttpPool(5000);
    const answer = await pool.ask(new URL(`http://${s.host}/v2/team/app/blobs/a`), {
      method: "GET",
      headers: { authorization: "Bearer secret" },
    });
    expect(answer.status).toBe(200);
    expect((await answer.body?.getReader().read())?.value?.toString()).toBe('{"where":"other"}');
    expect(s.seen.map((x) => [x.url, x.authorization])).toEqual([
      ["/v2/team/app/blobs/a", "Bearer secret"],
      ["/v2/team/app/blobs/b", "Bearer secret"],
    ]);
    expect(other.seen.map((x) => [x.url, x.authorization])).toEqual([["/storage/b", undefined]]);
  });

  it("one deadline covers the body: a registry that stops sending is reported as not answering", async () => {
    const s = await serve((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.write('{"name":"team/app","tags":['); // and nothing more
    });
    const c = client(300);
    const r = repo(s.host);
    const res = await c.request(r, c.url(r, "tags/list"));
    await expect(c.json(r, res, "a tag list")).rejects.toThrow(
      `cannot reach registry ${s.host}: no answer within 0.3s`,
    );
  });

  it("asks once more, on a new connection, when the server dropped the kept-alive one", async () => {
    const s = await serve((req, res, seen) => {
      // The second request on the first connection finds it closed by the server.
      if (seen.connection === 1 && s.seen.filter((x) => x.connection === 1).length > 1) req.socket.destroy();
      else json(res, { name: "team/app", tags: [] });
    });
    const c = client();
    const r = repo(s.host);
    await c.json(r, await c.request(r, c.url(r, "tags/list")), "a tag list");
    expect(await c.json(r, await c.request(r, c.url(r, "tags/list")), "a tag list")).toEqual({
      name: "team/app",
      tags: [],
    });
    expect(s.seen.map((x) => x.connection)).toEqual([1, 1, 2]);
  });

  it("a connection cut in the middle of a body is that answer's failure, not asked again", async () => {
    const s = await serve((req, res) => {
      if (s.seen.length === 1) return json(res, { name: "team/app", tags: [] });
      res.writeHead(200, { "content-type": "application/json", "content-length": "1000" });
      res.write('{"name":"team/app","tags":[', () => req.socket.destroy());
    });
    const c = client();
    const r = repo(s.host);
    await c.json(r, await c.request(r, c.url(r, "tags/list")), "a tag list");
    const cut = await c.request(r, c.url(r, "tags/list"));
    await expect(c.json(r, cut, "a tag list")).rejects.toThrow(
      `cannot reach registry ${s.host}: connection reset`,
    );
    expect(s.seen.map((x) => x.connection)).toEqual([1, 1]);
  });

  it("cuts an endless body at the cap and says so", async () => {
    const chunk = Buffer.alloc(64 * 1024, "x");
    let sent = 0;
    const s = await serve((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      const more = () => {
        while (sent < 64 * 1024 * 1024 && res.write(chunk)) sent += chunk.length;
        if (sent < 64 * 1024 * 1024) res.once("drain", more);
      };
      res.on("close", () => res.removeAllListeners("drain"));
      more();
    });
    const c = client();
    const r = repo(s.host);
    await expect(c.bytes(r, await c.request(r, c.url(r, "tags/list")), 1024 * 1024)).rejects.toThrow(
      `registry ${s.host} sent more than 1 MiB for team/app; not reading further`,
    );
    expect(sent).toBeLessThan(32 * 1024 * 1024);
  });

  it("reads an error's small body to its end, so the retry with credentials uses the same connection", async () => {
    const s = await serve((req, res) => {
      if (!req.headers.authorization) {
        res.setHeader("www-authenticate", 'Basic realm="test"');
        json(res, { errors: [{ code: "UNAUTHORIZED" }] }, 401);
      } else json(res, { name: "team/app", tags: [] });
    });
    const c = client();
    const r = repo(s.host);
    // No credentials saved: the 401 is the answer, and the connection stays usable.
    await expect(c.request(r, c.url(r, "tags/list"))).rejects.toThrow("access to");
    await expect(c.request(r, c.url(r, "tags/list"))).rejects.toThrow("access to");
    expect(new Set(s.seen.map((x) => x.connection))).toEqual(new Set([1]));
  });

  it("speaks TLS for https: a plain-HTTP server there fails the handshake, said as before", async () => {
    const s = await serve((_req, res) => json(res, {}));
    const err = await new HttpPool(5000)
      .ask(new URL(`https://${s.host}/v2/`), { method: "GET" })
      .catch((e: { cause?: { code?: string } }) => e);
    expect(err).toMatchObject({ cause: { code: "ERR_SSL_WRONG_VERSION_NUMBER" } });
  });
});
