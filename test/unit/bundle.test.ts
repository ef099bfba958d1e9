// The single executable runs a CommonJS bundle in which import() of anything not bundled fails
// at run time (no dynamic-import callback in a Node single executable): catch it in review.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { expect, it } from "vitest";

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? sources(path.join(dir, e.name))
      : e.name.endsWith(".ts")
        ? [path.join(dir, e.name)]
        : [],
  );
}

it("never imports a Node built-in dynamically", () => {
  const offenders = sources(path.resolve(import.meta.dirname, "../../src")).filter((f) =>
    /import\(\s*["']node:/.test(readFileSync(f, "utf8")),
  );
  expect(offenders).toEqual([]);
});

it("loads node:crypto only where a file is written, never at start-up", () => {
  // Loading it costs every command ~7 ms; hashes come from core/sha256.ts, random names from
  // randomHex (adapters/store.ts), which loads it when called.
  const offenders = sources(path.resolve(import.meta.dirname, "../../src")).filter((f) =>
    /from\s+["'](node:)?crypto["']|require\(\s*["'](node:)?crypto["']\)/.test(readFileSync(f, "utf8")),
  );
  expect(offenders).toEqual([]);
});
