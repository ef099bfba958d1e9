// `help-version` and the top-level `--help`: every command with its one line, grouped the way an
// operator looks for them; `--markdown` prints the same as the README's command reference.

import { nameOrder } from "../core/order.js";
import { VERSION } from "../meta.js";
import { paint } from "../render.js";
import type { Command, Listed } from "./command.js";
import { type FlagSpec, recordSpec } from "./flags.js";

/** The commands under each heading, the headings in the order the list first names them. */
function byGroup(commands: readonly Listed[]): Map<string, Listed[]> {
  const groups = new Map<string, Listed[]>();
  for (const c of commands) groups.set(c.group, [...(groups.get(c.group) ?? []), c]);
  return groups;
}

export const GLOBAL_OPTIONS: [string, string][] = [
  ["-f, --file FILE", "Compose file (repeatable; default: Compose's own search)"],
  ["-p, --project-name NAME", "Compose project name"],
  ["--project-directory DIR", "Compose project directory"],
  ["--env-file FILE", "Compose env file (repeatable); versions.env is always read last"],
  ["--profile NAME", "Compose profile to enable (repeatable)"],
  ["--manifest FILE", "version-manifest.yaml to use (default: next to the first compose file)"],
  ["--stack NAME", "Swarm stack the compose files are deployed as (docker stack deploy)"],
  ["-q, --quiet", "No progress: neither Docker's nor a line per step (for scripts)"],
];

export function groupedHelp(commands: readonly Listed[], color = false): string {
  const out = { color, write: () => {} };
  const width = Math.max(...commands.map((c) => c.name.length)) + 2;
  const lines = [
    "Usage:  docker versions [OPTIONS] COMMAND",
    "",
    "Pin, record and roll back the image version of every service of a Compose deployment.",
    "",
  ];
  for (const [group, members] of byGroup(commands)) {
    lines.push(`${paint(out, "bold", group)}:`);
    for (const c of members)
      lines.push(
        `  ${c.name.padEnd(width)}${c.describe}${c.aliases?.length ? ` (alias: ${c.aliases.join(", ")})` : ""}`,
      );
    lines.push("");
  }
  lines.push("Options:");
  // Long names line up whether or not a one-letter alias comes first, as in Docker's help.
  const options: [string, string][] = [
    ...GLOBAL_OPTIONS,
    ["-h, --help", "Show help (also: docker versions help COMMAND)"],
    ["--version", `Show the plugin's version (${VERSION})`],
  ].map(([o, d]) => [/^-[a-zA-Z],/.test(o as string) ? (o as string) : `    ${o}`, d as string]);
  const ow = Math.max(...options.map(([o]) => o.length)) + 3;
  for (const [o, d] of options) lines.push(`  ${o.padEnd(ow)}${d}`);
  lines.push(
    "",
    "Docker's own options (--context, -H, --config) go before 'versions' and reach every docker command it runs.",
  );
  return `${lines.join("\n")}\n`;
}

/** How a flag reads in a help line: `-v, --volumes`, `    --service string`. */
function flagColumn(f: FlagSpec): string {
  const value = f.type === "boolean" ? "" : f.type === "number" ? " int" : " string";
  return `${f.short ? `-${f.short}, ` : "    "}--${f.name}${value}`;
}

function flagText(f: FlagSpec): string {
  const notes: string[] = [];
  if (f.required) notes.push("required");
  if (f.choices?.length) notes.push(`one of ${f.choices.join(", ")}`);
  const shown =
    f.default === undefined || f.default === false || f.required
      ? undefined
      : typeof f.default === "string"
        ? JSON.stringify(f.default)
        : String(f.default);
  const parts = [f.describe, notes.length ? `(${notes.join("; ")})` : "", shown ? `(default ${shown})` : ""];
  return parts.filter(Boolean).join(" ");
}

/**
 * `docker versions COMMAND --help` and `docker versions help COMMAND`: usage, what it does,
 * aliases, its flags, and examples as a comment line over a command line that never wraps.
 */
export function commandHelp(cmd: Command, color = false): string {
  const out = { color, write: () => {} };
  const spec = recordSpec(cmd.builder);
  const positionals = spec.positionals.map((p) =>
    p.choices?.length ? p.choices.join("|") : p.name.toUpperCase(),
  );
  const usage = ["docker versions", cmd.name, spec.flags.length ? "[OPTIONS]" : "", ...positionals]
    .filter(Boolean)
    .join(" ");
  const lines = [`Usage:  ${usage}`, "", cmd.describe, ""];
  if (cmd.aliases?.length) {
    lines.push(`${paint(out, "bold", "Aliases")}:`);
    lines.push(`  ${[cmd.name, ...cmd.aliases].map((a) => `docker versions ${a}`).join(", ")}`, "");
  }
  const flags = [...spec.flags].sort((a, b) => nameOrder(a.name, b.name));
  if (flags.length) {
    lines.push(`${paint(out, "bold", "Options")}:`);
    const width = Math.max(...flags.map((f) => flagColumn(f).length)) + 3;
    for (const f of flags) lines.push(`  ${flagColumn(f).padEnd(width)}${flagText(f)}`);
    lines.push("");
  }
  if (cmd.examples?.length) {
    lines.push(`${paint(out, "bold", "Examples")}:`);
    for (const [line, what] of cmd.examples) lines.push(`  # ${what}`, `  ${line}`, "");
  }
  lines.push(
    "Global options (-f, -p, --project-directory, --env-file, --profile, --manifest, --stack, -q) go before the command: docker versions --help",
  );
  return `${lines.join("\n")}\n`;
}

/** The command reference in Markdown, one table per group (the README embeds exactly this). */
export function markdownReference(commands: readonly Listed[]): string {
  const parts: string[] = [];
  for (const [group, members] of byGroup(commands)) {
    parts.push(`**${group}**`, "", "| command | what it does |", "|---|---|");
    for (const c of members)
      parts.push(`| \`${[c.name, ...(c.aliases ?? [])].join("`, `")}\` | ${c.describe} |`);
    parts.push("");
  }
  return parts.join("\n");
}

/**
 * `help-version`, over the command list the entry point passes in (help is itself one of
 * those commands, so it is given the list rather than importing it).
 */
export function helpVersionCommand(list: () => readonly Listed[]): Command<{ markdown: boolean }> {
  return {
    name: "help-version",
    examples: [
      ["docker versions help-version --markdown > commands.md", "the command reference as Markdown"],
    ],
    describe: "List every command, grouped (--markdown for the README's reference)",
    builder: (y) =>
      y.option("markdown", {
        type: "boolean",
        default: false,
        describe: "Print the command reference as Markdown",
      }),
    async run(args, _versions, out) {
      out.write(args.markdown ? markdownReference(list()) : groupedHelp(list(), out.color));
      return 0;
    },
  };
}
