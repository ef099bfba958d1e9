// How the record writes a moment: UTC to the second, e.g. 2026-11-25T12:29:08Z. Pure code.

export function recordTime(d: Date): string {
  return `${d.toISOString().slice(0, 19)}Z`;
}
