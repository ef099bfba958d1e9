// The release files as the build leaves them in dist/: a second build of this tree in another
// directory gives the same bytes, checksums.txt covers every executable, and the glibc they
// need is the one install.sh and the README state.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { compareVersions, requiredVersions } from "../../build/glibc.mjs";
import { assetName, TARGETS } from "../../build/targets.mjs";
import { bed, sh } from "./harness.js";

const root = path.resolve(import.meta.dirname, "../..");
const dist = path.dirname(bed.exe);

describe.skipIf(!bed.available)("release files", () => {
  it("are the same bytes when the tree is built again in another directory", async () => {
    const r = await sh(process.execPath, [path.join(root, "build/reproducible.mjs"), "--once"], {
      cwd: root,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^reproducible: checksums\.txt [0-9a-f]{12}, docker-versions-linux-aarch64/m);
  }, 600_000);

  it("have one checksums.txt line per executable, in sha256sum's format", () => {
    const lines = readFileSync(path.join(dist, "checksums.txt"), "utf8").trimEnd().split("\n");
    const expected = Object.keys(TARGETS).map((t) => {
      const sum = createHash("sha256")
        .update(readFileSync(path.join(dist, assetName(t))))
        .digest("hex");
      return `${sum}  ${assetName(t)}`;
    });
    expect(lines).toEqual(expected);
  });

  it("need no newer glibc than install.sh and the README state", () => {
    const stated = /^GLIBC_MIN=(\S+)$/m.exec(readFileSync(path.join(root, "install.sh"), "utf8"))?.[1] ?? "";
    expect(readFileSync(path.join(root, "README.md"), "utf8")).toContain(`glibc ${stated} or newer`);
    for (const t of Object.keys(TARGETS)) {
      const needed = requiredVersions(path.join(dist, assetName(t)));
      expect(needed.GLIBC, t).toBeDefined();
      // Equal, not only at most: a lower need would be a better figure to state.
      expect(compareVersions(needed.GLIBC as string, stated), `${t} needs glibc ${needed.GLIBC}`).toBe(0);
    }
  });
});
