// `help-version` and the top-level `--help`: every command with its one line, grouped the way an
// operator looks for them; `--markdown` prints the same as the README's command reference.
import { VERSION } from "../meta.js";
import { paint } from "../render.js";
import type { Command, Group } from "./command.js";

export const GROUPS: Group[] = [
  "Start and stop",
  "Versions and updates",
  "Rollback",
  "Registry",
  "Logs",
  "Setup",
];

export const GLOBAL_OPTIONS: [string, string][] = [
  ["-f, --file FILE", "Compose file (repeatable; default: Compose's own search)"],
  ["-p, --project-name NAME", "Compose project name"],
  ["--project-directory DIR", "Compose project directory"],
  ["--env-file FILE", "Compose env file (repeatable); versions.env is always read last"],
  ["--profile NAME", "Compose profile to enable (repeatable)"],
  ["--manifest FILE", "version-manifest.yaml to use (default: next to the first compose file)"],
];

export function groupedHelp(commands: readonly Command[], color = false): string {
  const out = { color, write: () => {} };
  const width = Math.max(...commands.map((c) => c.name.length)) + 2;
  const lines = [
    "Usage:  docker versions [OPTIONS] COMMAND",
    "",
    "Pin, record and roll back the image version of every service of a Compose deployment.",
    "",
  ];
  for (const group of GROUPS) {
    const members = commands.filter((c) => c.group === group);
    if (members.length === 0) continue;
    lines.push(`${paint(out, "bold", group)}:`);
    for (const c of members)
      lines.push(
        `  ${c.name.padEnd(width)}${c.describe}${c.aliases?.length ? ` (alias: ${c.aliases.join(", ")})` : ""}`,
      );
    lines.push("");
  }
  lines.push("Options:");
  const ow = Math.max(...GLOBAL_OPTIONS.map(([o]) => o.length)) + 2;
  for (const [o, d] of GLOBAL_OPTIONS) lines.push(`  ${o.padEnd(ow)}${d}`);
  lines.push(`  ${"-h, --help".padEnd(ow)}Show help (also: docker versions COMMAND --help)`);
  lines.push(`  ${"--version".padEnd(ow)}Show the plugin's version (${VERSION})`);
  lines.push(
    "",
    "Docker's own options (--context, -H, --config) go before 'versions' and reach every docker command it runs.",
  );
  return `${lines.join("\n")}\n`;
}

/** The command reference in Markdown, one table per group (the README embeds exactly this). */
export function markdownReference(commands: readonly Command[]): string {
  const parts: string[] = [];
  for (const group of GROUPS) {
    const members = commands.filter((c) => c.group === group);
    if (members.length === 0) continue;
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
export function helpVersionCommand(list: () => readonly Command[]): Command<{ markdown: boolean }> {
  return {
    name: "help-version",
    examples: [
      ["docker versions help-version --markdown > commands.md", "the command reference as Markdown"],
    ],
    describe: "List every command, grouped (--markdown for the README's reference)",
    group: "Setup",
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
