// Entry point. The Docker CLI runs `docker-versions docker-cli-plugin-metadata` before every
// `docker versions …`, so that answer comes first, before yargs or anything heavy is loaded.
import { splitDockerGlobals } from "./docker-globals.js";
import { METADATA, PLUGIN_NAME, VERSION } from "./meta.js";

// A reader that stops reading (`docker versions status | head -1`) closes the pipe: what is left
// to print is dropped, and the command still runs to its end (a change of the deployment or the
// record is never cut short by it). Without this, Node reports the broken pipe as a crash.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code !== "EPIPE") throw err;
  });
}

async function main(argv: string[]): Promise<number> {
  if (argv[0] === "docker-cli-plugin-metadata") {
    process.stdout.write(`${JSON.stringify(METADATA, null, 2)}\n`);
    return 0;
  }
  const split = splitDockerGlobals(argv, PLUGIN_NAME);
  // Scripts and the installer ask for the version; it needs no parser either.
  if (split.args.length === 1 && split.args[0] === "--version") {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const { run } = await import("./cli.js");
  return run(split);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  async (err: unknown) => {
    // Only what escaped cli.ts gets here (a failure before any command ran): rendered by the
    // same rule, a bug with its stack for the report. By cli.ts's own copy of the rule: in the
    // executable, the commands are a script apart (sea-commands.ts), with classes of their own.
    const { renderError } = await import("./cli.js");
    const { text, exitCode } = renderError(err);
    process.stderr.write(text);
    process.exitCode = exitCode;
  },
);
