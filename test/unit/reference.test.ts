import { describe, expect, it } from "vitest";
import { isValidTag, parseReference, repositoryName, shortDigest } from "../../src/core/reference.js";

const D = `sha256:${"a".repeat(64)}`;

describe("parseReference", () => {
  it.each([
    ["nginx", { registry: "docker.io", repository: "library/nginx" }],
    ["nginx:1.25", { registry: "docker.io", repository: "library/nginx", tag: "1.25" }],
    ["docker.io/library/nginx:1.25", { registry: "docker.io", repository: "library/nginx", tag: "1.25" }],
    ["index.docker.io/team/app", { registry: "docker.io", repository: "team/app" }],
    ["team/app:latest", { registry: "docker.io", repository: "team/app", tag: "latest" }],
    ["127.0.0.1:5000/req_router:1.64", { registry: "127.0.0.1:5000", repository: "req_router", tag: "1.64" }],
    ["localhost/a/b/c:x", { registry: "localhost", repository: "a/b/c", tag: "x" }],
    ["localhost:5000/app", { registry: "localhost:5000", repository: "app" }],
    [
      "public.ecr.aws/dagknows/taskservice:latest",
      { registry: "public.ecr.aws", repository: "dagknows/taskservice", tag: "latest" },
    ],
    [`ghcr.io/o/r:1.0@${D}`, { registry: "ghcr.io", repository: "o/r", tag: "1.0", digest: D }],
    [`app@${D}`, { registry: "docker.io", repository: "library/app", digest: D }],
  ])("%s", (input, expected) => {
    expect(parseReference(input)).toEqual({ tag: undefined, digest: undefined, ...expected });
  });

  it.each(["", "app/UPPER", "app:bad;tag", "app:", `app@sha256:xyz`, "a//b", "app:-x"])(
    "rejects %j",
    (input) => {
      expect(() => parseReference(input)).toThrow();
    },
  );

  it("names the repository in Docker's short form", () => {
    expect(repositoryName(parseReference("docker.io/library/nginx:1"))).toBe("nginx");
    expect(repositoryName(parseReference(`127.0.0.1:5000/a/b:1@${D}`))).toBe("127.0.0.1:5000/a/b");
    expect(repositoryName(parseReference("team/app"))).toBe("team/app");
  });

  it("shortens digests as Docker does", () => {
    expect(shortDigest(D)).toBe("aaaaaaaaaaaa");
    expect(shortDigest(undefined)).toBe("-");
  });
});

describe("isValidTag", () => {
  it.each([
    ["1.64", true],
    ["latest", true],
    ["1.35-hotfix-customer123", true],
    ["_x", true],
    ["a".repeat(128), true],
    ["a".repeat(129), false],
    ["has space", false],
    ["semi;colon", false],
    ["../etc", false],
    [".hidden", false],
    ["-dash", false],
    ["", false],
    ["a/b", false],
  ])("%j → %s", (tag, ok) => {
    expect(isValidTag(tag)).toBe(ok);
  });
});
