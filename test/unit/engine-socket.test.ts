// The engine's socket client on its own: answers framed from bytes however they are cut
// (Content-Length, chunked, interim answers), and the client against a unix-socket server that
// answers pipelined requests in pieces, closes connections early, or never listened.
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import fc from "fast-check";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { frameAnswer, SocketClosed, socketClient } from "../../src/adapters/engine-socket.js";

/** One answer as an engine might write it: its status and body, and how it is framed on the wire. */
interface Wire {
  status: number;
  body: string;
  chunks?: number[];
  interim?: boolean;
  close?: boolean;
}

function encode(w: Wire): Buffer {
  const head = [`HTTP/1.1 ${w.status} Whatever`, "Content-Type: application/json", "Api-Version: 1.45"];
  if (w.close) head.push("Connection: close");
  const body = Buffer.from(w.body);
  const interim = w.interim ? "HTTP/1.1 100 Continue\r\n\r\n" : "";
  if (!w.chunks) {
    head.push(`Content-Length: ${body.length}`);
    return Buffer.concat([Buffer.from(`${interim}${head.join("\r\n")}\r\n\r\n`), body]);
  }
  head.push("Transfer-Encoding: chunked");
  const parts: Buffer[] = [Buffer.from(`${interim}${head.join("\r\n")}\r\n\r\n`)];
  let at = 0;
  for (const size of [...w.chunks, body.length]) {
    const piece = body.subarray(at, Math.min(body.length, at + size));
    if (piece.length === 0) continue;
    parts.push(Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from("\r\n"));
    at += piece.length;
  }
  parts.push(Buffer.from("0\r\n\r\n"));
  return Buffer.concat(parts);
}

const wire: fc.Arbitrary<Wire> = fc.record(
  {
    status: fc.constantFrom(200, 404, 500),
    body: fc.oneof(fc.string({ maxLength: 300 }), fc.json()),
    chunks: fc.option(fc.array(fc.integer({ min: 1, max: 40 }), { maxLength: 6 }), { nil: undefined }),
    interim: fc.boolean(),
  },
  { requiredKeys: ["status", "body"] },
);

describe("frameAnswer", () => {
  it("frames each answer of a stream, and none from a strict prefix of one", () => {
    fc.assert(
      fc.property(fc.array(wire, { minLength: 1, maxLength: 4 }), (answers) => {
        const bytes = answers.map(encode);
        let buf = Buffer.concat(bytes);
        for (const [i, w] of answers.entries()) {
          const one = bytes[i] as Buffer;
          for (const cut of [0, 1, one.length >> 1, one.length - 1])
            expect(frameAnswer(buf.subarray(0, cut))).toBeUndefined();
          const framed = frameAnswer(buf);
          expect(framed?.status).toBe(w.status);
          expect(framed?.body.toString()).toBe(w.body);
          expect(framed?.used).toBe(one.length);
          buf = buf.subarray(framed?.used ?? 0);
        }
        expect(buf.length).toBe(0);
      }),
    );
  });

  it("reads Connection: close, bodiless answers and chunk extensions", () => {
    const closing = frameAnswer(encode({ status: 200, body: "{}", close: true }));
    expect(closing?.close).toBe(true);
    expect(frameAnswer(Buffer.from("HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1"))).toMatchObject({
      status: 204,
      used: 27,
    });
    const ext = Buffer.from(
      "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2;x=y\r\n{}\r\n0\r\nX-T: 1\r\n\r\n",
    );
    expect(frameAnswer(ext)?.body.toString()).toBe("{}");
    expect(frameAnswer(ext)?.used).toBe(ext.length);
  });

  it("refuses what is not an HTTP/1.1 answer, in one line", () => {
    for (const text of [
      "SSH-2.0-OpenSSH\r\n\r\n",
      "\u001b]0;owned\u0007\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: -3\r\n\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ]) {
      expect(() => frameAnswer(Buffer.from(text))).toThrow(SocketClosed);
      try {
        frameAnswer(Buffer.from(text));
      } catch (e) {
        // biome-ignore lint/suspicious/noControlCharactersInRegex: no control character may reach the line
        expect((e as Error).message).not.toMatch(/[\n\u001b\u0007]/);
      }
    }
    expect(() => frameAnswer(Buffer.alloc(70 * 1024, "a"))).toThrow(/no end to its headers/);
  });
});

describe("socketClient", () => {
  let dir: string;
  let server: Server | undefined;
  const connections: Socket[] = [];
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), "dv-engine-socket-"));
  });
  afterEach(async () => {
    for (const c of connections.splice(0)) c.destroy();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /**
   * A server on a new socket that answers each request line it reads with `answer(path, n)` (n:
   * the request's number on its connection), written in pieces of `piece` bytes; `undefined`
   * closes the connection instead of answering.
   */
  async function serve(answer: (p: string, n: number) => Wire | undefined, piece = 7): Promise<string> {
    const socket = path.join(dir, `s${Math.random().toString(36).slice(2)}.sock`);
    server = createServer((c) => {
      connections.push(c);
      let text = "";
      let n = 0;
      c.on("data", (b) => {
        text += b.toString("latin1");
        for (let end = text.indexOf("\r\n\r\n"); end >= 0; end = text.indexOf("\r\n\r\n")) {
          const p = text.slice(4, text.indexOf(" ", 4));
          text = text.slice(end + 4);
          const w = answer(p, n++);
          if (!w) {
            c.destroy();
            return;
          }
          const bytes = encode(w);
          for (let at = 0; at < bytes.length; at += piece) c.write(bytes.subarray(at, at + piece));
          if (w.close) c.end();
        }
      });
    });
    await new Promise<void>((resolve) => server?.listen(socket, resolve));
    return socket;
  }

  it("answers many pipelined requests in order, each its own", async () => {
    const socket = await serve((p) => ({ status: 200, body: JSON.stringify({ p }), chunks: [3, 5] }));
    const client = socketClient(socket, 3);
    const paths = Array.from({ length: 60 }, (_, i) => `/containers/c${i}/json`);
    const answers = await Promise.all(paths.map((p) => client.get(p)));
    expect(answers.map((a) => JSON.parse(a.body.toString()).p)).toEqual(paths);
    expect(connections.length).toBeLessThanOrEqual(3);
  });

  it("sends again, on a new connection, what a connection closed without answering", async () => {
    // Every connection answers two requests, the second with Connection: close, then drops the rest.
    const socket = await serve((p, n) => (n < 2 ? { status: 200, body: p, close: n === 1 } : undefined));
    const client = socketClient(socket, 2);
    const paths = Array.from({ length: 9 }, (_, i) => `/x${i}`);
    const answers = await Promise.all(paths.map((p) => client.get(p)));
    expect(answers.map((a) => a.body.toString())).toEqual(paths);
  });

  it("fails a request that a new connection does not answer either, and one cut off mid-answer", async () => {
    const silent = await serve(() => undefined);
    await expect(socketClient(silent, 2).get("/a")).rejects.toThrow(/closed the connection before answering/);
    await new Promise<void>((resolve) => server?.close(() => resolve()));
    const cut = path.join(dir, "cut.sock");
    server = createServer((c) => {
      connections.push(c);
      c.once("data", () => c.end('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{"a"'));
    });
    await new Promise<void>((resolve) => server?.listen(cut, resolve));
    await expect(socketClient(cut, 2).get("/a")).rejects.toThrow(/in the middle of an answer/);
  });

  it("a socket nobody listens on fails with the socket's code", async () => {
    const e = await socketClient(path.join(dir, "none.sock"), 2)
      .get("/_ping")
      .catch((x: unknown) => x);
    expect(e).toBeInstanceOf(SocketClosed);
    expect((e as SocketClosed).code).toBe("ENOENT");
  });
});
