// The record transaction against the real file system: a process killed (SIGKILL, through the
// test-only fault points) between any two writes of manifest, versions.env and audit log leaves
// a state the next settle turns into exactly the old record or exactly the new one.
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { settleTransaction } from "../../src/adapters/transaction.js";
import {
  commitRecord,
  intentPath,
  type RecordPaths,
  recordPaths,
  settledLine,
  settleRecord,
} from "../../src/record.js";

const OLD = {
  manifest: "schema: 1\nservices: {}\n# old\n",
  env: "API_VERSION=1.62\n",
  audit: "earlier line\n",
};
const NEW = { manifest: "schema: 1\nservices: {}\n# new\n", env: "API_VERSION=1.64\n" };
const LINE = { at: "2026-01-01T00:00:00Z", command: "version-set", service: "api", from: "1.62", to: "1.64" };

let bundleDir: string;
let recordUrl: string;
let work: string;
let paths: RecordPaths;
const audit = () => path.join(work, "version-audit.log");
const read = (file: string) => readFile(file, "utf8").catch(() => null);

beforeAll(async () => {
  // The crashing writer runs in a child process (it dies by SIGKILL), so it imports a bundle.
  bundleDir = await mkdtemp(path.join(tmpdir(), "dv-txn-bundle-"));
  const outfile = path.join(bundleDir, "record.mjs");
  await build({
    entryPoints: [path.resolve(import.meta.dirname, "../../src/record.ts")],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    // yaml is CommonJS and requires Node's modules.
    banner: {
      js: 'import { createRequire } from "node:module"; const require = createRequire(import.meta.url);',
    },
    logLevel: "error",
  });
  recordUrl = pathToFileURL(outfile).href;
});

afterAll(async () => {
  await rm(bundleDir, { recursive: true, force: true });
});

beforeEach(async () => {
  work = await mkdtemp(path.join(tmpdir(), "dv-txn-"));
  paths = recordPaths(path.join(work, "version-manifest.yaml"));
  await writeFile(paths.manifest, OLD.manifest);
  await writeFile(paths.env, OLD.env);
  await writeFile(audit(), OLD.audit);
  return () => rm(work, { recursive: true, force: true });
});

/** Runs commitRecord in a child process, with DOCKER_VERSIONS_FAULT=`fault` when given. */
function commitInChild(
  fault?: string,
): Promise<{ code: number | null; signal: string | null; stderr: string }> {
  const code = `const record = await import(${JSON.stringify(recordUrl)});
await record.commitRecord(${JSON.stringify(paths)}, "version-set", ${JSON.stringify(NEW.manifest)}, ${JSON.stringify(NEW.env)}, [${JSON.stringify(LINE)}]);`;
  const env = { ...process.env, DOCKER_VERSIONS_FAULT: fault ?? "" };
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--input-type=module", "-e", code], {
      env,
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (b: Buffer) => (stderr += b));
    child.on("close", (c, signal) => resolve({ code: c, signal, stderr }));
  });
}

async function state() {
  const files = await readdir(work);
  return {
    manifest: await read(paths.manifest),
    env: await read(paths.env),
    audit: await read(audit()),
    leftovers: files.filter((f) => f.endsWith(".tmp") || f.endsWith(".txn")),
  };
}

const oldState = { manifest: OLD.manifest, env: OLD.env, audit: OLD.audit, leftovers: [] };
const auditLineOf = (text: string | null) =>
  (text ?? "").split("\n").filter((l) => l.endsWith("api: 1.62 → 1.64"));

describe("the record transaction", () => {
  it("without a crash writes all three and leaves no intent or temp", async () => {
    expect(await commitInChild()).toMatchObject({ code: 0, signal: null });
    const s = await state();
    expect(s).toMatchObject({ manifest: NEW.manifest, env: NEW.env, leftovers: [] });
    expect(s.audit?.startsWith(OLD.audit)).toBe(true);
    expect(auditLineOf(s.audit)).toHaveLength(1);
  });

  // Every point between two writes; what the next command must make of the leftovers.
  const points: [string, "none" | "reverted" | "completed"][] = [
    ["record.prepared", "none"], // temps written, no intent yet
    ["record.intent", "reverted"], // intent synced, manifest not yet replaced
    ["record.manifest", "completed"], // manifest replaced, versions.env not yet
    ["record.env", "completed"], // both replaced, audit line not yet appended
    ["record.audit", "completed"], // all written, intent not yet removed
  ];
  it.each(points)("a crash at %s is settled to the %s change", async (point, outcome) => {
    const crashed = await commitInChild(point);
    expect(crashed.signal).toBe("SIGKILL");
    const lines: string[] = [];
    const settled = await settleRecord(paths, undefined, (l) => lines.push(l));
    expect(settled?.outcome ?? "none").toBe(outcome);
    expect(lines).toHaveLength(outcome === "none" ? 0 : 1);
    const s = await state();
    if (outcome === "completed") {
      expect(lines[0]).toMatch(
        /^completed the change of the record that version-set \(pid \d+\) began at \S+ and did not finish: /,
      );
      expect(s).toMatchObject({ manifest: NEW.manifest, env: NEW.env, leftovers: [] });
      expect(s.audit?.startsWith(OLD.audit)).toBe(true);
      expect(auditLineOf(s.audit)).toHaveLength(1); // appended once, never twice
    } else {
      if (outcome === "reverted")
        expect(lines[0]).toMatch(/^reverted the change .*: the manifest had not been written yet/);
      expect(s).toEqual(oldState);
    }
    // Settling again finds nothing to do.
    expect(await settleRecord(paths, undefined, (l) => lines.push(l))).toBeNull();
    expect(await state()).toEqual(s);
  });

  it("the second transaction of a process can be the one that crashes (point#n)", async () => {
    const code = `const record = await import(${JSON.stringify(recordUrl)});
const p = ${JSON.stringify(paths)};
await record.commitRecord(p, "a", "first\\n", "E=1\\n", []);
await record.commitRecord(p, "b", "second\\n", "E=2\\n", []);`;
    const env = { ...process.env, DOCKER_VERSIONS_FAULT: "record.manifest#2" };
    const signal = await new Promise((resolve) => {
      spawn(process.execPath, ["--input-type=module", "-e", code], { env, stdio: "ignore" }).on(
        "close",
        (_c, s) => resolve(s),
      );
    });
    expect(signal).toBe("SIGKILL");
    expect(await read(paths.env)).toBe("E=1\n");
    expect((await settleRecord(paths, undefined, () => {}))?.outcome).toBe("completed");
    expect([await read(paths.manifest), await read(paths.env)]).toEqual(["second\n", "E=2\n"]);
  });

  it("fails before anything changes when versions.env cannot be written (a directory in its place)", async () => {
    await rm(paths.env);
    await mkdir(paths.env);
    const err = await commitRecord(paths, "version-set", NEW.manifest, NEW.env, [LINE]).catch(
      (e: Error) => e,
    );
    expect((err as Error).message).toMatch(new RegExp(`^refusing ${paths.env}: it is a directory`));
    const files = await readdir(work);
    expect(files.sort()).toEqual(["version-audit.log", "version-manifest.yaml", "versions.env"]); // no backup, temp or intent
    expect(await read(paths.manifest)).toBe(OLD.manifest);
    expect(await read(audit())).toBe(OLD.audit);
  });

  it("fails before anything changes when the audit log cannot be appended to", async () => {
    await rm(audit());
    await mkdir(audit());
    await expect(commitRecord(paths, "version-set", NEW.manifest, NEW.env, [LINE])).rejects.toThrow(
      `refusing ${audit()}: it is a directory`,
    );
    expect(await state()).toMatchObject({ manifest: OLD.manifest, env: OLD.env, leftovers: [] });
    expect(await readdir(work)).not.toContain(".version-backups");
  });

  it("removes the temps a writer killed before its intent left, and only those", async () => {
    expect((await commitInChild("record.prepared")).signal).toBe("SIGKILL");
    const live = `.versions.env.${process.pid}.0123456789ab.tmp`; // a live writer's: kept
    await writeFile(path.join(work, live), "x");
    expect((await readdir(work)).filter((f) => f.endsWith(".tmp"))).toHaveLength(3);
    await settleRecord(paths, undefined, () => {});
    expect((await readdir(work)).filter((f) => f.endsWith(".tmp"))).toEqual([live]);
  });
});

describe("settleTransaction's rule, from what is on disk", () => {
  const intent = (over: Record<string, unknown> = {}) =>
    JSON.stringify({
      id: "t",
      command: "rollback",
      pid: 999999,
      host: "h",
      at: "2026-01-01T00:00:00Z",
      backup: null,
      files: [
        { name: "manifest", file: "version-manifest.yaml", before: OLD.manifest, after: NEW.manifest },
        { name: "env", file: "versions.env", before: OLD.env, after: NEW.env },
      ],
      append: { name: "audit", file: "version-audit.log", offset: OLD.audit.length, text: "new line\n" },
      ...over,
    });

  it("completes a torn audit append: the line once, whole", async () => {
    await writeFile(paths.manifest, NEW.manifest);
    await writeFile(audit(), `${OLD.audit}new l`);
    await writeFile(intentPath(paths.manifest), intent());
    expect((await settleTransaction(intentPath(paths.manifest)))?.outcome).toBe("completed");
    expect(await read(audit())).toBe(`${OLD.audit}new line\n`);
    expect(await read(paths.env)).toBe(NEW.env);
  });

  it("keeps lines appended after it and does not append twice", async () => {
    await writeFile(paths.manifest, NEW.manifest);
    await writeFile(audit(), `${OLD.audit}new line\nsomeone else\n`);
    await writeFile(intentPath(paths.manifest), intent());
    await settleTransaction(intentPath(paths.manifest));
    expect(await read(audit())).toBe(`${OLD.audit}new line\nsomeone else\n`);
  });

  it("puts back a later file that holds its new text while the manifest holds its old one", async () => {
    await writeFile(paths.env, NEW.env);
    await writeFile(intentPath(paths.manifest), intent());
    expect((await settleTransaction(intentPath(paths.manifest)))?.outcome).toBe("reverted");
    expect(await read(paths.env)).toBe(OLD.env);
    expect(await read(audit())).toBe(OLD.audit);
  });

  it("reverts the creation of a record by removing what was created", async () => {
    await rm(paths.manifest);
    await rm(paths.env);
    await writeFile(
      intentPath(paths.manifest),
      intent({
        files: [
          { name: "manifest", file: "version-manifest.yaml", before: null, after: NEW.manifest },
          { name: "env", file: "versions.env", before: null, after: NEW.env },
        ],
      }),
    );
    expect((await settleTransaction(intentPath(paths.manifest)))?.outcome).toBe("reverted");
    expect(await readdir(work)).toEqual(["version-audit.log"]);
  });

  it("drops the intent when the manifest was changed since, and says versions.env follows it", async () => {
    await writeFile(paths.manifest, "edited by hand\n");
    await writeFile(intentPath(paths.manifest), intent());
    const s = await settleTransaction(intentPath(paths.manifest));
    expect(s?.outcome).toBe("discarded");
    expect(settledLine(s as NonNullable<typeof s>)).toMatch(
      /^dropped .*changed since.*versions\.env is rewritten/,
    );
    expect(await read(paths.manifest)).toBe("edited by hand\n");
    expect(await read(paths.env)).toBe(OLD.env);
    expect(await readdir(work)).not.toContain("version-manifest.yaml.txn");
  });

  it("refuses an intent that names a file outside its directory", async () => {
    await writeFile(
      intentPath(paths.manifest),
      intent({ files: [{ name: "manifest", file: "../elsewhere", before: null, after: "x" }] }),
    );
    await expect(settleTransaction(intentPath(paths.manifest))).rejects.toThrow(/not a file next to it/);
  });

  it("refuses an unreadable intent with one line naming it", async () => {
    await writeFile(intentPath(paths.manifest), "{not json");
    await expect(settleTransaction(intentPath(paths.manifest))).rejects.toThrow(
      new RegExp(`^cannot read the unfinished change in ${intentPath(paths.manifest)}: `),
    );
  });
});

// A file bind-mounted on its own (a common way to hand a container host files) cannot be renamed
// over, and a read-only mount cannot be written at all: both must fail before the manifest moves.
// Needs the privilege to mount; where the test runs without it, there is nothing to mount.
const canMount = (() => {
  const probe = mkdtempSync(path.join(tmpdir(), "dv-mount-"));
  try {
    writeFileSync(path.join(probe, "f"), "");
    execFileSync("mount", ["--bind", path.join(probe, "f"), path.join(probe, "f")], { stdio: "ignore" });
    execFileSync("umount", [path.join(probe, "f")], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
})();

describe.skipIf(!canMount)("a versions.env mounted on its own", () => {
  const source = () => path.join(work, "elsewhere.env");
  const mount = async (...opts: string[]) => {
    await writeFile(source(), OLD.env);
    execFileSync("mount", ["--bind", source(), paths.env]);
    if (opts.length) execFileSync("mount", ["-o", `remount,bind,${opts.join(",")}`, paths.env]);
  };
  afterEach(() => {
    execFileSync("umount", [paths.env], { stdio: "ignore" });
  });

  it.each([[[]], [["ro"]]])("mounted %j: fails before anything changes", async (opts) => {
    await mount(...opts);
    const err = await commitRecord(paths, "version-set", NEW.manifest, NEW.env, [LINE]).catch(
      (e: Error) => e,
    );
    expect((err as Error).message).toMatch(
      new RegExp(`^cannot write ${paths.env}: (it is a file mounted on its own|read-only file system)`),
    );
    expect(await state()).toEqual({ ...oldState, leftovers: [] });
    expect(await readdir(work)).not.toContain(".version-backups");
  });
});
