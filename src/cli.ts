// Turns argv into a command call: global options (Compose's own, plus --manifest), one yargs
// command per file in commands/, and the single place where errors become exit codes.
import yargs, { type Argv } from "yargs";
import { dockerCli } from "./adapters/docker.js";
import { updateState } from "./adapters/journal.js";
import { captureLogs } from "./commands/capture.js";
import type { Command, Listed } from "./commands/command.js";
import {
  type CompletionSources,
  cobraAnswer,
  complete,
  completion,
  completionWords,
  type TypedLine,
} from "./commands/completion.js";
import { recordSpec } from "./commands/flags.js";
import { fleet } from "./commands/fleet.js";
import { generateEnv } from "./commands/generate-env.js";
import { commandHelp, groupedHelp, helpVersionCommand } from "./commands/help.js";
import { down, restart, up, update, updb } from "./commands/lifecycle.js";
import { dblogsErrors, dblogsToday, logs, logsToday } from "./commands/logs.js";
import { migrateVersions } from "./commands/migrate-versions.js";
import { prune } from "./commands/prune.js";
import { pull, pullLatest } from "./commands/pull.js";
import { checkUpdates, resolveTags } from "./commands/registry.js";
import { rollback, rollbackService, rollbackTo } from "./commands/rollback.js";
import { schedule } from "./commands/schedule.js";
import { status } from "./commands/status.js";
import { updateSafe } from "./commands/update-safe.js";
import { namedCommand, route, unknownCommand, unknownFlag, usageMessage } from "./commands/usage.js";
import { version } from "./commands/version.js";
import { versionHistory } from "./commands/version-history.js";
import { versionPull, versionSet } from "./commands/version-pull.js";
import { shown } from "./core/shown-text.js";
import type { SplitArgv } from "./docker-globals.js";
import { renderError, UserError, usageError } from "./errors.js";
import { PLUGIN_NAME, VERSION } from "./meta.js";
import { type Out, terminalOut, warn } from "./render.js";
import { Versions } from "./service.js";
import { describeLive, describeUnfinished } from "./update-safe.js";

// Every command people run, under the heading help lists it by: help, the README's reference and
// completion all read them in this order.
const GROUPED = {
  "Start and stop": [status, updb, up, down, restart],
  "Versions and updates": [
    version,
    fleet,
    pull,
    pullLatest,
    versionPull,
    versionSet,
    generateEnv,
    update,
    updateSafe,
    prune,
  ],
  Rollback: [versionHistory, rollback, rollbackService, rollbackTo],
  Registry: [resolveTags, checkUpdates],
  Logs: [logs, logsToday, dblogsToday, dblogsErrors],
  Setup: [migrateVersions, schedule, helpVersionCommand(() => commands), completion],
};
export const commands: Listed[] = Object.entries(GROUPED).flatMap(([group, list]) =>
  list.map((c) => ({ ...(c as unknown as Command), group })),
);
// Commands that must not warn about an interrupted update-safe run: they report it themselves
// or have nothing to do with the record.
const NO_JOURNAL_WARNING = new Set(["update-safe", "help-version", "completion", "__capture-logs"]);
// Commands that never read the record, so have no half-done change of it to settle.
const NO_RECORD = new Set(["help-version", "completion", "__capture-logs"]);
// Run by the plugin itself (the background log capture), never listed in help or completion.
export const internal = [captureLogs] as unknown as Command[];

interface GlobalArgs {
  file?: string[];
  "project-name"?: string;
  "project-directory"?: string;
  "env-file"?: string[];
  profile?: string[];
  manifest?: string;
  stack?: string;
  quiet?: boolean;
}

export function globalOptions(y: Argv): Argv<GlobalArgs> {
  return y
    .option("file", {
      alias: "f",
      type: "string",
      array: true,
      // One value per flag, as Compose reads them: `-f a.yml status` is a file, then the command.
      nargs: 1,
      requiresArg: true,
      describe: "Compose configuration file (repeatable)",
    })
    .option("project-name", {
      alias: "p",
      type: "string",
      requiresArg: true,
      describe: "Compose project name",
    })
    .option("project-directory", { type: "string", requiresArg: true, describe: "Compose project directory" })
    .option("env-file", {
      type: "string",
      array: true,
      // One value per flag, as Compose reads them: `-f a.yml status` is a file, then the command.
      nargs: 1,
      requiresArg: true,
      describe: "Compose env file (repeatable)",
    })
    .option("profile", {
      type: "string",
      array: true,
      // One value per flag, as Compose reads them: `-f a.yml status` is a file, then the command.
      nargs: 1,
      requiresArg: true,
      describe: "Compose profile to enable (repeatable)",
    })
    .option("manifest", {
      type: "string",
      requiresArg: true,
      describe: "Path of version-manifest.yaml (default: next to the first compose file)",
    })
    .option("stack", {
      type: "string",
      requiresArg: true,
      describe: "Swarm stack the compose files are deployed as (docker stack deploy)",
    })
    .option("quiet", {
      alias: "q",
      type: "boolean",
      describe: "No progress: neither Docker's nor a line per step (for scripts)",
    }) as Argv<GlobalArgs>;
}

function fail(message: string): never {
  throw usageError(message);
}

/**
 * Says so when an update-safe run is in progress, or when the last one was cut short; never
 * fails the command itself.
 */
async function warnIfInterrupted(versions: Versions): Promise<void> {
  try {
    const state = await updateState(await versions.manifestPath());
    if (state.live) process.stderr.write(`note: ${shown(describeLive(state.live))}\n`);
    else if (state.interrupted) warn(describeUnfinished(state.interrupted));
  } catch (err) {
    // No project or no manifest: the command itself reports what matters. A bug is not hidden.
    if (!(err instanceof UserError)) throw err;
  }
}

/** Completes or reverts a change of the record a crashed command left half done. */
async function settleRecord(versions: Versions): Promise<void> {
  try {
    await versions.manifestPath();
  } catch (err) {
    if (err instanceof UserError) return; // no project: the command itself reports that
    throw err;
  }
  await versions.settleRecord();
}

/** The Versions service a command works with, from the global options as parsed. */
function versionsFor(
  g: GlobalArgs & { json?: unknown; format?: unknown },
  dockerGlobals: readonly string[],
  env: NodeJS.ProcessEnv,
  interpolatedOnly = false,
): Versions {
  // Output for scripts (--json, --format) keeps stdout to itself, terminal or not.
  const forScripts = Boolean(g.json) || (typeof g.format === "string" && g.format !== "table");
  return new Versions({
    cli: dockerCli(dockerGlobals, env, process.cwd()),
    compose: {
      files: g.file,
      projectName: g["project-name"],
      projectDirectory: g["project-directory"],
      envFiles: g["env-file"],
      profiles: g.profile,
    },
    manifest: g.manifest,
    stack: g.stack,
    quiet: g.quiet,
    terminal: Boolean(process.stdout.isTTY) && !forScripts,
    templatesWhenNeeded: interpolatedOnly,
  });
}

/** Services and history tags for completion, from the project the typed global options name. */
function completionSources(dockerGlobals: readonly string[], env: NodeJS.ProcessEnv): CompletionSources {
  const versionsOf = (line: TypedLine) => {
    const last = (k: string) => line.globals[k]?.at(-1);
    return versionsFor(
      {
        file: line.globals.file,
        "project-name": last("project-name"),
        "project-directory": last("project-directory"),
        "env-file": line.globals["env-file"],
        profile: line.globals.profile,
        manifest: last("manifest"),
        stack: last("stack"),
      },
      dockerGlobals,
      env,
    );
  };
  return {
    services: async (line) => Object.keys((await versionsOf(line).project()).services).sort(),
    historyTags: (line, service) => versionsOf(line).historyTags(service),
  };
}

/** Help, --version and an unknown command, answered in Docker's layout; null for a command to run. */
function answerWithoutParsing(
  args: readonly string[],
  globalFlags: ReturnType<typeof recordSpec>["flags"],
  out: Out,
): number | null {
  const asked = route(args, commands, globalFlags);
  if (asked?.kind === "top-help") out.write(groupedHelp(commands, out.color));
  else if (asked?.kind === "command-help") out.write(commandHelp(asked.cmd, out.color));
  else if (asked?.kind === "version") out.write(`${VERSION}\n`);
  else if (asked?.kind === "unknown-command") {
    process.stderr.write(`error: ${unknownCommand(asked.word, commands)}\n`);
    return 2;
  }
  return asked ? 0 : null;
}

/**
 * yargs renders a command's whole help after running it, to have it ready should the handler
 * ask (ours never do: help is answered before parsing, in Docker's layout). That is cliui laying
 * out every option on each run; this hands yargs an empty cache instead.
 */
function skipHelpCache(parser: Argv): Argv {
  const internal = (parser as unknown as { getInternalMethods?: () => unknown }).getInternalMethods?.() as
    | { getUsageInstance?: () => { cacheHelpMessage?: () => void } }
    | undefined;
  const usage = internal?.getUsageInstance?.();
  if (usage && typeof usage.cacheHelpMessage === "function") usage.cacheHelpMessage = () => {};
  return parser;
}

/** yargs over the global options; its own validation errors become usage errors. */
function parserFor(args: string[], globalFlags: ReturnType<typeof recordSpec>["flags"]): Argv {
  return skipHelpCache(
    globalOptions(yargs(args))
      .scriptName("docker versions")
      .usage(
        "Usage: docker versions [OPTIONS] COMMAND\n\nPin, record and roll back the image version of every service of a Compose deployment.",
      )
      // Help and --version are answered above, in Docker's layout; yargs would add them to every command.
      .version(false)
      .help(false)
      .strict()
      .recommendCommands()
      .demandCommand(1, "name a command (docker versions --help lists them)")
      .wrap(Math.min(110, process.stdout.columns || 100))
      .fail((msg, err) => {
        // yargs' own validation errors are usage errors too; anything else is a bug.
        if (err && err.name !== "YError") throw err;
        fail(
          usageMessage(
            msg ?? err?.message ?? "invalid arguments",
            args,
            [...commands, ...internal],
            globalFlags,
          ),
        );
      }),
  );
}

export { renderError };

export async function run(
  { dockerGlobals, args }: SplitArgv,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const out = terminalOut(process.stdout, env);
  let exitCode = 0;
  const globalFlags = recordSpec(globalOptions).flags;
  if (args[0] === "__complete" || args[0] === "__completeNoDesc") {
    const words = completionWords(args, PLUGIN_NAME);
    out.write(
      cobraAnswer(await complete(words, commands, globalFlags, completionSources(dockerGlobals, env))),
    );
    return 0;
  }
  // The internal commands take flags of their own too.
  const badFlag = unknownFlag(args, [...commands, ...internal], globalFlags);
  if (badFlag) {
    process.stderr.write(`error: ${badFlag}\n`);
    return 2;
  }
  const answered = answerWithoutParsing(args, globalFlags, out);
  if (answered !== null) return answered;
  const parser = parserFor(args, globalFlags);
  // Only the command asked for is declared to the parser (each declaration costs it a parse of
  // the command's line); without one, all are, so that the parser says what is wrong.
  const named = namedCommand(args, [...commands, ...internal], globalFlags);
  for (const cmd of named ? [named] : [...commands, ...internal]) {
    parser.command({
      command: cmd.positionals ? `${cmd.name} ${cmd.positionals}` : cmd.name,
      aliases: cmd.aliases,
      describe: cmd.describe,
      builder: (y: Argv) => {
        for (const [line, what] of cmd.examples ?? []) y.example(line, what);
        return cmd.builder ? cmd.builder(y) : y;
      },
      handler: async (argv: Record<string, unknown>) => {
        const versions = versionsFor(argv as GlobalArgs, dockerGlobals, env, cmd.interpolatedOnly);
        if (!NO_RECORD.has(cmd.name)) await settleRecord(versions);
        if (!NO_JOURNAL_WARNING.has(cmd.name)) await warnIfInterrupted(versions);
        exitCode = await cmd.run(argv, versions, out);
      },
    });
  }
  try {
    await parser.parseAsync();
    return exitCode;
  } catch (err) {
    const { text, exitCode } = renderError(err, shown);
    process.stderr.write(text);
    return exitCode;
  }
}
