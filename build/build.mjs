// Bundles src/ with esbuild into one CommonJS file, then makes it a single executable with
// Node's own single-executable-application support (SEA): the machine's node binary, a
// preparation blob with a V8 code cache, injected with postject. Writes
// dist/docker-versions-linux-<arch> and dist/checksums.txt (sha256sum format).
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { arch as nodeArch, platform } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const dist = path.join(root, "dist");
const work = path.join(dist, ".sea");
const pkg = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8"));
// Release names follow `uname -m`, as Compose's do.
const ARCH =
  { x64: "x86_64", arm64: "aarch64", arm: "armv7l", s390x: "s390x", ppc64: "ppc64le", riscv64: "riscv64" }[
    nodeArch()
  ] ?? nodeArch();
const target = path.join(dist, `docker-versions-${platform()}-${ARCH}`);

rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });

// Both bundles (the plugin and the embedded SDK) run in the same Node of the single executable.
const BUNDLE = {
  bundle: true,
  platform: "node",
  target: "node20",
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

const bundle = path.join(work, "docker-versions.cjs");
await build({
  entryPoints: [path.join(root, "src/main.ts")],
  ...BUNDLE,
  outfile: bundle,
  // yargs is ESM and reads import.meta.url; in a CJS bundle it is derived from the file name.
  define: { "import.meta.url": "__dvImportMetaUrl", __DV_VERSION__: JSON.stringify(pkg.version) },
  banner: { js: 'const __dvImportMetaUrl = require("node:url").pathToFileURL(__filename).href;' },
  plugins: [sdkAsText],
});
if (process.argv.includes("--bundle-only")) process.exit(0);

const seaConfig = path.join(work, "sea-config.json");
const blob = path.join(work, "sea-prep.blob");
writeFileSync(
  seaConfig,
  JSON.stringify({ main: bundle, output: blob, disableExperimentalSEAWarning: true, useCodeCache: true }),
);
quiet(["--experimental-sea-config", seaConfig]);

rmSync(target, { force: true });
copyFileSync(process.execPath, target);
chmodSync(target, 0o755);
// Debug symbols of the node binary are dead weight for users (about half its size).
try {
  execFileSync("strip", [target], { stdio: "ignore" });
} catch {
  console.warn("strip not available: the executable keeps node's symbols");
}
/** Runs a build step quietly; its output is shown only when it fails. */
function quiet(args) {
  try {
    execFileSync(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
  } catch (e) {
    process.stderr.write(`${e.stdout ?? ""}${e.stderr ?? ""}`);
    throw e;
  }
}

// postject warns about ELF note sections of a stripped binary that it does not need.
const postject = path.join(root, "node_modules/postject/dist/cli.js");
quiet([
  postject,
  target,
  "NODE_SEA_BLOB",
  blob,
  "--sentinel-fuse",
  "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2",
]);

const sum = createHash("sha256").update(readFileSync(target)).digest("hex");
writeFileSync(path.join(dist, "checksums.txt"), `${sum}  ${path.basename(target)}\n`);
rmSync(work, { recursive: true, force: true });
console.log(
  `built ${path.relative(root, target)} (${(readFileSync(target).length / 1e6).toFixed(1)} MB, ${pkg.version})`,
);
