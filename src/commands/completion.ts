// Shell completion. The Docker CLI completes a plugin by running it with cobra's protocol,
// `docker-versions __complete versions WORD… CURRENT` (the plugin's name first): one candidate
// per line, then `:DIRECTIVE`. The scripts of `completion bash|zsh|fish` ask the same question
// through `docker versions`, so commands, each command's flags, service names and the tags of
// a service's history come from one place.
import { usageError } from "../errors.js";
import type { Command } from "./command.js";
import { type FlagSpec, flagFor, recordSpec, takesValue } from "./flags.js";
import { findCommand } from "./usage.js";

const SHELLS = ["bash", "zsh", "fish"] as const;

/** cobra's ShellCompDirective bits, as Docker's completion scripts read them. */
export const DIRECTIVE = { default: 0, noSpace: 2, noFileComp: 4, filterDirs: 16 } as const;

/** Docker's own global options that take a value: skipped when a script looks for `versions`. */
const DOCKER_VALUE_FLAGS = "--config|--context|-c|--host|-H|--log-level|-l|--tlscacert|--tlscert|--tlskey";

/**
 * The loop bash and zsh share: finds the word `versions` after Docker's own global options (and
 * their values) and sets `at` to its index, 0 when it is not there.
 */
const findVersions = (first: string, current: string) => `  for ((i = ${first}; i < ${current}; i++)); do
    case \${words[i]} in
      ${DOCKER_VALUE_FLAGS}) ((i++)) ;;
      -*) ;;
      versions) at=$i; break ;;
      *) break ;;
    esac
  done`;

const SCRIPTS: Record<(typeof SHELLS)[number], string> = {
  bash: `# bash completion for 'docker versions' (the docker-versions CLI plugin).
# Load it from ~/.bashrc with: source <(docker versions completion bash)
# or save it as /etc/bash_completion.d/docker-versions. The plugin completes the words after
# 'docker versions'; every other docker command keeps Docker's own completion.
__docker_versions_fallback() {
  if [[ -z \${__docker_versions_next-} ]]; then
    # Docker's completion is loaded lazily by bash-completion: load it once, then call it.
    __docker_versions_next=none
    complete -r docker 2>/dev/null
    if declare -F __load_completion >/dev/null; then __load_completion docker
    elif declare -F _completion_loader >/dev/null; then _completion_loader docker; fi
    local spec
    spec=$(complete -p docker 2>/dev/null)
    [[ $spec =~ -F\\ ([^ ]+) && \${BASH_REMATCH[1]} != __docker_versions_complete ]] &&
      __docker_versions_next=\${BASH_REMATCH[1]}
    complete -F __docker_versions_complete docker
  fi
  if [[ $__docker_versions_next != none ]]; then
    "$__docker_versions_next" "$@"
  elif ((COMP_CWORD == 1)); then
    COMPREPLY=($(compgen -W versions -- "\${COMP_WORDS[1]}"))
  fi
}
__docker_versions_complete() {
  local -a words
  local cword i at=0 line directive=4 out
  if declare -F _get_comp_words_by_ref >/dev/null; then
    _get_comp_words_by_ref -n =: -w words -i cword
  else
    words=("\${COMP_WORDS[@]}")
    cword=$COMP_CWORD
  fi
${findVersions("1", "cword")}
  if ((at == 0)); then
    __docker_versions_fallback "$@"
    return
  fi
  out=$(docker "\${words[@]:1:at-1}" versions __completeNoDesc versions "\${words[@]:at+1:cword-at}" 2>/dev/null) || return
  COMPREPLY=()
  while IFS= read -r line; do
    case $line in
      :*) directive=\${line#:} ;;
      ?*) COMPREPLY+=("\${line%%$'\\t'*}") ;;
    esac
  done <<<"$out"
  if ((\${#COMPREPLY[@]} == 0 && (directive & 4) == 0)); then
    compopt -o filenames 2>/dev/null
    if ((directive & 16)); then
      COMPREPLY=($(compgen -d -- "\${words[cword]}"))
    else
      COMPREPLY=($(compgen -f -- "\${words[cword]}"))
    fi
  fi
}
__docker_versions_next=$(complete -p docker 2>/dev/null | sed -n 's/.*-F \\([^ ]*\\).*/\\1/p')
[[ $__docker_versions_next == __docker_versions_complete ]] && __docker_versions_next=
complete -F __docker_versions_complete docker
`,
  zsh: `#compdef docker
# zsh completion for 'docker versions' (the docker-versions CLI plugin).
# Load it from ~/.zshrc after compinit with: source <(docker versions completion zsh)
# The plugin completes the words after 'docker versions'; other docker commands keep _docker.
_docker_versions_complete() {
  local i at=0 line directive=4 out
  local -a candidates
${findVersions("2", "CURRENT")}
  if ((at == 0)); then
    ((CURRENT == 2)) && compadd -- versions
    (( $+functions[_docker] )) || autoload -Uz +X _docker 2>/dev/null
    (( $+functions[_docker] )) && _docker "$@"
    return
  fi
  out=$(docker \${words[2,at-1]} versions __completeNoDesc versions "\${(@)words[at+1,CURRENT]}" 2>/dev/null)
  for line in "\${(@f)out}"; do
    case $line in
      :*) directive=\${line#:} ;;
      ?*) candidates+=("\${line%%$'\\t'*}") ;;
    esac
  done
  if (( \${#candidates} == 0 && (directive & 4) == 0 )); then
    if (( directive & 16 )); then _files -/; else _files; fi
    return
  fi
  compadd -a candidates
}
compdef _docker_versions_complete docker
`,
  fish: `# fish completion for 'docker versions' (the docker-versions CLI plugin).
# Save it as ~/.config/fish/conf.d/docker-versions.fish (read at startup: a file under
# completions/ is only loaded for a command of its own name), or load it with:
#   docker versions completion fish | source
function __docker_versions_complete
    set -l words (commandline -opc)
    set -l at (contains -i -- versions $words)
    test -n "$at"; or return
    set -l globals
    test $at -gt 2; and set globals $words[2..(math $at - 1)]
    set -l rest
    test (count $words) -gt $at; and set rest $words[(math $at + 1)..-1]
    set -l current (commandline -ct)
    docker $globals versions __completeNoDesc versions $rest "$current" 2>/dev/null | string match -v -r '^:'
end
complete -c docker -n __fish_use_subcommand -f -a versions -d 'Pin, record and roll back image versions'
complete -c docker -n '__fish_seen_subcommand_from versions' -f -a '(__docker_versions_complete)'
`,
};

export const completion: Command<{ shell?: string }> = {
  name: "completion",
  positionals: "[shell]",
  examples: [
    ["source <(docker versions completion bash)", "complete 'docker versions …' in this bash"],
    ["docker versions completion bash > /etc/bash_completion.d/docker-versions", "install for bash"],
    ["docker versions completion fish > ~/.config/fish/conf.d/docker-versions.fish", "install for fish"],
  ],
  describe: "Print a shell completion script (bash, zsh, fish)",
  group: "Setup",
  builder: (y) =>
    y.positional("shell", {
      type: "string",
      choices: SHELLS as unknown as string[],
      describe: "The shell",
    }),
  async run(args, _versions, out) {
    const shell = args.shell ?? "";
    if (!(SHELLS as readonly string[]).includes(shell))
      throw usageError(`name a shell: docker versions completion ${SHELLS.join("|")}`);
    out.write(SCRIPTS[shell as (typeof SHELLS)[number]]);
    return 0;
  },
};

/** What the words typed so far say: global options with their values, the command, its flags. */
export interface TypedLine {
  globals: Record<string, string[]>;
  command?: Command;
  flags: Record<string, string[]>;
  /** Words that are neither flags nor flag values, after the command. */
  positionals: string[];
}

/** Where a completion reads what it offers: the project's services, a service's history. */
export interface CompletionSources {
  services(line: TypedLine): Promise<string[]>;
  historyTags(line: TypedLine, service: string | undefined): Promise<string[]>;
}

export interface Completion {
  candidates: string[];
  directive: number;
}

/** Reads the complete words (all but the one being typed) the way the parser would. */
export function readLine(
  words: readonly string[],
  commands: readonly Command[],
  globals: readonly FlagSpec[],
) {
  const line: TypedLine = { globals: {}, flags: {}, positionals: [] };
  let pending: { flag: FlagSpec; global: boolean } | undefined;
  for (let i = 0; i < words.length; i++) {
    const w = words[i] as string;
    const flags = line.command ? recordSpec(line.command.builder).flags : globals;
    const all = line.command ? [...flags, ...globals] : globals;
    const f = flagFor(w, all);
    if (f) {
      const isGlobal = !flags.includes(f) || !line.command;
      const bag = isGlobal ? line.globals : line.flags;
      const add = (v: string) => {
        bag[f.name] = [...(bag[f.name] ?? []), v];
      };
      if (!takesValue(w, all)) add(w.includes("=") ? w.slice(w.indexOf("=") + 1) : "true");
      else if (i === words.length - 1) pending = { flag: f, global: isGlobal };
      else add(words[++i] as string);
    } else if (!w.startsWith("-")) {
      if (!line.command && (line.positionals.length > 0 || findCommand(commands, w) === undefined))
        line.positionals.push(w);
      else if (!line.command) line.command = findCommand(commands, w);
      else line.positionals.push(w);
    }
  }
  return { line, pending };
}

const FILE_FLAGS = new Set(["file", "env-file", "manifest"]);

async function valuesFor(flag: FlagSpec, line: TypedLine, sources: CompletionSources): Promise<Completion> {
  const none = { candidates: [], directive: DIRECTIVE.noFileComp };
  if (FILE_FLAGS.has(flag.name)) return { candidates: [], directive: DIRECTIVE.default };
  if (flag.name === "project-directory") return { candidates: [], directive: DIRECTIVE.filterDirs };
  if (flag.choices?.length) return { candidates: [...flag.choices], directive: DIRECTIVE.noFileComp };
  try {
    if (flag.name === "service") return { ...none, candidates: await sources.services(line) };
    if (flag.name === "tag" || flag.name === "to")
      return { ...none, candidates: await sources.historyTags(line, line.flags.service?.at(-1)) };
  } catch {
    // no project here, or a manifest that does not read: nothing to offer, and no error either
  }
  return none;
}

/**
 * Candidates for the last of `words`, the words after `docker versions` (the plugin's name,
 * which Docker passes first, already removed). Global options are offered before the command,
 * each command's own flags after it, as Compose does.
 */
export async function complete(
  words: readonly string[],
  commands: readonly Command[],
  globals: readonly FlagSpec[],
  sources: CompletionSources,
): Promise<Completion> {
  const current = words[words.length - 1] ?? "";
  const { line, pending } = readLine(words.slice(0, -1), commands, globals);
  let result: Completion = { candidates: [], directive: DIRECTIVE.noFileComp };
  const inline = /^(--[^=]+)=(.*)$/.exec(current);
  const inlineFlag = inline
    ? flagFor(inline[1] as string, [...globals, ...recordSpec(line.command?.builder).flags])
    : undefined;
  if (pending) result = await valuesFor(pending.flag, line, sources);
  else if (inline && inlineFlag && inlineFlag.type !== "boolean") {
    const values = await valuesFor(inlineFlag, line, sources);
    return {
      candidates: values.candidates
        .filter((c) => c.startsWith(inline[2] as string))
        .map((c) => `${inline[1]}=${c}`),
      directive: values.directive,
    };
  } else if (current.startsWith("-")) {
    const flags = line.command ? recordSpec(line.command.builder).flags : globals;
    const given = line.command ? line.flags : line.globals;
    const offered = flags.filter((f) => f.array || given[f.name] === undefined);
    const names = offered.flatMap((f) => [
      `--${f.name}`,
      ...(f.short && !current.startsWith("--") ? [`-${f.short}`] : []),
    ]);
    result = { candidates: names.sort(), directive: DIRECTIVE.noFileComp };
  } else if (!line.command) {
    const first = line.positionals[0];
    if (first === "help" && line.positionals.length === 1)
      result = { candidates: commands.map((c) => c.name), directive: DIRECTIVE.noFileComp };
    else if (first === undefined)
      result = {
        candidates: [...commands.map((c) => c.name), "help"].sort(),
        directive: DIRECTIVE.noFileComp,
      };
  } else {
    const spec = recordSpec(line.command.builder);
    const positional = spec.positionals[line.positionals.length];
    if (positional?.choices)
      result = { candidates: [...positional.choices], directive: DIRECTIVE.noFileComp };
  }
  return { ...result, candidates: result.candidates.filter((c) => c.startsWith(current)) };
}

/** cobra's answer: one candidate per line, then the directive. */
export function cobraAnswer(c: Completion): string {
  return `${c.candidates.map((x) => `${x}\n`).join("")}:${c.directive}\n`;
}

/** The words of a `__complete` call: the plugin's name, which Docker passes first, is not one. */
export function completionWords(args: readonly string[], pluginName: string): string[] {
  const words = args.slice(1);
  return words[0] === pluginName && words.length > 1 ? words.slice(1) : words;
}
