// ECR Public through the AWS SDK, as the seed's `aws ecr-public describe-images` did: whether AWS
// credentials exist (read from the environment and the ~/.aws files, never asked of the network),
// the repository a public.ecr.aws path names, and every image of it from DescribeImages, page by
// page. The SDK is imported only when a call is made: its code must not slow down startup.
//
// DOCKER_VERSIONS_ECR_PUBLIC_ENDPOINT (for tests and advanced set-ups) sends the API calls to
// another endpoint, such as a loopback server that speaks the DescribeImages protocol.
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { ECRPUBLICClient } from "@aws-sdk/client-ecr-public";
import { type ImageRef, isDigest } from "../../core/reference.js";
import { RegistryError } from "./errors.js";
import { isIndexMediaType } from "./manifests.js";
import type { TagSource } from "./tags.js";

export const ECR_PUBLIC_REGISTRY = "public.ecr.aws";
/** ECR Public's API exists in us-east-1 only, whatever region the user works in. */
export const ECR_PUBLIC_REGION = "us-east-1";
export const ECR_PUBLIC_ENDPOINT_ENV = "DOCKER_VERSIONS_ECR_PUBLIC_ENDPOINT";

export interface EcrPublicRepository {
  /** The registry alias: the first path part after public.ecr.aws/. */
  alias: string;
  /** What DescribeImages calls `repositoryName`: the rest of the path. */
  repositoryName: string;
}

/**
 * The ECR Public repository an image names; null when it is not on public.ecr.aws or its path
 * has no alias. The alias is not DescribeImages' `registryId` (an AWS account ID; no API maps
 * another account's alias to one), so calls leave it out: they address the public registry of
 * the account whose credentials sign them, the only one DescribeImages can see.
 */
export function ecrPublicRepository(
  ref: Pick<ImageRef, "registry" | "repository">,
): EcrPublicRepository | null {
  if (ref.registry.toLowerCase() !== ECR_PUBLIC_REGISTRY) return null;
  const slash = ref.repository.indexOf("/");
  if (slash <= 0 || slash === ref.repository.length - 1) return null;
  return { alias: ref.repository.slice(0, slash), repositoryName: ref.repository.slice(slash + 1) };
}

/** Where the SDK will find AWS credentials. Never the secret values themselves. */
export type AwsCredentialSource =
  /** AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN when set). */
  | { kind: "environment" }
  /** A profile of the shared credentials or config file that says how to get credentials. */
  | { kind: "profile"; profile: string }
  /** AWS_WEB_IDENTITY_TOKEN_FILE with AWS_ROLE_ARN (EKS, CI runners). */
  | { kind: "web-identity" };

/** Keys that make a profile a source of credentials; a profile holding only `region` is not one. */
const CREDENTIAL_KEYS = new Set([
  "aws_access_key_id",
  "credential_process",
  "role_arn",
  "sso_session",
  "sso_start_url",
  "web_identity_token_file",
  "login_session",
]);

/** The sections of an AWS ini file and the keys each sets. */
export function iniSections(text: string): Map<string, Set<string>> {
  const sections = new Map<string, Set<string>>();
  let current: Set<string> | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith("#") || line.startsWith(";")) continue;
    const header = /^\[\s*([^\]]+?)\s*\]$/.exec(line);
    if (header) {
      const name = (header[1] as string).replace(/\s+/g, " ");
      current = sections.get(name) ?? new Set();
      sections.set(name, current);
      continue;
    }
    const eq = line.indexOf("=");
    // Indented lines continue a nested setting (s3 = …); their keys are not the profile's.
    if (current && eq > 0 && raw === raw.trimStart()) current.add(line.slice(0, eq).trim().toLowerCase());
  }
  return sections;
}

async function readIni(file: string): Promise<Map<string, Set<string>>> {
  try {
    return iniSections(await readFile(file, "utf8"));
  } catch {
    return new Map();
  }
}

function hasCredentialKeys(keys: Set<string> | undefined): boolean {
  return keys !== undefined && [...keys].some((k) => CREDENTIAL_KEYS.has(k));
}

/** Whether a profile of the credentials file ([name]) or the config file ([profile name]) yields credentials. */
async function profileHasCredentials(
  profile: string,
  env: NodeJS.ProcessEnv,
  home: string,
): Promise<boolean> {
  const credentials = await readIni(
    env.AWS_SHARED_CREDENTIALS_FILE || path.join(home, ".aws", "credentials"),
  );
  if (hasCredentialKeys(credentials.get(profile))) return true;
  const config = await readIni(env.AWS_CONFIG_FILE || path.join(home, ".aws", "config"));
  return hasCredentialKeys(config.get(profile === "default" ? "default" : `profile ${profile}`));
}

/**
 * Which AWS credentials the SDK would use, decided from the environment and the ~/.aws files
 * alone: the EC2 instance metadata endpoint is never probed (it would cost a timeout on every
 * machine that is not an EC2 instance). Null when there are none. The order follows the SDK's:
 * a profile named by AWS_PROFILE, then the environment's keys, then the default profile.
 */
export async function awsCredentialSource(
  env: NodeJS.ProcessEnv,
  home: string,
): Promise<AwsCredentialSource | null> {
  const named = env.AWS_PROFILE?.trim();
  if (named && (await profileHasCredentials(named, env, home))) return { kind: "profile", profile: named };
  if (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) return { kind: "environment" };
  if (!named && (await profileHasCredentials("default", env, home)))
    return { kind: "profile", profile: "default" };
  if (env.AWS_WEB_IDENTITY_TOKEN_FILE && env.AWS_ROLE_ARN) return { kind: "web-identity" };
  return null;
}

/** Where the calls go: the override when set, else ECR Public's regional endpoint. */
function endpointOf(env: NodeJS.ProcessEnv): { url?: string; host: string } {
  const override = env[ECR_PUBLIC_ENDPOINT_ENV]?.trim();
  if (!override) return { host: `api.ecr-public.${ECR_PUBLIC_REGION}.amazonaws.com` };
  const url = URL.canParse(override) ? new URL(override) : null;
  if (!url || (url.protocol !== "http:" && url.protocol !== "https:"))
    throw new RegistryError("unreachable", `${ECR_PUBLIC_ENDPOINT_ENV} is not an http(s) URL`);
  return { url: url.href, host: url.host };
}

/** Keeps the SDK off our stderr: its warnings are about itself, not the user's images. */
const SILENT = { debug() {}, info() {}, warn() {}, error() {} };

type Sdk = typeof import("@aws-sdk/client-ecr-public");

/** Loads the SDK and makes a client for one listing. */
async function connect(
  env: NodeJS.ProcessEnv,
  source: AwsCredentialSource,
  endpoint: string | undefined,
): Promise<{ sdk: Sdk; client: ECRPUBLICClient }> {
  // The SDK warns that its later releases need Node 22; the executable embeds the Node it runs
  // on, so the user could do nothing about it.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  const sdk = await import("@aws-sdk/client-ecr-public");
  const client = new sdk.ECRPUBLICClient({
    region: ECR_PUBLIC_REGION,
    endpoint,
    // Keys from the environment are handed over as they are, so the SDK cannot fall through to
    // other sources; profiles and web identity go through its own chain.
    credentials:
      source.kind === "environment"
        ? {
            accessKeyId: env.AWS_ACCESS_KEY_ID as string,
            secretAccessKey: env.AWS_SECRET_ACCESS_KEY as string,
            sessionToken: env.AWS_SESSION_TOKEN || undefined,
          }
        : undefined,
    profile: source.kind === "profile" ? source.profile : undefined,
    maxAttempts: 3,
    requestHandler: { connectionTimeout: 10_000, requestTimeout: 15_000 },
    logger: SILENT,
  });
  return { sdk, client };
}

export interface EcrPublicImage {
  digest: string;
  tags: string[];
  /** The manifest's media type, when ECR Public says it. */
  mediaType?: string;
}

export interface DescribeOptions {
  /** Pages of up to 1000 images each. */
  maxPages?: number;
}

/** Every image of a repository (tagged or not) from DescribeImages, following nextToken. */
export async function describeEcrPublicImages(
  repo: EcrPublicRepository,
  env: NodeJS.ProcessEnv,
  source: AwsCredentialSource,
  opts: DescribeOptions = {},
): Promise<EcrPublicImage[]> {
  const name = `${ECR_PUBLIC_REGISTRY}/${repo.alias}/${repo.repositoryName}`;
  const endpoint = endpointOf(env);
  const { sdk, client } = await connect(env, source, endpoint.url);
  const images: EcrPublicImage[] = [];
  const tokens = new Set<string>();
  try {
    let nextToken: string | undefined;
    for (let page = 0; page < (opts.maxPages ?? 50); page++) {
      const out = await client.send(
        new sdk.DescribeImagesCommand({ repositoryName: repo.repositoryName, maxResults: 1000, nextToken }),
      );
      if (out.imageDetails !== undefined && !Array.isArray(out.imageDetails))
        throw new RegistryError("bad-response", `ECR Public sent a malformed image list for ${name}`);
      for (const detail of out.imageDetails ?? []) {
        const digest = detail.imageDigest;
        if (typeof digest !== "string" || !isDigest(digest)) continue;
        const tags = Array.isArray(detail.imageTags)
          ? detail.imageTags.filter((t): t is string => typeof t === "string")
          : [];
        const mediaType = detail.imageManifestMediaType;
        images.push(typeof mediaType === "string" ? { digest, tags, mediaType } : { digest, tags });
      }
      nextToken = out.nextToken || undefined;
      // A token seen before would walk the same pages forever.
      if (!nextToken || tokens.has(nextToken)) break;
      tokens.add(nextToken);
    }
  } catch (e) {
    throw e instanceof RegistryError ? e : ecrPublicError(e, name, endpoint.host);
  } finally {
    client.destroy();
  }
  return images;
}

const NETWORK_REASONS: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ENOTFOUND: "host not found",
  EAI_AGAIN: "host not found",
  ECONNRESET: "connection reset",
  EPIPE: "connection reset",
  ETIMEDOUT: "connection timed out",
};

const AUTH_ERRORS = new Set([
  "UnrecognizedClientException",
  "InvalidSignatureException",
  "InvalidClientTokenId",
  "ExpiredTokenException",
  "ExpiredToken",
  "MissingAuthenticationTokenException",
  "IncompleteSignature",
]);

const THROTTLING_ERRORS = new Set([
  "ThrottlingException",
  "Throttling",
  "TooManyRequestsException",
  "RequestLimitExceeded",
  "RequestThrottled",
  "RequestThrottledException",
]);

/**
 * One line for a failed SDK call, by the error's name only: AWS messages can carry the account
 * ID, the caller's ARN or, for a signature mismatch, the access key ID, none of which we repeat.
 */
export function ecrPublicError(e: unknown, name: string, endpointHost: string): RegistryError {
  const err = (typeof e === "object" && e !== null ? e : {}) as {
    name?: unknown;
    code?: unknown;
    $fault?: unknown;
    $metadata?: { httpStatusCode?: unknown };
    cause?: { code?: unknown };
  };
  const type = typeof err.name === "string" ? err.name : "Error";
  const status = err.$metadata?.httpStatusCode;
  if (type === "RepositoryNotFoundException" || type === "RegistryNotFoundException")
    return new RegistryError(
      "repository-not-found",
      `repository ${name} not found in the ECR Public registry of the AWS account in use`,
    );
  if (type === "AccessDeniedException" || type === "AccessDenied")
    return new RegistryError(
      "auth",
      `access to ${name} denied by ECR Public: the AWS credentials in use may not call ecr-public:DescribeImages`,
    );
  if (AUTH_ERRORS.has(type))
    return new RegistryError("auth", `ECR Public did not accept the AWS credentials in use (${type})`);
  if (THROTTLING_ERRORS.has(type) || status === 429)
    return new RegistryError("rate-limited", `ECR Public is rate limiting requests (${type})`);
  if (type === "CredentialsProviderError")
    return new RegistryError(
      "credentials",
      "the AWS credentials configured for ECR Public could not be loaded",
    );
  if (typeof status === "number") {
    return new RegistryError(
      err.$fault === "server" || status >= 500 ? "server" : "bad-response",
      `ECR Public answered ${status} (${type}) for ${name}`,
    );
  }
  const code =
    typeof err.code === "string" ? err.code : typeof err.cause?.code === "string" ? err.cause.code : "";
  const reason =
    type === "TimeoutError" || type === "RequestTimeout"
      ? "no answer in time"
      : (NETWORK_REASONS[code] ?? (code ? `network error ${code}` : "network error"));
  return new RegistryError("unreachable", `cannot reach ECR Public at ${endpointHost}: ${reason}`);
}

/**
 * A repository's tags and digests from one DescribeImages listing: the listing costs one call
 * per 1000 images, and every digest lookup after it is free.
 */
export async function ecrPublicTagSource(
  repo: EcrPublicRepository,
  env: NodeJS.ProcessEnv,
  source: AwsCredentialSource,
): Promise<TagSource> {
  const images = await describeEcrPublicImages(repo, env, source);
  const byTag = new Map<string, EcrPublicImage>();
  for (const image of images) for (const tag of image.tags) byTag.set(tag, image);
  const name = `${ECR_PUBLIC_REGISTRY}/${repo.alias}/${repo.repositoryName}`;
  return {
    kind: "ecr-public",
    listTags: async () => [...byTag.keys()],
    digestOf: async (tag) => {
      const image = byTag.get(tag);
      if (!image) throw new RegistryError("tag-not-found", `tag ${tag} not found in ${name}`);
      // Without a media type it may be an index; the platform fallback then finds out.
      return {
        digest: image.digest,
        index: image.mediaType === undefined || isIndexMediaType(image.mediaType),
      };
    },
  };
}
