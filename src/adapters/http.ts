// HTTP/1.1 over node:http and node:https, one keep-alive pool per client (the registry client,
// update-safe's health URL, a notification).
// Not fetch: Node's fetch compiles its WebAssembly HTTP parser on first use, and a process that
// used it waits at exit until the optimizing tier has compiled that parser in the background
// (about 200 ms of a one-second command on a loaded 2-core machine). Node's own parser is native.
// What fetch did and the registry code relies on is kept: redirects followed (the Authorization
// header dropped when they leave the origin), one deadline for the whole exchange body included,
// no body for HEAD, and failures shaped as fetch's (a cause with the socket's error code, or a
// TimeoutError) so that they read the same.
import type * as Http from "node:http";
import type { Agent as HttpAgent, IncomingMessage, RequestOptions } from "node:http";
import type { Agent as HttpsAgent } from "node:https";
import { createRequire } from "node:module";

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

/**
 * For a request without TLS: there is no server name to send, and given one, Node's agent skips
 * working it out, whose first use compiles its IPv6 pattern (a few ms of a command's start). A
 * spread, as node:http's options type does not name it.
 */
const NO_SERVER_NAME: Readonly<{ servername: string }> = Object.freeze({ servername: "" });

const MAX_REDIRECTS = 20;
const NULL_BODY = new Set([101, 103, 204, 205, 304]);
/** A small error body is read to its end so that the connection can serve the next request. */
const DRAIN_LIMIT = 64 * 1024;
const CONNECT_TIMEOUT_MS = 10_000;

/** node:http or node:https: the same two functions, the second for TLS. */
export type HttpModule = Pick<typeof Http, "request" | "Agent">;
interface Scheme {
  module: HttpModule;
  agent: HttpAgent | HttpsAgent;
}

// Each loaded on its first request: a command that asks no registry loads neither, and one that
// asks only a plain-HTTP registry never loads TLS. Through require: the single executable's Node
// cannot import() at run time.
const requireBuiltin = (name: "node:http" | "node:https"): HttpModule => createRequire(import.meta.url)(name);

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

/** Keep-alive pools (plain and TLS) and a deadline per exchange. */
export class HttpPool {
  readonly #schemes = new Map<string, Scheme>();

  constructor(private readonly timeoutMs: number) {}

  /** The module and keep-alive pool for `http:` or `https:`. */
  #scheme(protocol: string): Scheme {
    let scheme = this.#schemes.get(protocol);
    if (!scheme) {
      const mod = requireBuiltin(protocol === "https:" ? "node:https" : "node:http");
      // Idle sockets do not keep the process alive (Node unrefs them) and close after a few seconds.
      scheme = { module: mod, agent: new mod.Agent({ keepAlive: true, maxSockets: 16, timeout: 4_000 }) };
      this.#schemes.set(protocol, scheme);
    }
    return scheme;
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
        const location = res.headers.location;
        if (
          init.follow === false ||
          ![301, 302, 303, 307, 308].includes(res.statusCode ?? 0) ||
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
          res.statusCode === 303 ||
          (method === "POST" && (res.statusCode === 301 || res.statusCode === 302))
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
  ): Promise<IncomingMessage> {
    const scheme = this.#scheme(url.protocol);
    const options: RequestOptions = {
      method,
      headers:
        body === undefined ? headers : { ...headers, "content-length": String(Buffer.byteLength(body)) },
      agent: scheme.agent,
      ...(url.protocol === "http:" ? NO_SERVER_NAME : {}),
    };
    const send = (retry: boolean): Promise<IncomingMessage> =>
      new Promise((resolve, reject) => {
        const req = scheme.module.request(url, options);
        const stop = deadline.onExpiry((e) => req.destroy(e));
        req.once("socket", (socket) => {
          if (!socket.connecting) return;
          // As fetch: a host that does not accept the connection within 10 s is given up on.
          const connecting = setTimeout(() => {
            req.destroy(Object.assign(new Error("connect timed out"), { code: "ETIMEDOUT" }));
          }, CONNECT_TIMEOUT_MS).unref();
          socket.once("connect", () => clearTimeout(connecting));
          socket.once("close", () => clearTimeout(connecting));
        });
        let answered = false;
        req.once("response", (res) => {
          answered = true;
          stop();
          resolve(res);
        });
        req.on("error", (e: NodeJS.ErrnoException) => {
          stop();
          // Once answered, a failure is the body's: its reader reports it.
          if (answered) return;
          // A kept-alive connection the server closed meanwhile: once more on a fresh one.
          if (retry && req.reusedSocket && e.code === "ECONNRESET" && method !== "POST") resolve(send(false));
          else reject(e.name === "TimeoutError" ? e : networkError(e));
        });
        req.end(body);
      });
    return send(true);
  }
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
function discard(res: IncomingMessage, bodiless = false): Promise<void> {
  // A HEAD's Content-Length is the GET's: there is nothing to read, however large it says.
  const length = bodiless ? 0 : Number(res.headers["content-length"] ?? Number.NaN);
  if (res.complete || (length >= 0 && length <= DRAIN_LIMIT)) {
    return new Promise((resolve) => {
      res.once("end", resolve);
      res.once("close", resolve);
      res.once("error", () => resolve());
      res.resume();
    });
  }
  res.destroy();
  return Promise.resolve();
}

async function answer(res: IncomingMessage, method: string, deadline: Deadline): Promise<Answer> {
  const status = res.statusCode ?? 0;
  const headers = {
    get(name: string): string | null {
      const v = res.headers[name.toLowerCase()];
      return v === undefined ? null : Array.isArray(v) ? v.join(", ") : v;
    },
  };
  const base = { status, ok: status >= 200 && status < 300, headers };
  if (method === "HEAD" || NULL_BODY.has(status)) {
    // Ended before it is handed on: the connection is free for the next request.
    await discard(res, true);
    deadline.clear();
    return { ...base, body: null };
  }
  // The body's chunks in order, the deadline or a broken connection ending them with an error.
  let failed: Error | null = null;
  let ended = false;
  const wake = new Set<() => void>();
  const notify = () => {
    for (const w of wake) w();
    wake.clear();
  };
  const stop = deadline.onExpiry((e) => {
    failed = e;
    res.destroy();
    notify();
  });
  const finish = () => {
    stop();
    deadline.clear();
  };
  res.on("readable", notify);
  res.once("end", () => {
    ended = true;
    finish();
    notify();
  });
  res.once("error", (e) => {
    failed ??= networkError(e);
    finish();
    notify();
  });
  res.once("close", () => {
    if (!ended && !res.complete)
      failed ??= networkError(Object.assign(new Error("closed"), { code: "ECONNRESET" }));
    finish();
    notify();
  });
  const cancel = async () => {
    if (ended) return;
    finish();
    res.removeListener("readable", notify); // while it listens, the stream cannot flow to its end
    await discard(res);
  };
  const reader: AnswerReader = {
    async read() {
      for (;;) {
        if (failed) throw failed;
        const chunk: Buffer | null = res.read();
        if (chunk !== null) return { done: false, value: chunk };
        if (ended) return { done: true };
        await new Promise<void>((resolve) => wake.add(resolve));
      }
    },
    cancel,
  };
  return { ...base, body: { getReader: () => reader, cancel } };
}
