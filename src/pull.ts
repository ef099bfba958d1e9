import { inspectImage, pullImage } from "./adapters/engine.js";
import { mapLimit } from "./core/limit.js";
import { has } from "./core/names.js";
import { readManifest, serviceImages } from "./record.js";
import type { Workspace } from "./workspace.js";

const _CONCURRENCY = 4;

export interface PullOptions {
  service?: string;
}
export interface PullReport {
  mode: "manifest" | "compose";
  pulled: string[];
  present: string[];
}

/** `pull`: the manifest's versions by digest; without a manifest, what the compose file names. */
export async function pull(ws: Workspace, opts: PullOptions = {}): Promise<PullReport> {
  const project = await ws.project();
  if (opts.service) ws.checkService(project, opts.service);
  const loaded = await readManifest((await ws.paths()).manifest);
  if (!loaded) {
    await ws.composePull(project, opts.service ? [opts.service] : []);
    return {
      mode: "compose",
      pulled: opts.service ? [opts.service] : Object.keys(project.services),
      present: [],
    };
  }
  const images = serviceImages(project);
  const names = (opts.service ? [opts.service] : Object.keys(loaded.manifest.services)).filter((s) =>
    has(project.services, s),
  );
  const pulled: string[] = [];
  const present: string[] = [];
  await mapLimit(names, ws.pullLimit, async (service) => {
    const rec = loaded.manifest.services[service];
    if (!rec) return; // not tracked: Compose's own pull covers it below
    const repo = ws.repositoryOf(service, rec, images);
    const ref = rec.image_digest ? `${repo}@${rec.image_digest}` : `${repo}:${rec.current_tag}`;
    if (await inspectImage(ws.ctx.cli, ref)) {
      present.push(service);
      return;
    }
    ws.progress(`pulling ${service}: ${ref}`);
    await pullImage(ws.ctx.cli, ref, { progress: ws.drawsProgress });
    pulled.push(service);
  });
  const untracked = (opts.service ? [opts.service] : Object.keys(project.services)).filter(
    (s) => !has(loaded.manifest.services, s) && project.services[s]?.image,
  );
  if (untracked.length > 0) {
    await ws.composePull(project, untracked);
    pulled.push(...untracked);
  }
  return { mode: "manifest", pulled: pulled.sort(), present: present.sort() };
}
