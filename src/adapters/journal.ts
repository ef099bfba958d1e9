// Two append-only logs next to the manifest. The audit log says who changed which service from
// what to what (one line per service per change). The update journal lets the next command see
// that an update-safe run was cut short, and where.
import { appendFile, readFile } from "node:fs/promises";
import { hostname, userInfo } from "node:os";
import path from "node:path";
import { UserError } from "../errors.js";

export const AUDIT_FILE = "version-audit.log";
export const JOURNAL_FILE = "version-journal.jsonl";

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
  try {
    // One write per call with O_APPEND: concurrent appenders never interleave inside a line.
    await appendFile(file, text, { encoding: "utf8", flag: "a" });
  } catch (e) {
    throw new UserError(`cannot append to ${file}: ${(e as Error).message}`);
  }
}

export function auditPath(manifestPath: string): string {
  return path.join(path.dirname(manifestPath), AUDIT_FILE);
}

export async function appendAudit(manifestPath: string, lines: readonly AuditLine[]): Promise<void> {
  if (lines.length === 0) return;
  const by = who();
  await append(
    auditPath(manifestPath),
    lines.map((l) => `${l.at}\t${by}\t${l.command}\t${l.service}: ${l.from} → ${l.to}\n`).join(""),
  );
}

export async function readAudit(manifestPath: string): Promise<string[]> {
  try {
    return (await readFile(auditPath(manifestPath), "utf8")).split("\n").filter(Boolean);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw new UserError(`cannot read ${auditPath(manifestPath)}: ${(e as Error).message}`);
  }
}

/** One step of an update-safe run; every entry of a run shares its id. */
export interface JournalEntry {
  id: string;
  at: string;
  step: "begin" | "backed-up" | "pulled" | "recorded" | "recreating" | "health" | "rolling-back" | "end";
  /** Service → version before the update ("tag@digest"), on `begin`. */
  from?: Record<string, string>;
  /** Service → version after, on `recorded`. */
  to?: Record<string, string>;
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
  let text: string;
  try {
    text = await readFile(journalPath(manifestPath), "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw new UserError(`cannot read ${journalPath(manifestPath)}: ${(e as Error).message}`);
  }
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
  return entries.filter((e) => e.id === last.id);
}
