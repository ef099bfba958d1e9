// The engines of a fleet, each reached through its docker context (`docker --context NAME …`):
// the contexts `docker context ls` knows, and what one engine runs of a compose project, read
// from its containers' compose labels and its images' registry digests. Nothing is installed
// on a host; every call has a deadline, so a host that hangs costs at most that.
import { type ContextEntry, type HostObservation, type SeenContainer, shownEndpoint } from "../core/fleet.js";
import { shown } from "../core/shown-text.js";
import { UserError } from "../errors.js";
import { type DockerCli, lastLine, type RunResult, runDocker } from "./docker.js";

// Docker global options that choose an engine: the fleet chooses its own, one context per call.
const ENGINE_FLAGS = new Set(["--context", "-c", "--host", "-H", "--tls", "--tlsverify"]);
const ENGINE_FLAGS_WITH_VALUE = new Set([
  "--context",
  "-c",
  "--host",
  "-H",
  "--tlscacert",
  "--tlscert",
  "--tlskey",
]);

/** The docker CLI of the plugin with its engine choice removed (--config and logging kept). */
function withoutEngine(cli: DockerCli): DockerCli {
  const globals: string[] = [];
  for (let i = 0; i < cli.globals.length; i++) {
    const g = cli.globals[i] as string;
    const flag = g.startsWith("--") && g.includes("=") ? g.slice(0, g.indexOf("=")) : g;
    if (ENGINE_FLAGS_WITH_VALUE.has(flag)) {
      if (flag === g) i++;
      continue;
    }
    if (ENGINE_FLAGS.has(flag) || /^-[cH]./.test(g)) continue;
    globals.push(g);
  }
  // DOCKER_HOST would override the context of every call.
  const { DOCKER_HOST: _host, DOCKER_CONTEXT: _context, ...env } = cli.env;
  return { ...cli, globals, env };
}

/** The same CLI aimed at one context's engine. */
export function contextCli(cli: DockerCli, context: string): DockerCli {
  const base = withoutEngine(cli);
  return { ...base, globals: [...base.globals, "--context", context] };
}

/** Every context of the user's Docker config, with its endpoint as it may be shown (no credentials). */
export async function listContexts(cli: DockerCli): Promise<ContextEntry[]> {
  const res = await runDocker(withoutEngine(cli), ["context", "ls", "--format", "{{json .}}"]);
  if (res.code !== 0)
    throw new UserError(`cannot list docker contexts: ${shown(lastLine(res.stderr))}`, "engine");
  return res.stdout
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as { Name: string; DockerEndpoint?: string })
    .map((c) => ({ name: c.Name, endpoint: shown(shownEndpoint(c.DockerEndpoint ?? ""), 300) }));
}

class HostFailure extends Error {}

/** The reason an engine gave, as one line that can be shown: no credentials, no controls. */
function failure(res: RunResult, what: string, timeoutMs: number): HostFailure {
  if (res.timedOut) return new HostFailure(`no answer within ${Math.round(timeoutMs / 100) / 10}s`);
  return new HostFailure(shown(lastLine(res.stderr) || `docker ${what} exited ${res.code}`, 300));
}

type RawContainer = {
  Image: string;
  State: { Running: boolean };
  Config: { Image: string; Labels?: Record<string, string> | null };
};
type RawImage = { Id: string; RepoDigests?: string[] | null };

function jsonLines<T>(text: string, what: string): T[] {
  try {
    return text
      .split("\n")
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as T);
  } catch {
    throw new HostFailure(`docker ${what} gave an answer that is not JSON`);
  }
}

/**
 * What one engine runs of compose project `project`: each container of it (one-off `run`
 * containers left out) with its service, state, start reference and image digests. A host that
 * does not answer within `timeoutMs` (all calls together), or answers with an error, is
 * reported unreachable with the reason; it never fails the whole view.
 */
export async function observeHost(
  cli: DockerCli,
  context: ContextEntry,
  project: string,
  timeoutMs: number,
): Promise<HostObservation> {
  const engine = contextCli(cli, context.name);
  const host = { context: context.name, endpoint: context.endpoint };
  const deadline = Date.now() + timeoutMs;
  const call = async (args: string[], what: string, partialOk = false): Promise<string> => {
    const left = Math.max(1, deadline - Date.now());
    const res = await runDocker(engine, args, { timeoutMs: left });
    // Inspecting several objects, one may have gone in between; the others are still answered.
    if (res.code !== 0 && !(partialOk && res.stdout.trim() && !res.timedOut))
      throw failure(res, what, timeoutMs);
    return res.stdout;
  };
  try {
    const ids = (
      await call(
        ["ps", "--all", "--quiet", "--no-trunc", "--filter", `label=com.docker.compose.project=${project}`],
        "ps",
      )
    )
      .split("\n")
      .map((l) => l.trim())
      .filter(Boolean);
    if (ids.length === 0) return { ...host, reachable: true, containers: [] };
    const raw = jsonLines<RawContainer>(
      await call(["container", "inspect", "--format", "{{json .}}", ...ids], "container inspect", true),
      "container inspect",
    ).filter((c) => c.Config.Labels?.["com.docker.compose.oneoff"] !== "True");
    const imageIds = [...new Set(raw.filter((c) => c.State.Running).map((c) => c.Image))];
    const images = imageIds.length
      ? jsonLines<RawImage>(
          await call(["image", "inspect", "--format", "{{json .}}", ...imageIds], "image inspect", true),
          "image inspect",
        )
      : [];
    const digestsOf = new Map(images.map((i) => [i.Id, i.RepoDigests ?? []]));
    const containers: SeenContainer[] = raw.map((c) => ({
      service: c.Config.Labels?.["com.docker.compose.service"] ?? "",
      running: c.State.Running,
      image: c.Config.Image,
      repoDigests: digestsOf.get(c.Image) ?? [],
    }));
    return { ...host, reachable: true, containers: containers.filter((c) => c.service) };
  } catch (e) {
    if (e instanceof HostFailure) return { ...host, reachable: false, reason: e.message };
    throw e;
  }
}
