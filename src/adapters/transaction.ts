// One change of several files as one transaction: every new text is written to a synced temp
// file first (a file that cannot be written fails the change before anything changed), then an
// intent file naming every file's old and new text is synced, then the files are replaced in
// order and the log line appended, then the intent is removed. A crash at any point leaves the
// intent behind, and `settleTransaction` (run under the same lock by the next command) decides
// from what is on disk:
//   - the first file (the commit point: for the record, the manifest) holds its new text: the
//     change happened, so the other files are completed and the log line appended once;
//   - it still holds its old text: the change never happened, so anything written after it is
//     put back (by the order of the writes there is nothing) and the intent dropped;
//   - it holds neither (edited since by hand): the intent is dropped and the caller regenerates
//     what derives from it.
import { open, readFile, rm, stat, truncate } from "node:fs/promises";
import { hostname } from "node:os";
import path from "node:path";
import { UserError } from "../errors.js";
import { faultPoint } from "./fault.js";
import {
  type PreparedWrite,
  prepareAtomic,
  randomHex,
  removeStaleTempsOf,
  syncDir,
  writeAtomic,
} from "./store.js";

export interface TransactionFile {
  /** Names the fault points of this file's write (`record.<name>`). */
  name: string;
  path: string;
  text: string;
}

export interface Transaction {
  /** Where the intent lives; every file of the change is in the same directory. */
  intent: string;
  command: string;
  /** Replaced in this order; the first is the commit point. */
  files: TransactionFile[];
  /** Appended once the files are replaced (an audit log): never twice, never torn. */
  append?: TransactionFile;
  /** Runs after every file is prepared and before the intent (a backup); its result is kept in the intent. */
  before?: () => Promise<string | null>;
  /** The command's clock: when the intent says the change began (default: now). */
  now?: Date;
}

interface Intent {
  id: string;
  command: string;
  pid: number;
  host: string;
  at: string;
  backup: string | null;
  files: { name: string; file: string; before: string | null; after: string }[];
  append: { name: string; file: string; offset: number; text: string } | null;
}

export interface Settled {
  outcome: "completed" | "reverted" | "discarded";
  command: string;
  pid: number;
  at: string;
}

const errCode = (err: unknown) => (err as NodeJS.ErrnoException | null)?.code;

async function readOrNull(file: string): Promise<string | null> {
  try {
    return await readFile(file, "utf8");
  } catch (err) {
    if (errCode(err) === "ENOENT") return null;
    throw new UserError(`cannot read ${file}: ${(err as Error).message}`);
  }
}

/** A file name inside the intent's directory; anything else in an intent is refused. */
function inDir(dir: string, name: string, intent: string): string {
  if (!name || name !== path.basename(name) || name === "." || name === "..")
    throw new UserError(`the unfinished change in ${intent} names '${name}', which is not a file next to it`);
  return path.join(dir, name);
}

/** Fails with one line unless `file` can be appended to (a directory, a read-only file system). */
async function checkAppendable(file: string): Promise<number> {
  const existing = await stat(file).catch(() => null);
  if (existing && !existing.isFile())
    throw new UserError(
      `cannot write ${file}: it is ${existing.isDirectory() ? "a directory" : "not a regular file"}`,
    );
  try {
    await (await open(file, "a")).close();
  } catch (err) {
    throw new UserError(`cannot write ${file}: ${(err as Error).message}`);
  }
  return existing?.size ?? 0;
}

/** Appends `text` at `offset` unless it is already there; completes a torn append. */
async function appendOnce(file: string, offset: number, text: string): Promise<void> {
  const current = Buffer.from((await readOrNull(file)) ?? "", "utf8");
  const wanted = Buffer.from(text, "utf8");
  const tail = current.subarray(offset);
  if (tail.subarray(0, wanted.length).equals(wanted)) return;
  // A crash in the middle of the append left a prefix of it: cut that, then append it whole.
  // (Lines someone else appended after it are kept; ours then go after theirs.)
  if (tail.length > 0 && tail.length < wanted.length && wanted.subarray(0, tail.length).equals(tail))
    await truncate(file, offset);
  const handle = await open(file, "a");
  try {
    await handle.writeFile(wanted);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Applies `t` so that a crash at any point leaves either no change or one that
 * `settleTransaction` finishes. The caller holds the lock that guards these files.
 */
export async function runTransaction(t: Transaction): Promise<string | null> {
  const dir = path.dirname(t.intent);
  for (const f of [...t.files, ...(t.append ? [t.append] : [])])
    if (path.dirname(f.path) !== dir) throw new Error(`${f.path} is not next to ${t.intent}`);
  const prepared: PreparedWrite[] = [];
  let befores: (string | null)[] = [];
  let offset = 0;
  try {
    for (const f of t.files) prepared.push(await prepareAtomic(f.path, f.text));
    if (t.append) offset = await checkAppendable(t.append.path);
    befores = await Promise.all(t.files.map((f) => readOrNull(f.path)));
  } catch (err) {
    await Promise.all(prepared.map((p) => p.discard()));
    throw err;
  }
  faultPoint("record.prepared");
  let backup: string | null = null;
  try {
    backup = (await t.before?.()) ?? null;
    const intent: Intent = {
      id: randomHex(6),
      command: t.command,
      pid: process.pid,
      host: hostname(),
      at: (t.now ?? new Date()).toISOString(),
      backup,
      files: t.files.map((f, i) => ({
        name: f.name,
        file: path.basename(f.path),
        before: befores[i] ?? null,
        after: f.text,
      })),
      append: t.append
        ? { name: t.append.name, file: path.basename(t.append.path), offset, text: t.append.text }
        : null,
    };
    await writeAtomic(t.intent, `${JSON.stringify(intent)}\n`);
  } catch (err) {
    await Promise.all(prepared.map((p) => p.discard()));
    throw err;
  }
  faultPoint("record.intent");
  // From here on a failure leaves the intent for the next command to settle.
  for (const [i, p] of prepared.entries()) {
    await p.commit();
    faultPoint(`record.${t.files[i]?.name}`);
  }
  if (t.append) {
    await appendOnce(t.append.path, offset, t.append.text).catch((err: unknown) => {
      throw new UserError(`cannot append to ${t.append?.path}: ${(err as Error).message}`);
    });
    faultPoint(`record.${t.append.name}`);
  }
  await rm(t.intent, { force: true });
  await syncDir(dir);
  return backup;
}

/**
 * Finishes or undoes the change an interrupted `runTransaction` left in `intentPath`, by the rule
 * at the top of this file; null when there is none. The caller holds the files' lock.
 */
export async function settleTransaction(intentPath: string): Promise<Settled | null> {
  const raw = await readOrNull(intentPath);
  if (raw === null) return null;
  const dir = path.dirname(intentPath);
  let intent: Intent;
  try {
    intent = JSON.parse(raw) as Intent;
    if (!Array.isArray(intent.files) || intent.files.length === 0) throw new Error("no files");
  } catch {
    throw new UserError(
      `cannot read the unfinished change in ${intentPath}: restore the manifest from .version-backups/ if needed, then remove that file`,
    );
  }
  const files = intent.files.map((f) => ({ ...f, path: inDir(dir, f.file, intentPath) }));
  const first = files[0] as (typeof files)[number];
  const now = await readOrNull(first.path);
  let outcome: Settled["outcome"];
  if (now === first.after) {
    outcome = "completed";
    for (const f of files) if ((await readOrNull(f.path)) !== f.after) await writeAtomic(f.path, f.after);
    if (intent.append)
      await appendOnce(inDir(dir, intent.append.file, intentPath), intent.append.offset, intent.append.text);
  } else if (now === first.before) {
    outcome = "reverted";
    for (const f of files.slice(1)) {
      if (f.before === f.after || (await readOrNull(f.path)) !== f.after) continue;
      if (f.before === null) await rm(f.path, { force: true });
      else await writeAtomic(f.path, f.before);
    }
  } else outcome = "discarded";
  for (const f of files) await removeStaleTempsOf(f.path);
  await rm(intentPath, { force: true });
  await syncDir(dir);
  return { outcome, command: String(intent.command), pid: Number(intent.pid), at: String(intent.at) };
}
