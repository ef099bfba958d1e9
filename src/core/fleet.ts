// The fleet view's decisions, pure: which docker contexts a selection names, which version a
// running digest is in a record, the drift of each service of each host against the record,
// the exit code, and the table. The engines are read elsewhere (adapters/fleet-engine.ts);
// only what they answered comes in here.
import type { Manifest, ServiceRecord } from "./manifest.js";
import { nameOrder } from "./order.js";
import { shortDigest } from "./reference.js";
import { withoutUserinfo } from "./shown-text.js";

/** A context as `docker context ls` lists it. */
export interface ContextEntry {
  name: string;
  endpoint: string;
}

/** One container of the project as an engine reports it. */
export interface SeenContainer {
  service: string;
  running: boolean;
  /** The reference it was started from (`repo:1.62`), as its config says. */
  image: string;
  /** Its image's registry digests (`repo@sha256:…`); empty for an image built or imported there. */
  repoDigests: string[];
}

export type HostObservation =
  | { context: string; endpoint: string; reachable: true; containers: SeenContainer[] }
  | { context: string; endpoint: string; reachable: false; reason: string };

export type Drift =
  /** Runs the record's digest. */
  | "in sync"
  /** Runs another digest than the record's. */
  | "drift"
  /** Tracked by the record, but no running container here. */
  | "not running"
  /** Runs here, but the record does not track it. */
  | "untracked"
  /** No digest to compare: the record has none, or the image has no registry digest here. */
  | "unknown"
  /** No reference record was given or found. */
  | "no record";

/** Where a version name came from: the reference record's history, or the registry's tags. */
export type NamedBy = "record" | "registry";

export interface FleetRow {
  service: string;
  /** The running registry digest; undefined when not running or the image has none. */
  digest?: string;
  /** The reference the container was started from. */
  image?: string;
  /** How many running containers run this digest. */
  containers: number;
  /** The version name the digest resolves to, or null when nothing names it. */
  version: string | null;
  namedBy?: NamedBy;
  /** Why no name, when none. */
  unnamed?: string;
  drift: Drift;
  /** The record's version, for a row that differs from it. */
  recorded?: { tag: string; digest?: string };
}

export type FleetHost =
  | { context: string; endpoint: string; reachable: true; rows: FleetRow[] }
  | { context: string; endpoint: string; reachable: false; reason: string };

export interface FleetReport {
  project: string;
  /** The reference record's path, or null when there is none. */
  against: string | null;
  hosts: FleetHost[];
  summary: { hosts: number; unreachable: number; drifting: number };
}

/** Exit codes of `fleet status`: every host answered in sync, some drift, some host did not answer. */
export const FLEET_EXIT = { inSync: 0, drift: 3, unreachable: 4 } as const;

/** A glob over context names: `*` any run of characters, `?` one; anything else is literal. */
export function globToRegExp(pattern: string): RegExp {
  const body = [...pattern]
    .map((c) => (c === "*" ? ".*" : c === "?" ? "." : c.replace(/[\\^$.|+()[\]{}]/g, "\\$&")))
    .join("");
  return new RegExp(`^${body}$`);
}

/**
 * The contexts to ask, in the order named: each `--context` by name, then each pattern's
 * matches in `docker context ls` order, each context once. An unknown name or a pattern that
 * matches nothing is an error, with the names that exist.
 */
export function selectContexts(
  listed: readonly ContextEntry[],
  names: readonly string[],
  patterns: readonly string[],
): { selected: ContextEntry[] } | { error: string } {
  const known = listed.map((c) => c.name);
  const picked: ContextEntry[] = [];
  const add = (c: ContextEntry) => {
    if (!picked.some((p) => p.name === c.name)) picked.push(c);
  };
  for (const name of names) {
    const hit = listed.find((c) => c.name === name);
    if (!hit) return { error: `no docker context named '${name}' (contexts: ${known.join(", ") || "none"})` };
    add(hit);
  }
  for (const pattern of patterns) {
    const re = globToRegExp(pattern);
    const hits = listed.filter((c) => re.test(c.name));
    if (hits.length === 0)
      return { error: `no docker context matches '${pattern}' (contexts: ${known.join(", ") || "none"})` };
    for (const c of hits) add(c);
  }
  if (picked.length === 0)
    return { error: "name the hosts: --context NAME (repeatable) or --contexts 'PATTERN'" };
  return { selected: picked };
}

/** An endpoint as it may be shown: a URL's user and password are left out. */
export function shownEndpoint(endpoint: string): string {
  return withoutUserinfo(endpoint);
}

/** The version a record gives a digest: its current tag, else the newest history entry with it. */
export function nameFromRecord(rec: ServiceRecord | undefined, digest: string): string | null {
  if (!rec) return null;
  if (rec.image_digest === digest) return rec.current_tag;
  return rec.history.find((h) => h.digest === digest)?.tag ?? null;
}

/** The digest `repository` has among an image's repo digests (the only one, when it has one). */
export function digestIn(repoDigests: readonly string[], repository: string | undefined): string | undefined {
  const split = repoDigests.map((d) => [d.slice(0, d.lastIndexOf("@")), d.slice(d.lastIndexOf("@") + 1)]);
  const hit = split.find(([repo]) => repo === repository) ?? (split.length === 1 ? split[0] : undefined);
  return hit?.[1];
}

function driftOf(rec: ServiceRecord | undefined, hasRecord: boolean, digest: string | undefined): Drift {
  if (!hasRecord) return "no record";
  if (!rec) return "untracked";
  if (!rec.image_digest || !digest) return "unknown";
  return rec.image_digest === digest ? "in sync" : "drift";
}

/**
 * One host's rows: per service and distinct running digest one row (replicas on the same digest
 * are one row), and a `not running` row for each service the record tracks that runs nowhere
 * here. `nameOf` gives the version name of a digest that the record does not name.
 */
export function hostRows(
  containers: readonly SeenContainer[],
  record: Manifest | null,
  repositoryOf: (service: string, image: string) => string | undefined,
  named: (service: string, digest: string) => { version: string | null; namedBy?: NamedBy; unnamed?: string },
): FleetRow[] {
  const rows = new Map<string, FleetRow>();
  for (const c of containers) {
    if (!c.running) continue;
    const rec = record?.services[c.service];
    const digest = digestIn(c.repoDigests, repositoryOf(c.service, c.image));
    const key = `${c.service}\u0000${digest ?? c.image}`;
    const seen = rows.get(key);
    if (seen) {
      seen.containers += 1;
      continue;
    }
    const drift = driftOf(rec, record !== null, digest);
    const name = digest
      ? named(c.service, digest)
      : { version: null, unnamed: "the image has no registry digest on this host" };
    rows.set(key, {
      service: c.service,
      digest,
      image: c.image,
      containers: 1,
      ...name,
      drift,
      ...(rec && drift !== "in sync" ? { recorded: { tag: rec.current_tag, digest: rec.image_digest } } : {}),
    });
  }
  const running = new Set([...rows.values()].map((r) => r.service));
  for (const [service, rec] of Object.entries(record?.services ?? {})) {
    if (running.has(service)) continue;
    rows.set(`${service}\u0000`, {
      service,
      containers: 0,
      version: null,
      drift: "not running",
      recorded: { tag: rec.current_tag, digest: rec.image_digest },
    });
  }
  // Per service, the digest most of its containers run first.
  return [...rows.values()].sort(
    (a, b) =>
      nameOrder(a.service, b.service) ||
      b.containers - a.containers ||
      nameOrder(a.digest ?? "", b.digest ?? ""),
  );
}

const DRIFTING: ReadonlySet<Drift> = new Set(["drift", "not running"]);

/** A host drifts when a tracked service runs another digest than the record's, or does not run. */
export function hostDrifts(host: FleetHost): boolean {
  return host.reachable && host.rows.some((r) => DRIFTING.has(r.drift));
}

export function summarize(hosts: readonly FleetHost[]): FleetReport["summary"] {
  return {
    hosts: hosts.length,
    unreachable: hosts.filter((h) => !h.reachable).length,
    drifting: hosts.filter(hostDrifts).length,
  };
}

/** 4 when a host did not answer (the picture is incomplete), else 3 when one drifts, else 0. */
export function fleetExitCode(report: Pick<FleetReport, "summary">): number {
  if (report.summary.unreachable > 0) return FLEET_EXIT.unreachable;
  if (report.summary.drifting > 0) return FLEET_EXIT.drift;
  return FLEET_EXIT.inSync;
}

export const FLEET_HEADERS = ["HOST", "SERVICE", "VERSION", "DIGEST", "DRIFT"] as const;

function driftCell(r: FleetRow): string {
  if (r.drift === "drift" || r.drift === "not running")
    return `${r.drift} (record: ${r.recorded?.tag ?? "?"}${r.recorded?.digest ? ` ${shortDigest(r.recorded.digest)}` : ""})`;
  return r.drift;
}

function versionCell(r: FleetRow): string {
  if (r.containers === 0) return "-";
  const name = r.version ?? "(unnamed)";
  const replicas = r.containers > 1 ? ` ×${r.containers}` : "";
  return `${name}${r.namedBy === "registry" ? " [registry]" : ""}${replicas}`;
}

/**
 * The table's rows: per host its services (the host named on its first row only), and an
 * unreachable host as one row that says why. Cells are plain text; colour is the renderer's.
 */
export function fleetTable(report: FleetReport): { cells: string[][]; drift: (Drift | "unreachable")[] } {
  const cells: string[][] = [];
  const drift: (Drift | "unreachable")[] = [];
  for (const host of report.hosts) {
    if (!host.reachable) {
      cells.push([host.context, "-", "-", "-", `unreachable: ${host.reason}`]);
      drift.push("unreachable");
      continue;
    }
    if (host.rows.length === 0) {
      cells.push([host.context, "-", "-", "-", `no containers of project ${report.project}`]);
      drift.push("unknown");
      continue;
    }
    host.rows.forEach((r, i) => {
      cells.push([
        i === 0 ? host.context : "",
        r.service,
        versionCell(r),
        shortDigest(r.digest),
        driftCell(r),
      ]);
      drift.push(r.drift);
    });
  }
  return { cells, drift };
}
