// The one rule for every file and directory the plugin writes next to the compose file: a link
// or a special file in its place is refused with one line naming it, nothing is written through
// it or anywhere else, and nothing blocks. Real files, links and FIFOs in temp directories.
import { execFileSync } from "node:child_process";
import {
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ComposeProject } from "../../src/adapters/compose.js";
import { snapshotVolumes } from "../../src/adapters/data-backup.js";
import type { DockerCli } from "../../src/adapters/docker.js";
import { appendAudit, appendJournal, readAudit, unfinishedRun } from "../../src/adapters/journal.js";
import { capturePaths, claimPidFile, dayFile, readCaptured, startCapture } from "../../src/adapters/logs.js";
import { appendOwned, readOwned } from "../../src/adapters/owned-files.js";
import { backupFile, withLock, writeAtomic } from "../../src/adapters/store.js";
import { dayOf } from "../../src/core/log-lines.js";
import { readManifest, recordPaths, type ServiceImage, writeRecord } from "../../src/record.js";

let dir: string; // the project directory
let outside: string; // somewhere a link could lead
let manifest: string;
const MANIFEST = "services:\n  a:\n    current_tag: '1.0'\n";

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), "dv-owned-"));
  outside = mkdtempSync(path.join(tmpdir(), "dv-outside-"));
  manifest = path.join(dir, "version-manifest.yaml");
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
});

const victim = (name = "victim") => {
  const file = path.join(outside, name);
  writeFileSync(file, "untouched\n");
  return file;
};
const fifo = (file: string) => execFileSync("mkfifo", [file]);
/** The one-line refusal that names `file` and what stands there. */
const refusal = (file: string, what: string) =>
  new RegExp(`^refusing ${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: it is ${what}[^\n]*$`);
const outsideUntouched = () => {
  for (const name of readdirSync(outside)) {
    const p = path.join(outside, name);
    if (lstatSync(p).isFile()) expect(readFileSync(p, "utf8")).toBe("untouched\n");
    else expect(readdirSync(p)).toEqual([]);
  }
};

describe("a link where a file is written", () => {
  const files: [string, (file: string) => Promise<unknown> | unknown][] = [
    ["version-manifest.yaml", (f) => writeAtomic(f, MANIFEST)],
    ["versions.env", (f) => writeAtomic(f, "A=1\n")],
    [
      "version-audit.log",
      () => appendAudit(manifest, [{ at: "t", command: "c", service: "a", from: "1", to: "2" }]),
    ],
    ["version-journal.jsonl", () => appendJournal(manifest, { id: "x", at: "t", step: "begin" })],
    ["version-manifest.yaml.lock", () => withLock(manifest, { command: "test", timeoutMs: 60_000 }, () => 1)],
  ];
  it.each(files)(
    "%s: refused, naming the link; its target and the directory unchanged",
    async (name, write) => {
      const link = path.join(dir, name);
      symlinkSync(victim(), link);
      await expect(async () => write(link)).rejects.toThrow(refusal(link, "a symbolic link"));
      outsideUntouched();
      expect(readdirSync(dir)).toEqual([name]);
    },
  );

  it.each(files)(
    "%s: a dangling link is refused too, and nothing is created where it leads",
    async (name, write) => {
      const link = path.join(dir, name);
      symlinkSync(path.join(outside, "nowhere"), link);
      await expect(async () => write(link)).rejects.toThrow(refusal(link, "a symbolic link"));
      expect(readdirSync(outside)).toEqual([]);
    },
  );

  it("version-manifest.yaml as a link is not read either (one rule for what the plugin owns)", async () => {
    symlinkSync(victim(), manifest);
    await expect(readManifest(manifest)).rejects.toThrow(refusal(manifest, "a symbolic link"));
  });

  it("a backup of the manifest is never written through .version-backups/ as a link", async () => {
    writeFileSync(manifest, MANIFEST);
    const link = path.join(dir, ".version-backups");
    symlinkSync(outside, link);
    await expect(backupFile(manifest)).rejects.toThrow(refusal(link, "a symbolic link"));
    expect(readdirSync(outside)).toEqual([]);
  });

  it("a change of the record writes none of its files when one of them is a link", async () => {
    writeFileSync(manifest, MANIFEST);
    const env = path.join(dir, "versions.env");
    symlinkSync(victim("env"), env);
    const current = await readManifest(manifest);
    const next = { schema: 1, services: { a: { current_tag: "2.0", custom: false, history: [] } } };
    const images = new Map<string, ServiceImage>([
      ["a", { template: "reg/a:${A_VERSION}", repository: "reg/a", active: true }],
    ]);
    await expect(
      writeRecord(recordPaths(manifest), images, "test", current, next, new Date()),
    ).rejects.toThrow(refusal(env, "a symbolic link"));
    expect(readFileSync(manifest, "utf8")).toBe(MANIFEST);
    expect(readdirSync(dir).sort()).toEqual(["version-manifest.yaml", "versions.env"]);
    outsideUntouched();
  });

  it(".version-backups/data as a link is refused before a volume is archived", async () => {
    mkdirSync(path.join(dir, ".version-backups"));
    const link = path.join(dir, ".version-backups", "data");
    symlinkSync(outside, link);
    const run = path.join(link, "20260101000000");
    await expect(snapshotVolumes(noDocker, project(), [], [], run)).rejects.toThrow(
      refusal(link, "a symbolic link"),
    );
    expect(readdirSync(outside)).toEqual([]);
  });

  describe("logs/", () => {
    const paths = () => capturePaths(path.join(dir, "logs"), "app");
    const day = dayOf(new Date());

    it.each([
      ["logs", () => symlinkSync(outside, path.join(dir, "logs"))],
      [
        "logs/app",
        () => {
          mkdirSync(path.join(dir, "logs"));
          symlinkSync(outside, path.join(dir, "logs", "app"));
        },
      ],
    ])("%s as a link: the capture's pid file is never claimed through it", (where, make) => {
      make();
      expect(() => claimPidFile(paths(), "p")).toThrow(refusal(path.join(dir, where), "a symbolic link"));
      expect(readdirSync(outside)).toEqual([]);
    });

    it.each([
      ["the day's log file", () => dayFile(paths(), day)],
      ["the pid file", () => paths().pidFile],
      ["the capture's own log", () => paths().diagnostics],
    ])("%s as a link: the command refuses before a capture starts", async (_, file) => {
      mkdirSync(path.join(dir, "logs", "app"), { recursive: true });
      symlinkSync(victim(), file());
      await expect(
        startCapture({ cli: noDocker, project: project(), paths: paths(), projectArgs: [] }),
      ).rejects.toThrow(refusal(file(), "a symbolic link"));
      outsideUntouched();
    });

    it("a captured day that is a link is not read", () => {
      mkdirSync(path.join(dir, "logs", "app"), { recursive: true });
      symlinkSync(victim(), dayFile(paths(), day));
      expect(() => readCaptured(paths(), day)).toThrow(refusal(dayFile(paths(), day), "a symbolic link"));
    });
  });
});

describe("a special file where a file is read or written: one line, never a hang", () => {
  it.each([
    ["version-manifest.yaml", () => readManifest(manifest)],
    ["version-journal.jsonl", () => unfinishedRun(manifest)],
    ["version-audit.log", () => readAudit(manifest)],
    ["version-manifest.yaml.lock", () => withLock(manifest, { command: "t", timeoutMs: 60_000 }, () => 1)],
  ])("a FIFO as %s", async (name, act) => {
    const file = path.join(dir, name);
    fifo(file);
    // No reader or writer ever opens the other end: a blocking open would never return.
    await expect(async () => act()).rejects.toThrow(refusal(file, "a FIFO"));
  });

  it("a FIFO as the audit log is not written to", () => {
    const file = path.join(dir, "version-audit.log");
    fifo(file);
    expect(() => appendOwned(file, "x\n")).toThrow(refusal(file, "a FIFO or socket"));
  });

  it("a directory as versions.env or as the lock", async () => {
    mkdirSync(path.join(dir, "versions.env"));
    await expect(writeAtomic(path.join(dir, "versions.env"), "A=1\n")).rejects.toThrow(/it is a directory/);
    mkdirSync(`${manifest}.lock`);
    await expect(withLock(manifest, { command: "t", timeoutMs: 60_000 }, () => 1)).rejects.toThrow(
      refusal(`${manifest}.lock`, "a directory"),
    );
  });

  it("a manifest far larger than any the plugin writes is one line, not a heap", () => {
    writeFileSync(manifest, `services: {}\n${"#".repeat(9 * 1024 * 1024)}\n`);
    expect(() => readOwned(manifest, 8 * 1024 * 1024)).toThrow(/is 9\.0 MiB, more than the 8\.0 MiB/);
  });
});

describe("secrets never reach the record's logs", () => {
  it("the journal and the audit log keep no URL userinfo", async () => {
    const url = "http://ops:s3cret@127.0.0.1:8080/health";
    await appendJournal(manifest, {
      id: "x",
      at: "t",
      step: "end",
      outcome: "rolled-back",
      detail: `app is not healthy: ${url} answered HTTP 401`,
    });
    await appendAudit(manifest, [{ at: "t", command: `c ${url}`, service: "a", from: "1", to: "2" }]);
    for (const file of ["version-journal.jsonl", "version-audit.log"]) {
      const text = readFileSync(path.join(dir, file), "utf8");
      expect(text).toContain("http://127.0.0.1:8080/health");
      expect(text).not.toMatch(/s3cret|ops:/);
    }
  });
});

describe("data backups are owner-only", () => {
  it("creates data/ and the run's directory 0700", async () => {
    const run = path.join(dir, ".version-backups", "data", "20260101000000");
    await snapshotVolumes(noDocker, project(), [], [], run);
    const mode = (p: string) => statSync(p).mode & 0o777;
    expect(mode(path.dirname(run))).toBe(0o700);
    expect(mode(run)).toBe(0o700);
  });

  it("keeps the mode an operator gave to an existing data/ directory", async () => {
    const data = path.join(dir, ".version-backups", "data");
    mkdirSync(data, { recursive: true, mode: 0o750 });
    execFileSync("chmod", ["0750", data]);
    await snapshotVolumes(noDocker, project(), [], [], path.join(data, "20260101000000"));
    expect(statSync(data).mode & 0o777).toBe(0o750);
  });
});

// Nothing here reaches the engine: with no database service, no `docker` is run.
const noDocker: DockerCli = { globals: [], env: process.env, cwd: "/" } as unknown as DockerCli;
function project(): ComposeProject {
  return {
    name: "owned-test",
    workingDir: dir,
    files: [path.join(dir, "compose.yaml")],
    services: {},
    volumes: {},
  } as unknown as ComposeProject;
}
