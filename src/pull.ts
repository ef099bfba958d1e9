// `pull`: the record's versions made local (by digest), or without a record what the compose
// file names. One `docker image inspect` says which the engine already has.
import { pullImage } from "./adapters/engine.js";
import { inspectRefs } from "./adapters/images.js";
import { mapLimit } from "./core/limit.js";
import { has } from "./core/names.js";
import { readManifest, serviceImages } from "./record.js";
import type { Workspace } from "./workspace.js";

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
  const names = (opts.service ? [opts.service] : Object.keys(loaded.manifest.services)).filter(
    (s) => has(project.services, s) && has(loaded.manifest.services, s),
  );
  const refs = new Map(
    names.map((service) => {
      const rec = loaded.manifest.services[service];
      const repo = ws.repositoryOf(service, rec, images);
      return [service, rec?.image_digest ? `${repo}@${rec.image_digest}` : `${repo}:${rec?.current_tag}`];
    }),
  );
  const local = await inspectRefs(ws.cli, [...refs.values()]);
  const present = names.filter((s) => local.get(refs.get(s) as string));
  const missing = names.filter((s) => !present.includes(s));
  await mapLimit(missing, ws.pullLimit, async (service) => {
    const ref = refs.get(service) as string;
    ws.progress(`pulling ${service}: ${ref}`);
    await pullImage(ws.ctx.cli, ref, { progress: ws.drawsProgress });
  });
  const pulled = [...missing];
  const untracked = (opts.service ? [opts.service] : Object.keys(project.services)).filter(
    (s) => !has(loaded.manifest.services, s) && project.services[s]?.image,
  );
  if (untracked.length > 0) {
    await ws.composePull(project, untracked);
    pulled.push(...untracked);
  }
  return { mode: "manifest", pulled: pulled.sort(), present: present.sort() };
}
