// update-safe's HTTP health check: a service's health_url must answer 2xx before a deadline.
// Credentials in the URL travel as Basic auth; the URL that is shown never carries them.
import { healthRequest } from "../core/health-url.js";
import { withoutUserinfo } from "../core/shown-text.js";
import { UserError } from "../errors.js";
import { HttpPool } from "./http.js";

export interface HealthWait {
  /** Epoch milliseconds after which the service counts as unhealthy. */
  deadline: number;
  /** Between attempts (default 1 s). */
  intervalMs?: number;
}

/** Resolves once `rawUrl` answers 2xx; a one-line UserError naming the service after the deadline. */
export async function waitForHealthUrl(service: string, rawUrl: string, wait: HealthWait): Promise<void> {
  const { url, headers } = healthRequest(rawUrl);
  // The plugin's own HTTP (http.ts), not fetch: a process that used fetch waits at its exit for
  // V8 to finish compiling fetch's HTTP parser (~200 ms on a loaded host).
  const http = new HttpPool(5000);
  let last = "no answer";
  for (;;) {
    try {
      const res = await http.ask(new URL(url), { method: "GET", headers });
      await res.body?.cancel();
      if (res.ok) return;
      last = `HTTP ${res.status}`;
    } catch (e) {
      const err = e as Error & { cause?: { code?: string } };
      last = err.cause?.code ?? withoutUserinfo(err.message);
    }
    if (Date.now() > wait.deadline) throw new UserError(`${service} is not healthy: ${url} answered ${last}`);
    await new Promise((r) => setTimeout(r, wait.intervalMs ?? 1000));
  }
}
