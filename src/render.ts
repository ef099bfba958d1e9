// Output for people: aligned tables and colour on a terminal (NO_COLOR respected). Output for
// scripts is JSON and never passes through here.
import { printable, shown } from "./core/shown-text.js";

export interface Out {
  write(text: string): void;
  readonly color: boolean;
}

export function terminalOut(
  stream: NodeJS.WriteStream = process.stdout,
  env: NodeJS.ProcessEnv = process.env,
): Out {
  const color = Boolean(stream.isTTY) && !env.NO_COLOR && env.TERM !== "dumb";
  return { write: (t) => void stream.write(safeOutput(t)), color };
}

// Our own colour codes (SGR), line breaks and tabs (the audit log's columns) pass; any other
// control character in what is printed (a name with ESC or CR in it, from a file or the command
// line) is shown escaped.
// biome-ignore lint/suspicious/noControlCharactersInRegex: the point is to find control characters
const SGR_OR_TEXT = /(\u001b\[[0-9;]*m)|([^\u001b]+|\u001b)/g;

export function safeOutput(text: string): string {
  return text.replace(
    SGR_OR_TEXT,
    (_, sgr: string | undefined, other: string | undefined) =>
      sgr ??
      (other ?? "")
        .split("\n")
        .map((line) => line.split("\t").map(printable).join("\t"))
        .join("\n"),
  );
}

/** One warning line on stderr: no secrets, no control characters, bounded. */
export function warn(text: string): void {
  process.stderr.write(`warning: ${shown(text)}\n`);
}

const CODES = { red: 31, green: 32, yellow: 33, blue: 34, dim: 2, bold: 1 } as const;
export type Colour = keyof typeof CODES;

export function paint(out: Out, colour: Colour, text: string): string {
  return out.color ? `\u001b[${CODES[colour]}m${text}\u001b[0m` : text;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching ANSI colour codes is the point
const ANSI = /\u001b\[[0-9;]*m/g;
const visible = (s: string) => s.replace(ANSI, "").length;

/** Rows of cells, padded into columns; the last column is not padded. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [headers, ...rows];
  const widths = headers.map((_, i) => Math.max(...all.map((r) => visible(r[i] ?? ""))));
  return all
    .map((r) =>
      r
        .map((cell, i) => (i === r.length - 1 ? cell : cell + " ".repeat((widths[i] ?? 0) - visible(cell))))
        .join("   ")
        .trimEnd(),
    )
    .join("\n")
    .concat("\n");
}

export function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}
