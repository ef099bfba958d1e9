// HTTP/1.1 for the plugin's own requests (a registry, update-safe's health URL, a notification),
// over node:net and node:tls with the wire written and read in http-wire.ts: kept-alive
// connections per origin, redirects, one deadline per exchange.
// Not node:http: loading it and its per-request objects and streams, run cold in a short
// process, cost a `resolve-tags` of 9 repositories about as much as the registry's own work.
// Not fetch: Node's fetch compiles its WebAssembly HTTP parser on first use, and a process that
// used it waits at exit until the optimizing tier has compiled that parser in the background.
// What fetch did and the registry code relies on is kept: redirects followed (the Authorization
// header dropped when they leave the origin), one deadline for the whole exchange body included,
// no body for HEAD, and failures shaped as fetch's (a cause with the socket's error code, or a
// TimeoutError) so that they read the same.
import { createRequire } from "node:module";
import { isIP, connect as netConnect, type Socket } from "node:net";
import type * as TlsModule from "node:tls";
import { type Exchange, type Head, requestBytes, WireConnection, type WireError } from "./http-wire.js";

export interface AnswerReader {
  read(): Promise<{ done: false; value: Uint8Array } | { done: true; value?: Uint8Array }>;
  cancel(): Promise<void>;
}

/** The part of an answer's body the registry code uses (a web Response's body has it too). */
export interface AnswerBody {
  getReader(): AnswerReader;
  /** Drops the rest of the body. */
  cancel(): Promise<void>;
}

/** One registry answer: what the registry code reads of a fetch Response. */
export interface Answer {
  readonly status: number;
  readonly ok: boolean;
  readonly headers: { get(name: string): string | null };
  /** Null for HEAD and the statuses that carry no body. */
  readonly body: AnswerBody | null;
}

export interface AskInit {
  method: "GET" | "HEAD" | "POST";
  headers?: Record<string, string>;
  body?: string;
  /** false: a redirect is the answer, not followed (fetch's redirect: "manual"). */
  follow?: boolean;
}

const MAX_REDIRECTS = 20;
const NULL_BODY = new Set([101, 103, 204, 205, 304]);
/** A small error body is read to its end so that the connection can serve the next request. */
const DRAIN_LIMIT = 64 * 1024;
const CONNECT_TIMEOUT_MS = 10_000;

/** Connections to one origin at most; requests beyond them wait for one to be free. */
const MAX_CONNECTIONS = 16;
/** An idle connection is closed after this long (it never keeps the process alive meanwhile). */
const IDLE_MS = 4_000;

type Tls = typeof TlsModule;
let tlsModule: Tls | undefined;
// Loaded on the first https request: a command that asks only plain-HTTP servers never loads
// TLS. Through require: the single executable's Node cannot import() at run time.
const tls = (): Tls => {
  tlsModule ??= createRequire(import.meta.url)("node:tls") as Tls;
  return tlsModule;
};

function timeoutError(ms: number): Error {
  const e = new Error(`no answer within ${ms} ms`);
  e.name = "TimeoutError";
  return e;
}

/**
 * As fetch reports a failed connection: the socket's error as the cause. A TLS failure that
 * surfaces on the request's first write comes as EPROTO with OpenSSL's reason in the text; it
 * gets the code fetch gave it (`wrong version number` → ERR_SSL_WRONG_VERSION_NUMBER).
 */
function networkError(cause: unknown): Error {
  const e = cause as NodeJS.ErrnoException | null;
  if (e?.code === "EPROTO") {
    const reason = /SSL routines:[^:]*:([^:]+):/.exec(e.message)?.[1]?.trim().toUpperCase();
    if (reason) e.code = `ERR_SSL_${reason.replace(/[^A-Z0-9]+/g, "_")}`;
  }
  return new TypeError("network error", { cause });
}

/** The connections to one origin: idle ones, how many are open, and who waits for one. */
class Origin {
  readonly idle: WireConnection[] = [];
  readonly waiting: ((c: WireConnection) => void)[] = [];
  open = 0;
  readonly #timers = new WeakMap<WireConnection, NodeJS.Timeout>();
  /** The server's last TLS session: a later connection resumes it instead of a full handshake. */
  #session: Buffer | undefined;

  constructor(readonly url: URL) {}

  /** A free connection: an idle one, a new one, or the next one freed. */
  take(): Promise<WireConnection> {
    for (let c = this.idle.pop(); c; c = this.idle.pop()) {
      clearTimeout(this.#timers.get(c));
      if (c.reusable) return Promise.resolve(c);
    }
    if (this.open < MAX_CONNECTIONS) return Promise.resolve(this.#connect());
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  #connect(): WireConnection {
    this.open++;
    const host = this.url.hostname.replace(/^\[(.*)\]$/, "$1");
    const tlsWanted = this.url.protocol === "https:";
    const port = Number(this.url.port) || (tlsWanted ? 443 : 80);
    // As node:https: the server's name is sent (SNI) and checked against its certificate,
    // except for an IP address, which SNI cannot carry; a session the server gave is resumed.
    let socket: Socket;
    if (tlsWanted) {
      const secure = tls().connect({
        host,
        port,
        ...(isIP(host) ? {} : { servername: host }),
        ...(this.#session ? { session: this.#session } : {}),
      });
      secure.on("session", (session: Buffer) => {
        this.#session = session;
      });
      socket = secure;
    } else socket = netConnect({ host, port });
    // As fetch: a host that does not accept the connection within 10 s is given up on.
    const connecting = setTimeout(() => {
      conn.end(Object.assign(new Error("connect timed out"), { code: "ETIMEDOUT" }));
    }, CONNECT_TIMEOUT_MS).unref();
    socket.once(tlsWanted ? "secureConnect" : "connect", () => clearTimeout(connecting));
    const conn: WireConnection = new WireConnection(socket, this.url.host, () => {
      clearTimeout(connecting);
      this.#settle(conn);
    });
    return conn;
  }

  /** A connection's exchange ended: it serves the next waiting request, waits idle, or is gone. */
  #settle(conn: WireConnection): void {
    if (conn.reusable) {
      const next = this.waiting.shift();
      if (next) {
        next(conn);
        return;
      }
      this.idle.push(conn);
      this.#timers.set(conn, setTimeout(() => conn.end(), IDLE_MS).unref());
      return;
    }
    if (!conn.ended) return; // still answering
    const at = this.idle.indexOf(conn);
    if (at >= 0) this.idle.splice(at, 1);
    this.open--;
    const next = this.waiting.shift();
    if (next) next(this.#connect());
  }
}

/** Kept-alive connections per origin, and a deadline per exchange. */
export class HttpPool {
  readonly #origins = new Map<string, Origin>();

  constructor(private readonly timeoutMs: number) {}

  #origin(url: URL): Origin {
    const key = `${url.protocol}//${url.host}`;
    let origin = this.#origins.get(key);
    if (!origin) {
      origin = new Origin(url);
      this.#origins.set(key, origin);
    }
    return origin;
  }

  /** Sends one request, following redirects; the deadline covers reading the body too. */
  async ask(url: URL, init: AskInit): Promise<Answer> {
    const deadline = new Deadline(this.timeoutMs);
    try {
      let current = url;
      let method = init.method;
      let body = init.body;
      const headers: Record<string, string> = { "user-agent": "docker-versions", ...init.headers };
      headers.accept ??= "*/*";
      for (let hop = 0; ; hop++) {
        const res = await this.#once(current, method, headers, body, deadline);
        const location = res.head.headers.get("location");
        if (
          init.follow === false ||
          ![301, 302, 303, 307, 308].includes(res.head.status) ||
          !location ||
          hop >= MAX_REDIRECTS
        ) {
          return answer(res, method, deadline);
        }
        await discard(res);
        let next: URL;
        try {
          next = new URL(location, current);
        } catch {
          throw networkError(new Error("bad redirect location"));
        }
        if (next.protocol !== "http:" && next.protocol !== "https:")
          throw networkError(new Error("redirect to another scheme"));
        // As fetch: a 303 (and a 301/302 of a POST) is followed with a GET and no body.
        if (
          res.head.status === 303 ||
          (method === "POST" && (res.head.status === 301 || res.head.status === 302))
        ) {
          method = method === "HEAD" ? "HEAD" : "GET";
          body = undefined;
          delete headers["content-type"];
        }
        // Credentials stay with the origin they were meant for.
        if (next.origin !== current.origin) delete headers.authorization;
        current = next;
      }
    } catch (e) {
      deadline.clear();
      throw e;
    }
  }

  async #once(
    url: URL,
    method: string,
    headers: Record<string, string>,
    body: string | undefined,
    deadline: Deadline,
  ): Promise<Received> {
    const request = requestBytes(
      method,
      `${url.pathname}${url.search}`,
      {
        host: url.host,
        ...headers,
        ...(body === undefined ? {} : { "content-length": String(Buffer.byteLength(body)) }),
      },
      body,
    );
    const origin = this.#origin(url);
    for (let attempt = 0; ; attempt++) {
      const conn = await origin.take();
      const reused = conn.exchanges > 0;
      const exchange = conn.exchange(request, method === "HEAD");
      const stop = deadline.onExpiry((e) => conn.end(e));
      try {
        const head = await exchange.head;
        stop();
        return { head, exchange, conn };
      } catch (e) {
        stop();
        const err = e as WireError & { started?: boolean };
        if (err.name === "TimeoutError") throw err;
        // A kept-alive connection the server closed meanwhile: once more on a fresh one.
        const dropped = err.code === "ECONNRESET" || err.code === "EPIPE";
        if (attempt === 0 && reused && dropped && !err.started && method !== "POST") continue;
        throw networkError(err);
      }
    }
  }
}

/** An answer's head, the exchange its body comes from, and the connection it came on. */
interface Received {
  head: Head;
  exchange: Exchange;
  conn: WireConnection;
}

/** One timer per exchange; whoever waits on it is told when it expires. */
class Deadline {
  readonly #timer: NodeJS.Timeout;
  #expired: Error | null = null;
  readonly #waiting = new Set<(e: Error) => void>();

  constructor(readonly ms: number) {
    this.#timer = setTimeout(() => {
      this.#expired = timeoutError(ms);
      for (const w of this.#waiting) w(this.#expired);
    }, ms);
    this.#timer.unref();
  }

  onExpiry(fn: (e: Error) => void): () => void {
    if (this.#expired) {
      fn(this.#expired);
      return () => {};
    }
    this.#waiting.add(fn);
    return () => this.#waiting.delete(fn);
  }

  clear(): void {
    clearTimeout(this.#timer);
    this.#waiting.clear();
  }
}

/** Reads a small body to its end (the connection is reused), or closes the connection. */
async function discard(res: Received): Promise<void> {
  const { exchange, conn } = res;
  if (exchange.complete) return;
  const left = exchange.left;
  if (left !== undefined && left <= DRAIN_LIMIT) {
    try {
      while ((await exchange.next()) !== null);
    } catch {
      // The connection failed meanwhile: it is gone, nothing to read.
    }
    return;
  }
  conn.end(new Error("answer dropped"));
}

async function answer(res: Received, method: string, deadline: Deadline): Promise<Answer> {
  const { head, exchange, conn } = res;
  const status = head.status;
  const headers = {
    get: (name: string): string | null => head.headers.get(name.toLowerCase()) ?? null,
  };
  const base = { status, ok: status >= 200 && status < 300, headers };
  if (method === "HEAD" || NULL_BODY.has(status)) {
    // Ended before it is handed on: the connection is free for the next request.
    await discard(res);
    deadline.clear();
    return { ...base, body: null };
  }
  // The body's chunks in order; the deadline or a broken connection ends them with an error.
  let failed: Error | null = null;
  const stop = deadline.onExpiry((e) => {
    failed = e;
    conn.end(e);
  });
  const finish = () => {
    stop();
    deadline.clear();
  };
  const cancel = async () => {
    if (exchange.complete || failed) return;
    finish();
    await discard(res);
  };
  const reader: AnswerReader = {
    async read() {
      if (failed) throw failed;
      let chunk: Buffer | null;
      try {
        chunk = await exchange.next();
      } catch (e) {
        finish();
        failed ??= (e as Error).name === "TimeoutError" ? (e as Error) : networkError(e);
        throw failed;
      }
      if (chunk === null) {
        finish();
        return { done: true };
      }
      return { done: false, value: chunk };
    },
    cancel,
  };
  return { ...base, body: { getReader: () => reader, cancel } };
}
