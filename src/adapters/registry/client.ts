// One way to speak to any OCI registry: where it lives (HTTPS, plain HTTP only for loopback or
// listed insecure hosts), each request with a timeout, auth, bounded retries and a count, and
// every failure turned into one typed line.
import { setTimeout as sleep } from "node:timers/promises";
import type { ImageRef } from "../../core/reference.js";
import { RegistryAuth } from "./auth.js";
import { MAX_BODY_BYTES, readCapped } from "./body.js";
import { RegistryError } from "./errors.js";
import { type Answer, type AskInit, HttpPool } from "./http.js";

// Kept here too: the registry code and its tests have always taken it from this module.
export { MAX_BODY_BYTES } from "./body.js";

export type RepositoryRef = Pick<ImageRef, "registry" | "repository">;

export interface RegistryClientOptions {
  /** Where `docker login` keeps config.json: `$DOCKER_CONFIG`, `~/.docker`, or the CLI's `--config`. */
  dockerConfigDir: string;
  /** Registries (host or host:port) that serve plain HTTP although they are not on loopback. */
  insecureRegistries?: readonly string[];
  /** Environment for credential helpers (their PATH). */
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  /** Retries after a 429 or 5xx answer. */
  retries?: number;
  /** Longest wait a Retry-After may ask for; a longer one is reported as rate limiting instead. */
  maxRetryWaitMs?: number;
  /** First backoff step when the registry gives no Retry-After; doubled each retry. */
  backoffMs?: number;
  /** Told in one line before a wait of a second or more for a retry (Retry-After, backoff). */
  onWait?: (line: string) => void;
  /**
   * The client serves one command: each question (a repository's tags, a tag's digest) goes to
   * the registry once, and every later asker gets that answer (see `once`).
   */
  oneCommand?: boolean;
}

export interface RequestOptions {
  method?: "GET" | "HEAD";
  accept?: readonly string[];
  /** What a 404 means here ("tag 1.2", "blob sha256:…"); when absent a 404 means the repository. */
  missing?: string;
  /** Token scope when it is not pulling this repository (the catalog's). */
  scope?: string;
}

/** How many services are asked at once: enough to overlap latency, few enough for rate limits. */
export const DEFAULT_CONCURRENCY = 4;

function hostOf(registry: string): string {
  if (registry.startsWith("[")) return registry.slice(1, registry.indexOf("]"));
  const colon = registry.lastIndexOf(":");
  // A bare IPv6 address has several colons and no port.
  return colon > 0 && registry.indexOf(":") === colon ? registry.slice(0, colon) : registry;
}

export function isLoopback(registry: string): boolean {
  const host = hostOf(registry).toLowerCase();
  return host === "localhost" || host === "::1" || /^127(?:\.\d{1,3}){3}$/.test(host);
}

/** Where a registry's API lives: Docker Hub's is registry-1.docker.io; TLS unless loopback or listed. */
export function registryBaseUrl(registry: string, insecure: readonly string[] = []): URL {
  if (registry === "docker.io") return new URL("https://registry-1.docker.io");
  const plain = isLoopback(registry) || insecure.includes(registry) || insecure.includes(hostOf(registry));
  return new URL(`${plain ? "http" : "https"}://${registry}`);
}

export interface RetryPolicy {
  retries: number;
  maxWaitMs: number;
  backoffMs: number;
}

/** How long to wait before retrying an answer, or null when it must not be retried. */
export function retryDelayMs(
  status: number,
  retryAfter: string | null,
  attempt: number,
  policy: RetryPolicy,
  now = Date.now(),
): number | null {
  const retryable = status === 429 || status === 500 || status === 502 || status === 503 || status === 504;
  if (!retryable || attempt >= policy.retries) return null;
  const backoff = policy.backoffMs * 2 ** attempt;
  const value = retryAfter?.trim();
  if (!value) return backoff;
  const asked = /^\d+$/.test(value) ? Number(value) * 1000 : Date.parse(value) - now;
  if (Number.isNaN(asked)) return backoff;
  // Waiting less than the server asked is pointless, so a too-long ask ends the retries.
  return asked > policy.maxWaitMs ? null : Math.max(asked, 0);
}

function networkReason(e: unknown, timeoutMs: number): string {
  const err = e as { name?: string; cause?: { code?: string; name?: string } };
  if (err.name === "TimeoutError" || err.cause?.name === "TimeoutError")
    return `no answer within ${timeoutMs / 1000}s`;
  switch (err.cause?.code) {
    case "ECONNREFUSED":
      return "connection refused";
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return "host not found";
    case "ECONNRESET":
      return "connection reset";
    case "ETIMEDOUT":
    case "UND_ERR_CONNECT_TIMEOUT":
      return "connection timed out";
    case "ERR_SSL_WRONG_VERSION_NUMBER":
      return "TLS handshake failed (a plain-HTTP registry must be listed as insecure)";
    default:
      return err.cause?.code ? `network error ${err.cause.code}` : "network error";
  }
}

export class RegistryClient {
  /** Requests sent, token requests included. */
  requests = 0;
  private readonly perRepository = new Map<string, number>();
  readonly #auth: RegistryAuth;
  private readonly timeoutMs: number;
  private readonly policy: RetryPolicy;
  readonly #pool: HttpPool;

  constructor(private readonly opts: RegistryClientOptions) {
    this.timeoutMs = opts.timeoutMs ?? 15_000;
    this.#pool = new HttpPool(this.timeoutMs);
    this.policy = {
      retries: opts.retries ?? 3,
      maxWaitMs: opts.maxRetryWaitMs ?? 30_000,
      backoffMs: opts.backoffMs ?? 500,
    };
    this.#auth = new RegistryAuth({
      configDir: opts.dockerConfigDir,
      env: opts.env,
      send: (url, init) => this.send(url, init, url.host),
      plainAllowed: (url) => registryBaseUrl(url.host, opts.insecureRegistries).protocol === "http:",
    });
  }

  /** The environment this client was made for: credential helpers' PATH, and whether AWS credentials exist. */
  get env(): NodeJS.ProcessEnv {
    return this.opts.env ?? process.env;
  }

  /** The URL of `/v2/<repository>/<rest>` on the repository's registry. */
  url(repo: RepositoryRef, rest: string): URL {
    return this.registryUrl(repo.registry, `${repo.repository}/${rest}`);
  }

  /** The URL of `/v2/<rest>` on a registry. */
  registryUrl(registry: string, rest: string): URL {
    return new URL(`/v2/${rest}`, registryBaseUrl(registry, this.opts.insecureRegistries));
  }

  /**
   * What this command already asked, by question: a repository's tag list, a tag's digest. A
   * client made for one command (`oneCommand`) sends each question once however many services
   * share the repository (their answers, failures included, are the same); any other asks anew.
   */
  once<T>(question: string, ask: () => Promise<T>): Promise<T> {
    if (!this.opts.oneCommand) return ask();
    let answer = this.#answers.get(question) as Promise<T> | undefined;
    if (!answer) {
      answer = ask();
      this.#answers.set(question, answer);
    }
    return answer;
  }
  readonly #answers = new Map<string, Promise<unknown>>();

  requestsFor(repo: RepositoryRef): number {
    return this.perRepository.get(`${repo.registry}/${repo.repository}`) ?? 0;
  }

  /** Sends a request for a repository and returns its 2xx answer; anything else throws a RegistryError. */
  async request(repo: RepositoryRef, url: URL, opts: RequestOptions = {}): Promise<Answer> {
    const scope = opts.scope ?? `repository:${repo.repository}:pull`;
    const counter = `${repo.registry}/${repo.repository}`;
    let authorization = await this.#auth.header(repo.registry, scope);
    let challenged = false;
    for (let attempt = 0; ; ) {
      const headers: Record<string, string> = {};
      if (opts.accept) headers.accept = opts.accept.join(", ");
      if (authorization) headers.authorization = authorization;
      const res = await this.send(url, { method: opts.method ?? "GET", headers }, counter);
      if (res.ok) return res;
      await res.body?.cancel();
      if (res.status === 401 && !challenged) {
        challenged = true;
        authorization = await this.#auth.answer(repo.registry, scope, res.headers.get("www-authenticate"));
        if (authorization) continue;
      }
      const wait = retryDelayMs(res.status, res.headers.get("retry-after"), attempt, this.policy);
      if (wait !== null) {
        attempt++;
        if (wait >= 1_000)
          this.opts.onWait?.(
            `registry ${repo.registry} answered ${res.status} for ${repo.repository}; retrying in ${Math.round(wait / 1000)}s${res.headers.get("retry-after") ? " as it asked (Retry-After)" : ""}`,
          );
        await sleep(wait);
        continue;
      }
      throw await this.failure(repo, res, opts);
    }
  }

  /** Reads an answer's body as JSON, or throws a RegistryError naming what was read. */
  async json(repo: RepositoryRef, res: Answer, what: string): Promise<unknown> {
    const text = (await this.bytes(repo, res)).toString("utf8");
    try {
      return JSON.parse(text);
    } catch {
      throw new RegistryError(
        "bad-response",
        `registry ${repo.registry} sent unreadable ${what} for ${repo.repository}`,
      );
    }
  }

  /** Reads an answer's body; a timeout or reset while reading is reported like one while connecting. */
  async bytes(repo: RepositoryRef, res: Answer, maxBytes = MAX_BODY_BYTES): Promise<Buffer> {
    let body: Buffer | null;
    try {
      body = await readCapped(res, maxBytes);
    } catch (e) {
      throw new RegistryError(
        "unreachable",
        `cannot reach registry ${repo.registry}: ${networkReason(e, this.timeoutMs)}`,
      );
    }
    if (body === null)
      throw new RegistryError(
        "bad-response",
        `registry ${repo.registry} sent more than ${maxBytes / 1024 / 1024} MiB for ${repo.repository || "its catalog"}; not reading further`,
      );
    return body;
  }

  private async send(url: URL, init: AskInit, counter: string): Promise<Answer> {
    this.requests++;
    this.perRepository.set(counter, (this.perRepository.get(counter) ?? 0) + 1);
    try {
      return await this.#pool.ask(url, init);
    } catch (e) {
      throw new RegistryError(
        "unreachable",
        `cannot reach registry ${url.host}: ${networkReason(e, this.timeoutMs)}`,
      );
    }
  }

  private async failure(repo: RepositoryRef, res: Answer, opts: RequestOptions): Promise<RegistryError> {
    const name = `${repo.registry}/${repo.repository}`;
    switch (res.status) {
      case 401:
      case 403: {
        const why = (await this.#auth.hasCredentials(repo.registry))
          ? "the credentials saved by docker login were not accepted"
          : `not logged in (run 'docker login ${repo.registry}')`;
        return new RegistryError(
          "auth",
          `access to ${name} denied (${res.status}): ${why}, or it does not exist`,
        );
      }
      case 404:
        return (await this.repositoryExists(repo, opts))
          ? new RegistryError("tag-not-found", `${opts.missing} not found in ${name}`)
          : new RegistryError("repository-not-found", `repository ${name} not found`);
      case 429: {
        const asked = res.headers.get("retry-after")?.trim();
        const after = asked && /^\d+$/.test(asked) ? `${asked}s` : asked;
        return new RegistryError(
          "rate-limited",
          `registry ${repo.registry} is rate limiting requests (429)${after ? `; it asks to retry after ${after}` : ""}`,
        );
      }
      default:
        return new RegistryError(
          res.status >= 500 ? "server" : "bad-response",
          `registry ${repo.registry} answered ${res.status} for ${repo.repository}`,
        );
    }
  }

  /** Tells a missing tag from a missing repository (registries answer both with 404 on manifests). */
  private async repositoryExists(repo: RepositoryRef, opts: RequestOptions): Promise<boolean> {
    if (!opts.missing) return false;
    try {
      const res = await this.request(repo, this.url(repo, "tags/list?n=1"));
      await res.body?.cancel();
      return true;
    } catch (e) {
      if (e instanceof RegistryError && e.kind === "repository-not-found") return false;
      return true;
    }
  }
}
