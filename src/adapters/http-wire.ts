// One HTTP/1.1 exchange at a time on one connection (plain TCP or TLS), written and read here:
// the request as one write, the answer's head parsed from the bytes, its body handed on as it
// arrives (Content-Length, chunked, or up to the end of the connection). http.ts keeps these
// connections in pools and follows redirects; this file knows only the wire.
import type { Socket } from "node:net";
import { shown } from "../core/shown-text.js";

/** Longest status line and headers accepted from a server. */
const MAX_HEAD = 64 * 1024;
/** Bytes received and not yet read past which the connection stops reading until they are. */
const HIGH_WATER = 1024 * 1024;

/** The connection failed or closed before its exchange ended; `code` as a socket's error has it. */
export class WireError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

/** An answer's status and headers (names lowercased; repeated ones joined with ", "). */
export interface Head {
  status: number;
  headers: Map<string, string>;
}

/** A header name (RFC 9110 token). */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** What a header value may not hold: controls other than tab, and anything past Latin-1. */
const BAD_VALUE = /[^\t\x20-\x7e\x80-\xff]/;
/** What a request target may not hold: spaces, controls, anything past Latin-1. */
const BAD_TARGET = /[^\x21-\xff]/;

/**
 * A request's bytes. A name, value or target that would break the message (a CR or LF in a
 * value from a config file or a server's challenge) is refused, as node:http refuses it.
 */
export function requestBytes(
  method: string,
  target: string,
  headers: Record<string, string>,
  body: string | undefined,
): Buffer {
  if (BAD_TARGET.test(target))
    throw invalid("ERR_UNESCAPED_CHARACTERS", "Request path contains unescaped characters");
  let text = `${method} ${target} HTTP/1.1\r\n`;
  for (const [name, value] of Object.entries(headers)) {
    if (!TOKEN.test(name))
      throw invalid("ERR_INVALID_HTTP_TOKEN", `Header name must be a valid HTTP token ["${name}"]`);
    if (BAD_VALUE.test(value))
      throw invalid("ERR_INVALID_CHAR", `Invalid character in header content ["${name}"]`);
    text += `${name}: ${value}\r\n`;
  }
  const head = Buffer.from(`${text}\r\n`, "latin1");
  return body === undefined ? head : Buffer.concat([head, Buffer.from(body, "utf8")]);
}

function invalid(code: string, message: string): TypeError {
  return Object.assign(new TypeError(message), { code });
}

/** Whether the server keeps the connection open after this answer (HTTP/1.0 only when it says so). */
export function keepsAlive(head: Head & { version: string }): boolean {
  const connection = (head.headers.get("connection") ?? "").toLowerCase();
  return head.version === "1.0" ? /\bkeep-alive\b/.test(connection) : !/\bclose\b/.test(connection);
}

/** The head at the front of `buf` and where the body starts; undefined: more bytes needed. */
export function parseHead(
  buf: Buffer,
  who: string,
): (Head & { bodyStart: number; version: string }) | undefined {
  const end = buf.indexOf("\r\n\r\n");
  if (end < 0) {
    if (buf.length > MAX_HEAD)
      throw new WireError(`${who}'s answer has no end to its headers`, "HPE_HEADER_OVERFLOW");
    return undefined;
  }
  if (end > MAX_HEAD) throw new WireError(`${who}'s answer has headers too large`, "HPE_HEADER_OVERFLOW");
  const lines = buf.toString("latin1", 0, end).split("\r\n");
  const statusLine = /^HTTP\/(1\.[01]) (\d{3})(?: |$)/.exec(lines[0] ?? "");
  if (!statusLine)
    throw new WireError(
      `${who} answered with no HTTP status line: ${shown(lines[0] ?? "", 80)}`,
      "HPE_INVALID_CONSTANT",
    );
  const headers = new Map<string, string>();
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] as string;
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    const before = headers.get(name);
    headers.set(name, before === undefined ? value : `${before}, ${value}`);
  }
  return { status: Number(statusLine[2]), headers, bodyStart: end + 4, version: statusLine[1] as string };
}

/** How an answer's body ends. */
export type Framing =
  | { kind: "none" }
  | { kind: "length"; left: number }
  | { kind: "chunked"; state: "size" | "data" | "data-end" | "trailer"; left: number }
  | { kind: "close" };

/** How the body of an answer with `head` ends; `bodiless` for the answer to a HEAD. */
export function framingOf(head: Head, bodiless: boolean, who: string): Framing {
  if (bodiless || head.status === 204 || head.status === 304) return { kind: "none" };
  const coding = head.headers.get("transfer-encoding");
  if (coding !== undefined && coding.toLowerCase().split(",").at(-1)?.trim() === "chunked")
    return { kind: "chunked", state: "size", left: 0 };
  const length = head.headers.get("content-length");
  if (length !== undefined && coding === undefined) {
    // Repeated headers arrive joined; they must agree.
    const values = new Set(length.split(",").map((v) => v.trim()));
    const only = [...values][0] ?? "";
    if (values.size !== 1 || !/^\d{1,15}$/.test(only))
      throw new WireError(
        `${who} sent a bad Content-Length: ${shown(length, 80)}`,
        "HPE_INVALID_CONTENT_LENGTH",
      );
    return Number(only) === 0 ? { kind: "none" } : { kind: "length", left: Number(only) };
  }
  return { kind: "close" };
}

/**
 * Takes the body of an answer framed by `f` from the front of `buf`, handing on each piece as it
 * comes (`f` keeps its place between calls, so bytes can arrive in any cuts). Returns what follows
 * the body, and whether it ended; a body up to the end of the connection never ends here.
 */
export function takeBody(
  f: Framing,
  buf: Buffer,
  who: string,
  piece: (bytes: Buffer) => void,
): { rest: Buffer; ended: boolean } {
  const give = (bytes: Buffer) => {
    if (bytes.length > 0) piece(bytes);
  };
  if (f.kind === "none") return { rest: buf, ended: true };
  if (f.kind === "close") {
    give(buf);
    return { rest: Buffer.alloc(0), ended: false };
  }
  while (buf.length > 0) {
    if (f.kind === "length" || f.state === "data") {
      const bytes = buf.subarray(0, f.left);
      f.left -= bytes.length;
      give(bytes);
      buf = buf.subarray(bytes.length);
      if (f.left > 0) continue;
      if (f.kind === "length") return { rest: buf, ended: true };
      f.state = "data-end";
      continue;
    }
    // Chunked: a size line, its data and CRLF, …, a zero size, trailer lines, an empty line.
    const lineEnd = buf.indexOf("\r\n");
    if (lineEnd < 0) {
      if (buf.length > MAX_HEAD)
        throw new WireError(`${who} sent a chunk line without end`, "HPE_INVALID_CHUNK_SIZE");
      break;
    }
    const line = buf.toString("latin1", 0, lineEnd);
    buf = buf.subarray(lineEnd + 2);
    if (f.state === "data-end") {
      if (line !== "")
        throw new WireError(`${who} sent a chunk longer than its size`, "HPE_INVALID_CHUNK_SIZE");
      f.state = "size";
    } else if (f.state === "size") {
      const size = line.split(";")[0]?.trim() ?? "";
      if (!/^[0-9a-fA-F]{1,12}$/.test(size))
        throw new WireError(`${who} sent a bad chunk size: ${shown(size, 80)}`, "HPE_INVALID_CHUNK_SIZE");
      f.left = Number.parseInt(size, 16);
      f.state = f.left === 0 ? "trailer" : "data";
    } else if (line === "") return { rest: buf, ended: true };
  }
  return { rest: buf, ended: false };
}

/** One exchange's answer as it arrives: its head, then its body's chunks. */
export interface Exchange {
  /** Resolves with the final head (interim 1xx answers are skipped). */
  readonly head: Promise<Head>;
  /** The next piece of the body, or null at its end; rejects when the connection fails first. */
  next(): Promise<Buffer | null>;
  /** True once the body was read to its end. */
  readonly complete: boolean;
  /** How many body bytes are still to come, when the framing says (undefined: unknown). */
  readonly left: number | undefined;
}

/**
 * A connection to one server. `exchange` sends a request and reads its answer; the connection
 * can take the next one once that answer's body was read to its end and the server keeps it
 * open (`reusable`). Every failure ends the connection: the exchange under way gets the error.
 * `onEnd` is called when an exchange's answer is complete, and once when the connection ends.
 */
export class WireConnection {
  /** Exchanges started on this connection. */
  exchanges = 0;
  #buf: Buffer = Buffer.alloc(0);
  #ended: Error | null = null;
  #keepAlive = true;
  #current: ExchangeState | null = null;
  readonly #onEnd: () => void;

  constructor(
    readonly socket: Socket,
    readonly who: string,
    onEnd: () => void,
  ) {
    this.#onEnd = onEnd;
    socket.setNoDelay(true);
    socket.on("data", (b: Buffer) => this.#read(b));
    socket.on("error", (e: NodeJS.ErrnoException) => this.end(e));
    socket.on("close", () => this.end());
  }

  /** Idle, open, and the server did not ask to close it. */
  get reusable(): boolean {
    return this.#ended === null && this.#keepAlive && this.#current === null;
  }

  /** Whether it ended: closed by either side, or failed. */
  get ended(): boolean {
    return this.#ended !== null;
  }

  /** Sends a request (its bytes from requestBytes) and reads its answer. */
  exchange(request: Buffer, bodiless: boolean): Exchange {
    if (this.#current) throw new Error("a connection takes one exchange at a time");
    this.exchanges++;
    const state = new ExchangeState(bodiless);
    this.#current = state;
    this.socket.ref();
    if (this.#ended) state.fail(this.#ended);
    else this.socket.write(request);
    return state.view(this);
  }

  /** Ends the connection; the exchange under way, if any, fails with `error` (or a close). */
  end(error?: Error): void {
    if (this.#ended) return;
    const state = this.#current;
    let reason: Error = error ?? new WireError("the server closed the connection", "ECONNRESET");
    // A body that runs to the end of the connection ends well when the server closes it.
    if (!error && state?.framing?.kind === "close") {
      state.finish();
      reason = new WireError("closed", "ECONNRESET");
    }
    this.#ended = reason;
    this.#current = null;
    this.socket.destroy();
    state?.fail(reason, this.#buf.length > 0 || state.headSeen);
    this.#onEnd();
  }

  /** Called by a reader that took bytes out: reading resumes below the high-water mark. */
  drained(state: ExchangeState): void {
    if (state.queued < HIGH_WATER && this.socket.isPaused()) this.socket.resume();
  }

  #read(b: Buffer): void {
    this.#buf = this.#buf.length === 0 ? b : Buffer.concat([this.#buf, b]);
    const state = this.#current;
    if (!state) {
      this.end(new WireError(`${this.who} sent bytes no request asked for`, "HPE_UNEXPECTED_CONTENT"));
      return;
    }
    try {
      while (!state.framing) {
        const head = parseHead(this.#buf, this.who);
        if (!head) return;
        this.#buf = this.#buf.subarray(head.bodyStart);
        if (head.status >= 100 && head.status < 200 && head.status !== 101) continue;
        if (!keepsAlive(head)) this.#keepAlive = false;
        state.framing = framingOf(head, state.bodiless, this.who);
        if (state.framing.kind === "close") this.#keepAlive = false;
        state.headSeen = true;
        state.resolveHead(head);
      }
      this.#buf = state.take(this.#buf, this.who);
    } catch (e) {
      this.end(e as Error);
      return;
    }
    if (state.complete) {
      this.#current = null;
      if (this.#buf.length > 0) {
        this.end(new WireError(`${this.who} sent more than its answer`, "HPE_UNEXPECTED_CONTENT"));
        return;
      }
      if (!this.#keepAlive) {
        this.end();
        return;
      }
      this.socket.unref();
      this.#onEnd();
    } else if (state.queued >= HIGH_WATER) this.socket.pause();
  }
}

class ExchangeState {
  framing: Framing | null = null;
  headSeen = false;
  complete = false;
  queued = 0;
  readonly #chunks: Buffer[] = [];
  #failed: Error | null = null;
  #wake: (() => void) | null = null;
  #head!: { resolve: (h: Head) => void; reject: (e: Error) => void };
  readonly head: Promise<Head>;

  constructor(readonly bodiless: boolean) {
    this.head = new Promise<Head>((resolve, reject) => {
      this.#head = { resolve, reject };
    });
    // A failure before anyone awaits the head is still that exchange's answer, not an unhandled one.
    this.head.catch(() => {});
  }

  resolveHead(head: Head): void {
    this.#head.resolve(head);
    if (this.framing?.kind === "none") this.finish();
  }

  finish(): void {
    this.complete = true;
    this.#notify();
  }

  /** Fails the exchange; `started` says the server had begun to answer it. */
  fail(error: Error, started = this.headSeen): void {
    if (this.complete) return;
    this.#failed = Object.assign(error, { started });
    this.#head.reject(this.#failed);
    this.#notify();
  }

  /** Takes this answer's body bytes from the front of `buf`; returns what follows them. */
  take(buf: Buffer, who: string): Buffer {
    const { rest, ended } = takeBody(this.framing as Framing, buf, who, (piece) => this.#push(piece));
    if (ended) this.finish();
    return rest;
  }

  #push(piece: Buffer): void {
    if (piece.length === 0) return;
    this.#chunks.push(piece);
    this.queued += piece.length;
    this.#notify();
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  view(conn: WireConnection): Exchange {
    const state = this;
    return {
      head: this.head,
      get complete() {
        return state.complete;
      },
      get left() {
        const f = state.framing;
        return f?.kind === "length" ? f.left : f?.kind === "none" ? 0 : undefined;
      },
      async next() {
        for (;;) {
          const chunk = state.#chunks.shift();
          if (chunk) {
            state.queued -= chunk.length;
            conn.drained(state);
            return chunk;
          }
          if (state.complete) return null;
          if (state.#failed) throw state.#failed;
          await new Promise<void>((resolve) => {
            state.#wake = resolve;
          });
        }
      },
    };
  }
}
