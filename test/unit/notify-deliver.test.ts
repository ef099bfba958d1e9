// Delivery of notifications against a loopback HTTP server: what is sent, how failures read
// (one line, no secrets), a timeout, no redirect followed, a capped answer; and the
// notification program (argument array, JSON on stdin, its failure in one line).
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deliver, runNotifyCommand } from "../../src/adapters/notify.js";
import { readNotifyState, writeNotifyState } from "../../src/adapters/notify-state.js";
import { formatMessage, parseTarget } from "../../src/core/notify-message.js";

const event = {
  event: "update-safe" as const,
  project: "shop",
  at: "2026-11-29T00:00:00Z",
  outcome: "updated" as const,
  changes: [{ service: "api", from: "1.0", to: "1.1" }],
};

describe("deliver", () => {
  let server: Server;
  let base = "";
  const got: { url: string; headers: IncomingHttpHeaders; body: string }[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = "";
      req.on("data", (b) => (body += b));
      req.on("end", () => {
        got.push({ url: req.url ?? "", headers: req.headers, body });
        if (req.url === "/hang") return; // never answers
        if (req.url === "/redirect") return res.writeHead(302, { location: "http://127.0.0.1:1/" }).end();
        if (req.url === "/huge") return res.writeHead(400).end(`${"x".repeat(1_000_000)}\nsecond line`);
        res
          .writeHead(req.url === "/bad" ? 403 : 204)
          .end(req.url === "/bad" ? "invalid_token\nmore" : undefined);
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });

  const send = (p: string, timeout?: number) => {
    const t = parseTarget(`slack+${base}${p}`);
    return deliver(t, formatMessage(t.channel, event), timeout);
  };

  it("POSTs the channel's body and content type", async () => {
    expect(await send("/ok")).toBeNull();
    const last = got.at(-1);
    expect(last?.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(last?.body ?? "").text).toContain("api 1.0 → 1.1");
  });

  it("reads a refusal as one line with the status and the answer's first line", async () => {
    expect(await send("/bad")).toBe("HTTP 403: invalid_token");
    const huge = (await send("/huge")) as string;
    expect(huge.startsWith("HTTP 400: ")).toBe(true);
    expect(huge.length).toBeLessThan(200);
  });

  it("follows no redirect", async () => {
    expect(await send("/redirect")).toBe("a redirect (not followed)");
  });

  it("gives up after the timeout", async () => {
    expect(await send("/hang", 300)).toBe("no answer within 0.3s");
  });

  it("sends userinfo as Basic auth and not in the URL", async () => {
    const t = parseTarget(`ntfy+${base.replace("//", "//me:p%40ss@")}/topic`);
    expect(await deliver(t, formatMessage("ntfy", event))).toBeNull();
    const last = got.at(-1);
    expect(last?.url).toBe("/topic");
    expect(last?.headers.authorization).toBe(`Basic ${Buffer.from("me:p@ss").toString("base64")}`);
    expect(last?.headers.title).toBe("docker-versions: shop: updated");
  });
});

describe("notification program", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "dv-notify-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const opts = { cwd: dir, env: process.env };

  it("gets the JSON on stdin, with its arguments as given (no shell)", async () => {
    const out = path.join(dir, "got; touch pwned");
    expect(await runNotifyCommand(["tee", out], '{"a":1}', opts)).toBeNull();
    expect(readFileSync(out, "utf8")).toBe('{"a":1}');
  });

  it("reports its failure in one line", async () => {
    expect(
      await runNotifyCommand(["sh", "-c", "cat >/dev/null; echo 'no route' >&2; exit 3"], "{}", opts),
    ).toBe("exit 3: no route");
    expect(await runNotifyCommand(["/nonexistent/notifier"], "{}", opts)).toBe(
      "/nonexistent/notifier was not found",
    );
    expect(await runNotifyCommand(["true"], "x".repeat(1_000_000), opts)).toBeNull(); // does not read: fine
  });
});

describe("notification state file", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "dv-notify-state-"));
  const manifest = path.join(dir, "version-manifest.yaml");
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("round-trips, and refuses what is not its own in one line", async () => {
    expect(await readNotifyState(manifest)).toEqual({ schema: 1, destinations: {} });
    await writeNotifyState(manifest, { schema: 1, last_check: "t", destinations: { k: { api: ["1.1"] } } });
    expect(await readNotifyState(manifest)).toMatchObject({
      last_check: "t",
      destinations: { k: { api: ["1.1"] } },
    });
    writeFileSync(path.join(dir, "version-notify.json"), "not json");
    await expect(readNotifyState(manifest)).rejects.toThrow(/is not JSON; remove it/);
    rmSync(path.join(dir, "version-notify.json"));
    symlinkSync("/etc/passwd", path.join(dir, "version-notify.json"));
    await expect(readNotifyState(manifest)).rejects.toThrow(/refusing .*symbolic link/);
  });
});
