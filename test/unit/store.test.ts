// The manifest's file store against the real file system and real processes: atomic writes
// under kill -9, backups and their retention, and the lock between concurrent runs.
import { type ChildProcess, spawn } from "node:child_process";
import {
  chmod,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  stat,
  symlink,
  utimes,
  writeFile,
} from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import {
  backupFile,
  lockHolder,
  newestBackup,
  readText,
  withLock,
  writeAtomic,
} from "../../src/adapters/store.js";
import { UserError } from "../../src/errors.js";

let bundleDir: string;
let storeUrl: string;
let work: string;
let manifest: string;
interface Run {
  out: string;
  err: string;
  done: Promise<{ code: number | null; stderr: string }>;
}
const runs = new Map<ChildProcess, Run>();

beforeAll(async () => {
  // Child processes run plain Node, so they import the store bundled to JavaScript.
  bundleDir = await mkdtemp(path.join(tmpdir(), "dv-store-bundle-"));
  const outfile = path.join(bundleDir, "store.mjs");
  const entryPoints = [path.resolve(import.meta.dirname, "../../src/adapters/store.ts")];
  await build({ entryPoints, outfile, bundle: true, platform: "node", format: "esm", logLevel: "error" });
  storeUrl = pathToFileURL(outfile).href;
});

afterAll(async () => {
  await rm(bundleDir, { recursive: true, force: true });
});

beforeEach(async () => {
  work = await mkdtemp(path.join(tmpdir(), "dv-store-"));
  manifest = path.join(work, "version-manifest.yaml");
});

afterEach(async () => {
  for (const child of runs.keys()) child.kill("SIGKILL");
  await Promise.all([...runs.keys()].map(exited));
  vi.unstubAllEnvs();
  await rm(work, { recursive: true, force: true });
});

/** Runs `script` in a child Node process with `store` (the bundled module) and `env` in scope. */
function node(script: string, env: Record<string, string> = {}): ChildProcess {
  const code = `const store = await import(${JSON.stringify(storeUrl)});\nconst env = process.env;\n${script}`;
  const child = spawn(process.execPath, ["--input-type=module", "-e", code], {
    env: { ...process.env, MANIFEST: manifest, ...env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  const run: Run = { out: "", err: "", done: Promise.resolve({ code: null, stderr: "" }) };
  child.stdout?.on("data", (chunk: Buffer) => {
    run.out += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    run.err += chunk.toString();
  });
  run.done = new Promise((resolve) => child.once("close", (code) => resolve({ code, stderr: run.err })));
  runs.set(child, run);
  void run.done.then(() => runs.delete(child));
  return child;
}

/** The child's exit code and stderr, once it has exited and its output is all in. */
function exited(child: ChildProcess): Promise<{ code: number | null; stderr: string }> {
  return runs.get(child)?.done ?? Promise.resolve({ code: child.exitCode, stderr: "" });
}

function untilOutput(child: ChildProcess, text: string): Promise<void> {
  const run = runs.get(child);
  return new Promise((resolve, reject) => {
    const check = () => run?.out.includes(text) && resolve();
    child.stdout?.on("data", check);
    check();
    run?.done.then(() => reject(new Error(`child ended before printing '${text}': ${run.err}`)));
  });
}

// Makes a child wait, once started up, until the test lets it (and its siblings) go at once.
const BARRIER = `console.log("ready");
await new Promise((resolve) => process.stdin.once("data", resolve));`;

async function startTogether(children: ChildProcess[]): Promise<void> {
  await Promise.all(children.map((child) => untilOutput(child, "ready")));
  for (const child of children) child.stdin?.end("go\n");
}

/** A pid that no process has any more. */
async function deadPid(): Promise<number> {
  const child = node("");
  await exited(child);
  return child.pid ?? 0;
}

// A child that holds the manifest lock until it is killed.
const HOLD = `await store.withLock(env.MANIFEST, { command: "pull-latest" }, async () => {
  console.log("locked");
  await new Promise((resolve) => setTimeout(resolve, 60_000));
});`;

async function holder(): Promise<ChildProcess> {
  const child = node(HOLD);
  await untilOutput(child, "locked");
  return child;
}

describe("writeAtomic", () => {
  it("replaces the content and keeps the file's mode", async () => {
    await writeFile(manifest, "old\n");
    await chmod(manifest, 0o640);
    await writeAtomic(manifest, "new\n");
    expect(await readText(manifest)).toBe("new\n");
    expect((await stat(manifest)).mode & 0o777).toBe(0o640);
    expect(await readdir(work)).toEqual(["version-manifest.yaml"]);
  });

  it("creates a missing file, and readText answers null for one", async () => {
    expect(await readText(manifest)).toBeNull();
    await writeAtomic(manifest, "a: 1\n", { mode: 0o600 });
    expect(await readText(manifest)).toBe("a: 1\n");
    expect((await stat(manifest)).mode & 0o777).toBe(0o600);
  });

  it("refuses a symlink in the file's place, naming it, and writes nothing", async () => {
    const real = path.join(work, "real.yaml");
    await writeFile(real, "old");
    await symlink(real, manifest);
    await expect(writeAtomic(manifest, "new")).rejects.toThrow(
      /^refusing .*version-manifest\.yaml: it is a symbolic link/,
    );
    expect(await readFile(real, "utf8")).toBe("old");
    expect((await lstat(manifest)).isSymbolicLink()).toBe(true);
    expect((await readdir(work)).sort()).toEqual(["real.yaml", "version-manifest.yaml"]);
  });

  it("removes temps of crashed writers of the same file, and nothing else", async () => {
    const dead = await deadPid();
    const names = {
      crashed: `.version-manifest.yaml.${dead}.0123456789ab.tmp`,
      live: `.version-manifest.yaml.${process.pid}.0123456789ab.tmp`,
      otherFile: `.versions.env.${dead}.0123456789ab.tmp`,
      unrelated: "notes.tmp",
    };
    for (const name of Object.values(names)) await writeFile(path.join(work, name), "partial");
    await writeAtomic(manifest, "new");
    const left = await readdir(work);
    expect(left).not.toContain(names.crashed);
    expect(left).toEqual(expect.arrayContaining([names.live, names.otherFile, names.unrelated]));
  });

  it("fails with one line and leaves no temp file", async () => {
    await mkdir(manifest); // a directory where the file should be
    const err = await writeAtomic(manifest, "x").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(/^refusing .*version-manifest\.yaml: it is a directory[^\n]+$/);
    expect(await readdir(work)).toEqual(["version-manifest.yaml"]);
    await expect(writeAtomic(path.join(work, "missing", "m.yaml"), "x")).rejects.toThrow(
      /^cannot write .*m\.yaml: /,
    );
  });

  it("leaves the old or the new complete file when killed at any moment", { timeout: 60_000 }, async () => {
    // Real processes killed 32 times: slow on a loaded 2-core host; not a timing assertion.
    const size = 2 * 1024 * 1024;
    const [a, b] = ["A".repeat(size), "B".repeat(size)];
    const writer = `const [a, b] = ["A".repeat(${size}), "B".repeat(${size})];
${BARRIER}
console.log("writing");
for (let i = 0; ; i++) await store.writeAtomic(env.MANIFEST, i % 2 ? a : b);`;
    const seen = new Set<string>();
    // Four files side by side, eight kills each, so that 32 kills fit in a couple of seconds.
    const lane = async (dir: string) => {
      const file = path.join(dir, "version-manifest.yaml");
      await mkdir(dir);
      await writeAtomic(file, a);
      let next = node(writer, { MANIFEST: file });
      for (let round = 0; round < 8; round++) {
        // The next writer starts up while this one runs; it writes nothing until told to.
        const child = next;
        if (round < 7) next = node(writer, { MANIFEST: file });
        await startTogether([child]);
        await untilOutput(child, "writing");
        await sleep(Math.random() * 60); // one 2 MB write takes some 15 ms here
        child.kill("SIGKILL");
        await exited(child);
        const text = await readFile(file, "utf8");
        expect(text === a || text === b, `${dir} round ${round}: ${text.length} bytes`).toBe(true);
        seen.add(text[0] ?? "");
      }
      await writeAtomic(file, "final");
      expect(await readdir(dir)).toEqual(["version-manifest.yaml"]); // crashed runs' temps are gone
    };
    await Promise.all([1, 2, 3, 4].map((n) => lane(path.join(work, `lane${n}`))));
    expect(seen.has("B")).toBe(true); // some kills did land after a completed write
  });
});

describe("backupFile and newestBackup", () => {
  const backups = () => path.join(work, ".version-backups");
  const at = (minute: number) => new Date(Date.UTC(2026, 2, 4, 5, minute, 7, 890));

  it("copies the file as <name>.YYYYMMDDHHMMSS in UTC, with -N within one second", async () => {
    const made: (string | null)[] = [];
    for (const content of ["v1", "v2", "v3"]) {
      await writeFile(manifest, content);
      made.push(await backupFile(manifest, { now: at(6) }));
    }
    const stem = path.join(backups(), "version-manifest.yaml.20260304050607");
    expect(made).toEqual([stem, `${stem}-1`, `${stem}-2`]);
    expect(await Promise.all(made.map((p) => readFile(p ?? "", "utf8")))).toEqual(["v1", "v2", "v3"]);
    expect(await newestBackup(manifest)).toBe(`${stem}-2`);
  });

  it("returns null and creates nothing when there is no file", async () => {
    expect(await backupFile(manifest)).toBeNull();
    expect(await newestBackup(manifest)).toBeNull();
    expect(await readdir(work)).toEqual([]);
  });

  it("keeps the file's mode on its backup", async () => {
    await writeFile(manifest, "secret");
    await chmod(manifest, 0o600);
    const backup = await backupFile(manifest);
    expect((await stat(backup ?? "")).mode & 0o777).toBe(0o600);
  });

  it("keeps the newest N backups of that file and never touches anything else", async () => {
    const untouched = ["data/20260101000000/db.sql", "other.txt", "compose.yaml.20200101000000"];
    for (const rel of untouched) {
      await mkdir(path.dirname(path.join(backups(), rel)), { recursive: true });
      await writeFile(path.join(backups(), rel), rel);
    }
    await mkdir(path.join(backups(), "version-manifest.yaml.20000101000000")); // a directory, not a backup
    for (let minute = 0; minute < 5; minute++) {
      await writeFile(manifest, `v${minute}`);
      await backupFile(manifest, { now: at(minute), keep: 3 });
    }
    const left = (await readdir(backups())).sort();
    expect(left).toEqual([
      "compose.yaml.20200101000000",
      "data",
      "other.txt",
      "version-manifest.yaml.20000101000000",
      "version-manifest.yaml.20260304050207",
      "version-manifest.yaml.20260304050307",
      "version-manifest.yaml.20260304050407",
    ]);
    expect(await readFile(path.join(backups(), "data/20260101000000/db.sql"), "utf8")).toBe(untouched[0]);
  });

  it("takes the retention from DOCKER_VERSIONS_BACKUP_KEEP, and refuses a bad value", async () => {
    vi.stubEnv("DOCKER_VERSIONS_BACKUP_KEEP", "2");
    for (let minute = 0; minute < 4; minute++) {
      await writeFile(manifest, `v${minute}`);
      await backupFile(manifest, { now: at(minute) });
    }
    expect(await readdir(backups())).toHaveLength(2);
    vi.stubEnv("DOCKER_VERSIONS_BACKUP_KEEP", "none");
    await expect(backupFile(manifest, { now: at(9) })).rejects.toThrow(
      "DOCKER_VERSIONS_BACKUP_KEEP must be a number of at least 1, not 'none'",
    );
    expect(await readdir(backups())).toHaveLength(2);
  });

  it("orders backups by the stamp and suffix in the name, not by mtime", async () => {
    await mkdir(backups());
    const names = [
      "version-manifest.yaml.20251231235959",
      "version-manifest.yaml.20260101000000",
      "version-manifest.yaml.20260101000000-2",
      "version-manifest.yaml.20260101000000-10",
    ];
    for (const [i, name] of names.entries()) {
      const file = path.join(backups(), name);
      await writeFile(file, name);
      const mtime = new Date(Date.UTC(2030, 0, 1) - i * 60_000); // the oldest name is the newest file
      await utimes(file, mtime, mtime);
    }
    await mkdir(path.join(backups(), "version-manifest.yaml.20990101000000"));
    await writeFile(path.join(backups(), "version-manifest.yaml.20990101000000.tmp"), "");
    expect(await newestBackup(manifest)).toBe(
      path.join(backups(), "version-manifest.yaml.20260101000000-10"),
    );
  });
});

describe("withLock", () => {
  const lockPath = () => `${manifest}.lock`;
  const lockOf = (holder: { pid: number; host?: string; command?: string }) =>
    JSON.stringify({ host: hostname(), command: "update-safe", since: new Date().toISOString(), ...holder });

  it("holds <manifest>.lock naming this process while fn runs, and removes it after", async () => {
    const result = await withLock(manifest, { command: "pull-latest" }, async () => {
      const held = JSON.parse((await readText(lockPath())) ?? "");
      expect(held).toMatchObject({ pid: process.pid, host: hostname(), command: "pull-latest" });
      expect(Number.isNaN(Date.parse(held.since))).toBe(false);
      return 42;
    });
    expect(result).toBe(42);
    expect(await readText(lockPath())).toBeNull();
  });

  it("releases the lock when fn throws", async () => {
    const boom = new Error("boom");
    await expect(
      withLock(manifest, { command: "x" }, () => {
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(await readText(lockPath())).toBeNull();
  });

  it("leaves a lock file that is no longer its own", async () => {
    const other = lockOf({ pid: 1 });
    await withLock(manifest, { command: "x" }, () => writeFile(lockPath(), other));
    expect(await readText(lockPath())).toBe(other);
  });

  it("waits for a live holder, then fails with one line naming it", { timeout: 10_000 }, async () => {
    const child = await holder();
    const started = Date.now();
    const err = await withLock(manifest, { command: "version", timeoutMs: 400, pollMs: 20 }, () => {}).catch(
      (e: unknown) => e,
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
    expect(err).toBeInstanceOf(UserError);
    const message = (err as Error).message;
    expect(message).not.toContain("\n");
    expect(message).toMatch(
      new RegExp(
        `^the manifest is locked by pid ${child.pid} \\(pull-latest\\) on host ${hostname()} since \\d{4}-[^;]+; ` +
          `try again when it finishes, or remove ${lockPath()} if that process is gone$`,
      ),
    );
    // SIGTERM releases the lock on the way out, so the next run goes straight in.
    child.kill("SIGTERM");
    await exited(child);
    expect(await readText(lockPath())).toBeNull();
    await withLock(manifest, { command: "version", timeoutMs: 0 }, () => {});
  });

  it("runs a nested withLock of the same manifest inside the outer one", async () => {
    const inner = await withLock(manifest, { command: "update-safe" }, () =>
      withLock(manifest, { command: "generate-env", timeoutMs: 0 }, async () => {
        expect(JSON.parse((await readText(lockPath())) ?? "").command).toBe("update-safe");
        return "inner";
      }),
    );
    expect(inner).toBe("inner");
    expect(await readText(lockPath())).toBeNull();
  });

  it("says once, naming the holder, what a long wait is for", { timeout: 20_000 }, async () => {
    const child = await holder();
    const said: string[] = [];
    let saidOnce: () => void = () => {};
    const told = new Promise<void>((resolve) => {
      saidOnce = resolve;
    });
    const entered = withLock(
      manifest,
      {
        command: "rollback",
        timeoutMs: 600_000,
        pollMs: 20,
        onWait: (line) => {
          said.push(line);
          saidOnce();
        },
      },
      () => "in",
    );
    await told; // the holder is still there: the wait goes on until the test ends it
    child.kill("SIGTERM");
    expect(await entered).toBe("in");
    expect(said).toEqual([
      expect.stringMatching(
        new RegExp(
          `^waiting up to 600s for the lock on ${manifest}, held by pid ${child.pid} \\(pull-latest\\) on host `,
        ),
      ),
    ]);
  });

  it("tells a live holder from a dead one", async () => {
    expect(lockHolder(manifest)).toBeNull();
    const child = await holder();
    expect(lockHolder(manifest)).toMatchObject({ pid: child.pid, command: "pull-latest", alive: true });
    child.kill("SIGKILL");
    await exited(child);
    expect(lockHolder(manifest)).toMatchObject({ pid: child.pid, alive: false });
  });

  it("takes its default wait from DOCKER_VERSIONS_LOCK_TIMEOUT (seconds)", async () => {
    await writeFile(lockPath(), lockOf({ pid: process.pid })); // alive: this very process
    vi.stubEnv("DOCKER_VERSIONS_LOCK_TIMEOUT", "0.2");
    const started = Date.now();
    await expect(withLock(manifest, { command: "x", pollMs: 20 }, () => {})).rejects.toThrow(
      /\(update-safe\)/,
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(200);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("takes over the lock of a holder that was killed", { timeout: 10_000 }, async () => {
    const child = await holder();
    child.kill("SIGKILL");
    await exited(child);
    expect(JSON.parse((await readText(lockPath())) ?? "").pid).toBe(child.pid);
    const started = Date.now();
    await withLock(manifest, { command: "rollback", timeoutMs: 5_000 }, async () => {
      expect(JSON.parse((await readText(lockPath())) ?? "").pid).toBe(process.pid);
    });
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(await readdir(work)).toEqual([]);
  });

  it("never takes over a lock from another host", async () => {
    await writeFile(lockPath(), lockOf({ pid: await deadPid(), host: "elsewhere.invalid" }));
    await expect(withLock(manifest, { command: "x", timeoutMs: 150, pollMs: 20 }, () => {})).rejects.toThrow(
      /on host elsewhere\.invalid/,
    );
  });

  it("takes over an unreadable lock file only once it is a few seconds old", async () => {
    await writeFile(lockPath(), "");
    await expect(withLock(manifest, { command: "x", timeoutMs: 150, pollMs: 20 }, () => {})).rejects.toThrow(
      /^the manifest is locked by a process that has not said who it is; .* remove /,
    );
    const old = new Date(Date.now() - 10_000);
    await utimes(lockPath(), old, old);
    expect(await withLock(manifest, { command: "x", timeoutMs: 150 }, () => "in")).toBe("in");
  });

  it("clears a takeover claim left by a waiter that died during its takeover", async () => {
    const dead = await deadPid();
    await writeFile(lockPath(), lockOf({ pid: dead }));
    await writeFile(`${lockPath()}.takeover`, lockOf({ pid: dead, command: "takeover" }));
    expect(await withLock(manifest, { command: "x", timeoutMs: 1_000 }, () => "in")).toBe("in");
    expect(await readdir(work)).toEqual([]);
  });

  it("lets exactly one of several waiters take over a dead lock at a time", { timeout: 15_000 }, async () => {
    const deadLock = lockOf({ pid: await deadPid() });
    await writeFile(lockPath(), deadLock);
    // The waiters start at once, and each fails if it ever finds another one inside. Each holder
    // leaves as if it had been killed (its lock turned into a dead one), so every one of the 20
    // entries is a takeover race among the remaining waiters.
    const waiter = `const { open, rm, writeFile } = await import("node:fs/promises");
const inside = env.MANIFEST + ".inside";
${BARRIER}
for (let i = 0; i < 5; i++) {
  await store.withLock(env.MANIFEST, { command: "race", pollMs: 5 }, async () => {
    const mark = await open(inside, "wx");
    await new Promise((resolve) => setTimeout(resolve, 2));
    await mark.close();
    await rm(inside);
    await writeFile(env.MANIFEST + ".lock", env.DEAD_LOCK);
  });
}`;
    const racers = Array.from({ length: 4 }, () => node(waiter, { DEAD_LOCK: deadLock }));
    await startTogether(racers);
    for (const result of await Promise.all(racers.map(exited)))
      expect(result).toEqual({ code: 0, stderr: "" });
    expect(await readdir(work)).toEqual(["version-manifest.yaml.lock"]); // the last one's "dead" lock
  });

  it("serializes two processes' read-increment-write cycles on one file", { timeout: 15_000 }, async () => {
    await writeFile(manifest, "0");
    const counter = `${BARRIER}
for (let i = 0; i < 20; i++) {
  await store.withLock(env.MANIFEST, { command: "count", pollMs: 2 }, async () => {
    const n = Number(await store.readText(env.MANIFEST));
    await new Promise((resolve) => setTimeout(resolve, 1));
    await store.writeAtomic(env.MANIFEST, String(n + 1));
  });
}`;
    const counters = [node(counter), node(counter)];
    await startTogether(counters);
    const results = await Promise.all(counters.map(exited));
    expect(results).toEqual([
      { code: 0, stderr: "" },
      { code: 0, stderr: "" },
    ]);
    expect(await readText(manifest)).toBe("40");
  });
});
