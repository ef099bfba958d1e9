// Makes many tags in a loopback registry quickly and without docker: mounts an existing image's
// blobs into a repository and PUTs its manifest under each tag name. With `distinct`, every tag
// gets a digest of its own, as every version of a real image has: the same manifest JSON followed
// by a different number of spaces (same content, different bytes).

const V2 = "application/vnd.docker.distribution.manifest.v2+json";

/**
 * @param {{ registry: string, from: string, repository: string, tags: readonly string[], distinct?: boolean }} opts
 * @returns {Promise<Record<string, string>>} tag → digest
 */
export async function pushTags({ registry, from, repository, tags, distinct = false }) {
  const base = `http://${registry}/v2`;
  const [fromRepo, fromTag] = from.split(":");
  const res = await fetch(`${base}/${fromRepo}/manifests/${fromTag}`, { headers: { accept: V2 } });
  if (!res.ok) throw new Error(`cannot read ${registry}/${from}: ${res.status}`);
  const raw = await res.text();
  const manifest = JSON.parse(raw);
  for (const blob of [manifest.config, ...manifest.layers]) {
    const url = `${base}/${repository}/blobs/uploads/?mount=${blob.digest}&from=${fromRepo}`;
    const mount = await fetch(url, { method: "POST" });
    await mount.body?.cancel();
    if (mount.status !== 201)
      throw new Error(`cannot mount ${blob.digest} into ${repository}: ${mount.status}`);
  }
  /** @type {Record<string, string>} */
  const digests = {};
  const put = async (/** @type {string} */ tag, /** @type {number} */ i) => {
    const body = distinct ? raw + " ".repeat(i + 1) : raw;
    const r = await fetch(`${base}/${repository}/manifests/${tag}`, {
      method: "PUT",
      headers: { "content-type": V2 },
      body,
    });
    await r.body?.cancel();
    if (r.status !== 201) throw new Error(`cannot tag ${repository}:${tag}: ${r.status}`);
    digests[tag] = r.headers.get("docker-content-digest") ?? "";
  };
  // A few at a time: quick on loopback without flooding the registry.
  for (let i = 0; i < tags.length; i += 8) {
    await Promise.all(tags.slice(i, i + 8).map((tag, j) => put(tag, i + j)));
  }
  return digests;
}
