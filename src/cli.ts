// Turns argv into a command call: global options (Compose's own, plus --manifest), one yargs
// command per file in commands/, and the single place where errors become exit codes.
import yargs, { type Argv } from "yargs";
import { dockerCli } from "./adapters/docker.js";
import { updateState } from "./adapters/journal.js";
import { captureLogs } from "./commands/capture.js";
import type { Command } from "./commands/command.js";
import { completeWords, completion } from "./commands/completion.js";
import { generateEnv } from "./commands/generate-env.js";
import { groupedHelp, helpVersionCommand } from "./commands/help.js";
import { down, restart, up, update, updb } from "./commands/lifecycle.js";
import { dblogsErrors, dblogsToday, logs, logsToday } from "./commands/logs.js";
import { migrateVersions } from "./commands/migrate-versions.js";
import { pull, pullLatest } from "./commands/pull.js";
import { checkUpdates, resolveTags } from "./commands/registry.js";
import { rollback, rollbackService, rollbackTo } from "./commands/rollback.js";
import { status } from "./commands/status.js";
import { updateSafe } from "./commands/update-safe.js";
import { version } from "./commands/version.js";
import { versionHistory } from "./commands/version-history.js";
import { versionPull, versionSet } from "./commands/version-pull.js";
import { shown } from "./core/shown-text.js";
import type { SplitArgv } from "./docker-globals.js";
import { renderError, UserError, usageError } from "./errors.js";
import { VERSION } from "./meta.js";
import { terminalOut, warn } from "./render.js";
import { Versions } from "./service.js";
import { describeLive, describeUnfinished } from "./update-safe.js";

const built = [
  status,
  updb,
  up,
  down,
  restart,
  logs,
  logsToday,
  dblogsToday,
  dblogsErrors,
  version,
  versionHistory,
  pull,
  pullLatest,
  versionPull,
  versionSet,
  rollback,
  rollbackService,
  rollbackTo,
  generateEnv,
  update,
  migrateVersions,
  resolveTags,
  checkUpdates,
  updateSafe,
  helpVersionCommand(() => commands),
  completion,
] as unknown as Command[];
export const commands: Command[] = built;
// Commands that must not warn about an interrupted update-safe run: they report it themselves
// or have nothing to do with the record.
const NO_JOURNAL_WARNING = new Set(["update-safe", "help-version", "completion", "__capture-logs"]);
// Commands that never read the record, so have no half-done change of it to settle.
const NO_RECORD = new Set(["help-version", "completion", "__capture-logs"]);
// Run by the plugin itself (the background log capture), never listed in help or completion.
const internal = [captureLogs] as unknown as Command[];

interface GlobalArgs {
  file?: string[];
  "project-name"?: string;
  "project-directory"?: string;
  "env-file"?: string[];
  profile?: string[];
  manifest?: string;
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

export async function run(
  { dockerGlobals, args }: SplitArgv,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const out = terminalOut(process.stdout, env);
  let exitCode = 0;
  if (args[0] === "__complete") {
    const versions = new Versions({ cli: dockerCli(dockerGlobals, env, process.cwd()), compose: {} });
    out.write(await completeWords(args.slice(1), commands, () => versions.project(), globalOptions));
    return 0;
  }
  if (args.length === 0 || (args.length === 1 && (args[0] === "--help" || args[0] === "-h"))) {
    out.write(groupedHelp(commands, out.color));
    return 0;
  }
  const parser = globalOptions(yargs(args))
    .scriptName("docker versions")
    .usage(
      "Usage: docker versions [OPTIONS] COMMAND\n\nPin, record and roll back the image version of every service of a Compose deployment.",
    )
    .version(VERSION)
    .help()
    .alias("h", "help")
    .strict()
    .recommendCommands()
    .demandCommand(1, "name a command (docker versions --help lists them)")
    .wrap(Math.min(110, process.stdout.columns || 100))
    .fail((msg, err) => {
      // yargs' own validation errors (a flag without its value, …) are usage errors, not bugs.
      if (err && err.name !== "YError") throw err;
      msg ||= err?.message ?? "";
      // yargs' suggestion alone ("Did you mean logs?") does not say what was wrong.
      if (msg?.startsWith("Did you mean")) fail(`unknown command '${args[0]}'. ${msg}`);
      // yargs spreads some messages over lines; an error is one line.
      fail((msg ?? "invalid arguments").replace(/\s*\n\s*/g, " "));
    });
  for (const cmd of [...commands, ...internal]) {
    parser.command({
      command: cmd.positionals ? `${cmd.name} ${cmd.positionals}` : cmd.name,
      aliases: cmd.aliases,
      describe: cmd.describe,
      builder: (y: Argv) => {
        for (const [line, what] of cmd.examples ?? []) y.example(line, what);
        return cmd.builder ? cmd.builder(y) : y;
      },
      handler: async (argv: Record<string, unknown>) => {
        const g = argv as GlobalArgs;
        const versions = new Versions({
          cli: dockerCli(dockerGlobals, env, process.cwd()),
          compose: {
            files: g.file,
            projectName: g["project-name"],
            projectDirectory: g["project-directory"],
            envFiles: g["env-file"],
            profiles: g.profile,
          },
          manifest: g.manifest,
        });
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
