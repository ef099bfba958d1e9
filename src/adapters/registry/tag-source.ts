// Where a repository's tags and the digests they point at come from, chosen in this one place:
// ECR Public's DescribeImages when the image is on public.ecr.aws and AWS credentials exist (as
// the seed did), the registry's own OCI API otherwise.
import { homedir } from "node:os";
import type { ImageRef } from "../../core/reference.js";
import type { RegistryClient } from "./client.js";
import { awsCredentialSource, ecrPublicRepository, ecrPublicTagSource } from "./ecr-public.js";
import { RegistryError, type RegistryErrorKind } from "./errors.js";
import { ociTagSource, type TagSource } from "./tags.js";

/**
 * The ECR Public repository and the credentials to ask about it, or null for the OCI path; reads
 * the environment and ~/.aws, never the network.
 */
export async function ecrPublicTarget(ref: ImageRef, env: NodeJS.ProcessEnv) {
  const repo = ecrPublicRepository(ref);
  if (!repo) return null;
  const credentials = await awsCredentialSource(env, env.HOME || homedir());
  return credentials ? { repo, credentials } : null;
}

/**
 * Answers from ECR Public that mean the credentials do not cover this repository: it belongs to
 * another account (DescribeImages sees only the caller's), the credentials may not describe
 * it, or they do not work. Every public.ecr.aws image can be read anonymously, so those go the
 * way they would without credentials instead of failing.
 */
const NOT_COVERED = new Set<RegistryErrorKind>(["repository-not-found", "auth", "credentials"]);

/** The source of an image's tags; for ECR Public this already holds the whole image listing. */
export function openTagSource(client: RegistryClient, ref: ImageRef): Promise<TagSource> {
  // ECR Public's source holds the whole listing: one per repository and command.
  return client.once(`source ${ref.registry}/${ref.repository}`, () => chooseTagSource(client, ref));
}

async function chooseTagSource(client: RegistryClient, ref: ImageRef): Promise<TagSource> {
  const target = await ecrPublicTarget(ref, client.env);
  if (!target) return ociTagSource(client, ref);
  try {
    return await ecrPublicTagSource(target.repo, client.env, target.credentials);
  } catch (e) {
    if (e instanceof RegistryError && NOT_COVERED.has(e.kind)) return ociTagSource(client, ref);
    throw e;
  }
}
