// Checks that the release build is reproducible: the tree as it is (git's tracked and untracked,
// not ignored, files) is copied into two directories of different names and depths, each gets
// node_modules as hard links of this one, and build/build.mjs runs in each; every executable
// and checksums.txt must be the same bytes. Exits 1 and names the files that differ.
//   node build/reproducible.mjs            two fresh builds, compared with each other
//   node build/reproducible.mjs --once     one fresh build, compared with dist/ (which must be a
//                                          build of this same tree: the test suite's cheaper run)
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const once = process.argv.includes("--once");

/** The files of this tree a fresh clone (plus uncommitted work) would have. */
function treeFiles() {
  const out = execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], {
    cwd: root,
    encoding: "utf8",
  });
  return out.split("\0").filter((f) => f && existsSync(path.join(root, f)));
}

/** A copy of the tree in `dir`, built there; returns that copy's dist directory. */
function buildCopy(dir) {
  for (const f of treeFiles()) {
    mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    copyFileSync(path.join(root, f), path.join(dir, f));
  }
  // Hard links: the same installed packages (and fetched Node bases) without copying 300 MB.
  execFileSync("cp", ["-al", path.join(root, "node_modules"), path.join(dir, "node_modules")]);
  execFileSync(process.execPath, [path.join(dir, "build", "build.mjs")], { cwd: dir, stdio: "inherit" });
  return path.join(dir, "dist");
}

function digests(dist) {
  const files = readdirSync(dist).filter((f) => f === "checksums.txt" || f.startsWith("docker-versions-"));
  return new Map(
    files.map((f) => [
      f,
      createHash("sha256")
        .update(readFileSync(path.join(dist, f)))
        .digest("hex"),
    ]),
  );
}

const scratch = path.join(root, ".tmp");
mkdirSync(scratch, { recursive: true });
// Different names and depths, so a path recorded anywhere in the output would show.
const a = mkdtempSync(path.join(scratch, "repro-a-"));
const b = path.join(mkdtempSync(path.join(scratch, "reproducible-build-b-")), "nested", "checkout");
try {
  const left = once ? path.join(root, "dist") : buildCopy(a);
  if (once && !existsSync(path.join(left, "checksums.txt"))) {
    throw new Error("dist/ has no build to compare with: run `npm run build` first");
  }
  const right = buildCopy(b);
  const [x, y] = [digests(left), digests(right)];
  const names = [...new Set([...x.keys(), ...y.keys()])].sort();
  const differ = names.filter((n) => x.get(n) !== y.get(n));
  if (names.length < 2 || differ.length > 0) {
    console.error(
      `not reproducible: ${differ.join(", ") || "nothing was built"} differ between ${path.relative(root, left) || "."} and ${path.relative(root, right)}`,
    );
    process.exitCode = 1;
  } else {
    console.log(`reproducible: ${names.map((n) => `${n} ${x.get(n)?.slice(0, 12)}`).join(", ")}`);
  }
} finally {
  rmSync(a, { recursive: true, force: true });
  rmSync(path.dirname(path.dirname(b)), { recursive: true, force: true });
}
