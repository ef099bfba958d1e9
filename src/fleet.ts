// `fleet status`: what a compose project runs on each of several engines (docker contexts), the
// version name of each running digest (from the reference record's history, else the
// registry's tags) and its drift against that record. Hosts are asked in parallel, each with a
// deadline; one that does not answer is one line and the others still report.
import path from "node:path";
import { listContexts, observeHost } from "./adapters/fleet-engine.js";
import { manifestDigest } from "./adapters/registry/manifests.js";
import { resolveTag } from "./adapters/registry/resolution.js";
import {
  type FleetHost,
  type FleetReport,
  type FleetRow,
  type HostObservation,
  hostRows,
  type NamedBy,
  nameFromRecord,
  selectContexts,
  summarize,
} from "./core/fleet.js";
import { mapLimit } from "./core/limit.js";
import type { Manifest } from "./core/manifest.js";
import { parseReference, repositoryName } from "./core/reference.js";
import { shown } from "./core/shown-text.js";
import { UserError } from "./errors.js";
import { readManifest, requireManifest } from "./record.js";
import type { Workspace } from "./workspace.js";

export interface FleetOptions {
  /** Context names, each asked (`--context`, repeatable). */
  contexts?: string[];
  /** Globs over `docker context ls` (`--contexts 'prod-*'`). */
  patterns?: string[];
  /** The reference record (`--against`); default the project's own record when there is one. */
  against?: string;
  /** How long one host may take to answer, all its calls together. */
  timeoutMs?: number;
  /** Ask the registry for the name of a digest the record does not name (default true). */
  registry?: boolean;
}

export const DEFAULT_FLEET_TIMEOUT_MS = 10_000;
// Hosts asked at once: each is a few short `docker` processes, mostly waiting on the network.
const HOSTS_AT_ONCE = 8;

type Naming = { version: string | null; namedBy?: NamedBy; unnamed?: string };

/** The project name: -p or COMPOSE_PROJECT_NAME, else the project of the compose file in reach. */
async function projectName(ws: Workspace): Promise<string> {
  const given = ws.ctx.compose.projectName ?? ws.cli.env.COMPOSE_PROJECT_NAME;
  if (given) return given;
  try {
    return (await ws.project()).name;
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    throw new UserError(`name the project with -p NAME: ${e.message}`);
  }
}

/** The reference record and its path: --against, else the project's own when it exists. */
async function referenceRecord(
  ws: Workspace,
  against?: string,
): Promise<{ path: string; manifest: Manifest } | null> {
  if (against) {
    const file = path.resolve(ws.cli.cwd, against);
    return { path: file, manifest: (await requireManifest(file)).manifest };
  }
  let file: string;
  try {
    file = await ws.manifestPath();
  } catch (e) {
    if (e instanceof UserError) return null; // no compose file in reach: no record of its own
    throw e;
  }
  const loaded = await readManifest(file);
  return loaded ? { path: file, manifest: loaded.manifest } : null;
}

/**
 * The version the registry gives `repository@digest`: the tag the container was started from
 * when it is a version that still has this digest, else the most specific tag of the line
 * followed (the record's floating tag, or the one started from, or `latest`) with it.
 */
async function registryName(
  ws: Workspace,
  repository: string,
  digest: string,
  started: string | undefined,
  floating: string | undefined,
): Promise<Naming> {
  const client = ws.registry();
  const line = floating ?? started ?? "latest";
  try {
    let r = await resolveTag(client, `${repository}:${line}`, digest, { hint: started });
    if (r.tag !== null && r.matchedBy === "specific") {
      // A version tag names its image only while it still points at this digest.
      const now = await manifestDigest(client, parseReference(`${repository}:${r.tag}`), r.tag);
      if (now.digest === digest) return { version: r.tag, namedBy: "registry" };
      r = await resolveTag(client, `${repository}:latest`, digest, { hint: started });
    }
    if (r.tag !== null) return { version: r.tag, namedBy: "registry" };
    return { version: null, unnamed: r.reason };
  } catch (e) {
    if (e instanceof UserError && (e.category === "registry" || e.category === "input"))
      return { version: null, unnamed: shown(e.message, 300) };
    throw e;
  }
}

function repositoryOfImage(image: string): string | undefined {
  try {
    return repositoryName(parseReference(image));
  } catch {
    return undefined;
  }
}

function tagOfImage(image: string): string | undefined {
  try {
    return parseReference(image).tag;
  } catch {
    return undefined;
  }
}

export async function fleetStatus(ws: Workspace, opts: FleetOptions = {}): Promise<FleetReport> {
  if (opts.timeoutMs !== undefined && !(opts.timeoutMs > 0 && Number.isFinite(opts.timeoutMs)))
    throw new UserError("--timeout must be a positive number of seconds");
  if (ws.ctx.stack)
    throw new UserError(
      `--stack ${ws.ctx.stack}: fleet status reads Compose projects through docker contexts; a stack's tasks, wherever they run, are in 'docker versions --stack ${ws.ctx.stack} status'`,
    );
  const project = await projectName(ws);
  const picked = selectContexts(await listContexts(ws.cli), opts.contexts ?? [], opts.patterns ?? []);
  if ("error" in picked) throw new UserError(picked.error);
  const reference = await referenceRecord(ws, opts.against);
  const record = reference?.manifest ?? null;
  const timeoutMs = opts.timeoutMs ?? DEFAULT_FLEET_TIMEOUT_MS;
  const seen: HostObservation[] = await mapLimit(picked.selected, HOSTS_AT_ONCE, (c) =>
    observeHost(ws.cli, c, project, timeoutMs),
  );

  const repositoryOf = (service: string, image: string) =>
    record?.services[service]?.image ?? repositoryOfImage(image);
  const fromRecord = (service: string, digest: string): Naming => {
    const version = nameFromRecord(record?.services[service], digest);
    return version !== null
      ? { version, namedBy: "record" }
      : { version: null, unnamed: "not in the record" };
  };
  const hosts: FleetHost[] = seen.map((h) =>
    h.reachable
      ? {
          context: h.context,
          endpoint: h.endpoint,
          reachable: true,
          rows: hostRows(h.containers, record, repositoryOf, fromRecord),
        }
      : { context: h.context, endpoint: h.endpoint, reachable: false, reason: h.reason },
  );
  if (opts.registry !== false) await nameFromRegistry(ws, hosts, record, repositoryOf);
  return { project, against: reference?.path ?? null, hosts, summary: summarize(hosts) };
}

/** Names the digests the record does not name from the registry: once per repository and digest. */
async function nameFromRegistry(
  ws: Workspace,
  hosts: FleetHost[],
  record: Manifest | null,
  repositoryOf: (service: string, image: string) => string | undefined,
): Promise<void> {
  const rows = hosts
    .flatMap((h) => (h.reachable ? h.rows : []))
    .filter((r) => r.version === null && r.digest);
  const wanted = new Map<string, () => Promise<Naming>>();
  const keyOf = new Map<FleetRow, string>();
  for (const r of rows) {
    const image = r.image ?? "";
    const repository = repositoryOf(r.service, image);
    if (!repository || !r.digest) continue;
    const digest = r.digest;
    const key = `${repository}@${digest}`;
    keyOf.set(r, key);
    if (!wanted.has(key)) {
      const floating = record?.services[r.service]?.floating_tag;
      wanted.set(key, () => registryName(ws, repository, digest, tagOfImage(image), floating));
    }
  }
  const keys = [...wanted.keys()];
  const answers = await mapLimit(keys, 4, (k) => (wanted.get(k) as () => Promise<Naming>)());
  const answerOf = new Map(keys.map((k, i) => [k, answers[i] as Naming]));
  for (const r of rows) {
    const answer = answerOf.get(keyOf.get(r) ?? "");
    if (!answer) continue;
    delete r.unnamed;
    Object.assign(r, answer);
  }
}
