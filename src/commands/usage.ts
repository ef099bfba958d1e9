// What the words typed mean before any command runs: which help to show (`help`, `--help`,
// `help COMMAND`), and parser complaints rewritten the way Docker words them, flags with
// their dashes, in one line.
import type { Command } from "./command.js";
import { type FlagSpec, flagFor, recordSpec, takesValue } from "./flags.js";

export type Route =
  | { kind: "top-help" }
  | { kind: "command-help"; cmd: Command }
  | { kind: "version" }
  | { kind: "unknown-command"; word: string };

/** The command a name or alias names. */
export function findCommand(commands: readonly Command[], name: string | undefined): Command | undefined {
  if (name === undefined) return undefined;
  return commands.find((c) => c.name === name || c.aliases?.includes(name));
}

/** The command `args` name (their first word that is no flag nor a global flag's value), if any. */
export function namedCommand(
  args: readonly string[],
  commands: readonly Command[],
  globals: readonly FlagSpec[],
): Command | undefined {
  return findCommand(commands, positionalWords(args, globals)[0]);
}

/** The words that are neither flags nor the values of global flags, with their positions. */
function positionalWords(args: readonly string[], globals: readonly FlagSpec[]): string[] {
  const words: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === "--") break;
    if (a.startsWith("-")) {
      if (takesValue(a, globals)) i++;
      continue;
    }
    words.push(a);
  }
  return words;
}

/**
 * Help and version requests, decided before the parser: `help [COMMAND]`, `COMMAND --help`,
 * `--help`, `--version`. Null when the words are a command to run.
 */
export function route(
  args: readonly string[],
  commands: readonly Command[],
  globals: readonly FlagSpec[],
): Route | null {
  const end = args.indexOf("--");
  const flags = (end < 0 ? args : args.slice(0, end)).filter((a) => a.startsWith("-"));
  const wantsHelp = flags.includes("--help") || flags.includes("-h");
  const [first, second] = positionalWords(args, globals);
  if (first === undefined) {
    if (wantsHelp || args.length === 0) return { kind: "top-help" };
    // Global options and no command: the parser says what is missing.
    return flags.includes("--version") ? { kind: "version" } : null;
  }
  if (first === "help") {
    if (second === undefined) return { kind: "top-help" };
    const cmd = findCommand(commands, second);
    return cmd ? { kind: "command-help", cmd } : { kind: "unknown-command", word: second };
  }
  const cmd = findCommand(commands, first);
  if (wantsHelp) return cmd ? { kind: "command-help", cmd } : { kind: "unknown-command", word: first };
  return null;
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const here = row[j] as number;
      row[j] = Math.min(here + 1, (row[j - 1] as number) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = here;
    }
  }
  return row[b.length] as number;
}

// Answered before the parser (see route), on every command.
const ANSWERED = new Set(["--help", "-h", "--version"]);

/**
 * The first flag that neither the command nor the global options know, in Docker's words, or
 * null. Checked before the parser, which would take `-x status` as -x's value.
 */
export function unknownFlag(
  args: readonly string[],
  commands: readonly Command[],
  globals: readonly FlagSpec[],
): string | null {
  const cmd = findCommand(commands, positionalWords(args, globals)[0]);
  const flags = [...globals, ...recordSpec(cmd?.builder).flags];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === "--") break;
    if (!a.startsWith("-") || a === "-") continue;
    if (takesValue(a, flags)) {
      i++;
      continue;
    }
    if (flagFor(a, flags) || ANSWERED.has(a)) continue;
    // -fcompose.yaml: a one-letter flag with its value attached
    if (/^-[a-zA-Z][^=]/.test(a) && flags.some((f) => f.short === a[1] && f.type !== "boolean")) continue;
    // -vq: a cluster of one-letter boolean flags
    const letters = a.startsWith("--") ? [] : [...a.slice(1)];
    if (letters.length > 1 && letters.every((l) => flags.some((f) => f.short === l && f.type === "boolean")))
      continue;
    const see = cmd ? ` (see 'docker versions ${cmd.name} --help')` : " (see 'docker versions --help')";
    return `unknown flag: ${a.split("=")[0]}${see}`;
  }
  return null;
}

/** `unknown command 'x'`, with the nearest command name when one is near. */
export function unknownCommand(word: string, commands: readonly Command[]): string {
  const names = commands.flatMap((c) => [c.name, ...(c.aliases ?? [])]);
  const near = names
    .map((n) => ({ n, d: n.startsWith(word) && word.length >= 3 ? 0 : distance(word, n) }))
    .filter((x) => x.d <= Math.max(1, Math.floor(word.length / 3)))
    .sort((a, b) => a.d - b.d)[0];
  return `unknown command '${word}' for 'docker versions'${near ? `: did you mean '${near.n}'?` : ""} (docker versions --help lists them)`;
}

/** How a flag the parser named by its key was typed: `--jsn`, `-j`, `--service`. */
function asTyped(key: string, args: readonly string[], flags: readonly FlagSpec[]): string {
  const typed = args.find((a) => a.startsWith("-") && a.replace(/^--?/, "").split("=")[0] === key);
  if (typed) return typed.split("=")[0] as string;
  const f = flags.find((x) => x.name === key || x.short === key);
  return f ? `--${f.name}` : key.length === 1 ? `-${key}` : `--${key}`;
}

/** The list after the parser's colon: `a, b` (one name each). */
function namesIn(msg: string): string[] {
  return (msg.slice(msg.indexOf(":") + 1) || "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

/**
 * The parser's complaint (yargs' wording) as one line that reads like Docker's: flags keep
 * their dashes and are called flags; a suggestion names the help to read.
 */
export function usageMessage(
  msg: string,
  args: readonly string[],
  commands: readonly Command[],
  globals: readonly FlagSpec[],
): string {
  const name = positionalWords(args, globals)[0];
  const cmd = findCommand(commands, name);
  const flags = [...globals, ...recordSpec(cmd?.builder).flags];
  const see = cmd ? ` (see 'docker versions ${cmd.name} --help')` : " (see 'docker versions --help')";
  if (
    /^Did you mean|^Unknown command/.test(msg) ||
    (!cmd && name !== undefined && /^Unknown argument/.test(msg))
  )
    return unknownCommand(name ?? "", commands);
  if (/^Unknown arguments?:/.test(msg)) {
    const keys = namesIn(msg);
    // yargs also lists the camelCase twin of a dashed name (foo-bar, fooBar): report what was typed.
    const typedFlag = keys
      .map((k) => args.find((a) => a.startsWith("-") && a.replace(/^--?/, "").split("=")[0] === k))
      .find(Boolean);
    if (typedFlag) return `unknown flag: ${typedFlag.split("=")[0]}${see}`;
    const extra = keys.find((k) => args.includes(k)) ?? keys[0] ?? "";
    return `'docker versions ${cmd?.name ?? ""}' accepts no argument '${extra}'${see}`;
  }
  if (/^Missing required arguments?:/.test(msg)) {
    const missing = namesIn(msg).map((k) => asTyped(k, args, flags));
    return `required flag${missing.length > 1 ? "s" : ""} not set: ${missing.join(", ")}${see}`;
  }
  if (/^Not enough arguments following:/.test(msg))
    return `flag needs an argument: ${asTyped(namesIn(msg)[0] ?? "", args, flags)}${see}`;
  const invalid = /Argument: ([^,]+), Given: (.*), Choices: (.*)$/s.exec(msg);
  if (invalid) {
    const choices = (invalid[3] as string).replace(/"/g, "").replace(/\s+/g, " ");
    return `invalid argument ${invalid[2]} for ${invalid[1]}: choose one of ${choices}${see}`;
  }
  if (/^Not enough non-option arguments/.test(msg))
    return "name a command (docker versions --help lists them)";
  return `${msg.replace(/\s*\n\s*/g, " ")}${see}`;
}
