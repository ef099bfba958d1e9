// Makes or checks the code cache of the commands' bundle (see src/sea-commands.ts), run by the
// target's own Node (under qemu for another architecture), since a cache belongs to one V8.
//   node --random-seed=1 code-cache.cjs make  APP CACHE
//   node                 code-cache.cjs check APP CACHE   (exits 1 when the cache is rejected)
// `make` compiles with V8's lazy compilation off, so that the cache holds every function, and
// turns it back on before writing: the flags a cache records are those at writing, and the
// executable runs with lazy compilation on. The fixed seed makes the bytes the same every time.
const { readFileSync, writeFileSync } = require("node:fs");
const { setFlagsFromString } = require("node:v8");
const { Script } = require("node:vm");

const [mode, app, cache] = process.argv.slice(2);
const source = readFileSync(app, "utf8");
const filename = "docker-versions-app.cjs";
if (mode === "make") {
  setFlagsFromString("--no-lazy");
  const script = new Script(source, { filename });
  setFlagsFromString("--lazy");
  writeFileSync(cache, script.createCachedData());
} else if (mode === "check") {
  const script = new Script(source, { filename, cachedData: readFileSync(cache) });
  if (script.cachedDataRejected !== false) {
    process.stderr.write(`code-cache: V8 rejects the cache ${cache}\n`);
    process.exit(1);
  }
} else {
  process.stderr.write("usage: code-cache.cjs make|check APP CACHE\n");
  process.exit(2);
}
