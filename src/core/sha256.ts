// SHA-256 (FIPS 180-4) of strings and bytes, for the memos' keys and the digests the plugin
// computes. Not node:crypto: loading that module costs a process ~7 ms (it loads every cipher,
// key and stream of Node's crypto), more than all a read command's own work, and the plugin needs
// only this one hash. The compression function runs as WebAssembly that this file writes out
// (below): compiled in well under a millisecond, it hashes a few KB in a fraction of one, where
// the same loop in JavaScript, run before V8 has optimised it, takes milliseconds.
// Input is fed to the compression function 4 KB at a time, so that V8 can move the function to
// its optimising compiler between calls on long input. A Node without WebAssembly (`--jitless`)
// gets the same function in JavaScript.

// --- The module's code: a few WebAssembly instructions, as bytes. -------------------------------
const I32 = 0x7f;
const op = {
  block: 0x02,
  loop: 0x03,
  brIf: 0x0d,
  end: 0x0b,
  get: 0x20,
  set: 0x21,
  tee: 0x22,
  load: 0x28,
  store: 0x36,
  const: 0x41,
  ltU: 0x49,
  add: 0x6a,
  and: 0x71,
  or: 0x72,
  xor: 0x73,
  shrU: 0x76,
  rotl: 0x77,
  rotr: 0x78,
} as const;

/** Unsigned LEB128. */
function uleb(v: number): number[] {
  const out: number[] = [];
  do {
    const b = v & 0x7f;
    v >>>= 7;
    out.push(v ? b | 0x80 : b);
  } while (v);
  return out;
}

/** Signed LEB128 of a 32-bit integer. */
function sleb(v: number): number[] {
  const out: number[] = [];
  v |= 0;
  for (;;) {
    const b = v & 0x7f;
    v >>= 7;
    if ((v === 0 && !(b & 0x40)) || (v === -1 && b & 0x40)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

// Memory: the state H0..H7 at 0, the round constants at K_AT, the message schedule at W_AT, the
// input buffer at BUF_AT (BUF_BYTES, a whole number of blocks, plus room for a last character).
const K_AT = 32;
const W_AT = 288;
const BUF_AT = 1024;
const BUF_BYTES = 4096;

// Locals of compress(p, n): its two parameters, the working variables a..h, the schedule's byte
// index j, the round's t1, and a scratch x.
const [P, N, A, B, C, D, E, F, G, H, J, T1, X] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];

type Code = number | Code[];
function flat(code: Code[], out: number[] = []): number[] {
  for (const c of code) {
    if (typeof c === "number") out.push(c);
    else flat(c, out);
  }
  return out;
}
const get = (l: number) => [op.get, l];
const set = (l: number) => [op.set, l];
const tee = (l: number) => [op.tee, l];
const k = (v: number) => [op.const, sleb(v)];
const load = (offset: number) => [op.load, 2, uleb(offset)];
const store = (offset: number) => [op.store, 2, uleb(offset)];
const rotr = (n: number) => [op.const, n, op.rotr];
const loop = (...body: Code[]) => [op.loop, 0x40, body, op.end];
/** Σ: local l rotated right by r1, r2 and r3, xored. */
// biome-ignore format: the instructions of one step stay on one line
const bigSigma = (l: number, r1: number, r2: number, r3: number) => [
  get(l), rotr(r1), get(l), rotr(r2), op.xor, get(l), rotr(r3), op.xor,
];
/** σ of the value on the stack: rotated right by r1 and r2, shifted right by s, xored. */
// biome-ignore format: the instructions of one step stay on one line
const smallSigma = (r1: number, r2: number, s: number) => [
  tee(X), rotr(r1), get(X), rotr(r2), op.xor, get(X), k(s), op.shrU, op.xor,
];
/** Adds 4 to j and goes round the enclosing loop again while j < end. */
const nextWord = (end: number) => [get(J), k(4), op.add, tee(J), k(end), op.ltU, op.brIf, 0];
const WORKING = [A, B, C, D, E, F, G, H];

/** The body of compress(p, n): n blocks of 64 bytes at p into the state at 0. */
// biome-ignore format: the instructions of one step stay on one line
const compressBody = (): number[] =>
  flat([
    loop(
      // W[0..15]: the block's words, big-endian.
      k(0), set(J),
      loop(
        get(J),
        get(P), get(J), op.add, load(0),
        tee(X), k(8), op.rotl, k(0x00ff00ff), op.and,
        get(X), rotr(8), k(0xff00ff00), op.and, op.or,
        store(W_AT),
        nextWord(64),
      ),
      // W[16..63] = σ1(W[i-2]) + W[i-7] + σ0(W[i-15]) + W[i-16]
      loop(
        get(J),
        get(J), load(W_AT - 8), smallSigma(17, 19, 10),
        get(J), load(W_AT - 28), op.add,
        get(J), load(W_AT - 60), smallSigma(7, 18, 3), op.add,
        get(J), load(W_AT - 64), op.add,
        store(W_AT),
        nextWord(256),
      ),
      // a..h from the state.
      WORKING.map((l, i) => [k(0), load(i * 4), set(l)]),
      // 64 rounds.
      k(0), set(J),
      loop(
        // t1 = h + Σ1(e) + Ch(e, f, g) + K[i] + W[i]
        get(H), bigSigma(E, 6, 11, 25), op.add,
        get(E), get(F), op.and, get(E), k(-1), op.xor, get(G), op.and, op.xor, op.add,
        get(J), load(K_AT), op.add, get(J), load(W_AT), op.add, set(T1),
        // h = g, g = f, f = e, e = d + t1, d = c, c = b, b = a
        get(G), set(H), get(F), set(G), get(E), set(F),
        get(D), get(T1), op.add, set(E),
        get(C), set(D), get(B), set(C), get(A), set(B),
        // a = t1 + Σ0(a) + Maj(a, b, c), the old a, b, c being now in b, c, d
        get(T1), bigSigma(B, 2, 13, 22), op.add,
        get(B), get(C), op.and, get(B), get(D), op.and, op.xor, get(C), get(D), op.and, op.xor,
        op.add, set(A),
        nextWord(256),
      ),
      // The state += a..h.
      WORKING.map((l, i) => [k(0), k(0), load(i * 4), get(l), op.add, store(i * 4)]),
      // The next block, while n > 0.
      get(P), k(64), op.add, set(P),
      get(N), k(-1), op.add, tee(N), op.brIf, 0,
    ),
    op.end,
  ]);

/** The module: one memory page exported as "m", compress(p, n) exported as "c". */
function moduleBytes(): Uint8Array<ArrayBuffer> {
  const section = (id: number, body: number[]) => [id, ...uleb(body.length), ...body];
  const name = (s: string) => [s.length, ...Array.from(s, (ch) => ch.charCodeAt(0))];
  const fn = [1, 11, I32, ...compressBody()]; // 11 locals of i32 after the 2 parameters
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0],
    ...section(1, [1, 0x60, 2, I32, I32, 0]), // type: (i32, i32) -> ()
    ...section(3, [1, 0]), // function 0 has type 0
    ...section(5, [1, 0, 1]), // memory: at least 1 page
    ...section(7, [2, ...name("m"), 2, 0, ...name("c"), 0, 0]), // exports
    ...section(10, [1, ...uleb(fn.length), ...fn]),
  ]);
}

// biome-ignore format: the instructions of one step stay on one line
const ROUND_CONSTANTS = [
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];
const INITIAL_STATE = [
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

/** A compression function and the memory it works in (the layout above). */
interface Engine {
  compress: (p: number, n: number) => void;
  words: Uint32Array;
  bytes: Uint8Array;
}

function wasmEngine(): Engine {
  const { exports } = new WebAssembly.Instance(new WebAssembly.Module(moduleBytes()));
  const memory = exports.m as WebAssembly.Memory;
  return withConstants({
    compress: exports.c as Engine["compress"],
    words: new Uint32Array(memory.buffer),
    bytes: new Uint8Array(memory.buffer),
  });
}

/**
 * The same compression function in JavaScript, over the same layout: for a Node without
 * WebAssembly (`--jitless` in NODE_OPTIONS, or a host that refuses it executable memory).
 */
function jsEngine(): Engine {
  const memory = new ArrayBuffer(BUF_AT + BUF_BYTES + 64);
  const words = new Uint32Array(memory);
  const view = new DataView(memory);
  const w = new Uint32Array(64);
  const word = (i: number) => words[i] as number; // in range: the layout above
  const rotr = (x: number, n: number) => (x >>> n) | (x << (32 - n));
  const compress = (p: number, n: number) => {
    for (; n > 0; n--, p += 64) {
      for (let i = 0; i < 16; i++) w[i] = view.getUint32(p + i * 4);
      for (let i = 16; i < 64; i++) {
        const x = w[i - 15] as number;
        const y = w[i - 2] as number;
        const s0 = rotr(x, 7) ^ rotr(x, 18) ^ (x >>> 3);
        const s1 = rotr(y, 17) ^ rotr(y, 19) ^ (y >>> 10);
        w[i] = s1 + (w[i - 7] as number) + s0 + (w[i - 16] as number);
      }
      let a = word(0);
      let b = word(1);
      let c = word(2);
      let d = word(3);
      let e = word(4);
      let f = word(5);
      let g = word(6);
      let h = word(7);
      for (let i = 0; i < 64; i++) {
        const s1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25);
        const t1 = (h + s1 + ((e & f) ^ (~e & g)) + word(K_AT / 4 + i) + (w[i] as number)) | 0;
        const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) | 0;
        h = g;
        g = f;
        f = e;
        e = (d + t1) | 0;
        d = c;
        c = b;
        b = a;
        a = (t1 + t2) | 0;
      }
      [a, b, c, d, e, f, g, h].forEach((v, i) => {
        words[i] = word(i) + v;
      });
    }
  };
  return withConstants({ compress, words, bytes: new Uint8Array(memory) });
}

/** The engine with the round constants in its memory, where compress reads them. */
function withConstants(e: Engine): Engine {
  e.words.set(ROUND_CONSTANTS, K_AT / 4);
  return e;
}

let engine: Engine | undefined;

/** The WebAssembly engine, or the JavaScript one where this Node has no WebAssembly. */
function defaultEngine(): Engine {
  if (typeof WebAssembly === "object") {
    try {
      return wasmEngine();
    } catch {
      // Refused (no executable memory for it): the JavaScript engine answers the same.
    }
  }
  return jsEngine();
}

/** The engine ready for a new hash: the initial state set. */
function ready(e: Engine): Engine {
  e.words.set(INITIAL_STATE, 0);
  return e;
}

const encoder = new TextEncoder();

/** The SHA-256 of the parts one after another (strings as UTF-8), as 64 hex digits. */
export function sha256Hex(...parts: (string | Uint8Array)[]): string {
  engine ??= defaultEngine();
  return hashWith(ready(engine), parts);
}

/** sha256Hex by the JavaScript engine, whatever this Node has (for the tests). */
export function sha256HexInJs(...parts: (string | Uint8Array)[]): string {
  return hashWith(ready(jsEngine()), parts);
}

function hashWith({ compress, words, bytes }: Engine, parts: (string | Uint8Array)[]): string {
  let fill = 0; // bytes waiting in the buffer
  let length = 0; // bytes hashed in all
  /** Hashes the buffer's whole blocks and moves what is left of it to its start. */
  const flush = () => {
    const blocks = fill >>> 6;
    if (blocks) compress(BUF_AT, blocks);
    bytes.copyWithin(BUF_AT, BUF_AT + blocks * 64, BUF_AT + fill);
    fill &= 63;
  };
  for (const part of parts) {
    if (typeof part === "string") {
      for (let at = 0; at < part.length; ) {
        const room = bytes.subarray(BUF_AT + fill, BUF_AT + BUF_BYTES);
        const { read, written } = encoder.encodeInto(at ? part.slice(at) : part, room);
        at += read;
        fill += written;
        length += written;
        flush();
      }
    } else {
      for (let at = 0; at < part.length; ) {
        const n = Math.min(part.length - at, BUF_BYTES - fill);
        bytes.set(part.subarray(at, at + n), BUF_AT + fill);
        at += n;
        fill += n;
        length += n;
        flush();
      }
    }
  }
  // Padding: 0x80, zeros up to 8 bytes short of a block, the length in bits (big-endian).
  bytes[BUF_AT + fill++] = 0x80;
  const end = fill <= 56 ? 56 : 120;
  bytes.fill(0, BUF_AT + fill, BUF_AT + end);
  const high = Math.floor(length / 0x20000000);
  const low = (length % 0x20000000) * 8;
  for (let i = 0; i < 4; i++) {
    bytes[BUF_AT + end + i] = high >>> (24 - 8 * i);
    bytes[BUF_AT + end + 4 + i] = low >>> (24 - 8 * i);
  }
  fill = end + 8;
  flush();
  let hex = "";
  for (let i = 0; i < 8; i++) hex += (words[i] as number).toString(16).padStart(8, "0");
  return hex;
}
