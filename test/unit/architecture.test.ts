// The import rules of src/ (the README's Architecture): no cycle, and commands reach the
// adapters only through the service. The same rules run in `npm run lint`.
import path from "node:path";
import { describe, expect, it } from "vitest";
import { findCycles, importGraph, importsOf, layerViolations } from "../../build/check-imports.mjs";

const graph = importGraph(path.resolve(import.meta.dirname, "../../src"));

describe("the import rules", () => {
  it("finds no import cycle in src/", () => {
    expect(findCycles(graph)).toEqual([]);
  });

  it("a command imports neither an adapter nor another command", () => {
    expect(layerViolations(graph)).toEqual([]);
  });
});

describe("the checker itself", () => {
  it("reads static, re-exported, type-only, side-effect and dynamic imports, not comments", () => {
    const text = [
      'import { a } from "./a.js";',
      'import type { B } from "../b.js";',
      'export { c } from "./c.js";',
      'import "./d.js";',
      'const e = await import("./e.js");',
      'import yargs from "yargs";',
      '// import { f } from "./f.js";',
      '/* import { g } from "./g.js"; */',
      "import {\n  h,\n  type H,\n} from './h.js';",
    ].join("\n");
    expect(importsOf(text).sort()).toEqual(["../b.js", "./a.js", "./c.js", "./d.js", "./e.js", "./h.js"]);
  });

  it.each([
    ["a two-module cycle", { "a.ts": ["b.ts"], "b.ts": ["a.ts"] }, [["a.ts", "b.ts"]]],
    [
      "a longer one",
      { "a.ts": ["b.ts"], "b.ts": ["c.ts"], "c.ts": ["a.ts"], "d.ts": ["a.ts"] },
      [["a.ts", "b.ts", "c.ts"]],
    ],
    ["a self-import", { "a.ts": ["a.ts"] }, [["a.ts"]]],
    ["a diamond, no cycle", { "a.ts": ["b.ts", "c.ts"], "b.ts": ["d.ts"], "c.ts": ["d.ts"], "d.ts": [] }, []],
  ])("cycles: %s", (_name, g, cycles) => {
    expect(findCycles(new Map(Object.entries(g)))).toEqual(cycles);
  });

  it("names a command's import of an adapter or of another command, not of what commands share", () => {
    const g = new Map(
      Object.entries({
        "commands/a.ts": ["adapters/x.ts", "commands/b.ts", "commands/command.ts", "service.ts"],
        "commands/b.ts": ["core/y.ts"],
        "service.ts": ["adapters/x.ts"],
      }),
    );
    expect(layerViolations(g)).toEqual([
      "commands/a.ts imports an adapter: adapters/x.ts",
      "commands/a.ts imports another command: commands/b.ts",
    ]);
  });
});
