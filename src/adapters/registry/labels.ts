// The labels of the image a tag names, from its config blob (the host's platform of a
// multi-platform index): what a notification shows about a new version.
import { parseReference, shortDigest } from "../../core/reference.js";
import type { RegistryClient } from "./client.js";
import { fetchManifest, hostPlatform, parseImageConfig, pickPlatform } from "./manifests.js";

export async function imageLabels(
  client: RegistryClient,
  repository: string,
  reference: string,
): Promise<Record<string, string>> {
  const ref = parseReference(repository);
  let { manifest } = await fetchManifest(client, ref, reference);
  if (manifest.kind === "index") {
    const entry = pickPlatform(manifest.manifests, hostPlatform());
    if (!entry) return {};
    ({ manifest } = await fetchManifest(client, ref, entry));
  }
  if (manifest.kind !== "image") return {};
  const res = await client.request(ref, client.url(ref, `blobs/${manifest.config}`), {
    missing: `image config ${shortDigest(manifest.config)}`,
  });
  return parseImageConfig(await client.json(ref, res, "an image config"))?.labels ?? {};
}
