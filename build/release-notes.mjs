// Prints the release notes of a version tag: its section of CHANGELOG.md, without the heading.
// Fails (one line, exit 1) when the tag is not v<package.json version> or the section is missing
// or empty, so that a release never goes out unnamed or without notes.
//   node build/release-notes.mjs v0.1.0 > release-notes.md
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** The body of the `## <version>` section of a changelog (its heading may go on: ` — date`). */
export function notesFor(changelog, version) {
  const lines = changelog.split("\n");
  const heading = new RegExp(`^## \\[?${version.replaceAll(".", "\\.")}\\]?(\\s|$)`);
  const start = lines.findIndex((l) => heading.test(l));
  if (start < 0) throw new Error(`CHANGELOG.md has no "## ${version}" section`);
  const end = lines.findIndex((l, i) => i > start && /^## /.test(l));
  const body = lines
    .slice(start + 1, end < 0 ? undefined : end)
    .join("\n")
    .trim();
  if (!body) throw new Error(`the "## ${version}" section of CHANGELOG.md is empty`);
  return `${body}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    const tag = process.argv[2] ?? "";
    const { version } = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8"));
    if (tag !== `v${version}`)
      throw new Error(`tag '${tag}' is not v${version}, the version in package.json`);
    process.stdout.write(notesFor(readFileSync(path.join(root, "CHANGELOG.md"), "utf8"), version));
  } catch (err) {
    process.stderr.write(`release-notes: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  }
}
