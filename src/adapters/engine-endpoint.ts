// Which engine the user's docker CLI would talk to, decided the way the CLI decides it, to tell
// whether the plugin may ask that engine's API itself: only a local unix socket without TLS, and
// only when every input is plain. Anything else (tcp, ssh, npipe, TLS flags or files, a context
// or config that cannot be read, conflicting flags) keeps the docker CLI, which then applies its
// own rules and reports its own errors.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { sha256Hex } from "../core/sha256.js";
import { dockerConfigDir, globalValueKind } from "../docker-globals.js";

export const DEFAULT_SOCKET = "/var/run/docker.sock";

/** Where the engine is: a socket the plugin may use, or why the docker CLI must be asked. */
export type EngineRoute = { socket: string; host: string } | { cli: string };

/** The environment variable that keeps every engine call on the docker CLI. */
export const FORCE_CLI_ENV = "DOCKER_VERSIONS_ENGINE_API";

interface Globals {
  hosts: string[];
  context?: string;
  tls: boolean;
  /** A global option this module does not know how to read. */
  unknown?: string;
}

/** Reads the Docker global options the plugin was given (as src/docker-globals.ts splits them). */
function readGlobals(globals: readonly string[]): Globals {
  const out: Globals = { hosts: [], tls: false };
  const take = (kind: string, value: string) => {
    if (kind === "host") out.hosts.push(value);
    else if (kind === "context") out.context = value;
    else if (kind === "tls") out.tls = true;
    // --config is read by dockerConfigDir, --log-level by nobody here.
  };
  for (let i = 0; i < globals.length; i++) {
    const arg = globals[i] as string;
    if (arg === "--debug" || arg === "-D") continue;
    if (
      arg === "--tls" ||
      arg === "--tlsverify" ||
      arg.startsWith("--tls=") ||
      arg.startsWith("--tlsverify=")
    ) {
      out.tls = true;
      continue;
    }
    const eq = arg.indexOf("=");
    if (arg.startsWith("--") && eq > 0) {
      const kind = globalValueKind(arg.slice(0, eq));
      if (!kind) return { ...out, unknown: arg };
      take(kind, arg.slice(eq + 1));
      continue;
    }
    const kind = globalValueKind(arg);
    if (kind) {
      const value = globals[i + 1];
      if (value === undefined) return { ...out, unknown: arg };
      take(kind, value);
      i++;
      continue;
    }
    // A shorthand with its value attached: -Hunix:///x, -cNAME, -c=NAME (pflag drops the `=`).
    const short = /^-([cHl])=?(.+)$/.exec(arg);
    const shortKind = short ? globalValueKind(`-${short[1]}`) : undefined;
    if (short && shortKind) {
      take(shortKind, short[2] as string);
      continue;
    }
    return { ...out, unknown: arg };
  }
  return out;
}

/**
 * A host as the CLI reads it from -H or DOCKER_HOST: `unix://` alone is the default socket;
 * only an absolute socket path is taken, anything else is left to the CLI.
 */
function flagHost(raw: string): EngineRoute {
  const host = raw.trim();
  if (host === "") return { socket: DEFAULT_SOCKET, host: `unix://${DEFAULT_SOCKET}` };
  return unixHost(host, true);
}

function unixHost(host: string, emptyIsDefault: boolean): EngineRoute {
  if (!host.startsWith("unix://")) return { cli: `engine host ${host.split("://")[0]}` };
  const socket = host.slice("unix://".length);
  if (socket === "" && emptyIsDefault) return { socket: DEFAULT_SOCKET, host: `unix://${DEFAULT_SOCKET}` };
  if (!path.isAbsolute(socket)) return { cli: "a unix socket path that is not absolute" };
  return { socket, host };
}

function readJson(file: string): { value?: unknown; missing?: boolean; error?: boolean } {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "ENOENT" ? { missing: true } : { error: true };
  }
  try {
    return { value: JSON.parse(text) as unknown };
  } catch {
    return { error: true };
  }
}

/** A JSON object (not null, not an array). */
export const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** A named context's docker endpoint, from its metadata in the CLI's context store. */
function contextHost(dir: string, name: string): EngineRoute {
  const id = sha256Hex(name);
  const meta = readJson(path.join(dir, "contexts", "meta", id, "meta.json"));
  if (!isRecord(meta.value)) return { cli: `context ${name} not readable here` };
  const endpoints = meta.value.Endpoints;
  const docker = isRecord(endpoints) ? endpoints.docker : undefined;
  if (!isRecord(docker) || typeof docker.Host !== "string")
    return { cli: `context ${name} has no docker host` };
  if (docker.SkipTLSVerify === true) return { cli: `context ${name} has TLS settings` };
  // TLS material of the context (ca.pem, cert.pem, key.pem under contexts/tls/<id>/docker).
  try {
    if (readdirSync(path.join(dir, "contexts", "tls", id)).length > 0)
      return { cli: `context ${name} has TLS material` };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") return { cli: `context ${name}'s TLS not readable` };
  }
  return unixHost(docker.Host, false);
}

/**
 * The engine the docker CLI would talk to, given the plugin's Docker global options and
 * environment: -H (or, with --context, the context; both at once the CLI refuses), then
 * DOCKER_HOST, DOCKER_CONTEXT, config.json's currentContext, and the default socket.
 */
export function engineRoute(globals: readonly string[], env: NodeJS.ProcessEnv, cwd: string): EngineRoute {
  const off = env[FORCE_CLI_ENV];
  if (off !== undefined && /^(0|off|false|no|cli)$/i.test(off.trim()))
    return { cli: `${FORCE_CLI_ENV}=${off}` };
  const g = readGlobals(globals);
  if (g.unknown !== undefined) return { cli: `global option ${g.unknown}` };
  if (g.tls || env.DOCKER_TLS_VERIFY || env.DOCKER_TLS) return { cli: "TLS options" };
  // The CLI then speaks that API version; the engine's own may answer with other fields.
  if (env.DOCKER_API_VERSION) return { cli: "DOCKER_API_VERSION" };
  if (g.hosts.length > 1) return { cli: "more than one -H" };
  if (g.context !== undefined && g.hosts.length > 0) return { cli: "both --host and --context" };
  const dir = dockerConfigDir(globals, env, cwd);
  let name = g.context;
  if (name === undefined && g.hosts.length === 0 && !env.DOCKER_HOST) {
    name = env.DOCKER_CONTEXT || undefined;
    if (name === undefined) {
      const config = readJson(path.join(dir, "config.json"));
      if (config.error || (!config.missing && !isRecord(config.value)))
        return { cli: "config.json not readable" };
      const current = isRecord(config.value) ? config.value.currentContext : undefined;
      if (current !== undefined && typeof current !== "string") return { cli: "config.json currentContext" };
      name = current || undefined;
    }
  }
  if (name === undefined || name === "default") return flagHost(g.hosts[0] ?? env.DOCKER_HOST ?? "");
  return contextHost(dir, name);
}
