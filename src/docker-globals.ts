// Splits the Docker CLI's global options (which the CLI passes to a plugin before the plugin's
// own name) from the plugin's arguments, so they can be forwarded unchanged to every `docker`
// child process; and reads the one of them the plugin looks at itself, the config directory.
import { homedir } from "node:os";
import path from "node:path";

type GlobalKind = "host" | "context" | "config" | "log" | "tls";

/** The Docker CLI's global options that take a value, by what the value is. */
const GLOBALS_WITH_VALUE: Readonly<Record<string, GlobalKind>> = {
  "--config": "config",
  "--context": "context",
  "-c": "context",
  "--host": "host",
  "-H": "host",
  "--log-level": "log",
  "-l": "log",
  "--tlscacert": "tls",
  "--tlscert": "tls",
  "--tlskey": "tls",
};
const WITH_VALUE = new Set(Object.keys(GLOBALS_WITH_VALUE));

/** What a global option's value is (`-H` a host), or undefined when it takes none or is not one. */
export const globalValueKind = (flag: string): GlobalKind | undefined =>
  Object.hasOwn(GLOBALS_WITH_VALUE, flag) ? GLOBALS_WITH_VALUE[flag] : undefined;
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

/**
 * The docker CLI's configuration directory (config.json, contexts, credentials, cli-plugins) as
 * the CLI picks it: the last --config, else DOCKER_CONFIG, else ~/.docker; relative to `cwd`.
 */
export function dockerConfigDir(globals: readonly string[], env: NodeJS.ProcessEnv, cwd: string): string {
  let flag: string | undefined;
  for (let i = 0; i < globals.length; i++) {
    const g = globals[i] as string;
    if (g === "--config") flag = globals[++i];
    else if (g.startsWith("--config=")) flag = g.slice("--config=".length);
  }
  if (flag) return path.resolve(cwd, flag);
  if (env.DOCKER_CONFIG) return path.resolve(cwd, env.DOCKER_CONFIG);
  return path.join(env.HOME || homedir(), ".docker");
}
