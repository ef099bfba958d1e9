// Plain Node cannot import the TypeScript sources: a bench names the modules it needs, and they
// are bundled once into a temporary ES module, imported, and the bundle removed.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { build } from "esbuild";

/** Bundles `lines` (TypeScript, resolved from the repository root) into one ES module file. */
async function bundleSources(root, lines, outfile) {
  await build({
    stdin: { contents: lines.join("\n"), resolveDir: root, loader: "ts" },
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    logLevel: "warning",
    // yaml requires node:process; an ES module bundle needs a require to do it with.
    banner: {
      // A name of its own: a bundled module may import createRequire too (the registry HTTP does).
      js: 'import { createRequire as __benchCreateRequire } from "node:module"; const require = __benchCreateRequire(import.meta.url);',
    },
  });
}

/** `lines`: export statements relative to the repository root, e.g. `export * from "./src/core/tags.ts";`. */
export async function loadSources(root, lines) {
  const dir = mkdtempSync(path.join(tmpdir(), "dv-bench-"));
  const outfile = path.join(dir, "sources.mjs");
  try {
    await bundleSources(root, lines, outfile);
    return await import(outfile);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
