// GET requests to the Docker engine over its unix socket, HTTP/1.1 written and read here rather
// than by node:http: `status` inspects every container of a project (200 requests at 200
// services), and node:http's per-request work (a request object, a response stream, their
// events), run cold in a short process, cost as much as the engine's own answers. Here a request
// is one line written to a connection, several are written without waiting (pipelined: the engine
// answers a connection's requests in order), and an answer is framed from the bytes as they come.
// The engine speaks HTTP/1.1 with a Content-Length or chunked body; nothing else is needed of it.
// An answer's head and how its body ends are read as for every other server (http-wire.ts); the
// body is taken whole here, as the engine's answers are small and read whole anyway.
import { connect, type Socket } from "node:net";
import { framingOf, keepsAlive, parseHead, takeBody, WireError } from "./http-wire.js";

export interface SocketAnswer {
  status: number;
  body: Buffer;
}

/** The socket failed, or closed before answering; `code` is the socket's error code when it has one. */
export class SocketClosed extends Error {
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

/** One answer framed from the front of `buf`, with how many bytes it took; undefined: more needed. */
export function frameAnswer(buf: Buffer): (SocketAnswer & { used: number; close: boolean }) | undefined {
  try {
    const head = parseHead(buf, "the engine");
    if (!head) return undefined;
    const { status, bodyStart } = head;
    // An interim answer (100 Continue) comes before the real one and has no body.
    if (status >= 100 && status < 200) {
      const next = frameAnswer(buf.subarray(bodyStart));
      return next && { ...next, used: bodyStart + next.used };
    }
    const framing = framingOf(head, false, "the engine");
    // A body up to the end of the connection is framed by the caller when it closes.
    if (framing.kind === "close") return undefined;
    const parts: Buffer[] = [];
    const { rest, ended } = takeBody(framing, buf.subarray(bodyStart), "the engine", (p) => parts.push(p));
    if (!ended) return undefined;
    const body = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
    return { status, body, used: buf.length - rest.length, close: !keepsAlive(head) };
  } catch (e) {
    throw e instanceof WireError ? new SocketClosed(e.message) : e;
  }
}

interface Pending {
  path: string;
  resolve: (a: SocketAnswer) => void;
  reject: (e: Error) => void;
}

/**
 * A client of at most `connections` keep-alive connections to the socket at `socketPath`; a
 * request goes to the connection with the fewest waiting, a new one while there are fewer than
 * `connections`. Idle connections do not keep the process alive. What a connection the engine
 * closes still owed is sent again on a new one (they are GETs); see Connection.end.
 */
export function socketClient(socketPath: string, connections: number) {
  const open: Connection[] = [];

  class Connection {
    readonly socket: Socket;
    readonly waiting: Pending[] = [];
    private buf: Buffer = Buffer.alloc(0);
    private done = false;
    private answered = 0;
    constructor() {
      this.socket = connect(socketPath);
      this.socket.on("data", (b: Buffer) => this.read(b));
      this.socket.on("error", (e: NodeJS.ErrnoException) =>
        // The engine dropping the connection is a close (what it owed is sent again); anything
        // else (no socket, no permission) fails every request on it.
        this.end(
          e.code === "EPIPE" || e.code === "ECONNRESET" ? undefined : new SocketClosed(e.message, e.code),
        ),
      );
      this.socket.on("close", () => this.end());
    }
    send(p: Pending): void {
      this.waiting.push(p);
      this.socket.ref();
      this.socket.write(`GET ${p.path} HTTP/1.1\r\nHost: docker\r\nAccept: application/json\r\n\r\n`);
    }
    private read(b: Buffer): void {
      this.buf = this.buf.length === 0 ? b : Buffer.concat([this.buf, b]);
      try {
        for (;;) {
          const answer = frameAnswer(this.buf);
          if (!answer) break;
          this.buf = this.buf.subarray(answer.used);
          const p = this.waiting.shift();
          if (!p) throw new SocketClosed("the engine answered a request that was not sent");
          this.answered++;
          p.resolve({ status: answer.status, body: answer.body });
          if (answer.close) {
            this.end();
            return;
          }
        }
      } catch (e) {
        this.end(e as Error);
        return;
      }
      if (this.waiting.length === 0) this.socket.unref();
    }
    /** The connection is over: what it still owed is sent again, or fails with `error`. */
    private end(error?: Error): void {
      if (this.done) return;
      this.done = true;
      const at = open.indexOf(this);
      if (at >= 0) open.splice(at, 1);
      this.socket.destroy();
      const owed = this.waiting.splice(0);
      // Bytes of an answer already read: the request was being answered, not sending it again.
      // A connection that answered nothing gets a request sent again only once, so that an
      // engine that never answers ends the command rather than looping.
      const started = this.buf.length > 0;
      owed.forEach((p, i) => {
        if (error || (started && i === 0) || (this.answered === 0 && retried.has(p))) {
          const cut = started && i === 0 ? "in the middle of an answer" : "before answering";
          p.reject(error ?? new SocketClosed(`the engine closed the connection ${cut}`));
          return;
        }
        retried.add(p);
        dispatch(p);
      });
    }
  }
  const retried = new WeakSet<Pending>();

  function dispatch(p: Pending): void {
    let c = open[0];
    for (const o of open) if (o.waiting.length < (c as Connection).waiting.length) c = o;
    if (!c || (c.waiting.length > 0 && open.length < connections)) {
      c = new Connection();
      open.push(c);
    }
    c.send(p);
  }

  return {
    get: (path: string): Promise<SocketAnswer> =>
      new Promise((resolve, reject) => dispatch({ path, resolve, reject })),
  };
}
