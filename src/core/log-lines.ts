// The lines of the captured logs, as pure rules: what Compose prints (`docker compose logs
// --timestamps`), how the capture writes a line and reads it back, which lines were written
// already, what counts as a database error line, and what `--since` means. No I/O here; the
// capture process and the files are in src/adapters/logs.ts.

/** The hidden command the capture process runs. */
export const CAPTURE_COMMAND = "__capture-logs";
/** Directory names of the two captures. */
export type CaptureKind = "app" | "db";
export const CAPTURE_KINDS: readonly CaptureKind[] = ["db", "app"];

const two = (n: number) => String(n).padStart(2, "0");

/** The local calendar day of a date, as the captured files are named: 2026-01-12. */
export function dayOf(d: Date): string {
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}`;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: Compose clears the line even without colour
const ANSI = /\u001b\[[0-9;?]*[A-Za-z]/g;
/** Text without terminal escape sequences. */
export const stripAnsi = (text: string): string => text.replace(ANSI, "");

const TIMESTAMP = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z(?: |$)/;

/** RFC 3339 UTC with exactly nine fraction digits, so timestamps compare as strings. */
export function normalTimestamp(ts: string): string | undefined {
  const m = TIMESTAMP.exec(ts.endsWith(" ") ? ts : `${ts} `);
  if (!m) return undefined;
  return `${m[1]}.${(m[2] ?? "").padEnd(9, "0")}Z`;
}

export const isoNano = (d: Date): string => normalTimestamp(d.toISOString()) as string;

export interface ComposeLine {
  /** Container as Compose prefixes it ("db-1"); for Compose's own notices, the one it names. */
  container: string;
  /** The container's timestamp, normalised; absent on Compose's own notices. */
  ts?: string;
  text: string;
  /** Compose's own line ("db-1 exited with code 137"), not the container's output. */
  notice: boolean;
}

/** One line of `docker compose logs --timestamps --no-color`. */
export function parseComposeLine(raw: string): ComposeLine | null {
  const line = raw.replace(ANSI, "").replace(/\r$/, "");
  if (!line.trim()) return null;
  const m = /^(\S+)\s+\| ?(.*)$/.exec(line);
  if (m) {
    const rest = m[2] as string;
    const t = TIMESTAMP.exec(rest);
    if (t) {
      return {
        container: m[1] as string,
        ts: normalTimestamp(t[0].trimEnd()),
        text: rest.slice(t[0].length),
        notice: false,
      };
    }
    return { container: m[1] as string, text: rest, notice: false };
  }
  const first = line.split(" ", 1)[0] as string;
  return { container: first, text: line.slice(first.length + 1), notice: true };
}

/** A line as the capture writes it: `<timestamp> <container> | <text>` (`*` for Compose's notices). */
export function formatCaptured(line: ComposeLine, fallbackTs: string): string {
  return `${line.ts ?? fallbackTs} ${line.container} ${line.notice ? "*" : "|"} ${line.text}`;
}

export interface CapturedLine {
  ts: string;
  container: string;
  /** The compose service: the container name without its replica number. */
  service: string;
  text: string;
  notice: boolean;
  raw: string;
}

/** Reads back one line of a captured file. */
export function parseCaptured(raw: string): CapturedLine | null {
  const m = /^(\S+) (\S+) ([|*]) ?(.*)$/.exec(raw);
  if (!m) return null;
  const ts = normalTimestamp(m[1] as string);
  if (!ts) return null;
  const container = m[2] as string;
  return {
    ts,
    container,
    service: container.replace(/-\d+$/, ""),
    text: m[4] as string,
    notice: m[3] === "*",
    raw,
  };
}

/**
 * Which container lines were written already. A high-water mark per container, and the exact
 * timestamps of the last few minutes below it: Compose attaches late to a restarted container
 * and can deliver its first lines after later ones, so "older than the newest" is not "seen".
 */
export class SeenLines {
  readonly #last = new Map<string, string>();
  readonly #recent = new Map<string, Set<string>>();

  constructor(readonly windowMs = 5 * 60_000) {}

  #cutoff(ts: string): string {
    return isoNano(new Date(Date.parse(ts) - this.windowMs));
  }

  /** True the first time a container's line with this timestamp is offered. */
  fresh(container: string, ts: string): boolean {
    const last = this.#last.get(container);
    if (last && ts <= this.#cutoff(last)) return false;
    let recent = this.#recent.get(container);
    if (!recent) {
      recent = new Set();
      this.#recent.set(container, recent);
    }
    if (recent.has(ts)) return false;
    recent.add(ts);
    if (!last || ts > last) {
      this.#last.set(container, ts);
      if (recent.size > 2_000) {
        const cutoff = this.#cutoff(ts);
        for (const t of recent) if (t <= cutoff) recent.delete(t);
      }
    }
    return true;
  }

  /** Where following from scratch should start: the oldest container's newest line. */
  oldest(): string | undefined {
    return [...this.#last.values()].sort()[0];
  }

  /** What a file already holds (its container lines; Compose's notices are not counted). */
  static fromCaptured(text: string, windowMs?: number): SeenLines {
    const seen = new SeenLines(windowMs);
    for (const raw of text.split("\n")) {
      const l = parseCaptured(raw);
      if (l && !l.notice) seen.fresh(l.container, l.ts);
    }
    return seen;
  }
}

// What a database says when it is in real trouble (ordinary query errors are left out).
const ERROR_LINE =
  /\b(?:fatal|panic|oom|oom[- ]?kill(?:ed|er)?)\b|out ?of ?memory|cannot allocate memory|killed process|segmentation fault|core dumped/i;

/** Whether a captured line speaks of a fatal error, a panic or memory exhaustion. */
export function isErrorLine(text: string): boolean {
  return ERROR_LINE.test(text);
}

const UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `--since`: a duration back from now (90s, 30m, 2h, 1d, 1h30m) or a date-time; undefined if neither. */
export function parseSince(text: string, now: Date): Date | undefined {
  const t = text.trim();
  if (/^(\d+[smhd])+$/.test(t)) {
    let ms = 0;
    for (const [, n, unit] of t.matchAll(/(\d+)([smhd])/g)) ms += Number(n) * (UNITS[unit as string] ?? 0);
    return new Date(now.getTime() - ms);
  }
  if (!/^\d{4}-\d\d-\d\d/.test(t)) return undefined;
  const d = new Date(t);
  return Number.isNaN(d.getTime()) ? undefined : d;
}
