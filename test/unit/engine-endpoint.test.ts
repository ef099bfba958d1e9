// Which engine the docker CLI would talk to, as a table: Docker global options, environment,
// config.json and context-store files (real ones, in a temporary home) → the unix socket the
// plugin may ask itself, or the docker CLI. The order is the CLI's: --context or -H (both at once
// the CLI refuses), DOCKER_HOST, DOCKER_CONTEXT, config.json's currentContext, the default socket.
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { engineRoute } from "../../src/adapters/engine-endpoint.js";

let home: string;
const dockerDir = () => path.join(home, ".docker");
const otherDir = () => path.join(home, "other-config");

/** A context in `dir`'s store, as `docker context create` writes it. */
function context(dir: string, name: string, host: string, opts: { skipTLS?: boolean; tls?: boolean } = {}) {
  const id = createHash("sha256").update(name).digest("hex");
  const meta = path.join(dir, "contexts", "meta", id);
  mkdirSync(meta, { recursive: true });
  writeFileSync(
    path.join(meta, "meta.json"),
    JSON.stringify({
      Name: name,
      Metadata: {},
      Endpoints: { docker: { Host: host, SkipTLSVerify: opts.skipTLS ?? false } },
    }),
  );
  if (opts.tls) {
    mkdirSync(path.join(dir, "contexts", "tls", id, "docker"), { recursive: true });
    writeFileSync(path.join(dir, "contexts", "tls", id, "docker", "ca.pem"), "not a real certificate\n");
  }
}

beforeAll(() => {
  home = mkdtempSync(path.join(tmpdir(), "dv-endpoint-"));
  mkdirSync(dockerDir());
  context(dockerDir(), "fleet", "unix:///run/fleet/docker.sock");
  context(dockerDir(), "remote", "tcp://10.0.0.5:2376");
  context(dockerDir(), "over-ssh", "ssh://deploy@host");
  context(dockerDir(), "with-tls", "unix:///run/tls/docker.sock", { tls: true });
  context(dockerDir(), "skip-verify", "unix:///run/skip/docker.sock", { skipTLS: true });
  context(dockerDir(), "empty-host", "unix://");
  context(dockerDir(), "relative", "unix://run/docker.sock");
  mkdirSync(otherDir());
  writeFileSync(path.join(otherDir(), "config.json"), JSON.stringify({ currentContext: "second" }));
  context(otherDir(), "second", "unix:///run/second/docker.sock");
  const broken = path.join(home, "broken-config");
  mkdirSync(broken);
  writeFileSync(path.join(broken, "config.json"), "{ not json");
});
afterAll(() => rmSync(home, { recursive: true, force: true }));

type Case = {
  name: string;
  globals?: string[];
  env?: NodeJS.ProcessEnv;
  /** config.json of ~/.docker for this case (none when absent). */
  config?: object;
  /** The socket asked, or "cli". */
  want: string;
};

const CASES: Case[] = [
  { name: "nothing set: the default socket", want: "/var/run/docker.sock" },
  { name: "DOCKER_HOST unix", env: { DOCKER_HOST: "unix:///run/a.sock" }, want: "/run/a.sock" },
  {
    name: "DOCKER_HOST unix:// alone is the default socket",
    env: { DOCKER_HOST: "unix://" },
    want: "/var/run/docker.sock",
  },
  {
    name: "DOCKER_HOST with spaces around",
    env: { DOCKER_HOST: " unix:///run/a.sock " },
    want: "/run/a.sock",
  },
  { name: "DOCKER_HOST empty counts as unset", env: { DOCKER_HOST: "" }, want: "/var/run/docker.sock" },
  { name: "DOCKER_HOST tcp", env: { DOCKER_HOST: "tcp://10.0.0.5:2375" }, want: "cli" },
  { name: "DOCKER_HOST ssh", env: { DOCKER_HOST: "ssh://deploy@host" }, want: "cli" },
  { name: "DOCKER_HOST npipe", env: { DOCKER_HOST: "npipe:////./pipe/docker_engine" }, want: "cli" },
  { name: "DOCKER_HOST fd", env: { DOCKER_HOST: "fd://" }, want: "cli" },
  { name: "DOCKER_HOST relative socket", env: { DOCKER_HOST: "unix://run/a.sock" }, want: "cli" },
  {
    name: "-H wins over DOCKER_HOST",
    globals: ["-H", "unix:///run/h.sock"],
    env: { DOCKER_HOST: "tcp://x:1" },
    want: "/run/h.sock",
  },
  { name: "--host=…", globals: ["--host=unix:///run/h.sock"], want: "/run/h.sock" },
  { name: "-H… attached", globals: ["-Hunix:///run/h.sock"], want: "/run/h.sock" },
  {
    name: "-H wins over DOCKER_CONTEXT and currentContext",
    globals: ["-H", "unix:///run/h.sock"],
    env: { DOCKER_CONTEXT: "remote" },
    config: { currentContext: "remote" },
    want: "/run/h.sock",
  },
  { name: "-H tcp", globals: ["-H", "tcp://10.0.0.5:2375"], want: "cli" },
  { name: "-H twice (the CLI refuses)", globals: ["-H", "unix:///a", "-H", "unix:///b"], want: "cli" },
  {
    name: "-H and --context (the CLI refuses)",
    globals: ["-H", "unix:///a", "--context", "fleet"],
    want: "cli",
  },
  { name: "--context: its endpoint", globals: ["--context", "fleet"], want: "/run/fleet/docker.sock" },
  { name: "-c NAME", globals: ["-c", "fleet"], want: "/run/fleet/docker.sock" },
  { name: "-cNAME", globals: ["-cfleet"], want: "/run/fleet/docker.sock" },
  { name: "-c=NAME", globals: ["-c=fleet"], want: "/run/fleet/docker.sock" },
  {
    name: "--context wins over DOCKER_HOST",
    globals: ["--context=fleet"],
    env: { DOCKER_HOST: "tcp://x:1" },
    want: "/run/fleet/docker.sock",
  },
  {
    name: "--context default: DOCKER_HOST",
    globals: ["--context", "default"],
    env: { DOCKER_HOST: "unix:///run/e.sock" },
    want: "/run/e.sock",
  },
  {
    name: "--context default: the default socket",
    globals: ["--context", "default"],
    env: { DOCKER_CONTEXT: "fleet" },
    want: "/var/run/docker.sock",
  },
  { name: "--context remote (tcp)", globals: ["--context", "remote"], want: "cli" },
  { name: "--context over ssh", globals: ["--context", "over-ssh"], want: "cli" },
  { name: "--context with TLS material", globals: ["--context", "with-tls"], want: "cli" },
  { name: "--context with SkipTLSVerify", globals: ["--context", "skip-verify"], want: "cli" },
  { name: "--context with an empty unix host", globals: ["--context", "empty-host"], want: "cli" },
  { name: "--context with a relative socket", globals: ["--context", "relative"], want: "cli" },
  { name: "--context that does not exist (the CLI says so)", globals: ["--context", "nope"], want: "cli" },
  {
    name: "DOCKER_HOST wins over DOCKER_CONTEXT",
    env: { DOCKER_HOST: "unix:///run/a.sock", DOCKER_CONTEXT: "fleet" },
    want: "/run/a.sock",
  },
  { name: "DOCKER_CONTEXT", env: { DOCKER_CONTEXT: "fleet" }, want: "/run/fleet/docker.sock" },
  {
    name: "DOCKER_CONTEXT wins over currentContext",
    env: { DOCKER_CONTEXT: "fleet" },
    config: { currentContext: "remote" },
    want: "/run/fleet/docker.sock",
  },
  { name: "DOCKER_CONTEXT remote", env: { DOCKER_CONTEXT: "remote" }, want: "cli" },
  { name: "currentContext", config: { currentContext: "fleet" }, want: "/run/fleet/docker.sock" },
  { name: "currentContext remote", config: { currentContext: "remote" }, want: "cli" },
  { name: "currentContext default", config: { currentContext: "default" }, want: "/var/run/docker.sock" },
  {
    name: "DOCKER_HOST wins over currentContext",
    env: { DOCKER_HOST: "unix:///run/a.sock" },
    config: { currentContext: "remote" },
    want: "/run/a.sock",
  },
  { name: "config.json without currentContext", config: { auths: {} }, want: "/var/run/docker.sock" },
  { name: "config.json that is not JSON", env: { DOCKER_CONFIG: "BROKEN" }, want: "cli" },
  {
    name: "DOCKER_CONFIG: its currentContext and its contexts",
    env: { DOCKER_CONFIG: "OTHER" },
    want: "/run/second/docker.sock",
  },
  {
    name: "--config wins over DOCKER_CONFIG",
    globals: ["--config", "OTHER"],
    env: { DOCKER_CONFIG: "BROKEN" },
    want: "/run/second/docker.sock",
  },
  {
    name: "--config=… with --context from its store",
    globals: ["--config=OTHER", "-c", "second"],
    want: "/run/second/docker.sock",
  },
  { name: "--tls", globals: ["--tls"], want: "cli" },
  { name: "--tlsverify", globals: ["--tlsverify", "-H", "unix:///run/h.sock"], want: "cli" },
  { name: "--tlscacert", globals: ["--tlscacert", "/x/ca.pem"], want: "cli" },
  { name: "--tlskey=…", globals: ["--tlskey=/x/key.pem"], want: "cli" },
  { name: "DOCKER_TLS_VERIFY", env: { DOCKER_TLS_VERIFY: "1" }, want: "cli" },
  { name: "DOCKER_TLS", env: { DOCKER_TLS: "1" }, want: "cli" },
  {
    name: "DOCKER_API_VERSION (the CLI speaks that version)",
    env: { DOCKER_API_VERSION: "1.41" },
    want: "cli",
  },
  {
    name: "--debug and --log-level change nothing",
    globals: ["--debug", "--log-level", "info", "-D"],
    want: "/var/run/docker.sock",
  },
  { name: "a global option not known here", globals: ["--something"], want: "cli" },
  { name: "DOCKER_VERSIONS_ENGINE_API=off", env: { DOCKER_VERSIONS_ENGINE_API: "off" }, want: "cli" },
  { name: "DOCKER_VERSIONS_ENGINE_API=0", env: { DOCKER_VERSIONS_ENGINE_API: "0" }, want: "cli" },
  {
    name: "DOCKER_VERSIONS_ENGINE_API=on",
    env: { DOCKER_VERSIONS_ENGINE_API: "on" },
    want: "/var/run/docker.sock",
  },
];

describe("engineRoute: the engine the docker CLI would talk to", () => {
  it.each(CASES)("$name", (c) => {
    const config = path.join(dockerDir(), "config.json");
    rmSync(config, { force: true });
    if (c.config) writeFileSync(config, JSON.stringify(c.config));
    const dirs: Record<string, string> = { OTHER: otherDir(), BROKEN: path.join(home, "broken-config") };
    const resolve = (v: string) => dirs[v] ?? v;
    const env: NodeJS.ProcessEnv = { HOME: home };
    for (const [k, v] of Object.entries(c.env ?? {})) env[k] = k === "DOCKER_CONFIG" ? resolve(v ?? "") : v;
    const globals = (c.globals ?? []).map((g) => g.replace(/OTHER|BROKEN/, (m) => resolve(m)));
    const route = engineRoute(globals, env, home);
    expect("socket" in route ? route.socket : "cli", JSON.stringify(route)).toBe(c.want);
  });

  it("a relative --config is read from the working directory", () => {
    const route = engineRoute(["--config", "other-config"], { HOME: "/nonexistent" }, home);
    expect(route).toEqual({ socket: "/run/second/docker.sock", host: "unix:///run/second/docker.sock" });
  });
});
