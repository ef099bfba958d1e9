// update-safe's HTTP health check: a service's health_url must answer 2xx before a deadline.
// Credentials in the URL travel as Basic auth; the URL that is shown never carries them.
import { healthRequest } from "../core/health-url.js";
import { withoutUserinfo } from "../core/shown-text.js";
import { UserError } from "../errors.js";

export interface HealthWait {
  /** Epoch milliseconds after which the service counts as unhealthy. */
  deadline: number;
  /** Between attempts (default 1 s). */
  intervalMs?: number;
}

/** Resolves once `rawUrl` answers 2xx; a one-line UserError naming the service after the deadline. */
export async function waitForHealthUrl(service: string, rawUrl: string, wait: HealthWait): Promise<void> {
  const { url, headers } = healthRequest(rawUrl);
  let last = "no answer";
  for (;;) {
    try {
      const res = await fetch(url, { headers, signal: AbortSignal.timeout(5000) });
      await res.body?.cancel();
      if (res.ok) return;
      last = `HTTP ${res.status}`;
    } catch (e) {
      last = withoutUserinfo((e as Error).message);
    }
    if (Date.now() > wait.deadline) throw new UserError(`${service} is not healthy: ${url} answered ${last}`);
    await new Promise((r) => setTimeout(r, wait.intervalMs ?? 1000));
  }
}
