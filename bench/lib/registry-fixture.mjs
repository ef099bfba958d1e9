// The benches' repositories on the bed registry: every version its own digest (pushed from the
// bed's fixture image), and `latest` the newest version, made once and reused by later runs.
import { pushTags } from "../../test/bed/push-tags.mjs";

const ACCEPT = "application/vnd.docker.distribution.manifest.v2+json";

/** Creates `repository` with `versions` (oldest first) and latest = the last, unless it is complete. */
export async function ensureVersioned(registry, repository, versions, log) {
  const res = await fetch(`http://${registry}/v2/${repository}/tags/list`);
  const have = res.ok ? ((await res.json()).tags ?? []) : [];
  if (versions.every((t) => have.includes(t)) && have.includes("latest")) return;
  log(`creating ${registry}/${repository}: ${versions.length} versions + latest`);
  await pushTags({ registry, from: "req_router:1.61", repository, tags: versions, distinct: true });
  const newest = await fetch(`http://${registry}/v2/${repository}/manifests/${versions.at(-1)}`, {
    headers: { accept: ACCEPT },
  });
  const put = await fetch(`http://${registry}/v2/${repository}/manifests/latest`, {
    method: "PUT",
    headers: { "content-type": newest.headers.get("content-type") },
    body: await newest.arrayBuffer(),
  });
  if (put.status !== 201) throw new Error(`cannot tag ${repository}:latest (${put.status})`);
}

/** The digest a tag names now (HEAD), or null. */
export async function tagDigest(registry, repository, tag) {
  const head = await fetch(`http://${registry}/v2/${repository}/manifests/${tag}`, {
    method: "HEAD",
    headers: { accept: ACCEPT },
  });
  return head.headers.get("docker-content-digest");
}
