// update-safe's health_url check against a real HTTP server on loopback: credentials typed into
// the URL are sent as Basic auth, and no message carries them.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitForHealthUrl } from "../../src/adapters/health-url.js";

let server: Server;
let base: string;
const seen: (string | undefined)[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push(req.headers.authorization);
    const ok = req.headers.authorization === `Basic ${Buffer.from("ops:s3cr@t").toString("base64")}`;
    res.writeHead(ok ? 200 : 401).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe("waitForHealthUrl", () => {
  it("sends the URL's credentials as Basic auth", async () => {
    await waitForHealthUrl("app", `http://ops:s3cr%40t@${base}/health`, { deadline: Date.now() + 60_000 });
    expect(seen.at(-1)).toMatch(/^Basic /);
  });

  it("names the service and the URL without credentials when it never gets healthy", async () => {
    const err = await waitForHealthUrl("app", `http://ops:wrong@${base}/health`, {
      deadline: 0,
      intervalMs: 0,
    }).catch((e: Error) => e);
    expect((err as Error).message).toBe(`app is not healthy: http://${base}/health answered HTTP 401`);
    expect((err as Error).message).not.toContain("wrong");
  });
});
