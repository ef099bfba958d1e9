// The flags a command accepts, read from its yargs builder by recording the calls it makes.
// Help, completion and the usage messages all read this one model, so they cannot disagree
// with what the parser accepts.
import type { Argv } from "yargs";

export interface FlagSpec {
  /** Long name as typed after `--`. */
  name: string;
  /** One-letter alias, typed after `-`. */
  short?: string;
  type: "boolean" | "string" | "number";
  describe: string;
  required: boolean;
  default?: unknown;
  choices?: readonly string[];
  /** Repeatable (`-f a.yml -f b.yml`). */
  array: boolean;
}

export interface PositionalSpec {
  name: string;
  describe?: string;
  choices?: readonly string[];
}

export interface CommandSpec {
  flags: FlagSpec[];
  positionals: PositionalSpec[];
}

interface OptionLike {
  alias?: string | readonly string[];
  type?: string;
  describe?: string;
  demandOption?: boolean | string;
  default?: unknown;
  choices?: readonly unknown[];
  array?: boolean;
}

/** Runs `builder` against a stand-in that records options instead of parsing anything. */
export function recordSpec(builder: ((y: Argv) => unknown) | undefined): CommandSpec {
  const spec: CommandSpec = { flags: [], positionals: [] };
  const option = (name: string, o: OptionLike = {}) => {
    const aliases = o.alias === undefined ? [] : typeof o.alias === "string" ? [o.alias] : [...o.alias];
    spec.flags.push({
      name,
      short: aliases.find((a) => a.length === 1),
      type: o.type === "boolean" || o.type === "number" ? o.type : "string",
      describe: o.describe ?? "",
      required: Boolean(o.demandOption),
      default: o.default,
      choices: o.choices?.map(String),
      array: Boolean(o.array),
    });
  };
  const recorder: Record<string, unknown> = {
    option,
    options(all: Record<string, OptionLike>) {
      for (const [name, o] of Object.entries(all)) option(name, o);
      return proxy;
    },
    positional(name: string, o: OptionLike = {}) {
      spec.positionals.push({ name, describe: o.describe, choices: o.choices?.map(String) });
      return proxy;
    },
  };
  // Anything else a builder calls (example, check, …) does not change the flags: chain on.
  const proxy: unknown = new Proxy(recorder, {
    get: (target, prop: string) =>
      prop in target
        ? (...a: unknown[]) => {
            (target[prop] as (...x: unknown[]) => unknown)(...a);
            return proxy;
          }
        : () => proxy,
  });
  builder?.(proxy as Argv);
  return spec;
}

/** The flag a typed word names (`--service`, `--service=x`, `-f`, `--no-wait`), if any. */
export function flagFor(word: string, flags: readonly FlagSpec[]): FlagSpec | undefined {
  if (!word.startsWith("-") || word === "-" || word === "--") return undefined;
  const name = word.replace(/^--?/, "").split("=")[0] ?? "";
  if (!word.startsWith("--")) return flags.find((f) => f.short === name);
  return (
    flags.find((f) => f.name === name) ?? flags.find((f) => f.type === "boolean" && `no-${f.name}` === name)
  );
}

/** Whether the word after this one is the flag's value (`--service db`, not `--service=db`). */
export function takesValue(word: string, flags: readonly FlagSpec[]): boolean {
  const f = flagFor(word, flags);
  return f !== undefined && f.type !== "boolean" && !word.includes("=");
}
