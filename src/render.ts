// Output for people: aligned tables and colour on a terminal (NO_COLOR respected). Output for
// scripts is JSON and never passes through here.

export interface Out {
  write(text: string): void;
  readonly color: boolean;
}

export function terminalOut(
  stream: NodeJS.WriteStream = process.stdout,
  env: NodeJS.ProcessEnv = process.env,
): Out {
  const color = Boolean(stream.isTTY) && !env.NO_COLOR && env.TERM !== "dumb";
  return { write: (t) => void stream.write(t), color };
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
