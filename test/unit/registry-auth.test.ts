import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { inspect } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  credentialsFor,
  DOCKER_HUB_KEY,
  normalizeRegistryKey,
  parseChallenge,
  parseTokenResponse,
  RegistryAuth,
  serverAddress,
} from "../../src/adapters/registry/auth.js";
import { RegistryError } from "../../src/adapters/registry/errors.js";
import { dockerConfigDir } from "../../src/docker-globals.js";

describe("parseChallenge", () => {
  it.each([
    [
      'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull"',
      {
        scheme: "bearer",
        params: {
          realm: "https://auth.docker.io/token",
          service: "registry.docker.io",
          scope: "repository:library/nginx:pull",
        },
      },
    ],
    [
      'Bearer realm="https://ghcr.io/token", service="ghcr.io", scope="repository:a/b:pull,push"',
      {
        scheme: "bearer",
        params: { realm: "https://ghcr.io/token", service: "ghcr.io", scope: "repository:a/b:pull,push" },
      },
    ],
    ['Basic realm="docker-versions-bed"', { scheme: "basic", params: { realm: "docker-versions-bed" } }],
    ["basic realm=plain", { scheme: "basic", params: { realm: "plain" } }],
    ['Bearer realm="a\\"b"', { scheme: "bearer", params: { realm: 'a"b' } }],
    ["Bearer", { scheme: "bearer", params: {} }],
    ['Basic realm="x", Bearer realm="y"', { scheme: "basic", params: { realm: "x" } }],
  ])("%s", (header, expected) => {
    expect(parseChallenge(header)).toEqual(expected);
  });
  it.each(["", "   ", '="x"'])("%j is no challenge", (header) => {
    expect(parseChallenge(header)).toBeNull();
  });
});

describe("parseTokenResponse", () => {
  it.each([
    [{ token: "t1", expires_in: 300 }, "Bearer t1", 290_000],
    [{ access_token: "t2" }, "Bearer t2", 50_000], // 60 s by default, less a margin
    [{ token: "", access_token: "t3", expires_in: 0 }, "Bearer t3", 50_000],
  ])("%j", (body, header, ttl) => {
    expect(parseTokenResponse(body, 1000)).toEqual({ header, expiresAt: 1000 + ttl });
  });
  it.each([null, {}, { token: 1 }, "token"])("%j carries no token", (body) => {
    expect(parseTokenResponse(body)).toBeNull();
  });
});

describe("registry names in the Docker config", () => {
  it.each([
    ["https://index.docker.io/v1/", "docker.io"],
    ["index.docker.io", "docker.io"],
    ["registry-1.docker.io", "docker.io"],
    ["docker.io", "docker.io"],
    ["https://ghcr.io", "ghcr.io"],
    ["http://127.0.0.1:5078/v2/", "127.0.0.1:5078"],
    ["Registry.Example.com:443", "registry.example.com:443"],
  ])("%s → %s", (key, registry) => {
    expect(normalizeRegistryKey(key)).toBe(registry);
  });
  it("hands credential helpers Docker Hub's historical key", () => {
    expect(serverAddress("docker.io")).toBe(DOCKER_HUB_KEY);
    expect(serverAddress("ghcr.io")).toBe("ghcr.io");
  });
  it("finds the config dir from the last --config, else DOCKER_CONFIG, else ~/.docker", () => {
    expect(dockerConfigDir([], { DOCKER_CONFIG: "/etc/dc", HOME: "/home/u" }, "/w")).toBe("/etc/dc");
    expect(dockerConfigDir([], { HOME: "/home/u" }, "/w")).toBe("/home/u/.docker");
    expect(dockerConfigDir([], { DOCKER_CONFIG: "", HOME: "/home/u" }, "/w")).toBe("/home/u/.docker");
    expect(dockerConfigDir([], { DOCKER_CONFIG: "dc" }, "/w")).toBe("/w/dc");
    const env = { DOCKER_CONFIG: "/etc/dc", HOME: "/home/u" };
    expect(dockerConfigDir(["--config", "a", "-D"], env, "/w")).toBe("/w/a");
    expect(dockerConfigDir(["--config=/a", "--config", "/b"], env, "/w")).toBe("/b");
    expect(dockerConfigDir(["--config", "/a", "--config=/b"], env, "/w")).toBe("/b");
  });
});

describe("credentialsFor", () => {
  let dir: string;
  let bin: string;
  let env: NodeJS.ProcessEnv;
  const b64 = (s: string) => Buffer.from(s).toString("base64");

  /** Writes config.json into a fresh config dir and returns the dir. */
  const config = (content: unknown): string => {
    const d = mkdtempSync(path.join(dir, "cfg-"));
    writeFileSync(
      path.join(d, "config.json"),
      typeof content === "string" ? content : JSON.stringify(content),
    );
    return d;
  };

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), "dv-auth-"));
    bin = path.join(dir, "bin");
    mkdirSync(bin);
    // A real credential helper speaking the docker-credential-* protocol: server on stdin, JSON out.
    const helper = path.join(bin, "docker-credential-dvtest");
    writeFileSync(
      helper,
      `#!/bin/sh
[ "$1" = get ] || exit 2
server=$(cat) # Docker sends the address without a newline
case "$server" in
  ghcr.io) printf '{"ServerURL":"ghcr.io","Username":"helper-user","Secret":"helper-secret"}' ;;
  ${DOCKER_HUB_KEY}) printf '{"ServerURL":"hub","Username":"<token>","Secret":"refresh-me"}' ;;
  broken.example) echo "helper internals: secret-in-stderr" >&2; exit 3 ;;
  *) echo "credentials not found in native keychain"; exit 1 ;;
esac
`,
    );
    chmodSync(helper, 0o755);
    env = { ...process.env, PATH: `${bin}:${process.env.PATH}` };
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("is anonymous without a config file", async () => {
    expect(await credentialsFor("ghcr.io", path.join(dir, "none"), env)).toBeNull();
  });

  it.each([
    [
      { "127.0.0.1:5078": { auth: b64("u:p:with:colons") } },
      "127.0.0.1:5078",
      { kind: "basic", username: "u", password: "p:with:colons" },
    ],
    [
      { "https://127.0.0.1:5078": { username: "u2", password: "p2" } },
      "127.0.0.1:5078",
      { kind: "basic", username: "u2", password: "p2" },
    ],
    [
      { [DOCKER_HUB_KEY]: { auth: b64("hubuser:hubpass") } },
      "docker.io",
      { kind: "basic", username: "hubuser", password: "hubpass" },
    ],
    [
      { "ghcr.io": { auth: b64("x:"), identitytoken: "idt" } },
      "ghcr.io",
      { kind: "identity-token", username: "x", token: "idt" },
    ],
    [{ "ghcr.io": {} }, "ghcr.io", null],
    [{ "other.io": { auth: b64("a:b") } }, "ghcr.io", null],
  ])("reads auths %j for %s", async (auths, registry, expected) => {
    expect(await credentialsFor(registry, config({ auths }), env)).toEqual(expected);
  });

  it("asks the registry's credHelper, before credsStore and inline auths", async () => {
    const d = config({
      auths: { "ghcr.io": { auth: b64("inline:inline") } },
      credHelpers: { "ghcr.io": "dvtest" },
      credsStore: "missing-store",
    });
    expect(await credentialsFor("ghcr.io", d, env)).toEqual({
      kind: "basic",
      username: "helper-user",
      password: "helper-secret",
    });
  });

  it("asks credsStore with Docker Hub's key and reads an identity token", async () => {
    const d = config({ auths: { [DOCKER_HUB_KEY]: {} }, credsStore: "dvtest" });
    expect(await credentialsFor("docker.io", d, env)).toEqual({
      kind: "identity-token",
      username: "",
      token: "refresh-me",
    });
  });

  it("treats a helper's 'credentials not found' as anonymous, falling back to inline auths", async () => {
    expect(await credentialsFor("quay.io", config({ credsStore: "dvtest" }), env)).toBeNull();
    const d = config({ credsStore: "dvtest", auths: { "quay.io": { auth: b64("q:w") } } });
    expect(await credentialsFor("quay.io", d, env)).toEqual({ kind: "basic", username: "q", password: "w" });
  });

  it("fails in one line without repeating what a broken helper printed", async () => {
    const err = await credentialsFor("broken.example", config({ credsStore: "dvtest" }), env).catch((e) => e);
    expect(err).toBeInstanceOf(RegistryError);
    expect(err.message).toBe("credential helper docker-credential-dvtest failed for broken.example");
  });

  it("says when the named helper is not installed", async () => {
    const err = await credentialsFor("ghcr.io", config({ credsStore: "nosuch" }), env).catch((e) => e);
    expect(err.message).toBe(
      "credential helper docker-credential-nosuch (named in the Docker config) is not installed",
    );
  });

  it("refuses a helper name that is a path", async () => {
    const err = await credentialsFor("ghcr.io", config({ credsStore: "../../bin/sh" }), env).catch((e) => e);
    expect(err).toBeInstanceOf(RegistryError);
  });

  it("names a corrupt config file without quoting it", async () => {
    const d = config('{"auths": {"ghcr.io": {"auth": "c2VjcmV0"}');
    const err = await credentialsFor("ghcr.io", d, env).catch((e) => e);
    expect(err.message).toBe(`the Docker config file ${path.join(d, "config.json")} is not valid JSON`);
  });
});

describe("RegistryAuth", () => {
  it("answers a Basic challenge with the saved credentials and never shows them when inspected", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "dv-auth-basic-"));
    const auth = Buffer.from("someone:s3cret-value").toString("base64");
    writeFileSync(path.join(dir, "config.json"), JSON.stringify({ auths: { "127.0.0.1:5078": { auth } } }));
    const registryAuth = new RegistryAuth({
      configDir: dir,
      send: () => Promise.reject(new Error("a Basic challenge needs no request")),
      plainAllowed: () => true,
    });
    const header = await registryAuth.answer("127.0.0.1:5078", "repository:a:pull", 'Basic realm="r"');
    expect(header).toBe(`Basic ${auth}`);
    // Later requests to the same registry authorize up front, for any repository.
    expect(await registryAuth.header("127.0.0.1:5078", "repository:b:pull")).toBe(`Basic ${auth}`);
    const shown = inspect(registryAuth, { depth: 10, showHidden: true });
    expect(shown).not.toContain("s3cret");
    expect(shown).not.toContain(auth);
    rmSync(dir, { recursive: true, force: true });
  });

  it("has nothing to answer a Basic challenge with when not logged in", async () => {
    const registryAuth = new RegistryAuth({
      configDir: path.join(tmpdir(), "dv-no-such-config"),
      send: () => Promise.reject(new Error("no request expected")),
      plainAllowed: () => true,
    });
    expect(await registryAuth.answer("ghcr.io", "repository:a:pull", 'Basic realm="r"')).toBeUndefined();
    expect(await registryAuth.answer("ghcr.io", "repository:a:pull", "Negotiate")).toBeUndefined();
  });
});
