// `completion bash|zsh|fish`: a script that asks the plugin itself for candidates (hidden
// `__complete`), so commands, each command's flags and the project's service names stay current.
import yargs, { type Argv } from "yargs";
import { UserError } from "../errors.js";
import type { Command } from "./command.js";

const SHELLS = ["bash", "zsh", "fish"] as const;

// Each script hands the words typed after `docker versions` to `__complete` and offers its lines.
const SCRIPTS: Record<(typeof SHELLS)[number], string> = {
  bash: `# bash completion for docker versions: source it, or save it as
# /etc/bash_completion.d/docker-versions. It completes 'docker-versions …' directly and, where
# docker's own completion is loaded, 'docker versions …'.
_docker_versions_complete() {
  local IFS=$'\\n' start=1
  [ "\${COMP_WORDS[0]}" = docker ] && start=2
  COMPREPLY=($(docker versions __complete "\${COMP_WORDS[@]:start:COMP_CWORD-start+1}" 2>/dev/null))
}
complete -F _docker_versions_complete docker-versions
_docker_versions() { _docker_versions_complete; }
`,
  zsh: `#compdef docker-versions
# zsh completion for docker versions: save as _docker-versions in a directory of $fpath.
_docker_versions_complete() {
  local -a candidates
  candidates=("\${(@f)$(docker versions __complete "\${(@)words[2,CURRENT]}" 2>/dev/null)}")
  compadd -a candidates
}
compdef _docker_versions_complete docker-versions
`,
  fish: `# fish completion for docker versions: save as ~/.config/fish/completions/docker-versions.fish
function __docker_versions_complete
    set -l words (commandline -opc)
    set -e words[1]
    if test "$words[1]" = versions
        set -e words[1]
    end
    docker versions __complete $words (commandline -ct) 2>/dev/null
end
complete -c docker-versions -f -a '(__docker_versions_complete)'
complete -c docker -n '__fish_seen_subcommand_from versions' -f -a '(__docker_versions_complete)'
`,
};

export const completion: Command<{ shell?: string }> = {
  name: "completion",
  positionals: "[shell]",
  examples: [
    ["docker versions completion bash > /etc/bash_completion.d/docker-versions", "install for bash"],
  ],
  describe: "Print a shell completion script (bash, zsh, fish)",
  group: "Setup",
  builder: (y) => y.positional("shell", { type: "string", choices: SHELLS as unknown as string[] }),
  async run(args, _versions, out) {
    const shell = args.shell ?? "";
    if (!(SHELLS as readonly string[]).includes(shell))
      throw new UserError(`name a shell: docker versions completion ${SHELLS.join("|")}`);
    out.write(SCRIPTS[shell as (typeof SHELLS)[number]]);
    return 0;
  },
};

/** Flags a command accepts, as typed: --dry-run, --service, … */
export function flagsOf(cmd: Command | undefined, globals: (y: Argv) => unknown): string[] {
  const y = yargs([]);
  globals(y);
  if (cmd?.builder) cmd.builder(y);
  // getOptions() is public in yargs but missing from its type definitions.
  const opts = (
    y as unknown as { getOptions(): { key: Record<string, boolean>; alias: Record<string, string[]> } }
  ).getOptions();
  const names = new Set<string>();
  for (const key of Object.keys(opts.key)) {
    names.add(key.length === 1 ? `-${key}` : `--${key}`);
    for (const a of opts.alias[key] ?? [])
      if (!/[A-Z]/.test(a)) names.add(a.length === 1 ? `-${a}` : `--${a}`);
  }
  return [...names].sort();
}

/**
 * Candidates for the last of `words` (the words typed after `docker versions`), one per line.
 * Runs before the parser: the words are raw input, options included.
 */
export async function completeWords(
  words: readonly string[],
  commands: readonly Command[],
  project: () => Promise<{ services: Record<string, unknown> }>,
  globals: (y: Argv) => unknown,
): Promise<string> {
  const current = words[words.length - 1] ?? "";
  const previous = words[words.length - 2];
  const name = words.slice(0, -1).find((w) => !w.startsWith("-"));
  const cmd = commands.find((c) => c.name === name);
  let candidates: string[];
  if (previous === "--service") {
    try {
      candidates = Object.keys((await project()).services).sort();
    } catch {
      candidates = [];
    }
  } else if (current.startsWith("-")) candidates = flagsOf(cmd, globals);
  else if (!cmd) candidates = commands.map((c) => c.name);
  else if (cmd.name === "completion") candidates = [...SHELLS];
  else candidates = [];
  return candidates
    .filter((c) => c.startsWith(current))
    .map((c) => `${c}\n`)
    .join("");
}
