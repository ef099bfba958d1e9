// What is recorded and what runs, read only: the project's services and containers (the base
// of `status`), each tracked service's record against the digest its container runs
// (`version`: in sync, drift, unpinned), and the history of each (`version-history`).
import { existsSync } from "node:fs";
import { listContainers, type ServiceSpec } from "./adapters/compose.js";
import { digestFor, inspectContainers, inspectImage } from "./adapters/engine.js";
import { previousVersion } from "./core/history.js";
import type { HistoryEntry, ServiceRecord } from "./core/manifest.js";
import type { VersionRef } from "./core/plan.js";
import { decideRole } from "./core/roles.js";
import type { StatusReport, VersionRow } from "./core/status.js";
import { pinPlanFor, readManifest, requireManifest, serviceImages } from "./record.js";
import type { Workspace } from "./workspace.js";

export interface HistoryReport {
  services: {
    service: string;
    current: VersionRef;
    entries: (HistoryEntry & { mark: "current" | "previous" | "" })[];
  }[];
}

/** The project, its files and its containers, before roles and drift are added. */
export async function composeStatus(ws: Workspace): Promise<StatusReport> {
  const project = await ws.project();
  const [containers, manifestPath] = await Promise.all([
    listContainers(ws.ctx.cli, project),
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
  const services = Object.entries(project.services)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([service, spec]) => ({
      service,
      image: imageOf(service, spec),
      containers: containers
        .filter((c) => c.service === service)
        .map(({ name, state, health, exitCode, status }) => ({ name, state, health, exitCode, status })),
    }));
  return {
    project: project.name,
    composeFiles: project.files,
    manifest: { path: manifestPath, present: existsSync(manifestPath) },
    services,
  };
}

/** `version`: each tracked service's record, and whether its container runs that digest. */
export async function versionRows(ws: Workspace): Promise<VersionRow[]> {
  const project = await ws.project();
  const paths = await ws.paths();
  const { manifest } = await requireManifest(paths.manifest);
  const images = serviceImages(project);
  const containers = await listContainers(ws.ctx.cli, project);
  const infos = await inspectContainers(
    ws.ctx.cli,
    containers.filter((c) => c.state === "running").map((c) => c.id),
  );
  const imageCache = new Map<string, Promise<Awaited<ReturnType<typeof inspectImage>>>>();
  const pins = pinPlanFor(manifest, images).pins;
  return Promise.all(
    Object.entries(manifest.services)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(async ([service, rec]): Promise<VersionRow> => {
        const pin = pins.get(service);
        const role = decideRole({
          manifest: rec.role,
          labels: project.services[service]?.labels,
          image: project.services[service]?.image,
        }).role;
        const row: VersionRow = {
          service,
          tag: rec.current_tag,
          digest: rec.image_digest,
          custom: rec.custom,
          updatedAt: rec.updated_at,
          updatedBy: rec.updated_by,
          role,
          drift: "not running",
          pinnedBy:
            pin?.state === "pinned" ? "versions.env" : pin?.state === "file" ? "compose file" : "nothing",
          next: `docker versions ${role === "database" ? "updb" : "up"}`,
        };
        if (pin?.state === "unpinned") {
          return {
            ...row,
            drift: "unpinned",
            next: pin.edit ? `change its image: to ${pin.edit} (${pin.reason})` : pin.reason,
          };
        }
        const ids = containers.filter((c) => c.service === service).map((c) => c.id);
        const running = infos.filter((i) => ids.some((id) => i.id.startsWith(id)));
        if (running.length === 0) return row;
        const repo = images.get(service)?.repository ?? rec.image;
        if (!rec.image_digest || !repo)
          return {
            ...row,
            drift: "unknown",
            next: `docker versions version-pull --service ${service} --tag ${rec.current_tag} (records its digest)`,
          };
        for (const c of running) {
          if (!imageCache.has(c.imageId)) imageCache.set(c.imageId, inspectImage(ws.ctx.cli, c.imageId));
          const img = await imageCache.get(c.imageId);
          const digest = img ? digestFor(img, repo) : undefined;
          if (digest !== rec.image_digest)
            return {
              ...row,
              drift: "drift",
              running: digest ?? c.imageId,
              next: `docker versions restart --service ${service}`,
            };
        }
        return { ...row, drift: "in sync", next: undefined };
      }),
  );
}

/** `version-history`: per service its deployments, current and previous marked. */
export async function history(ws: Workspace, opts: { service?: string } = {}): Promise<HistoryReport> {
  const project = await ws.project();
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
