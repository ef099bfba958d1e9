// The Docker Engine API asked directly over its local unix socket, for the reads a command makes
// of every container and image (list a project's containers, inspect containers and images): an
// HTTP request there costs about a millisecond, a `docker` child process 40–150 ms. Used only
// when the docker CLI itself would talk to that socket without TLS (engine-endpoint.ts); every
// other engine, and every call that changes something, stays on the docker CLI.
import type { DockerCli } from "./docker.js";
import { engineRoute, isRecord } from "./engine-endpoint.js";
import { type SocketAnswer, SocketClosed, socketClient } from "./engine-socket.js";

/** Connections to one engine at most; requests beyond them are pipelined on those (engine-socket.ts). */
const PARALLEL = 8;

/** The engine did not answer (no socket, refused, cut off), or answered a list with an error: its one line. */
export class EngineApiError extends Error {}

export interface ApiAnswer {
  status: number;
  body: unknown;
}

export interface EngineApi {
  /** The engine as the docker CLI names it (`unix:///var/run/docker.sock`). */
  readonly host: string;
  /**
   * GET `path` (unversioned: the engine's own API version); rejects with EngineApiError. A
   * successful answer's body is JSON, read by `read` when given (undefined: read it whole).
   */
  get(path: string, read?: (body: Buffer) => unknown): Promise<ApiAnswer>;
}

/** What the engine says went wrong, as the docker CLI prints it. */
export function daemonError(answer: ApiAnswer): string {
  const body = answer.body as { message?: unknown } | null;
  const message = typeof body?.message === "string" ? body.message.trim() : "";
  return `Error response from daemon: ${message || `HTTP ${answer.status}`}`;
}

function unreachable(host: string, err: { code?: string; message: string }): EngineApiError {
  if (err.code === "EACCES")
    return new EngineApiError(
      `permission denied while trying to connect to the Docker daemon socket at ${host}`,
    );
  if (err.code === "ENOENT" || err.code === "ECONNREFUSED")
    return new EngineApiError(
      `Cannot connect to the Docker daemon at ${host}. Is the docker daemon running?`,
    );
  return new EngineApiError(`cannot reach the Docker daemon at ${host}: ${err.code ?? err.message}`);
}

function socketApi(socketPath: string, host: string): EngineApi {
  // The socket client only now, when a command asks the engine this way (not on every start-up).
  const client = socketClient(socketPath, PARALLEL);
  return {
    host,
    get: async (urlPath, read) => {
      let answer: SocketAnswer;
      try {
        answer = await client.get(urlPath);
      } catch (e) {
        if (e instanceof SocketClosed) throw unreachable(host, e);
        throw e;
      }
      const part = answer.status === 200 && read ? read(answer.body) : undefined;
      if (part !== undefined) return { status: answer.status, body: part };
      const text = answer.body.toString("utf8");
      try {
        return { status: answer.status, body: text.trim() ? JSON.parse(text) : null };
      } catch {
        // An error answer may be plain text; a success must be JSON.
        if (answer.status < 400)
          throw new EngineApiError(`the Docker daemon at ${host} answered ${urlPath} with no JSON`);
        return { status: answer.status, body: { message: text.trim().split("\n")[0] } };
      }
    },
  };
}

const apis = new WeakMap<DockerCli, EngineApi | null>();

/**
 * The engine API for this docker CLI's engine, or null when the CLI must be asked instead (a
 * remote or TLS engine, or DOCKER_VERSIONS_ENGINE_API=off). Decided once per CLI.
 */
export function engineApi(cli: DockerCli): EngineApi | null {
  let api = apis.get(cli);
  if (api === undefined) {
    const route = engineRoute(cli.globals, cli.env, cli.cwd);
    api = "socket" in route ? socketApi(route.socket, route.host) : null;
    apis.set(cli, api);
  }
  return api;
}

/** Names in a path segment: `/` `:` `@` kept (repository paths, tags, digests), the rest escaped. */
export function pathName(name: string): string {
  return encodeURIComponent(name).replace(/%2F/g, "/").replace(/%3A/g, ":").replace(/%40/g, "@");
}

/** `GET /containers/{id}/json`: the container as far as it is read, or null when the engine has none by that name. */
export async function inspectContainerApi(api: EngineApi, idOrName: string): Promise<RawContainer | null> {
  const answer = await api.get(`/containers/${pathName(idOrName)}/json`, inspectionHead);
  if (answer.status === 200) return answer.body as RawContainer;
  return null;
}

// The engine writes an inspection's fields in the order of its Go type, and all that is read of
// one (RawContainer) comes before HostConfig, which with Config, Mounts and NetworkSettings makes
// ~80% of it. `status` of 200 containers parsed ~1 MB of JSON it never read, and the garbage
// collector spent as long again on it.
const HOST_CONFIG = Buffer.from(',"HostConfig":');

/**
 * An inspection's fields before `"HostConfig"`, when they hold all of RawContainer; undefined
 * when they do not (another engine, another order): the answer is then read whole. The cut is
 * exact: in JSON text a quote inside a string is escaped, so those bytes start a key.
 */
export function inspectionHead(body: Buffer): RawContainer | undefined {
  const at = body.indexOf(HOST_CONFIG);
  if (at < 0) return undefined;
  let head: unknown;
  try {
    head = JSON.parse(`${body.toString("utf8", 0, at)}}`);
  } catch {
    return undefined;
  }
  return isRawContainer(head) ? head : undefined;
}

/** Whether `v` has every field of RawContainer, of its type. */
function isRawContainer(v: unknown): v is RawContainer {
  if (!isRecord(v) || !isRecord(v.State)) return false;
  const s = v.State;
  return (
    typeof v.Id === "string" &&
    typeof v.Name === "string" &&
    typeof v.Image === "string" &&
    "RestartCount" in v &&
    typeof s.Running === "boolean" &&
    typeof s.Restarting === "boolean" &&
    typeof s.OOMKilled === "boolean" &&
    typeof s.ExitCode === "number" &&
    typeof s.StartedAt === "string" &&
    "Status" in s
  );
}

/**
 * `GET /images/{name}/json`: the image, or null when the engine answered without it (missing,
 * or a name it cannot read: what `docker image inspect` leaves out too).
 */
export async function inspectImageApi<T>(api: EngineApi, ref: string): Promise<T | null> {
  const answer = await api.get(`/images/${pathName(ref)}/json`);
  return answer.status === 200 ? (answer.body as T) : null;
}

/** `GET /containers/json?all=1` with label filters: every container (any state) carrying them. */
export async function listContainersApi<T>(api: EngineApi, labels: readonly string[]): Promise<T[]> {
  const filters = encodeURIComponent(JSON.stringify({ label: labels }));
  const answer = await api.get(`/containers/json?all=1&filters=${filters}`);
  if (answer.status !== 200) throw new EngineApiError(daemonError(answer));
  return Array.isArray(answer.body) ? (answer.body as T[]) : [];
}

/** What `GET /containers/json` says of a container, as far as this plugin reads it. */
export interface ApiContainerSummary {
  Id: string;
  Names?: string[] | null;
  Image?: string;
  ImageID?: string;
  State?: string;
  Status?: string;
  Labels?: Record<string, string> | null;
}

/** What `GET /containers/{id}/json` (and `docker container inspect`) says, as far as it is read. */
export interface RawContainer {
  Id: string;
  Name: string;
  Image: string;
  RestartCount?: number;
  State: {
    Status?: string;
    Running: boolean;
    Restarting: boolean;
    OOMKilled: boolean;
    ExitCode: number;
    StartedAt: string;
    Health?: { Status: string } | null;
  };
}
