// What the floating tags say now (pull-latest and update-safe observe this, then plan): each
// tracked service's floating tag is pulled, or in a dry run asked of the registry, for its
// digest; where the digest moved, the registry names the semantic tag with that digest.

import { manifestDigest } from "./adapters/registry/manifests.js";
import { mapLimit } from "./core/limit.js";
import type { Manifest } from "./core/manifest.js";
import { has } from "./core/names.js";
import type { FloatingObservation } from "./core/plan.js";
import { parseReference } from "./core/reference.js";
import { pinPlanFor, type ServiceImage } from "./record.js";
import { resolveFloating } from "./registry-ops.js";
import type { Workspace } from "./workspace.js";

const CONCURRENCY = 4;

/**
 * Every tracked service's floating tag and its digest now, and the semantic tag of each that
 * moved. Pulls all before returning, so a failure leaves nothing half-planned.
 */
export async function observeFloating(
  ws: Workspace,
  manifest: Manifest,
  images: Map<string, ServiceImage>,
  opts: { dryRun?: boolean; progress?: (line: string) => void } = {},
): Promise<FloatingObservation> {
  const say = opts.progress ?? ((line: string) => ws.progress(line));
  const project = await ws.project();
  const pins = pinPlanFor(manifest, images).pins;
  const pinnedByFile = Object.keys(manifest.services)
    .filter((s) => pins.get(s)?.state === "file")
    .sort();
  const targets = Object.entries(manifest.services)
    .filter(([service]) => has(project.services, service) && !pinnedByFile.includes(service))
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([service, rec]) => ({
      service,
      rec,
      tag: rec.floating_tag ?? "latest",
      repository: ws.repositoryOf(service, rec, images),
    }));
  const client = ws.registry();
  const found = await mapLimit(targets, opts.dryRun ? CONCURRENCY : ws.pullLimit, async (t) => {
    if (opts.dryRun) {
      const head = await manifestDigest(client, parseReference(`${t.repository}:${t.tag}`), t.tag);
      return { service: t.service, record: t.rec, tag: t.tag, digest: head.digest };
    }
    say(`pulling ${t.service}: ${t.repository}:${t.tag}`);
    return {
      service: t.service,
      record: t.rec,
      tag: t.tag,
      digest: await ws.pullImageTag(t.repository, t.tag),
    };
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
