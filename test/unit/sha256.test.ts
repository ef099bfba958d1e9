// The plugin's SHA-256 against Node's (OpenSSL's), by both of its engines: the published test
// vectors, every length around the block and padding boundaries, random bytes and strings (any UTF-16, lone surrogates
// included, which both encode as U+FFFD) cut into random parts, and inputs longer than the
// buffer fed to the compression function.
import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { sha256Hex, sha256HexInJs } from "../../src/core/sha256.js";

const openssl = (...parts: (string | Uint8Array)[]) => {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return h.digest("hex");
};

describe.each([
  ["WebAssembly", sha256Hex],
  ["JavaScript (no WebAssembly)", sha256HexInJs],
])("sha256Hex in %s", (_, sha256Hex) => {
  it("gives the FIPS 180-4 example digests", () => {
    expect(sha256Hex("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect(sha256Hex("")).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    expect(sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")).toBe(
      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
    );
    expect(sha256Hex("a".repeat(1_000_000))).toBe(
      "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
    );
  });

  it("agrees with node:crypto at every length up to three blocks and across the buffer's size", () => {
    const bytes = Uint8Array.from({ length: 9000 }, (_, i) => (i * 131 + 17) & 255);
    for (let n = 0; n <= 200; n++)
      expect(sha256Hex(bytes.subarray(0, n))).toBe(openssl(bytes.subarray(0, n)));
    for (const n of [4031, 4032, 4095, 4096, 4097, 4159, 4160, 8191, 8192, 8193, 9000])
      expect(sha256Hex(bytes.subarray(0, n))).toBe(openssl(bytes.subarray(0, n)));
  });

  it("agrees with node:crypto on random parts of bytes and text", () => {
    const part = fc.oneof(
      fc.uint8Array({ maxLength: 300 }),
      fc.string({ unit: "binary", maxLength: 200 }),
      fc.string({
        unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
        maxLength: 200,
      }),
      fc.integer({ min: 3000, max: 9000 }).map((n) => "é€𝄞x".repeat(n / 4)),
    );
    fc.assert(
      fc.property(fc.array(part, { maxLength: 6 }), (parts) => {
        expect(sha256Hex(...parts)).toBe(openssl(...parts));
      }),
      { numRuns: 300 },
    );
  });
});
