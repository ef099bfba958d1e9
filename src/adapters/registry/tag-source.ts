// Where a repository's tags and the digests they point at come from, chosen in this one place:
// ECR Public's DescribeImages when the image is on public.ecr.aws and AWS credentials exist (as
// the seed did), the registry's own OCI API otherwise.
import { homedir } from "node:os";
import type { ImageRef } from "../../core/reference.js";
import type { RegistryClient } from "./client.js";
import { awsCredentialSource, ecrPublicRepository, ecrPublicTagSource } from "./ecr-public.js";
import { RegistryError, type RegistryErrorKind } from "./errors.js";
import { isIndexMediaType, manifestDigest } from "./manifests.js";
import { listTags } from "./tags.js";

export type TagSourceKind = "oci" | "ecr-public";

export interface TagDigest {
  digest: string;
  /** Whether it is a multi-platform index (only then can a platform's manifest match). */
  index: boolean;
}

export interface TagSource {
  readonly kind: TagSourceKind;
  /** Every tag of the repository, in no particular order. */
  listTags(): Promise<string[]>;
  /** The digest a tag points at now; a RegistryError of kind tag-not-found when it does not exist. */
  digestOf(tag: string): Promise<TagDigest>;
}

/** tags/list for the tags, a manifest HEAD per digest asked for. */
export function ociTagSource(client: RegistryClient, ref: ImageRef): TagSource {
  return {
    kind: "oci",
    listTags: async () => (await listTags(client, ref)).tags,
    digestOf: async (tag) => {
      const found = await manifestDigest(client, ref, tag);
      return { digest: found.digest, index: isIndexMediaType(found.mediaType) };
    },
  };
}

/** The ECR Public repository and the credentials to ask about it, or null for the OCI path. */
async function ecrPublicTarget(ref: ImageRef, env: NodeJS.ProcessEnv) {
  const repo = ecrPublicRepository(ref);
  if (!repo) return null;
  const credentials = await awsCredentialSource(env, env.HOME || homedir());
  return credentials ? { repo, credentials } : null;
}

/** Which source an image's tags come from; reads the environment and ~/.aws, never the network. */
export async function tagSourceKind(ref: ImageRef, env: NodeJS.ProcessEnv): Promise<TagSourceKind> {
  return (await ecrPublicTarget(ref, env)) ? "ecr-public" : "oci";
}

/**
 * Answers from ECR Public that mean the credentials do not cover this repository: it belongs to
 * another account (DescribeImages sees only the caller's), the credentials may not describe
 * it, or they do not work. Every public.ecr.aws image can be read anonymously, so those go the
 * way they would without credentials instead of failing.
 */
const NOT_COVERED = new Set<RegistryErrorKind>(["repository-not-found", "auth", "credentials"]);

/** The source of an image's tags; for ECR Public this already holds the whole image listing. */
export async function openTagSource(client: RegistryClient, ref: ImageRef): Promise<TagSource> {
  const target = await ecrPublicTarget(ref, client.env);
  if (!target) return ociTagSource(client, ref);
  try {
    return await ecrPublicTagSource(target.repo, client.env, target.credentials);
  } catch (e) {
    if (e instanceof RegistryError && NOT_COVERED.has(e.kind)) return ociTagSource(client, ref);
    throw e;
  }
}
