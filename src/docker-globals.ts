// Splits the Docker CLI's global options (which the CLI passes to a plugin before the plugin's
// own name) from the plugin's arguments, so they can be forwarded unchanged to every `docker`
// child process.

const WITH_VALUE = new Set([
  "--config",
  "--context",
  "-c",
  "--host",
  "-H",
  "--log-level",
  "-l",
  "--tlscacert",
  "--tlscert",
  "--tlskey",
]);
const BOOLEAN = new Set(["--debug", "-D", "--tls", "--tlsverify"]);

export interface SplitArgv {
  /** Docker global options, in the order given, ready to prefix a `docker` invocation. */
  dockerGlobals: string[];
  /** The plugin's own arguments (plugin name removed). */
  args: string[];
}

export function splitDockerGlobals(argv: readonly string[], pluginName: string): SplitArgv {
  const dockerGlobals: string[] = [];
  let i = 0;
  while (i < argv.length) {
    const arg = argv[i] as string;
    const eq = arg.indexOf("=");
    const flag = arg.startsWith("--") && eq > 0 ? arg.slice(0, eq) : arg;
    if (WITH_VALUE.has(flag)) {
      if (flag === arg) {
        const value = argv[i + 1];
        if (value === undefined) break;
        dockerGlobals.push(arg, value);
        i += 2;
      } else {
        dockerGlobals.push(arg);
        i += 1;
      }
      continue;
    }
    if (BOOLEAN.has(flag) || /^-[cHl]./.test(arg)) {
      dockerGlobals.push(arg);
      i += 1;
      continue;
    }
    break;
  }
  const rest = argv.slice(i);
  // Invoked by the Docker CLI the plugin name follows the globals; run directly it does not.
  if (rest[0] === pluginName) rest.shift();
  return { dockerGlobals, args: rest };
}
