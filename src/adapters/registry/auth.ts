// Who we are to a registry: the user's `docker login` credentials (config.json `auths`,
// `credHelpers`, `credsStore`) and the answer to a 401's WWW-Authenticate challenge (Bearer
// token or Basic). Secrets stay in this module's values; no message ever carries them.
import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { byName } from "../../core/names.js";
import type { Answer, AskInit } from "../http.js";
import { readCapped } from "./body.js";
import { RegistryError } from "./errors.js";

export type Credentials =
  | { kind: "basic"; username: string; password: string }
  /** An OAuth2 refresh token that `docker login` stored in place of a password. */
  | { kind: "identity-token"; username: string; token: string };

/** The key Docker uses for Docker Hub in config.json and with credential helpers. */
export const DOCKER_HUB_KEY = "https://index.docker.io/v1/";

const HUB_ALIASES = new Set(["docker.io", "index.docker.io", "registry-1.docker.io"]);

/** The registry a config.json key or server address names, as parseReference spells it. */
export function normalizeRegistryKey(key: string): string {
  const host = key
    .replace(/^[a-z]+:\/\//i, "")
    .replace(/\/.*$/, "")
    .toLowerCase();
  return HUB_ALIASES.has(host) ? "docker.io" : host;
}

/** The server address Docker hands a credential helper for a registry. */
export function serverAddress(registry: string): string {
  return normalizeRegistryKey(registry) === "docker.io" ? DOCKER_HUB_KEY : registry;
}

interface AuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
}

/** The parts of config.json that say how to log in; everything else in it is ignored. */
export interface DockerConfig {
  auths: Record<string, AuthEntry>;
  credHelpers: Record<string, string>;
  credsStore?: string;
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

function stringField(o: Record<string, unknown>, key: string): string | undefined {
  const v = o[key];
  return typeof v === "string" && v !== "" ? v : undefined;
}

export function parseDockerConfig(text: string, file: string): DockerConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new RegistryError("credentials", `the Docker config file ${file} is not valid JSON`);
  }
  if (!isRecord(raw))
    throw new RegistryError("credentials", `the Docker config file ${file} is not a JSON object`);
  const auths = byName<AuthEntry>();
  if (isRecord(raw.auths)) {
    for (const [key, entry] of Object.entries(raw.auths)) {
      if (!isRecord(entry)) continue;
      auths[key] = {
        auth: stringField(entry, "auth"),
        username: stringField(entry, "username"),
        password: stringField(entry, "password"),
        identitytoken: stringField(entry, "identitytoken"),
      };
    }
  }
  const credHelpers = byName<string>();
  if (isRecord(raw.credHelpers)) {
    for (const [key, helper] of Object.entries(raw.credHelpers))
      if (typeof helper === "string") credHelpers[key] = helper;
  }
  return { auths, credHelpers, credsStore: stringField(raw, "credsStore") };
}

function fromEntry(entry: AuthEntry): Credentials | null {
  let { username, password } = entry;
  if (entry.auth) {
    const decoded = Buffer.from(entry.auth, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon > 0) {
      username = decoded.slice(0, colon);
      password = decoded.slice(colon + 1);
    }
  }
  if (entry.identitytoken)
    return { kind: "identity-token", username: username ?? "", token: entry.identitytoken };
  if (username && password) return { kind: "basic", username, password };
  return null;
}

/** Looks a registry up in a parsed config: which helper to ask, or the inline entry. */
export function credentialSource(
  config: DockerConfig,
  registry: string,
): { helper: string; entry?: AuthEntry } | { entry: AuthEntry } | null {
  const wanted = normalizeRegistryKey(registry);
  const find = <T>(map: Record<string, T>): T | undefined =>
    map[registry] ??
    map[serverAddress(registry)] ??
    Object.entries(map).find(([key]) => normalizeRegistryKey(key) === wanted)?.[1];
  const entry = find(config.auths);
  const helper = find(config.credHelpers) ?? config.credsStore;
  if (helper) return entry ? { helper, entry } : { helper };
  return entry ? { entry } : null;
}

/** Asks `docker-credential-<helper> get` (server address on stdin, JSON on stdout). */
export function askHelper(
  helper: string,
  server: string,
  env: NodeJS.ProcessEnv = process.env,
  timeoutMs = 10_000,
): Promise<Credentials | null> {
  const program = `docker-credential-${helper}`;
  if (!/^[A-Za-z0-9_.-]+$/.test(helper)) {
    return Promise.reject(
      new RegistryError("credentials", `invalid credential helper name in Docker config`),
    );
  }
  return new Promise((resolve, reject) => {
    const child = spawn(program, ["get"], { env, stdio: ["pipe", "pipe", "pipe"], timeout: timeoutMs });
    let out = "";
    let err = "";
    child.stdout.on("data", (b) => (out += b));
    child.stderr.on("data", (b) => (err += b));
    child.stdin.on("error", () => {}); // a helper that exits before reading is judged by its exit code
    child.on("error", (e: NodeJS.ErrnoException) => {
      reject(
        new RegistryError(
          "credentials",
          e.code === "ENOENT"
            ? `credential helper ${program} (named in the Docker config) is not installed`
            : `credential helper ${program} could not be started`,
        ),
      );
    });
    child.on("close", (code) => {
      // Helpers say "credentials not found" on a miss; that is anonymous access, not a failure.
      if (code !== 0) {
        if (/credentials not found/i.test(out + err)) resolve(null);
        // The helper's own output is not repeated: nothing it prints may reach a log.
        else reject(new RegistryError("credentials", `credential helper ${program} failed for ${server}`));
        return;
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(out);
      } catch {
        parsed = null;
      }
      if (!isRecord(parsed) || typeof parsed.Secret !== "string") {
        reject(new RegistryError("credentials", `credential helper ${program} gave an unreadable answer`));
        return;
      }
      const username = typeof parsed.Username === "string" ? parsed.Username : "";
      if (!parsed.Secret) resolve(null);
      // Docker's convention: the user name "<token>" marks the secret as an identity token.
      else if (username === "<token>")
        resolve({ kind: "identity-token", username: "", token: parsed.Secret });
      else resolve({ kind: "basic", username, password: parsed.Secret });
    });
    child.stdin.end(server);
  });
}

/** The credentials `docker login` left for a registry, or null for anonymous access. */
export async function credentialsFor(
  registry: string,
  configDir: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Credentials | null> {
  const file = path.join(configDir, "config.json");
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw new RegistryError("credentials", `the Docker config file ${file} cannot be read`);
  }
  const source = credentialSource(parseDockerConfig(text, file), registry);
  if (!source) return null;
  if ("helper" in source) {
    const found = await askHelper(source.helper, serverAddress(registry), env);
    if (found) return found;
  }
  return source.entry ? fromEntry(source.entry) : null;
}

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Reads the first challenge of a WWW-Authenticate header: `Bearer realm="…",service="…"`. */
export function parseChallenge(header: string): Challenge | null {
  const scheme = /^\s*([A-Za-z][A-Za-z0-9_-]*)(?:\s+|$)/.exec(header);
  if (!scheme) return null;
  const params = byName<string>();
  // One key=value or key="quoted, commas allowed" at a time; a second scheme ends the scan.
  const pair = /\s*([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,"]*))\s*(?:,|$)/y;
  pair.lastIndex = scheme[0].length;
  for (let p = pair.exec(header); p; p = pair.exec(header)) {
    params[(p[1] as string).toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, "$1") : (p[3] ?? "");
  }
  return { scheme: (scheme[1] as string).toLowerCase(), params };
}

export type Transport = (url: URL, init: AskInit) => Promise<Answer>;

export interface AuthOptions {
  configDir: string;
  env?: NodeJS.ProcessEnv;
  /** Sends one request with the client's timeout and request count; no auth, no retries. */
  send: Transport;
  /** Whether a URL may be spoken to without TLS (loopback or listed insecure). */
  plainAllowed: (url: URL) => boolean;
}

interface Token {
  header: string;
  expiresAt: number;
}

export function basicHeader(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`;
}

/** Validates a token service answer: `{ token | access_token, expires_in? }`. */
export function parseTokenResponse(body: unknown, now = Date.now()): Token | null {
  if (!isRecord(body)) return null;
  const token = stringField(body, "token") ?? stringField(body, "access_token");
  if (!token) return null;
  // The distribution spec says 60 seconds when unstated; a margin avoids using a token as it expires.
  const seconds = typeof body.expires_in === "number" && body.expires_in > 0 ? body.expires_in : 60;
  return { header: `Bearer ${token}`, expiresAt: now + Math.max(seconds - 10, 1) * 1000 };
}

/**
 * The challenge flow for one client: remembers each host's challenge so later requests to a
 * new repository can authorize up front, and caches tokens per (host, scope).
 */
export class RegistryAuth {
  // ES private fields: util.inspect and console.log of a client never show secrets or tokens.
  readonly #credentials = new Map<string, Promise<Credentials | null>>();
  readonly #challenges = new Map<string, Challenge>();
  readonly #tokens = new Map<string, Promise<Token>>();

  constructor(private readonly opts: AuthOptions) {}

  /** The Authorization header to send up front, when this host has challenged us before. */
  async header(registry: string, scope: string): Promise<string | undefined> {
    const challenge = this.#challenges.get(registry);
    return challenge ? this.authorize(registry, scope, challenge, scope) : undefined;
  }

  /** Answers a 401: the header to retry with, or undefined when there is nothing to try. */
  async answer(registry: string, scope: string, wwwAuthenticate: string | null): Promise<string | undefined> {
    const challenge = wwwAuthenticate ? parseChallenge(wwwAuthenticate) : null;
    if (!challenge) return undefined;
    this.#challenges.set(registry, challenge);
    this.#tokens.delete(`${registry} ${scope}`);
    // The server's own scope says exactly what this request needs; ours is the fallback.
    return this.authorize(registry, scope, challenge, challenge.params.scope || scope);
  }

  /** Whether we hold credentials for this registry (wording of errors only). */
  async hasCredentials(registry: string): Promise<boolean> {
    return (await this.credentialsOf(registry)) !== null;
  }

  private credentialsOf(registry: string): Promise<Credentials | null> {
    let found = this.#credentials.get(registry);
    if (!found) {
      found = credentialsFor(registry, this.opts.configDir, this.opts.env);
      this.#credentials.set(registry, found);
    }
    return found;
  }

  private async authorize(
    registry: string,
    cacheScope: string,
    challenge: Challenge,
    requestScope: string,
  ): Promise<string | undefined> {
    if (challenge.scheme === "basic") {
      const creds = await this.credentialsOf(registry);
      return creds?.kind === "basic" ? basicHeader(creds.username, creds.password) : undefined;
    }
    if (challenge.scheme !== "bearer") return undefined;
    const key = `${registry} ${cacheScope}`;
    let token = this.#tokens.get(key);
    if (token) {
      const t = await token.catch(() => null);
      if (t && t.expiresAt > Date.now()) return t.header;
    }
    token = this.fetchToken(registry, challenge, requestScope);
    this.#tokens.set(key, token);
    token.catch(() => this.#tokens.delete(key));
    return (await token).header;
  }

  // One exchange with the token endpoint, kept whole so its credential handling reads in one place.
  private async fetchToken(registry: string, challenge: Challenge, scope: string): Promise<Token> {
    let realm: URL;
    try {
      realm = new URL(challenge.params.realm ?? "");
    } catch {
      throw new RegistryError(
        "bad-response",
        `registry ${registry} sent an authentication challenge without a usable realm`,
      );
    }
    const creds = await this.credentialsOf(registry);
    if (creds && realm.protocol !== "https:" && !this.opts.plainAllowed(realm)) {
      throw new RegistryError(
        "auth",
        `registry ${registry} asks for credentials over plain HTTP at ${realm.host}; refusing to send them`,
      );
    }
    const service = challenge.params.service;
    let res: Answer;
    if (creds?.kind === "identity-token") {
      // An identity token is a refresh token: it is exchanged with a POST (OAuth2), never sent as Basic.
      const form = new URLSearchParams({
        grant_type: "refresh_token",
        refresh_token: creds.token,
        client_id: "docker-versions",
      });
      if (service) form.set("service", service);
      if (scope) form.set("scope", scope);
      res = await this.opts.send(realm, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: form.toString(),
      });
    } else {
      const url = new URL(realm);
      if (service) url.searchParams.set("service", service);
      if (scope) url.searchParams.set("scope", scope);
      const headers: Record<string, string> = {};
      if (creds) headers.authorization = basicHeader(creds.username, creds.password);
      res = await this.opts.send(url, { method: "GET", headers });
    }
    if (res.status === 401 || res.status === 403) {
      await res.body?.cancel();
      throw new RegistryError(
        "auth",
        creds
          ? `registry ${registry} refused the credentials saved by docker login (${res.status}); run 'docker login ${registry}' again`
          : `registry ${registry} refused anonymous access (${res.status}); run 'docker login ${registry}' first`,
      );
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new RegistryError("server", `the token service of registry ${registry} answered ${res.status}`);
    }
    // A token answer is a few KiB; more is not read.
    const body = await readCapped(res, 1024 * 1024).catch(() => null);
    let parsed: unknown = null;
    try {
      parsed = body ? JSON.parse(body.toString("utf8")) : null;
    } catch {
      parsed = null;
    }
    const token = parseTokenResponse(parsed);
    if (!token)
      throw new RegistryError("bad-response", `the token service of registry ${registry} sent no token`);
    return token;
  }
}
