// The registry side of resolve-tags and check-updates for one image: feeds tags and digests
// from its tag source (the registry's OCI API, or ECR Public's DescribeImages) into the pure
// rules of core/resolve and core/updates.
import { type ImageRef, parseReference } from "../../core/reference.js";
import { type Resolution, resolveFloatingTag } from "../../core/resolve.js";
import { checkService, type UpdateCheck } from "../../core/updates.js";
import type { RegistryClient } from "./client.js";
import { RegistryError } from "./errors.js";
import { hostPlatform, imageVersionLabel, type Platform, platformManifestDigest } from "./manifests.js";
import { openTagSource } from "./tag-source.js";
import type { TagSource } from "./tags.js";

export interface ResolveTagOptions {
  /** The engine's platform, for images whose recorded digest is one platform's manifest. */
  platform?: Platform;
  /** Accept the image's version label when no tag's digest matches (weaker evidence; off by default). */
  useLabel?: boolean;
  maxCandidates?: number;
  /** The version recorded before: where a named channel (`stable`) most likely moved from. */
  hint?: string;
}

function toRef(image: string | ImageRef): ImageRef {
  return typeof image === "string" ? parseReference(image) : image;
}

/**
 * A tag's digest from `source`, and its manifest for `platform` when the tag names an index. The
 * digest lookups already tell which tags are indexes: only those can hold a platform manifest.
 */
function digestLookups(client: RegistryClient, ref: ImageRef, source: TagSource, platform: Platform) {
  const indexes = new Set<string>();
  return {
    digestOf: async (tag: string) => {
      const found = await source.digestOf(tag);
      if (found.index) indexes.add(tag);
      return found.digest;
    },
    platformDigestOf: async (tag: string) =>
      indexes.has(tag) ? platformManifestDigest(client, ref, tag, platform) : null,
  };
}

/**
 * The most specific tag of the line `image`'s tag follows (`latest` when it names none) whose
 * digest is `recordedDigest`. Over the OCI API it costs one tags/list and one HEAD per
 * candidate tried, so one HEAD when the tag points at the newest of its line; from ECR
 * Public, one DescribeImages call per 1000 images. A platform's manifest and the version
 * label are read from the registry API either way.
 */
export async function resolveTag(
  client: RegistryClient,
  image: string | ImageRef,
  recordedDigest: string,
  opts: ResolveTagOptions = {},
): Promise<Resolution> {
  const ref = toRef(image);
  const platform = opts.platform ?? hostPlatform();
  const source = await openTagSource(client, ref);
  const tags = await source.listTags();
  return resolveFloatingTag({
    tags,
    floating: ref.tag ?? "latest",
    hint: opts.hint,
    digest: recordedDigest,
    maxCandidates: opts.maxCandidates,
    ...digestLookups(client, ref, source, platform),
    versionLabel: opts.useLabel
      ? () =>
          imageVersionLabel(client, ref, recordedDigest, platform).catch((e: unknown) => {
            // The recorded image may be gone from the registry; then there is no label to read.
            if (e instanceof RegistryError && e.kind === "tag-not-found") return null;
            throw e;
          })
      : undefined,
  });
}

/**
 * What check-updates reports for one image (see core/updates checkService): one tags/list and
 * one HEAD of the floating tag, sent together, when it did not move; a moved one is resolved
 * (more HEADs).
 */
export async function checkUpdates(
  client: RegistryClient,
  image: string | ImageRef,
  opts: { currentTag: string; floatingTag?: string; recordedDigest?: string; prereleases?: boolean },
): Promise<UpdateCheck> {
  const ref = toRef(image);
  const source = await openTagSource(client, ref);
  const follows = opts.floatingTag ?? "latest";
  const lookups = digestLookups(client, ref, source, hostPlatform());
  // The floating tag's digest does not wait for the tag list: both are asked at once. Should
  // the list fail, its failure is the answer, as before, and this one is not looked at.
  const floating = lookups.digestOf(follows);
  floating.catch(() => {});
  return checkService({
    tags: await source.listTags(),
    current: opts.currentTag,
    follows,
    recordedDigest: opts.recordedDigest,
    prereleases: opts.prereleases,
    ...lookups,
    digestOf: (tag) => (tag === follows ? floating : lookups.digestOf(tag)),
  });
}
