// Delivers a notification: one HTTP POST per destination, with a timeout, no redirects followed
// and the answer read only up to a cap; or a program given the JSON on stdin (an argument
// array, never a shell). A failure comes back as one line that names the destination by
// channel and host only: webhook paths and userinfo are secrets and never appear in it.
import { spawn } from "node:child_process";
import type { Message, Target } from "../core/notify-message.js";
import { shown } from "../core/shown-text.js";
import { type Answer, HttpPool } from "./http.js";

export const NOTIFY_TIMEOUT_MS = 10_000;
const MAX_ANSWER_BYTES = 64 * 1024;

/** POSTs `message` to `target`; resolves with null when delivered, else the reason in one line. */
export async function deliver(
  target: Target,
  message: Message,
  timeoutMs = NOTIFY_TIMEOUT_MS,
): Promise<string | null> {
  const url = new URL(target.url);
  const headers: Record<string, string> = { "content-type": message.contentType, ...message.headers };
  // user:password@ in the URL becomes Basic auth (ntfy and most webhook receivers take it).
  if (url.username || url.password) {
    headers.authorization = `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString("base64")}`;
    url.username = "";
    url.password = "";
  }
  try {
    // The plugin's own HTTP (http.ts), not fetch: a process that used fetch waits at its exit
    // for V8 to finish compiling fetch's HTTP parser (~200 ms on a loaded host).
    const res = await new HttpPool(timeoutMs).ask(url, {
      method: "POST",
      headers,
      body: message.body,
      follow: false,
    });
    const answer = await readCapped(res);
    if (res.status >= 200 && res.status < 300) return null;
    const why = res.status >= 300 && res.status < 400 ? "a redirect (not followed)" : `HTTP ${res.status}`;
    return `${why}${answer.trim() ? `: ${shown(answer.trim().split("\n")[0] ?? "", 120)}` : ""}`;
  } catch (e) {
    const err = e as Error & { cause?: { code?: string } };
    if (err.name === "TimeoutError" || err.name === "AbortError")
      return `no answer within ${timeoutMs / 1000}s`;
    return err.cause?.code ?? "the request failed";
  }
}

async function readCapped(res: Answer): Promise<string> {
  if (!res.body) return "";
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (size < MAX_ANSWER_BYTES) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.length;
  }
  await reader.cancel().catch(() => {});
  return Buffer.concat(chunks).toString("utf8").slice(0, MAX_ANSWER_BYTES);
}

/** Runs `argv` with `json` on its stdin; null when it exits 0, else the reason in one line. */
export function runNotifyCommand(
  argv: readonly string[],
  json: string,
  opts: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<string | null> {
  const [program, ...args] = argv;
  if (!program) return Promise.resolve("no program given");
  return new Promise((resolve) => {
    const child = spawn(program, args, {
      cwd: opts.cwd,
      env: opts.env,
      stdio: ["pipe", "ignore", "pipe"],
      timeout: opts.timeoutMs ?? NOTIFY_TIMEOUT_MS * 3,
    });
    let err = "";
    child.stderr.on("data", (b: Buffer) => {
      if (err.length < 4096) err += b.toString("utf8");
    });
    child.stdin.on("error", () => {}); // a program that does not read its input is its business
    child.on("error", (e: NodeJS.ErrnoException) =>
      resolve(e.code === "ENOENT" ? `${program} was not found` : (e.code ?? e.message)),
    );
    child.on("close", (code, signal) => {
      if (code === 0) resolve(null);
      else {
        const last = err.trim().split("\n").at(-1) ?? "";
        resolve(`${signal ? `killed by ${signal}` : `exit ${code}`}${last ? `: ${shown(last, 160)}` : ""}`);
      }
    });
    child.stdin.end(json);
  });
}
