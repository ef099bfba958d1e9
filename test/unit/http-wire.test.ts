// The plugin's own HTTP/1.1 (src/adapters/http-wire.ts, pooled by http.ts) against loopback
// servers that write raw bytes: answers framed by Content-Length, chunked (extensions, trailers)
// or the end of the connection, interim answers, arbitrary splits of the bytes; a connection
// reused only when the server keeps it; refusals of what would break a request; and TLS, with
// the server's certificate checked against the trusted CAs and the name asked for.
import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer as createHttpsServer } from "node:https";
import { type AddressInfo, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { build } from "esbuild";
import fc from "fast-check";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { type Answer, HttpPool } from "../../src/adapters/http.js";

const execFileAsync = promisify(execFile);

const servers: { server: Server; sockets: Set<Socket> }[] = [];
/** Stops a server: its open connections (kept alive by the client) are cut first. */
async function stop(entry: { server: Server; sockets: Set<Socket> }) {
  for (const s of entry.sockets) s.destroy();
  await new Promise((resolve) => entry.server.close(resolve));
}
afterEach(async () => {
  for (const s of servers.splice(0)) await stop(s);
});

/** Keeps account of a server's connections, so that it can be stopped at once. */
function tracked(server: Server): Set<Socket> {
  const sockets = new Set<Socket>();
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  servers.push({ server, sockets });
  return sockets;
}

/** A raw server: each request read gets the next of `answers` (pieces written one by one). */
async function rawServer(answers: (Buffer[] | ((socket: Socket) => void))[]) {
  const requests: string[] = [];
  let connections = 0;
  const server = createServer((socket) => {
    connections++;
    let buf = "";
    socket.on("data", async (d) => {
      buf += d.toString("latin1");
      for (let end = buf.indexOf("\r\n\r\n"); end >= 0; end = buf.indexOf("\r\n\r\n")) {
        requests.push(buf.slice(0, end));
        buf = buf.slice(end + 4);
        const next = answers.shift();
        if (!next) {
          socket.destroy();
          return;
        }
        if (typeof next === "function") next(socket);
        else
          for (const piece of next) {
            socket.write(piece);
            await new Promise((r) => setImmediate(r));
          }
      }
    });
  });
  tracked(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { port: (server.address() as AddressInfo).port, requests, connections: () => connections };
}

async function bodyOf(res: Answer): Promise<string> {
  if (!res.body) return "";
  const reader = res.body.getReader();
  const parts: Uint8Array[] = [];
  for (;;) {
    const r = await reader.read();
    if (r.done) break;
    parts.push(r.value);
  }
  return Buffer.concat(parts).toString("utf8");
}

/** `bytes` cut at the given fractions into pieces. */
function cut(bytes: Buffer, at: number[]): Buffer[] {
  const points = [...new Set(at.map((f) => Math.floor(f * bytes.length)))].sort((a, b) => a - b);
  const pieces: Buffer[] = [];
  let from = 0;
  for (const p of points) {
    if (p > from) pieces.push(bytes.subarray(from, p));
    from = Math.max(from, p);
  }
  pieces.push(bytes.subarray(from));
  return pieces;
}

type Framing = "length" | "chunked" | "head";
function answerBytes(body: string, framing: Framing, interim: boolean, chunkSizes: number[]): Buffer {
  const pre = interim ? "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </x>\r\n\r\n" : "";
  const data = Buffer.from(body, "utf8");
  if (framing === "head")
    return Buffer.from(
      `${pre}HTTP/1.1 200 OK\r\ncontent-length: ${data.length + 7}\r\ndocker-content-digest: d\r\n\r\n`,
    );
  if (framing === "length")
    return Buffer.concat([
      Buffer.from(`${pre}HTTP/1.1 200 OK\r\ncontent-length: ${data.length}\r\n\r\n`),
      data,
    ]);
  const parts: Buffer[] = [Buffer.from(`${pre}HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n`)];
  let at = 0;
  for (const size of [...chunkSizes, data.length]) {
    if (at >= data.length) break;
    const piece = data.subarray(at, at + Math.max(1, size));
    at += piece.length;
    parts.push(Buffer.from(`${piece.length.toString(16)};ext=1\r\n`), piece, Buffer.from("\r\n"));
  }
  parts.push(Buffer.from("0\r\nx-trailer: t\r\n\r\n"));
  return Buffer.concat(parts);
}

describe("HTTP/1.1 wire", () => {
  it("frames any sequence of answers, however their bytes are split, on one kept-alive connection", async () => {
    const exchange = fc.record({
      body: fc.string({ unit: "binary", maxLength: 300 }),
      framing: fc.constantFrom<Framing>("length", "chunked", "head"),
      interim: fc.boolean(),
      chunkSizes: fc.array(fc.integer({ min: 1, max: 40 }), { maxLength: 6 }),
      cuts: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 5 }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(exchange, { minLength: 1, maxLength: 4 }), async (list) => {
        const s = await rawServer(
          list.map((e) => cut(answerBytes(e.body, e.framing, e.interim, e.chunkSizes), e.cuts)),
        );
        const pool = new HttpPool(5000);
        for (const e of list) {
          const res = await pool.ask(new URL(`http://127.0.0.1:${s.port}/v2/x`), {
            method: e.framing === "head" ? "HEAD" : "GET",
          });
          expect(res.status).toBe(200);
          expect(await bodyOf(res)).toBe(e.framing === "head" ? "" : e.body);
        }
        expect(s.connections()).toBe(1);
        const done = servers.pop();
        if (done) await stop(done);
      }),
      { numRuns: 60 },
    );
  });

  it("reads a body that runs to the end of the connection, and opens a new one for the next request", async () => {
    const s = await rawServer([
      (socket) => socket.end("HTTP/1.1 200 OK\r\n\r\nall of it"),
      [Buffer.from("HTTP/1.0 200 OK\r\ncontent-length: 2\r\n\r\nok")],
      [Buffer.from("HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 3\r\n\r\nyes")],
      [Buffer.from("HTTP/1.1 204 No Content\r\n\r\n")],
    ]);
    const pool = new HttpPool(5000);
    const url = new URL(`http://127.0.0.1:${s.port}/`);
    expect(await bodyOf(await pool.ask(url, { method: "GET" }))).toBe("all of it");
    // HTTP/1.0 without keep-alive, and `connection: close`: each ends its connection.
    expect(await bodyOf(await pool.ask(url, { method: "GET" }))).toBe("ok");
    expect(await bodyOf(await pool.ask(url, { method: "GET" }))).toBe("yes");
    expect((await pool.ask(url, { method: "GET" })).body).toBeNull();
    expect(s.connections()).toBe(4);
  });

  it("sends the request line, Host and headers it was given", async () => {
    const s = await rawServer([[Buffer.from("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")]]);
    await new HttpPool(5000).ask(new URL(`http://127.0.0.1:${s.port}/v2/a/b/tags/list?n=5`), {
      method: "POST",
      headers: { authorization: "Bearer t" },
      body: "x=1",
    });
    const lines = (s.requests[0] ?? "").split("\r\n");
    expect(lines[0]).toBe("POST /v2/a/b/tags/list?n=5 HTTP/1.1");
    expect(lines).toContain(`host: 127.0.0.1:${s.port}`);
    expect(lines).toContain("authorization: Bearer t");
    expect(lines).toContain("content-length: 3");
  });

  it("refuses a header that would break the request, and sends nothing", async () => {
    const s = await rawServer([]);
    const pool = new HttpPool(5000);
    const url = new URL(`http://127.0.0.1:${s.port}/`);
    await expect(
      pool.ask(url, { method: "GET", headers: { authorization: "Bearer t\r\nx-injected: 1" } }),
    ).rejects.toMatchObject({ code: "ERR_INVALID_CHAR" });
    await expect(pool.ask(url, { method: "GET", headers: { "bad name": "v" } })).rejects.toMatchObject({
      code: "ERR_INVALID_HTTP_TOKEN",
    });
    expect(s.connections()).toBe(0);
  });

  it("says in one escaped line when a server answers with something that is not HTTP", async () => {
    const s = await rawServer([[Buffer.from("SSH-2.0-OpenSSH\u001b[31m\r\n\r\n")]]);
    const err = await new HttpPool(5000)
      .ask(new URL(`http://127.0.0.1:${s.port}/`), { method: "GET" })
      .catch((e: Error & { cause?: Error & { code?: string } }) => e);
    expect(err).toMatchObject({ message: "network error", cause: { code: "HPE_INVALID_CONSTANT" } });
    const text = (err as { cause: Error }).cause.message;
    expect([...text].some((ch) => (ch.codePointAt(0) ?? 0) < 0x20)).toBe(false);
    expect(text.split("\n")).toHaveLength(1);
  });

  it("refuses headers past 64 KiB, and does not reuse a connection that sent more than its answer", async () => {
    const s = await rawServer([
      [Buffer.from(`HTTP/1.1 200 OK\r\nx-big: ${"a".repeat(70 * 1024)}\r\ncontent-length: 0\r\n\r\n`)],
      // More than the answer: bytes no request asked for, on a connection kept alive.
      [Buffer.from("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nokHTTP/1.1 408 Request Timeout\r\n\r\n")],
      [Buffer.from("HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nnext")],
    ]);
    const pool = new HttpPool(5000);
    const url = new URL(`http://127.0.0.1:${s.port}/`);
    await expect(pool.ask(url, { method: "GET" })).rejects.toMatchObject({
      cause: { code: "HPE_HEADER_OVERFLOW" },
    });
    expect(await bodyOf(await pool.ask(url, { method: "GET" }))).toBe("ok");
    expect(await bodyOf(await pool.ask(url, { method: "GET" }))).toBe("next");
    expect(s.connections()).toBe(3);
  });

  it("fails a body cut short by the server, and one whose chunk sizes are not hex", async () => {
    const s = await rawServer([
      (socket) => socket.end("HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc"),
      [Buffer.from("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n")],
    ]);
    const pool = new HttpPool(5000);
    const url = new URL(`http://127.0.0.1:${s.port}/`);
    await expect(bodyOf(await pool.ask(url, { method: "GET" }))).rejects.toMatchObject({
      cause: { code: "ECONNRESET" },
    });
    await expect(pool.ask(url, { method: "GET" }).then(bodyOf)).rejects.toMatchObject({
      cause: { code: "HPE_INVALID_CHUNK_SIZE" },
    });
  });
});

describe("HTTPS", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "dv-tls-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  // A certificate for the name `localhost` only, signed by nothing but itself.
  execFileSync(
    "openssl",
    [
      ...["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost"],
      ...["-addext", "subjectAltName=DNS:localhost", "-keyout", "key.pem", "-out", "cert.pem"],
    ],
    { cwd: dir, stdio: "ignore" },
  );

  async function tlsServer() {
    const server = createHttpsServer(
      { key: readFileSync(path.join(dir, "key.pem")), cert: readFileSync(path.join(dir, "cert.pem")) },
      (req, res) => {
        const socket = req.socket as unknown as { servername?: string; isSessionReused(): boolean };
        const text = JSON.stringify({
          path: req.url,
          sni: socket.servername,
          resumed: socket.isSessionReused(),
        });
        // Each answer ends its connection: the next request needs a new one.
        res.writeHead(200, {
          "content-type": "application/json",
          "content-length": Buffer.byteLength(text),
          connection: "close",
        });
        res.end(text);
      },
    );
    tracked(server as unknown as Server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return (server.address() as AddressInfo).port;
  }

  it("refuses a certificate no trusted CA signed", async () => {
    const port = await tlsServer();
    const err = await new HttpPool(5000)
      .ask(new URL(`https://localhost:${port}/v2/`), { method: "GET" })
      .catch((e: Error) => e);
    expect(err).toMatchObject({ message: "network error", cause: { code: "DEPTH_ZERO_SELF_SIGNED_CERT" } });
  });

  it("trusts a CA given by NODE_EXTRA_CA_CERTS, sends the name (SNI), checks it against the certificate, resumes the session", async () => {
    const port = await tlsServer();
    const bundle = path.join(dir, "http.mjs");
    await build({
      stdin: {
        contents: `import { HttpPool } from "./src/adapters/http.ts";
const pool = new HttpPool(5000);
const out = [];
for (const host of ["localhost", "localhost", "127.0.0.1"]) {
  try {
    const res = await pool.ask(new URL("https://" + host + ":" + process.argv[2] + "/v2/"), { method: "GET" });
    const reader = res.body.getReader(); const parts = [];
    for (let r = await reader.read(); !r.done; r = await reader.read()) parts.push(r.value);
    out.push({ host, status: res.status, body: JSON.parse(Buffer.concat(parts).toString()) });
  } catch (e) { out.push({ host, error: e.cause?.code ?? e.message }); }
}
console.log(JSON.stringify(out));`,
        resolveDir: path.resolve(__dirname, "../.."),
        loader: "ts",
      },
      outfile: bundle,
      bundle: true,
      platform: "node",
      format: "esm",
      logLevel: "warning",
      banner: {
        js: `import { createRequire as __testCreateRequire } from "node:module"; const require = __testCreateRequire(import.meta.url);`,
      },
    });
    // Not spawnSync: the server answers from this process.
    const run = await execFileAsync(process.execPath, [bundle, String(port)], {
      env: { ...process.env, NODE_EXTRA_CA_CERTS: path.join(dir, "cert.pem") },
      encoding: "utf8",
      timeout: 30_000,
    });
    expect(run.stderr).toBe("");
    expect(JSON.parse(run.stdout)).toEqual([
      { host: "localhost", status: 200, body: { path: "/v2/", sni: "localhost", resumed: false } },
      // A new connection resumes the session the server gave the first.
      { host: "localhost", status: 200, body: { path: "/v2/", sni: "localhost", resumed: true } },
      // Trusted, but not issued for that name.
      { host: "127.0.0.1", error: "ERR_TLS_CERT_ALTNAME_INVALID" },
    ]);
  });
});
