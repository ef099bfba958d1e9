// Two append-only logs next to the manifest. The audit log says who changed which service from
// what to what (one line per service per change). The update journal lets the next command see
// that an update-safe run was cut short, and where.
import { hostname, userInfo } from "node:os";
import path from "node:path";
import { withoutUserinfo } from "../core/shown-text.js";
import { appendOwned, readOwned } from "./owned-files.js";
import { type LockHolder, lockHolder } from "./store.js";

export const AUDIT_FILE = "version-audit.log";
export const JOURNAL_FILE = "version-journal.jsonl";
// Both grow by a few hundred bytes per change; far past these sizes a file is not ours.
const MAX_AUDIT_BYTES = 32 * 1024 * 1024;
const MAX_JOURNAL_BYTES = 32 * 1024 * 1024;

export interface AuditLine {
  at: string;
  command: string;
  service: string;
  from: string;
  to: string;
}

function who(env: NodeJS.ProcessEnv = process.env): string {
  let user = env.SUDO_USER || env.USER || "";
  try {
    user ||= userInfo().username;
  } catch {
    user ||= String(process.getuid?.() ?? "?");
  }
  return `${user}@${hostname()}`;
}

async function append(file: string, text: string): Promise<void> {
  // One write per call with O_APPEND: concurrent appenders never interleave inside a line.
  // No URL keeps its userinfo here: these files are read by anyone who reads the project.
  appendOwned(file, withoutUserinfo(text));
}

export function auditPath(manifestPath: string): string {
  return path.join(path.dirname(manifestPath), AUDIT_FILE);
}

/** The audit log's text for `lines`: one line per service, tab-separated, signed by the user. */
export function auditText(lines: readonly AuditLine[]): string {
  const by = who();
  // No URL keeps its userinfo here: the audit log is read by anyone who reads the project.
  return withoutUserinfo(
    lines.map((l) => `${l.at}\t${by}\t${l.command}\t${l.service}: ${l.from} → ${l.to}\n`).join(""),
  );
}

export async function appendAudit(manifestPath: string, lines: readonly AuditLine[]): Promise<void> {
  if (lines.length === 0) return;
  await append(auditPath(manifestPath), auditText(lines));
}

export async function readAudit(manifestPath: string): Promise<string[]> {
  return (readOwned(auditPath(manifestPath), MAX_AUDIT_BYTES) ?? "").split("\n").filter(Boolean);
}

/** One step of a run (update-safe, pull-latest, a rollback…); every entry of a run shares its id. */
export interface JournalEntry {
  id: string;
  at: string;
  /** The command that runs it, on `begin` (older journals: update-safe). */
  command?: string;
  /** Its plan, one line per step, on `begin`. */
  plan?: string[];
  /** The services its plan recreates, on `begin` (none: only the record changes). */
  recreates?: string[];
  step:
    | "begin"
    | "backed-up"
    | "pulled"
    | "recording"
    | "recorded"
    | "recreating"
    | "health"
    | "rolling-back"
    | "end";
  /** Service → version before the update ("tag@digest"), on `begin`. */
  from?: Record<string, string>;
  /** Service → version after, on `recording` (before the record changes) and `recorded`. */
  to?: Record<string, string>;
  /** The process that runs the update, on `begin`. */
  pid?: number;
  services?: string[];
  backup?: string | null;
  outcome?: "updated" | "nothing-to-do" | "rolled-back" | "failed" | "abandoned" | "superseded";
  detail?: string;
}

/** What a service touched by an unfinished update-safe run should do next. */
export const RESUME_NEXT =
  "docker versions update-safe --resume (an update-safe run did not finish; or: docker versions rollback)";

/** The services an unfinished run touched: those it began with and those it was recreating. */
export function touchedServices(entries: readonly JournalEntry[]): Set<string> {
  return new Set(entries.flatMap((e) => [...(e.services ?? []), ...Object.keys(e.from ?? {})]));
}

export function journalPath(manifestPath: string): string {
  return path.join(path.dirname(manifestPath), JOURNAL_FILE);
}

export async function appendJournal(manifestPath: string, entry: JournalEntry): Promise<void> {
  await append(journalPath(manifestPath), `${JSON.stringify(entry)}\n`);
}

/** The entries of the newest run when it has no `end`: an update that was interrupted. */
export async function unfinishedRun(manifestPath: string): Promise<JournalEntry[] | null> {
  const text = readOwned(journalPath(manifestPath), MAX_JOURNAL_BYTES);
  if (text === null) return null;
  const entries: JournalEntry[] = [];
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    try {
      entries.push(JSON.parse(line) as JournalEntry);
    } catch {
      // a line torn by a crash mid-append says nothing reliable; the entries around it still do
    }
  }
  const last = entries[entries.length - 1];
  if (!last || last.step === "end") return null;
  const run = entries.filter((e) => e.id === last.id);
  return recordOnly(run[0]) ? null : run;
}

/**
 * A run that only changes the record (pull-latest, version-pull or a rollback without --apply):
 * cut short, the record transaction alone says what became of it (the next command settles it
 * and says so), and nothing runs another version, so it is no unfinished run to finish.
 */
function recordOnly(begin: JournalEntry | undefined): boolean {
  return Boolean(begin?.command && begin.command !== "update-safe" && !begin.recreates?.length);
}

/** What the journal and the lock say of a run: one in progress, or one cut short. */
export interface UpdateState {
  /** A live run holds the manifest's lock (it does for its whole run). */
  live: LockHolder | null;
  /** The newest run's entries when it has no end and no live process runs it. */
  interrupted: JournalEntry[] | null;
}

export async function updateState(manifestPath: string): Promise<UpdateState> {
  const holder = lockHolder(manifestPath);
  const open = await unfinishedRun(manifestPath);
  // A run still open in the journal is in progress while its process holds the lock.
  if (holder?.alive && (holder.command === "update-safe" || open?.[0]?.pid === holder.pid))
    return { live: holder, interrupted: null };
  return { live: null, interrupted: open };
}

/** "tag@digest" (as the journal writes versions) back into its parts; null for "(untracked)". */
export function parseVersion(text: string | undefined): { tag: string; digest?: string } | null {
  if (!text || text === "(untracked)") return null;
  const at = text.indexOf("@");
  return at < 0 ? { tag: text } : { tag: text.slice(0, at), digest: text.slice(at + 1) };
}
