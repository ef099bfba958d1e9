// A plan's pull step: the images a run needs, made local before anything is stopped. One
// `docker image inspect` says which the engine already has; the rest come through one
// `docker compose pull` of their services, with the variables of the record the run is about to
// write, so Compose pulls exactly what the next `up` will run, in parallel. On a terminal,
// Docker's per-layer progress is shown instead, image by image, as `docker pull` draws it; a
// service versions.env cannot pin is pulled by name with `docker pull`.
import { compose } from "./adapters/compose.js";
import { lastLine } from "./adapters/docker.js";
import { pullImage } from "./adapters/engine.js";
import { inspectRefs } from "./adapters/images.js";
import type { Manifest } from "./core/manifest.js";
import type { PullItem } from "./core/steps.js";
import { UserError } from "./errors.js";
import { pinPlanFor, type ServiceImage } from "./record.js";
import type { Workspace } from "./workspace.js";

/** Makes every item's image local; the ones the engine has are not pulled again. */
export async function makeLocal(
  ws: Workspace,
  items: readonly PullItem[],
  next: Manifest,
  images: Map<string, ServiceImage>,
  say: (line: string) => void = (line) => ws.progress(line),
): Promise<string[]> {
  const present = await inspectRefs(
    ws.cli,
    items.map((i) => i.ref),
  );
  const missing = items.filter((i) => !present.get(i.ref));
  if (missing.length === 0) return [];
  for (const i of missing) say(`pulling ${i.service}: ${i.follows ?? i.ref}`);
  const pins = pinPlanFor(next, images);
  const pinned = (i: PullItem) => pins.pins.get(i.service)?.state === "pinned";
  // On a terminal Docker draws each layer's progress, one image after the other (Compose would
  // fold them into one bar per service); elsewhere one quiet Compose pull fetches all at once.
  const byCompose = ws.drawsProgress ? [] : missing.filter(pinned);
  if (byCompose.length > 0) {
    const env = Object.fromEntries(pins.assignments.map((a) => [a.variable, a.value]));
    await composePull(
      ws,
      byCompose.map((i) => i.service),
      env,
    );
  }
  // Compose would pull what the file names, not the planned version: an unpinned service goes by
  // the name the file runs (the floating tag moves locally, as `docker pull` moves it).
  const byName = missing.filter((m) => !byCompose.includes(m));
  for (const ref of new Set(byName.map((i) => (pinned(i) ? i.ref : (i.follows ?? i.ref)))))
    await pullImage(ws.cli, ref, { progress: ws.drawsProgress });
  return missing.map((i) => i.service);
}

/**
 * `docker compose pull SERVICE…` with the planned variables set (they outrank the project's env
 * files, and versions.env, which still names the current versions, is left out).
 */
async function composePull(ws: Workspace, services: string[], env: NodeJS.ProcessEnv): Promise<void> {
  const project = await ws.project();
  const res = await compose(ws.cli, project, ["pull", "--quiet", ...services], { env });
  if (res.code !== 0)
    throw new UserError(
      `cannot pull ${services.join(", ")}: docker compose pull failed: ${lastLine(res.stderr) || `exit ${res.code}`}`,
      "engine",
    );
}
