// When a scheduled job runs, written once and rendered for both schedulers: a systemd timer's
// OnCalendar= and a crontab entry's five fields. Also the unit files, the crontab block that
// marks what docker-versions installed, and the shell quoting of the command line it schedules.
// Pure code.
import { printable } from "./shown-text.js";

/** Minute and hour, on some weekdays (0 = Sunday) or every day; `hour` null means every hour. */
export interface When {
  days: number[] | null;
  hour: number | null;
  minute: number;
  text: string;
}

const DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
const DAY_NAMES = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

function dayOf(text: string): number | null {
  const i = DAYS.indexOf(text.slice(0, 3).toLowerCase());
  const full = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"];
  return i >= 0 && (text.length === 3 || full[i] === text.toLowerCase()) ? i : null;
}

function daysOf(text: string): number[] | null {
  const out = new Set<number>();
  for (const part of text.split(",")) {
    const range = /^([a-z]+)(?:(?:\.\.|-)([a-z]+))?$/i.exec(part);
    const from = range ? dayOf(range[1] as string) : null;
    const to = range?.[2] ? dayOf(range[2]) : from;
    if (from === null || to === null) return null;
    // Fri..Mon wraps over the weekend, as one would say it.
    for (let d = from; ; d = (d + 1) % 7) {
      out.add(d);
      if (d === to) break;
    }
  }
  return [...out].sort((a, b) => a - b);
}

/**
 * `hourly`, `daily` (00:00), `weekly` (Monday 00:00), `HH:MM` (every day), or weekdays and a
 * time: `Sun 03:00`, `Mon,Thu 02:30`, `Mon..Fri 06:00`. The error says what is accepted.
 */
export function parseWhen(text: string): When {
  const t = text.trim().replace(/\s+/g, " ");
  if (t === "hourly") return { days: null, hour: null, minute: 0, text: t };
  if (t === "daily") return { days: null, hour: 0, minute: 0, text: t };
  if (t === "weekly") return { days: [1], hour: 0, minute: 0, text: t };
  const m = /^(?:([a-z.,-]+) )?([01]?\d|2[0-3]):([0-5]\d)$/i.exec(t);
  const days = m?.[1] ? daysOf(m[1]) : null;
  if (!m || (m[1] && !days))
    throw new Error(
      `'${text}' is not a schedule: use hourly, daily, weekly, HH:MM, or weekdays and a time ('Sun 03:00', 'Mon..Fri 06:00')`,
    );
  return { days: days && days.length === 7 ? null : days, hour: Number(m[2]), minute: Number(m[3]), text: t };
}

const two = (n: number) => String(n).padStart(2, "0");

/** systemd's OnCalendar= value: `Sun *-*-* 03:00:00`, `*-*-* *:00:00`. */
export function onCalendar(w: When): string {
  const days = w.days ? `${w.days.map((d) => DAY_NAMES[d]).join(",")} ` : "";
  return `${days}*-*-* ${w.hour === null ? "*" : two(w.hour)}:${two(w.minute)}:00`;
}

/** The five time fields of a crontab line: `0 3 * * 0`. */
export function cronFields(w: When): string {
  return `${w.minute} ${w.hour === null ? "*" : w.hour} * * ${w.days ? w.days.join(",") : "*"}`;
}

/** A word for a POSIX shell: bare when it is safe, else in single quotes. */
export function shellWord(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The command line an operator could paste into a shell: `cd DIR && [VAR=value …] docker …`. */
export function commandLine(cwd: string, argv: readonly string[], env: Record<string, string> = {}): string {
  const vars = Object.entries(env).map(([k, v]) => `${k}=${shellWord(v)} `);
  return `cd ${shellWord(cwd)} && ${vars.join("")}${argv.map(shellWord).join(" ")}`;
}

/** One job of a schedule: what runs, when, and its name among the project's jobs. */
export interface Job {
  /** `check` or `update`: part of the unit names and the crontab comments. */
  name: string;
  when: When;
  argv: string[];
  describe: string;
}

export interface ScheduleSpec {
  /** A name for the project safe in unit and file names. */
  slug: string;
  project: string;
  cwd: string;
  jobs: Job[];
  /** Environment the jobs need (DOCKER_CONFIG and the like), the same for every job. */
  env: Record<string, string>;
}

/** `dv-<letters>`: the project name made safe for a unit name. */
export function slugOf(project: string): string {
  return project.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 64) || "project";
}

export const unitBase = (slug: string, job: string) => `docker-versions-${slug}-${job}`;

// systemd: `%` starts a specifier everywhere; quoted words take C escapes; only Exec lines
// expand `$VAR`, so `$` is doubled there alone. A path setting takes the rest of the line as is.
const specifiers = (s: string) => s.replace(/%/g, "%%");
const quoted = (word: string) => `"${specifiers(word.replace(/\\/g, "\\\\").replace(/"/g, '\\"'))}"`;
const execWord = (word: string) => quoted(word).replace(/\$/g, "$$$$");

/** The .service and .timer files of each job, by file name. */
export function unitFiles(spec: ScheduleSpec): Map<string, string> {
  const files = new Map<string, string>();
  for (const job of spec.jobs) {
    const base = unitBase(spec.slug, job.name);
    const env = Object.entries(spec.env).map(([k, v]) => `Environment=${quoted(`${k}=${v}`)}\n`);
    files.set(
      `${base}.service`,
      [
        "# Installed by docker versions schedule install; removed by docker versions schedule remove.\n",
        "[Unit]\n",
        `Description=docker-versions: ${job.describe} (${spec.project.replace(/%/g, "%%")})\n`,
        "Wants=network-online.target\n",
        "After=network-online.target docker.service\n",
        "\n[Service]\n",
        "Type=oneshot\n",
        `WorkingDirectory=${specifiers(spec.cwd)}\n`,
        ...env,
        `ExecStart=${job.argv.map(execWord).join(" ")}\n`,
      ].join(""),
    );
    files.set(
      `${base}.timer`,
      [
        "# Installed by docker versions schedule install; removed by docker versions schedule remove.\n",
        "[Unit]\n",
        `Description=docker-versions: ${job.describe} (${spec.project.replace(/%/g, "%%")}), ${job.when.text}\n`,
        "\n[Timer]\n",
        `OnCalendar=${onCalendar(job.when)}\n`,
        // A check missed while the host was off runs at the next boot.
        "Persistent=true\n",
        "\n[Install]\n",
        "WantedBy=timers.target\n",
      ].join(""),
    );
  }
  return files;
}

const BEGIN = "# BEGIN docker-versions schedule";
const END = "# END docker-versions schedule";

/** The crontab lines for a schedule, between markers that name the project's manifest. */
export function crontabBlock(spec: ScheduleSpec, id: string): string {
  const lines = spec.jobs.map((job) => {
    // cron turns an unescaped % into a newline.
    const line = `${cronFields(job.when)} ${commandLine(spec.cwd, job.argv, spec.env)}`.replace(/%/g, "\\%");
    return `# ${job.describe}, ${job.when.text}\n${line}\n`;
  });
  return `${BEGIN} ${id}\n${lines.join("")}${END} ${id}\n`;
}

function blockRange(crontab: string, id: string): { lines: string[]; begin: number; end: number } | null {
  const lines = crontab.split(/(?<=\n)/);
  const begin = lines.indexOf(`${BEGIN} ${id}\n`);
  const end = begin < 0 ? -1 : lines.indexOf(`${END} ${id}\n`, begin);
  return begin < 0 || end < 0 ? null : { lines, begin, end };
}

/** `crontab` with the block for `id` removed (exactly its lines), and whether there was one. */
export function withoutBlock(crontab: string, id: string): { text: string; found: boolean } {
  const r = blockRange(crontab, id);
  if (!r) return { text: crontab, found: false };
  return { text: [...r.lines.slice(0, r.begin), ...r.lines.slice(r.end + 1)].join(""), found: true };
}

/** `crontab` with the block for `id` in place of any older one (appended when new). */
export function withBlock(crontab: string, id: string, block: string): string {
  const { text } = withoutBlock(crontab, id);
  const base = text === "" || text.endsWith("\n") ? text : `${text}\n`;
  return base + block;
}

/** The block for `id` as it is in `crontab`, or null. */
export function blockIn(crontab: string, id: string): string | null {
  const r = blockRange(crontab, id);
  return r ? r.lines.slice(r.begin, r.end + 1).join("") : null;
}

/** Throws when a word of the schedule cannot be written into a unit file or a crontab line. */
export function checkSchedulable(spec: ScheduleSpec): void {
  const words = [
    spec.cwd,
    spec.project,
    ...Object.entries(spec.env).flat(),
    ...spec.jobs.flatMap((j) => j.argv),
  ];
  // A line break or another control character would end or corrupt a crontab line or a unit setting.
  const bad = words.find((w) => printable(w) !== w);
  if (bad !== undefined)
    throw new Error(
      `cannot schedule a command with a control character (a line break, a tab) in '${printable(bad)}'`,
    );
}
