// ECR Public through the real AWS SDK, against a loopback server that speaks DescribeImages the
// way the SDK sends it (AWS JSON 1.1). The credentials are fake: SigV4 signing happens locally
// and the server does not check signatures. Nothing here may reach public.ecr.aws itself.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { RegistryClient } from "../../src/adapters/registry/client.js";
import {
  awsCredentialSource,
  describeEcrPublicImages,
  ecrPublicRepository,
  iniSections,
} from "../../src/adapters/registry/ecr-public.js";
import { RegistryError } from "../../src/adapters/registry/errors.js";
import { checkUpdates, resolveTag } from "../../src/adapters/registry/resolution.js";
import { ecrPublicTarget, openTagSource } from "../../src/adapters/registry/tag-source.js";

/** Which source would answer for `ref`: decided from the environment and ~/.aws alone. */
const sourceKind = async (ref: ImageRef, env: NodeJS.ProcessEnv) =>
  (await ecrPublicTarget(ref, env)) ? "ecr-public" : "oci";

import { type ImageRef, parseReference } from "../../src/core/reference.js";

const KEY = "AKIDEXAMPLE5XQ7ZK2MB";
const SECRET = "wJalrXUtnFEMIK7MDENGbPxRfiCYzEXAMPLEKEY";
const REVOKED_KEY = "AKIDEXAMPLEREVOKED01";
const ACCOUNT = "123456789012";

const digest = (c: string) => `sha256:${c.repeat(64)}`;
const INDEX = "application/vnd.oci.image.index.v1+json";
const IMAGE = "application/vnd.docker.distribution.manifest.v2+json";

interface FakeImage {
  imageDigest: string;
  imageTags?: string[];
  imageManifestMediaType: string;
}

/** The repositories of the account the fake credentials belong to, as pages of DescribeImages. */
const REPOSITORIES: Record<string, FakeImage[][]> = {
  "team/app": [
    [
      { imageDigest: digest("a"), imageTags: ["1.62"], imageManifestMediaType: IMAGE },
      { imageDigest: digest("c"), imageTags: ["1.63", "stable"], imageManifestMediaType: IMAGE },
      // A platform manifest of the index below: listed, but untagged.
      { imageDigest: digest("e"), imageManifestMediaType: IMAGE },
    ],
    [
      { imageDigest: digest("b"), imageTags: ["latest", "1.64"], imageManifestMediaType: INDEX },
      { imageDigest: digest("d"), imageTags: ["1.65-rc.1"], imageManifestMediaType: IMAGE },
    ],
  ],
  // Single-platform images only: when no digest matches there is no platform manifest to try
  // (an index would be opened over the OCI API, that is at the real public.ecr.aws).
  "team/plain": [
    [
      { imageDigest: digest("1"), imageTags: ["2.0", "latest"], imageManifestMediaType: IMAGE },
      { imageDigest: digest("2"), imageTags: ["1.9"], imageManifestMediaType: IMAGE },
    ],
  ],
};

interface Call {
  target: string;
  contentType: string;
  authorization: string;
  body: Record<string, unknown>;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => {
      text += chunk;
    });
    req.on("end", () => resolve(text));
    req.on("error", reject);
  });
}

let server: Server;
let endpoint: string;
let calls: Call[] = [];
let home: string;
let dockerConfig: string;

beforeAll(async () => {
  server = createServer(async (req, res) => {
    const text = await readBody(req);
    const call: Call = {
      target: String(req.headers["x-amz-target"] ?? ""),
      contentType: String(req.headers["content-type"] ?? ""),
      authorization: String(req.headers.authorization ?? ""),
      body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
    };
    calls.push(call);
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/x-amz-json-1.1", "x-amzn-requestid": "fake" });
      res.end(JSON.stringify(body));
    };
    // What AWS answers, messages included: the client must not repeat them.
    const fail = (type: string, message: string) => reply(400, { __type: type, message });
    if (req.method !== "POST" || call.contentType !== "application/x-amz-json-1.1")
      return fail("SerializationException", "expected an AWS JSON 1.1 POST");
    if (call.target !== "SpencerFrontendService.DescribeImages")
      return fail("UnknownOperationException", `unknown operation ${call.target}`);
    if (call.authorization.includes(`Credential=${REVOKED_KEY}/`))
      return fail("UnrecognizedClientException", `The security token ${REVOKED_KEY} is invalid.`);
    const name = String(call.body.repositoryName);
    if (name === "throttled") return fail("ThrottlingException", "Rate exceeded");
    const pages = REPOSITORIES[name];
    if (!pages) {
      return fail(
        "RepositoryNotFoundException",
        `The repository with name '${name}' does not exist in the registry with id '${ACCOUNT}'`,
      );
    }
    const token = typeof call.body.nextToken === "string" ? call.body.nextToken : "page-0";
    const page = Number(token.slice("page-".length));
    const details = (pages[page] ?? []).map((image) => ({
      registryId: ACCOUNT,
      repositoryName: name,
      imageSizeInBytes: 1234,
      imagePushedAt: 1_760_000_000 + page,
      ...image,
    }));
    reply(200, {
      imageDetails: details,
      ...(page + 1 < pages.length ? { nextToken: `page-${page + 1}` } : {}),
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  home = mkdtempSync(path.join(tmpdir(), "dv-ecr-home-"));
  dockerConfig = mkdtempSync(path.join(tmpdir(), "dv-ecr-docker-"));
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  rmSync(home, { recursive: true, force: true });
  rmSync(dockerConfig, { recursive: true, force: true });
});

beforeEach(() => {
  calls = [];
  // The OCI client speaks through fetch (the SDK does not): a test that strays onto the OCI path
  // fails here instead of asking the real public.ecr.aws.
  vi.stubGlobal("fetch", () => Promise.reject(new Error("this test must not leave the loopback server")));
  // The SDK also reads process.env and ~/.aws for its own settings: keep it off the host's,
  // and off the EC2 metadata endpoint whatever happens.
  vi.stubEnv("HOME", home);
  vi.stubEnv("AWS_CONFIG_FILE", path.join(home, "no-config"));
  vi.stubEnv("AWS_SHARED_CREDENTIALS_FILE", path.join(home, "no-credentials"));
  vi.stubEnv("AWS_EC2_METADATA_DISABLED", "true");
  for (const name of ["AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"])
    vi.stubEnv(name, undefined);
});

afterEach(() => {
  vi.unstubAllEnvs();
  vi.unstubAllGlobals();
});

/** An environment with no AWS credentials at all, its files in the temporary home. */
function bareEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    HOME: home,
    AWS_CONFIG_FILE: path.join(home, "no-config"),
    AWS_SHARED_CREDENTIALS_FILE: path.join(home, "no-credentials"),
    ...extra,
  };
}

function awsEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return bareEnv({
    AWS_ACCESS_KEY_ID: KEY,
    AWS_SECRET_ACCESS_KEY: SECRET,
    DOCKER_VERSIONS_ECR_PUBLIC_ENDPOINT: endpoint,
    ...extra,
  });
}

const client = (env: NodeJS.ProcessEnv) => new RegistryClient({ dockerConfigDir: dockerConfig, env });

async function failure(p: Promise<unknown>): Promise<RegistryError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(RegistryError);
  const err = e as RegistryError;
  expect(err.message).not.toContain("\n");
  for (const secret of [KEY, SECRET, REVOKED_KEY, ACCOUNT]) expect(err.message).not.toContain(secret);
  return err;
}

describe("resolution through ECR Public", () => {
  it("resolves latest to the semantic tag with the recorded digest, with DescribeImages calls only", async () => {
    const c = client(awsEnv());
    const resolution = await resolveTag(c, "public.ecr.aws/dvtest/team/app:latest", digest("b"));
    expect(resolution).toEqual({ tag: "1.64", matchedBy: "digest" });
    // Two pages, both asked for; the repository name is the path after the alias.
    expect(calls.map((call) => [call.target, call.body.repositoryName, call.body.nextToken])).toEqual([
      ["SpencerFrontendService.DescribeImages", "team/app", undefined],
      ["SpencerFrontendService.DescribeImages", "team/app", "page-1"],
    ]);
    expect(calls[0]?.body).not.toHaveProperty("registryId");
    expect(calls[0]?.authorization).toMatch(
      new RegExp(`^AWS4-HMAC-SHA256 Credential=${KEY}/\\d{8}/us-east-1/ecr-public/aws4_request`),
    );
    expect(c.requests).toBe(0);
  });

  it("signs with the keys of the profile AWS_PROFILE names, read by the SDK's own chain", async () => {
    const other = "AKIDEXAMPLEPROFILE99";
    const file = path.join(home, "credentials-dvtest");
    writeFileSync(file, `[dvtest]\naws_access_key_id = ${other}\naws_secret_access_key = ${SECRET}\n`);
    const settings = { AWS_PROFILE: "dvtest", AWS_SHARED_CREDENTIALS_FILE: file };
    // The SDK reads the profile's file from process.env, as it will in the CLI.
    for (const [name, value] of Object.entries(settings)) vi.stubEnv(name, value);
    const c = client(bareEnv({ ...settings, DOCKER_VERSIONS_ECR_PUBLIC_ENDPOINT: endpoint }));
    expect(await resolveTag(c, "public.ecr.aws/dvtest/team/app:latest", digest("b"))).toEqual({
      tag: "1.64",
      matchedBy: "digest",
    });
    expect(calls.map((call) => call.authorization.split(" ")[1])).toEqual([
      expect.stringContaining(`Credential=${other}/`),
      expect.stringContaining(`Credential=${other}/`),
    ]);
  });

  it("keeps the floating tag when no version tag has the digest, still without OCI requests", async () => {
    const c = client(awsEnv());
    const resolution = await resolveTag(c, "public.ecr.aws/dvtest/team/plain:latest", digest("f"));
    expect(resolution).toEqual({
      tag: null,
      reason: "no version tag has digest ffffffffffff (checked 2 version tags)",
    });
    expect(calls).toHaveLength(1);
    expect(c.requests).toBe(0);
  });

  it("checks updates from the same listing: newer tags and whether the floating tag moved", async () => {
    const c = client(awsEnv());
    const check = await checkUpdates(c, "public.ecr.aws/dvtest/team/app", {
      currentTag: "1.62",
      floatingTag: "latest",
      recordedDigest: digest("a"),
    });
    expect(check).toEqual({
      updates: {
        current: "1.62",
        follows: "latest",
        newer: ["1.64", "1.63"],
        major: [],
        minor: ["1.64", "1.63"],
        patch: [],
        outside: [],
      },
      floatingDigest: digest("b"),
      floatingMoved: true,
      floatingTo: "1.64",
      available: true,
    });
    expect(calls).toHaveLength(2);
    expect(c.requests).toBe(0);
  });

  it("reads every page and keeps untagged images", async () => {
    const images = await describeEcrPublicImages({ alias: "dvtest", repositoryName: "team/app" }, awsEnv(), {
      kind: "environment",
    });
    expect(images.map((i) => [i.digest.slice(7, 8), i.tags])).toEqual([
      ["a", ["1.62"]],
      ["c", ["1.63", "stable"]],
      ["e", []],
      ["b", ["latest", "1.64"]],
      ["d", ["1.65-rc.1"]],
    ]);
    expect(calls.every((call) => call.body.maxResults === 1000)).toBe(true);
  });
});

describe("which source answers", () => {
  const ecrRef = parseReference("public.ecr.aws/dvtest/team/app:latest");

  it.each([
    ["public.ecr.aws/dvtest/team/app:latest", "ecr-public"],
    ["PUBLIC.ECR.AWS/dvtest/app", "ecr-public"],
    ["public.ecr.aws/app", "oci"], // no registry alias: not an ECR Public repository path
    ["ghcr.io/dvtest/app", "oci"],
    ["nginx:latest", "oci"],
  ])("%s with AWS credentials → %s", async (image, kind) => {
    expect(await sourceKind(parseReference(image), awsEnv())).toBe(kind);
  });

  it("takes the OCI path without credentials, and asks nobody to decide", async () => {
    expect(await sourceKind(ecrRef, bareEnv())).toBe("oci");
    expect(await sourceKind(ecrRef, bareEnv({ AWS_ACCESS_KEY_ID: KEY }))).toBe("oci");
    const c = client(bareEnv({ DOCKER_VERSIONS_ECR_PUBLIC_ENDPOINT: endpoint }));
    expect((await openTagSource(c, ecrRef)).kind).toBe("oci");
    expect(calls).toHaveLength(0);
    expect(c.requests).toBe(0);
  });

  it("falls back to the OCI path when the repository is not in the credentials' account", async () => {
    // DescribeImages sees only the signing account's registry; an image of another alias is
    // read anonymously, as without credentials. (Opening the OCI source sends nothing.)
    const c = client(awsEnv());
    const source = await openTagSource(c, parseReference("public.ecr.aws/docker/library/redis:7"));
    expect(source.kind).toBe("oci");
    expect(calls.map((call) => call.body.repositoryName)).toEqual(["library/redis"]);
    expect(c.requests).toBe(0);
  });

  it("falls back to the OCI path when ECR Public does not accept the credentials", async () => {
    const c = client(awsEnv({ AWS_ACCESS_KEY_ID: REVOKED_KEY }));
    expect((await openTagSource(c, ecrRef)).kind).toBe("oci");
    expect(calls).toHaveLength(1);
    expect(c.requests).toBe(0);
  });

  it("says when ECR Public cannot be reached, instead of falling back", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const c = client(awsEnv({ DOCKER_VERSIONS_ECR_PUBLIC_ENDPOINT: `http://127.0.0.1:${port}` }));
    const err = await failure(resolveTag(c, ecrRef, digest("b")));
    expect(err.kind).toBe("unreachable");
    expect(err.message).toBe(`cannot reach ECR Public at 127.0.0.1:${port}: connection refused`);
    expect(c.requests).toBe(0);
  });
});

describe("ECR Public failures, one line each", () => {
  const repo = (repositoryName: string) => ({ alias: "dvtest", repositoryName });

  it("RepositoryNotFoundException → repository-not-found, without AWS's text", async () => {
    const err = await failure(describeEcrPublicImages(repo("missing"), awsEnv(), { kind: "environment" }));
    expect(err.kind).toBe("repository-not-found");
    expect(err.message).toBe(
      "repository public.ecr.aws/dvtest/missing not found in the ECR Public registry of the AWS account in use",
    );
  });

  it("credentials ECR Public does not accept → auth, naming no key", async () => {
    const err = await failure(
      describeEcrPublicImages(repo("team/app"), awsEnv({ AWS_ACCESS_KEY_ID: REVOKED_KEY }), {
        kind: "environment",
      }),
    );
    expect(err.kind).toBe("auth");
    expect(err.message).toBe(
      "ECR Public did not accept the AWS credentials in use (UnrecognizedClientException)",
    );
  });

  it("throttling → rate-limited, after the SDK's own retries", async () => {
    const err = await failure(describeEcrPublicImages(repo("throttled"), awsEnv(), { kind: "environment" }));
    expect(err.kind).toBe("rate-limited");
    expect(err.message).toBe("ECR Public is rate limiting requests (ThrottlingException)");
    expect(calls).toHaveLength(3);
  });

  it("an endpoint override that is not a URL is refused before any call", async () => {
    const env = awsEnv({ DOCKER_VERSIONS_ECR_PUBLIC_ENDPOINT: "127.0.0.1:9" });
    const err = await failure(describeEcrPublicImages(repo("team/app"), env, { kind: "environment" }));
    expect(err.message).toBe("DOCKER_VERSIONS_ECR_PUBLIC_ENDPOINT is not an http(s) URL");
    expect(calls).toHaveLength(0);
  });
});

describe("AWS credentials, decided without the network", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), "dv-aws-"));
    mkdirSync(path.join(dir, ".aws"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const write = (file: string, text: string) => writeFileSync(path.join(dir, ".aws", file), text);
  const source = (env: NodeJS.ProcessEnv = {}) => awsCredentialSource({ HOME: dir, ...env }, dir);

  it("finds none in an empty home", async () => {
    expect(await source()).toBeNull();
  });

  it("takes keys from the environment only as a pair", async () => {
    expect(await source({ AWS_ACCESS_KEY_ID: KEY, AWS_SECRET_ACCESS_KEY: SECRET })).toEqual({
      kind: "environment",
    });
    expect(await source({ AWS_SECRET_ACCESS_KEY: SECRET })).toBeNull();
  });

  it("takes the default profile of ~/.aws/credentials, not one that only sets a region", async () => {
    write("credentials", "[default]\nregion = us-east-1\n");
    expect(await source()).toBeNull();
    write("credentials", `# from aws configure\n[default]\naws_access_key_id = ${KEY}\n`);
    expect(await source()).toEqual({ kind: "profile", profile: "default" });
  });

  it("takes the profile AWS_PROFILE names, from either file, and only when it exists", async () => {
    write("credentials", `[ops]\naws_access_key_id=${KEY}\naws_secret_access_key=${SECRET}\n`);
    write(
      "config",
      "[default]\nregion = eu-west-1\n[profile sso-dev]\nsso_session = corp\nregion = us-east-1\n",
    );
    expect(await source({ AWS_PROFILE: "ops" })).toEqual({ kind: "profile", profile: "ops" });
    expect(await source({ AWS_PROFILE: "sso-dev" })).toEqual({ kind: "profile", profile: "sso-dev" });
    expect(await source({ AWS_PROFILE: "nowhere" })).toBeNull();
    // A profile the SDK cannot find leaves the environment's keys, handed over explicitly.
    expect(
      await source({ AWS_PROFILE: "nowhere", AWS_ACCESS_KEY_ID: KEY, AWS_SECRET_ACCESS_KEY: SECRET }),
    ).toEqual({ kind: "environment" });
  });

  it("reads the files named by AWS_SHARED_CREDENTIALS_FILE and AWS_CONFIG_FILE instead of ~/.aws", async () => {
    write("credentials", `[default]\naws_access_key_id=${KEY}\n`);
    const elsewhere = path.join(dir, "creds.ini");
    expect(await source({ AWS_SHARED_CREDENTIALS_FILE: elsewhere })).toBeNull();
    writeFileSync(elsewhere, "[default]\ncredential_process = /usr/local/bin/get-creds\n");
    expect(await source({ AWS_SHARED_CREDENTIALS_FILE: elsewhere })).toEqual({
      kind: "profile",
      profile: "default",
    });
  });

  it("takes a web identity token file with its role", async () => {
    expect(await source({ AWS_WEB_IDENTITY_TOKEN_FILE: "/var/run/token" })).toBeNull();
    expect(
      await source({ AWS_WEB_IDENTITY_TOKEN_FILE: "/var/run/token", AWS_ROLE_ARN: "arn:aws:iam::1:role/r" }),
    ).toEqual({ kind: "web-identity" });
  });

  it("reads ini sections and their top-level keys", () => {
    const text =
      "[default]\nAWS_ACCESS_KEY_ID = x\ns3 =\n  max_concurrent_requests = 2\n[ profile  a ]\n; c\nrole_arn=y\n";
    expect(iniSections(text)).toEqual(
      new Map([
        ["default", new Set(["aws_access_key_id", "s3"])],
        ["profile a", new Set(["role_arn"])],
      ]),
    );
  });
});

describe("ecrPublicRepository", () => {
  it.each([
    ["public.ecr.aws/dvtest/app", { alias: "dvtest", repositoryName: "app" }],
    ["public.ecr.aws/docker/library/redis:7", { alias: "docker", repositoryName: "library/redis" }],
    ["public.ecr.aws/app", null],
    ["ghcr.io/dvtest/app", null],
  ])("%s → %j", (image, expected) => {
    expect(ecrPublicRepository(parseReference(image))).toEqual(expected);
  });
});
