// What the floating tags say now (pull-latest and update-safe observe this, then plan): the
// registry is asked each tracked service's floating tag's digest (a HEAD; the same in a dry run
// and a real one, so a dry run shows exactly the plan a run executes); where the digest moved,
// the registry names the semantic tag with that digest. Pulling is a step of the plan.

import { manifestDigest } from "./adapters/registry/manifests.js";
import { mapLimit } from "./core/limit.js";
import type { Manifest } from "./core/manifest.js";
import { has } from "./core/names.js";
import { nameOrder } from "./core/order.js";
import type { FloatingObservation } from "./core/plan.js";
import { parseReference } from "./core/reference.js";
import type { PullItem } from "./core/steps.js";
import { UserError } from "./errors.js";
import { pinPlanFor, type ServiceImage } from "./record.js";
import { resolveFloating } from "./registry-ops.js";
import type { Workspace } from "./workspace.js";

const CONCURRENCY = 4;

/** Every tracked service's floating tag and its digest now, and the semantic tag of each that moved. */
export async function observeFloating(
  ws: Workspace,
  manifest: Manifest,
  images: Map<string, ServiceImage>,
): Promise<FloatingObservation> {
  const project = await ws.project();
  const pins = pinPlanFor(manifest, images).pins;
  const pinnedByFile = Object.keys(manifest.services)
    .filter((s) => pins.get(s)?.state === "file")
    .sort();
  const targets = Object.entries(manifest.services)
    .filter(([service]) => has(project.services, service) && !pinnedByFile.includes(service))
    .sort(([a], [b]) => nameOrder(a, b))
    .map(([service, rec]) => ({
      service,
      rec,
      tag: rec.floating_tag ?? "latest",
      repository: ws.repositoryOf(service, rec, images),
    }));
  const client = ws.registry();
  const found = await mapLimit(targets, CONCURRENCY, async (t) => {
    const ref = `${t.repository}:${t.tag}`;
    try {
      const head = await manifestDigest(client, parseReference(ref), t.tag);
      return { service: t.service, record: t.rec, tag: t.tag, digest: head.digest };
    } catch (e) {
      // Said as a pull would say it: this is the version the run would pull.
      if (e instanceof UserError) throw new UserError(`cannot pull ${ref}: ${e.message}`, e.category);
      throw e;
    }
  });
  // Only a floating tag whose digest moved is looked up; one that did not is no change.
  const moved = found.filter((f) => f.digest === undefined || f.digest !== f.record.image_digest);
  const resolved = await resolveFloating(
    client,
    moved.map((m) => ({
      service: m.service,
      repository: ws.repositoryOf(m.service, m.record, images),
      tag: m.tag,
      digest: m.digest,
      hint: m.record.current_tag,
    })),
  );
  return { found, resolved, pinnedByFile };
}

/** The images a floating plan pulls: each changed service's new digest, as the floating tag it follows. */
export function floatingPulls(
  ws: Workspace,
  o: FloatingObservation,
  manifest: Manifest,
  images: Map<string, ServiceImage>,
): PullItem[] {
  return o.found.map((f) => {
    const repository = ws.repositoryOf(f.service, manifest.services[f.service], images);
    return {
      service: f.service,
      ref: f.digest ? `${repository}@${f.digest}` : `${repository}:${f.tag}`,
      follows: `${repository}:${f.tag}`,
    };
  });
}
