// Update windows: `02:00-05:00` in local time, start included, end excluded; a window whose
// end comes before its start crosses midnight (`22:00-04:00`). Pure code: the clock is passed in.
export interface UpdateWindow {
  /** Minutes after local midnight. */
  start: number;
  end: number;
  text: string;
}

const TIME = /^([01]?\d|2[0-3]):([0-5]\d)$/;

function minutesOf(text: string): number | null {
  const m = TIME.exec(text.trim());
  return m ? Number(m[1]) * 60 + Number(m[2]) : null;
}

/** Parses `HH:MM-HH:MM`; the error says what is wrong, in one line. */
export function parseWindow(text: string): UpdateWindow {
  const parts = text.split("-");
  const start = parts.length === 2 ? minutesOf(parts[0] as string) : null;
  const end = parts.length === 2 ? minutesOf(parts[1] as string) : null;
  if (start === null || end === null)
    throw new Error(
      `'${text}' is not an update window: write it as HH:MM-HH:MM in local time, e.g. 02:00-05:00`,
    );
  if (start === end)
    throw new Error(`'${text}' is not an update window: its start and end are the same time`);
  return { start, end, text: `${hhmm(start)}-${hhmm(end)}` };
}

export function hhmm(minutes: number): string {
  return `${String(Math.floor(minutes / 60)).padStart(2, "0")}:${String(minutes % 60).padStart(2, "0")}`;
}

/** Whether the local time of `now` lies inside the window. */
export function inWindow(window: UpdateWindow, now: Date): boolean {
  const t = now.getHours() * 60 + now.getMinutes();
  return window.start < window.end
    ? t >= window.start && t < window.end
    : t >= window.start || t < window.end;
}

/** Minutes from `now` until the window next opens (0 inside it). */
export function minutesUntil(window: UpdateWindow, now: Date): number {
  if (inWindow(window, now)) return 0;
  const t = now.getHours() * 60 + now.getMinutes();
  return (window.start - t + 24 * 60) % (24 * 60);
}

/** Whether `now` is inside the window, and the line that says so (with when it opens, if not). */
export function windowState(window: UpdateWindow, now: Date): { open: boolean; note: string } {
  const open = inWindow(window, now);
  const local = hhmm(now.getHours() * 60 + now.getMinutes());
  if (open) return { open, note: `inside the update window ${window.text} (local time ${local})` };
  const wait = minutesUntil(window, now);
  return {
    open,
    note: `outside the update window ${window.text} (local time ${local}; it opens in ${Math.floor(wait / 60)}h${String(wait % 60).padStart(2, "0")}m): nothing was changed`,
  };
}
