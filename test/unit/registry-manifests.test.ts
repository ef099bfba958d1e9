import { describe, expect, it } from "vitest";
import {
  hostPlatform,
  MANIFEST_ACCEPT,
  MEDIA_TYPES,
  parseImageConfig,
  parseRegistryManifest,
  pickPlatform,
} from "../../src/adapters/registry/manifests.js";

const D = (c: string) => `sha256:${c.repeat(64)}`;

describe("parseRegistryManifest", () => {
  const index = {
    schemaVersion: 2,
    manifests: [
      { digest: D("a"), platform: { os: "linux", architecture: "amd64" } },
      { digest: D("b"), platform: { os: "linux", architecture: "arm64", variant: "v8" } },
      { digest: D("c"), platform: { os: "unknown", architecture: "unknown" } },
    ],
  };
  it.each([
    [index, MEDIA_TYPES.ociIndex, "index"],
    [index, MEDIA_TYPES.dockerList, "index"],
    [{ ...index, mediaType: MEDIA_TYPES.ociIndex }, "application/json", "index"],
    [{ config: { digest: D("d") }, layers: [] }, MEDIA_TYPES.dockerManifest, "image"],
    [{ mediaType: MEDIA_TYPES.ociManifest, config: { digest: D("d") } }, "text/plain", "image"],
  ])("reads %j served as %s", (body, type, kind) => {
    expect(parseRegistryManifest(body, type)?.kind).toBe(kind);
  });
  it.each([
    [{ manifests: [{ digest: "nope" }] }, MEDIA_TYPES.ociIndex],
    [{ manifests: "x" }, MEDIA_TYPES.dockerList],
    [{ config: {} }, MEDIA_TYPES.dockerManifest],
    [null, MEDIA_TYPES.dockerManifest],
  ])("refuses %j", (body, type) => {
    expect(parseRegistryManifest(body, type)).toBeNull();
  });
  it("asks for indexes and both image manifest formats", () => {
    expect(MANIFEST_ACCEPT).toEqual([
      "application/vnd.oci.image.index.v1+json",
      "application/vnd.docker.distribution.manifest.list.v2+json",
      "application/vnd.oci.image.manifest.v1+json",
      "application/vnd.docker.distribution.manifest.v2+json",
    ]);
  });
});

describe("pickPlatform", () => {
  const entries = [
    { digest: D("a"), platform: { os: "linux", architecture: "amd64" } },
    { digest: D("b"), platform: { os: "linux", architecture: "arm64" } },
    { digest: D("e"), platform: { os: "linux", architecture: "arm", variant: "v6" } },
    { digest: D("f"), platform: { os: "linux", architecture: "arm", variant: "v7" } },
    { digest: D("c"), platform: { os: "unknown", architecture: "unknown" } },
  ];
  it.each([
    [{ os: "linux", architecture: "amd64" }, D("a")],
    [{ os: "linux", architecture: "arm64", variant: "v8" }, D("b")], // variant left out by the image
    [{ os: "linux", architecture: "arm", variant: "v7" }, D("f")],
    [{ os: "linux", architecture: "arm" }, null], // two candidates, none exact
    [{ os: "linux", architecture: "s390x" }, null],
    [{ os: "windows", architecture: "amd64" }, null],
  ])("%j → %s", (want, digest) => {
    expect(pickPlatform(entries, want)).toBe(digest);
  });
});

describe("hostPlatform", () => {
  it.each([
    ["x64", "linux", { os: "linux", architecture: "amd64" }],
    ["arm64", "darwin", { os: "linux", architecture: "arm64", variant: "v8" }],
    ["arm", "linux", { os: "linux", architecture: "arm", variant: "v7" }],
    ["x64", "win32", { os: "windows", architecture: "amd64" }],
  ])("%s on %s", (arch, platform, expected) => {
    expect(hostPlatform(arch, platform)).toEqual(expected);
  });
});

describe("parseImageConfig", () => {
  it.each([
    [
      { config: { Labels: { "org.opencontainers.image.version": "1.64", n: 1 } } },
      { "org.opencontainers.image.version": "1.64" },
    ],
    [{ config: { Labels: null } }, {}],
    [{ config: {} }, {}],
  ])("%j", (body, labels) => {
    expect(parseImageConfig(body)).toEqual({ labels });
  });
});
