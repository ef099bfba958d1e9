// What is recorded and what runs, read only: the project's services and containers (the base
// of `status`), each tracked service's record against the digest its container runs
// (`version`: in sync, drift, unpinned), the history of each (`version-history`), and the
// detail `status` adds: roles, uptime, restarts, drift, the log captures.
import { existsSync } from "node:fs";
import path from "node:path";
import { type ComposeProject, listContainers, type ServiceSpec } from "./adapters/compose.js";
import {
  digestFor,
  inspectContainers,
  inspectImage,
  type ObservedContainers,
  observeProject,
  runningContainers,
  runningOf,
} from "./adapters/engine.js";
import { RESUME_NEXT, touchedServices, updateState } from "./adapters/journal.js";
import { type CaptureState, captureState } from "./adapters/logs.js";
import { firstBy, groupBy } from "./core/group.js";
import { previousVersion } from "./core/history.js";
import { CAPTURE_KINDS } from "./core/log-lines.js";
import type { HistoryEntry, ServiceRecord } from "./core/manifest.js";
import { nameOrder } from "./core/order.js";
import type { Pin } from "./core/pinning.js";
import type { VersionRef } from "./core/plan.js";
import { parseReference } from "./core/reference.js";
import { decideRole, type Role, type RoleDecision } from "./core/roles.js";
import type { ServiceStatus, StatusReport, VersionRow } from "./core/status.js";
import type { Lifecycle } from "./lifecycle.js";
import { pinPlanFor, readManifest, requireManifest, serviceImages } from "./record.js";
import {
  observeStack,
  runningImages,
  type StackServiceStatus,
  stackStatus,
  taskDigest,
} from "./stack-reports.js";
import type { Workspace } from "./workspace.js";

export interface HistoryReport {
  services: {
    service: string;
    current: VersionRef;
    entries: (HistoryEntry & { mark: "current" | "previous" | "" })[];
  }[];
}

/** The project's containers and what the engine says of each (listed and inspected once). */
export type Observed = ObservedContainers;

/** Lists and inspects the project's containers once, for a command that reads them twice. */
export async function observeContainers(ws: Workspace): Promise<Observed> {
  return observeProject(ws.ctx.cli, await ws.project());
}

/** The project, its files and its containers, before roles and drift are added. */
export async function composeStatus(ws: Workspace, observed?: Observed): Promise<StatusReport> {
  const project = await ws.project();
  const [containers, manifestPath] = await Promise.all([
    observed?.containers ?? listContainers(ws.ctx.cli, project),
    ws.manifestPath(),
  ]);
  // With a record, a tracked service runs the recorded tag, not what the file defaults to.
  const recorded = (await readManifest(manifestPath))?.manifest.services ?? {};
  const images = serviceImages(project);
  const pins = pinPlanFor({ schema: 1, services: recorded }, images).pins;
  const imageOf = (service: string, spec: ServiceSpec): string => {
    const rec = recorded[service];
    const repo = images.get(service)?.repository ?? rec?.image;
    if (rec && repo && pins.get(service)?.state === "pinned") return `${repo}:${rec.current_tag}`;
    return spec.image ?? "(built locally)";
  };
  const byService = groupBy(containers, (c) => c.service);
  const services = Object.entries(project.services)
    .sort(([a], [b]) => nameOrder(a, b))
    .map(([service, spec]) => ({
      service,
      image: imageOf(service, spec),
      containers: (byService.get(service) ?? []).map(({ name, state, health, exitCode, status }) => ({
        name,
        state,
        health,
        exitCode,
        status,
      })),
    }));
  return {
    project: project.name,
    composeFiles: project.files,
    manifest: { path: manifestPath, present: existsSync(manifestPath) },
    services,
  };
}

/** `version`: each tracked service's record, and whether its container runs that digest. */
export async function versionRows(ws: Workspace, observed?: Observed): Promise<VersionRow[]> {
  const project = await ws.project();
  const paths = await ws.paths();
  const { manifest } = await requireManifest(paths.manifest);
  const images = serviceImages(project);
  const { running, runningDigest } = ws.ctx.stack
    ? await stackRunning(ws, ws.ctx.stack)
    : await composeRunning(ws, project, observed);
  const pins = pinPlanFor(manifest, images).pins;
  const rows = await Promise.all(
    Object.entries(manifest.services)
      .sort(([a], [b]) => nameOrder(a, b))
      .map(([service, rec]) =>
        versionRow(service, rec, {
          spec: project.services[service],
          pin: pins.get(service),
          repo: images.get(service)?.repository ?? rec.image,
          running: running(service),
          runningDigest,
        }),
      ),
  );
  if (ws.ctx.stack)
    for (const r of rows)
      if (r.drift === "drift" || r.drift === "not running")
        r.next = `deploy the record: docker stack deploy -c ${path.basename(project.files[0] ?? "compose.yaml")} ${ws.ctx.stack} with versions.env's values in its environment`;
  // An update-safe run cut short (not one still running): what it touched is finished (or
  // undone) before anything else.
  const open = (await updateState(paths.manifest)).interrupted;
  if (open) {
    const touched = touchedServices(open);
    for (const r of rows) if (touched.has(r.service)) r.next = RESUME_NEXT;
  }
  return rows;
}

interface Running {
  /** What each service's running containers (or tasks) run: image ids, or task images. */
  running: (service: string) => string[];
  runningDigest: (image: string, repo: string) => Promise<string | undefined>;
}

/** The images the project's running containers run, and their digests under a repository. */
async function composeRunning(ws: Workspace, project: ComposeProject, observed?: Observed): Promise<Running> {
  const running = observed ? runningOf(observed) : await runningContainers(ws.ctx.cli, project);
  const imageCache = new Map<string, Promise<Awaited<ReturnType<typeof inspectImage>>>>();
  const byService = groupBy(running, (c) => c.service);
  return {
    running: (service) => (byService.get(service) ?? []).map((c) => c.imageId),
    runningDigest: async (imageId, repo) => {
      if (!imageCache.has(imageId)) imageCache.set(imageId, inspectImage(ws.ctx.cli, imageId));
      const img = await imageCache.get(imageId);
      return img ? digestFor(img, repo) : undefined;
    },
  };
}

/** On a stack: the images its running tasks run, each with its digest in the reference. */
async function stackRunning(ws: Workspace, stack: string): Promise<Running> {
  const images = runningImages(await observeStack(ws, stack));
  return {
    running: (service) => images.get(service) ?? [],
    runningDigest: async (image) => taskDigest(image),
  };
}

/** The tags a service's history holds (every tracked service's without one), newest first. */
export async function historyTags(ws: Workspace, service?: string): Promise<string[]> {
  const loaded = await readManifest(await ws.manifestPath());
  const records = Object.entries(loaded?.manifest.services ?? {})
    .filter(([name]) => service === undefined || name === service)
    .map(([, rec]) => rec);
  return [...new Set(records.flatMap((rec) => [rec.current_tag, ...rec.history.map((h) => h.tag)]))];
}

/** One service's row: its record, how it is pinned, and whether its containers run that digest. */
async function versionRow(
  service: string,
  rec: ServiceRecord,
  seen: {
    spec: ServiceSpec | undefined;
    pin: Pin | undefined;
    repo: string | undefined;
    /** Image ids of its running containers. */
    running: string[];
    runningDigest: (imageId: string, repo: string) => Promise<string | undefined>;
  },
): Promise<VersionRow> {
  const { pin, repo } = seen;
  const role = decideRole({ manifest: rec.role, labels: seen.spec?.labels, image: seen.spec?.image }).role;
  const row: VersionRow = {
    service,
    tag: rec.current_tag,
    digest: rec.image_digest,
    custom: rec.custom,
    updatedAt: rec.updated_at,
    updatedBy: rec.updated_by,
    role,
    drift: "not running",
    pinnedBy: pin?.state === "pinned" ? "versions.env" : pin?.state === "file" ? "compose file" : "nothing",
    next: `docker versions ${role === "database" ? "updb" : "up"}`,
  };
  if (pin?.state === "unpinned") {
    return {
      ...row,
      drift: "unpinned",
      next: pin.edit ? `change its image: to ${pin.edit} (${pin.reason})` : pin.reason,
    };
  }
  if (seen.running.length === 0) return row;
  if (!rec.image_digest || !repo)
    return {
      ...row,
      drift: "unknown",
      next: `docker versions version-pull --service ${service} --tag ${rec.current_tag} (records its digest)`,
    };
  for (const imageId of seen.running) {
    const digest = await seen.runningDigest(imageId, repo);
    if (digest !== rec.image_digest)
      return {
        ...row,
        drift: "drift",
        running: digest ?? imageId,
        next: `docker versions restart --service ${service}`,
      };
  }
  return { ...row, drift: "in sync", next: undefined };
}

/** `version-history`: per service its deployments, current and previous marked. */
export async function history(ws: Workspace, opts: { service?: string } = {}): Promise<HistoryReport> {
  const project = await ws.services();
  const { manifest } = await requireManifest((await ws.paths()).manifest);
  if (opts.service) ws.checkService(project, opts.service, manifest);
  const names = opts.service ? [opts.service] : Object.keys(manifest.services).sort();
  return {
    services: names.map((service) => {
      const rec = manifest.services[service] as ServiceRecord;
      const prev = previousVersion(rec);
      const currentIdx = rec.history.findIndex(
        (e) => e.tag === rec.current_tag && e.digest === rec.image_digest,
      );
      return {
        service,
        current: { tag: rec.current_tag, digest: rec.image_digest },
        entries: rec.history.map((e, i) => ({
          ...e,
          mark: i === currentIdx ? "current" : e === prev ? "previous" : "",
        })),
      };
    }),
  };
}

export interface ContainerStatus {
  name: string;
  state: string;
  health: string;
  exitCode: number;
  status: string;
  startedAt?: string;
  /** Seconds since the container started, while it runs. */
  uptime?: number;
  restarts: number;
  oomKilled: boolean;
}

export interface LifecycleServiceStatus extends Omit<ServiceStatus, "containers"> {
  role: Role;
  roleSource: RoleDecision["source"];
  /** Whether what runs is the manifest's digest; "untracked" without a record. */
  drift: VersionRow["drift"] | "untracked";
  /** What to run (or edit) to bring the service in sync, when it is not. */
  next?: string;
  containers: ContainerStatus[];
  /** On a stack (--stack): replicas running/desired and which tasks run which digest. */
  swarm?: Omit<StackServiceStatus, "tasks">;
}

export interface LifecycleStatus extends Omit<StatusReport, "services"> {
  services: LifecycleServiceStatus[];
  captures: CaptureState[];
  /** The Swarm stack reported on, with --stack. */
  stack?: string;
}

/** `status` on a stack: each service's tasks stand in for its containers, with its replicas. */
export async function withStack(
  ws: Workspace,
  stack: string,
  report: LifecycleStatus,
): Promise<LifecycleStatus> {
  const swarm = await stackStatus(ws, stack);
  return {
    ...report,
    stack,
    services: report.services.map((s) => {
      const seen = swarm.get(s.service);
      if (!seen) return { ...s, containers: [] };
      const { tasks, ...rest } = seen;
      return {
        ...s,
        swarm: rest,
        containers: tasks.map((t) => ({
          name: t.name,
          state: t.state,
          health: t.health,
          exitCode: t.exitCode,
          status: `${t.status}${t.digest ? ` ${t.digest}` : ""}`,
          restarts: t.restarts,
          oomKilled: t.oomKilled,
        })),
      };
    }),
  };
}

/** For a service the record does not hold: the command that records it, if one can. */
function untrackedNext(
  service: string,
  hasManifest: boolean,
  corrupt: boolean,
  project: ComposeProject,
): string | undefined {
  if (corrupt) return "the manifest cannot be read: see the error of 'docker versions version'";
  const image = project.services[service]?.image;
  if (!hasManifest || !image) return undefined; // no record at all, or built from source
  let tag = "latest";
  try {
    tag = parseReference(image).tag ?? "latest";
  } catch {
    // the image's own error shows when Compose runs it
  }
  return `not in the manifest: docker versions version-pull --service ${service} --tag ${tag}`;
}

/**
 * `status`'s detail: the project's services (as `base` lists them) with role, health, uptime,
 * restarts and drift (from `rows`, the version report; `driftUnknown` when it could not be
 * made), and the log captures.
 */
export async function statusDetail(
  ws: Workspace,
  lifecycle: Lifecycle,
  base: StatusReport,
  rows: VersionRow[],
  driftUnknown: boolean,
  observed?: Observed,
): Promise<LifecycleStatus> {
  // A corrupt manifest must not hide the containers: roles then come from labels and images.
  const roles = await lifecycle.roles().catch(() => lifecycle.roles({ ignoreManifest: true }));
  const names = base.services.flatMap((s) => s.containers.map((c) => c.name));
  const infos = observed?.infos ?? (await inspectContainers(ws.cli, names));
  // Looked up once per service and per container: the first of each name, as find() would.
  const rowOf = firstBy(rows, (r) => r.service);
  const infoOf = firstBy(infos, (i) => i.name);
  const now = Date.now();
  const project = await ws.project();
  const captures = await Promise.all(
    CAPTURE_KINDS.map(async (k) => captureState(await lifecycle.capturePaths(k), project.name)),
  );
  return {
    ...base,
    services: base.services.map((s) => {
      const role = roles.get(s.service) ?? { role: "app" as const, source: "default" as const };
      const row = rowOf.get(s.service);
      return {
        ...s,
        role: role.role,
        roleSource: role.source,
        drift: row ? row.drift : driftUnknown ? "unknown" : "untracked",
        // A tracked service in sync has no next step; only an untracked one is told to record itself.
        next: row ? row.next : untrackedNext(s.service, base.manifest.present, driftUnknown, project),
        containers: s.containers.map((c) => {
          const info = infoOf.get(c.name);
          const started = info?.startedAt ? Date.parse(info.startedAt) : Number.NaN;
          return {
            ...c,
            startedAt: info?.startedAt,
            uptime:
              info?.running && Number.isFinite(started)
                ? Math.max(0, Math.round((now - started) / 1000))
                : undefined,
            restarts: info?.restartCount ?? 0,
            oomKilled: info?.oomKilled ?? false,
          };
        }),
      };
    }),
    captures,
  };
}
