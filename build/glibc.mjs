// The oldest glibc (and libstdc++) that can load the given executables: the highest symbol
// version each one asks of them, read from the ELF version-needs section with readelf (which
// reads any architecture's ELF files). Prints one line per file; `--json` prints the figures.
//   node build/glibc.mjs dist/docker-versions-linux-x86_64 dist/docker-versions-linux-aarch64
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

/** Compares dotted version numbers: negative when a < b. */
export function compareVersions(a, b) {
  const x = a.split(".").map(Number);
  const y = b.split(".").map(Number);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** The highest version the file needs of each versioned library interface (GLIBC, GLIBCXX, …). */
export function requiredVersions(file) {
  const out = execFileSync("readelf", ["--version-info", "--wide", file], {
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
  });
  // Only the needs section: the per-symbol table before it repeats the same names 75,000 times.
  const needs = out.slice(out.indexOf("Version needs section"));
  const highest = {};
  for (const [, name, version] of needs.matchAll(/Name: (GLIBC|GLIBCXX|CXXABI|GCC)_([0-9.]+)/g)) {
    if (!highest[name] || compareVersions(version, highest[name]) > 0) highest[name] = version;
  }
  return highest;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const files = process.argv.slice(2).filter((a) => a !== "--json");
  const report = Object.fromEntries(files.map((f) => [f, requiredVersions(f)]));
  if (process.argv.includes("--json")) console.log(JSON.stringify(report, null, 2));
  else {
    for (const [f, v] of Object.entries(report)) {
      console.log(
        `${f}: ${Object.entries(v)
          .map(([k, x]) => `${k} ${x}`)
          .join(", ")}`,
      );
    }
  }
}
