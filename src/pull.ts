// `pull`: makes the record's versions local, by digest, pulling only what the engine lacks;
// services the record does not track (and a project without a record) are Compose's own pull.
import { compose } from "./adapters/compose.js";
import { inspectImage, pullImage } from "./adapters/engine.js";
import { mapLimit } from "./core/limit.js";
import { has } from "./core/names.js";
import { UserError } from "./errors.js";
import { readManifest, serviceImages } from "./record.js";
import type { Workspace } from "./workspace.js";

const CONCURRENCY = 4;

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
    const res = await compose(ws.ctx.cli, project, ["pull", ...(opts.service ? [opts.service] : [])], {
      inherit: true,
    });
    if (res.code !== 0) throw new UserError(`docker compose pull failed (exit ${res.code})`);
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
  await mapLimit(names, CONCURRENCY, async (service) => {
    const rec = loaded.manifest.services[service];
    if (!rec) return; // not tracked: Compose's own pull covers it below
    const repo = ws.repositoryOf(service, rec, images);
    const ref = rec.image_digest ? `${repo}@${rec.image_digest}` : `${repo}:${rec.current_tag}`;
    if (await inspectImage(ws.ctx.cli, ref)) {
      present.push(service);
      return;
    }
    ws.progress(`pulling ${service}: ${ref}`);
    await pullImage(ws.ctx.cli, ref);
    pulled.push(service);
  });
  const untracked = (opts.service ? [opts.service] : Object.keys(project.services)).filter(
    (s) => !has(loaded.manifest.services, s) && project.services[s]?.image,
  );
  if (untracked.length > 0) {
    const res = await compose(ws.ctx.cli, project, ["pull", ...untracked], { inherit: true });
    if (res.code !== 0)
      throw new UserError(`docker compose pull ${untracked.join(" ")} failed (exit ${res.code})`);
    pulled.push(...untracked);
  }
  return { mode: "manifest", pulled: pulled.sort(), present: present.sort() };
}
