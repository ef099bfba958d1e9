// nameOrder is the "en" collation's order on the names the plugin sorts, on every host.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { nameOrder } from "../../src/core/order.js";

const sign = (n: number) => Math.sign(n);
const printable = fc.string({
  unit: fc.integer({ min: 32, max: 126 }).map((c) => String.fromCharCode(c)),
  maxLength: 12,
});
const nameLike = fc.string({ unit: fc.constantFrom(..."aAbBzZ09_-.".split("")), maxLength: 8 });

describe("nameOrder", () => {
  it("orders as localeCompare(b, 'en') on printable ASCII and on name-like strings (property)", () => {
    fc.assert(
      fc.property(fc.oneof(printable, nameLike), fc.oneof(printable, nameLike), (a, b) => {
        expect(sign(nameOrder(a, b))).toBe(sign(a.localeCompare(b, "en")));
      }),
      { numRuns: 20_000 },
    );
  });

  it.each([
    [
      ["s", "z", "t"],
      ["s", "t", "z"],
    ],
    [
      ["API_VERSION", "APIGATEWAY_VERSION", "API2"],
      ["API_VERSION", "API2", "APIGATEWAY_VERSION"],
    ],
    [
      ["web", "Web", "api-b", "api_b", "api.b", "api1"],
      ["api_b", "api-b", "api.b", "api1", "web", "Web"],
    ],
    [
      ["é", "e", "f"],
      ["e", "é", "f"],
    ],
  ])("sorts %j as %j", (input, expected) => {
    expect([...input].sort(nameOrder)).toEqual(expected);
  });

  it("is a consistent order (antisymmetric, transitive on samples)", () => {
    fc.assert(
      fc.property(fc.array(nameLike, { maxLength: 20 }), (xs) => {
        const sorted = [...xs].sort(nameOrder);
        for (let i = 1; i < sorted.length; i++)
          expect(nameOrder(sorted[i - 1] as string, sorted[i] as string)).toBeLessThanOrEqual(0);
      }),
    );
  });
});
