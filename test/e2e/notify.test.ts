// check-updates and update-safe tell someone: a loopback HTTP receiver stands in for the
// generic JSON webhook, Slack, Discord and ntfy; each new version is announced once per
// destination; --notify-command gets the JSON on stdin; a dead receiver is one warning line.
// Also the metrics files and the update window, against the real engine and registry.
import { existsSync, readFileSync, rmSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import { createServer as createTcp } from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bed, fixtureProject, installPlugin, must, seedNamespace, sh } from "./harness.js";

interface Received {
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

function receiver(): Promise<{ server: Server; port: number; got: Received[] }> {
  const got: Received[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (b) => (body += b));
    req.on("end", () => {
      got.push({ url: req.url ?? "", headers: req.headers, body });
      res.writeHead(req.url?.startsWith("/fail") ? 500 : 200).end("ok");
    });
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () =>
      resolve({ server, port: (server.address() as { port: number }).port, got }),
    ),
  );
}

/** A loopback port that nothing listens on: bound, then released. */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createTcp().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

const LABELS = [
  "org.opencontainers.image.revision=4f1c2e9",
  "org.opencontainers.image.source=https://git.example.test/taskservice",
  "org.opencontainers.image.created=2026-11-28T10:00:00Z",
].join("\n");

describe.skipIf(!bed.available)("notifications, metrics and the update window", () => {
  const plugin = installPlugin();
  const fx = fixtureProject("tracked");
  const ns = `ntf${process.pid}`;
  const dv = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    sh("docker", ["versions", ...args], { cwd: fx.dir, env: { ...plugin.env, ...env } });
  let rx: Awaited<ReturnType<typeof receiver>>;
  const url = (p: string) => `http://127.0.0.1:${rx.port}${p}`;
  const cmdOut = () => path.join(fx.dir, "notified.json");
  const targets = () => [
    "--notify",
    `json+${url("/generic")}`,
    "--notify",
    `slack+${url("/slack")}`,
    "--notify",
    `discord+${url("/discord")}`,
    "--notify",
    `ntfy+${url("/ntfy/updates")}`,
    "--notify-command",
    "tee",
    cmdOut(),
  ];

  beforeAll(async () => {
    rx = await receiver();
    await seedNamespace(ns, ["postgres", "apigateway", "taskservice"], ["1.64", "latest"]);
    await must("sh", ["-c", `echo DV_NS=${ns} >> .env`], { cwd: fx.dir });
    await must("docker", ["compose", "up", "-d"], { cwd: fx.dir });
    expect((await dv(["migrate-versions", "--yes"])).code).toBe(0);
    expect((await dv(["resolve-tags"])).code).toBe(0);
  });
  afterAll(async () => {
    rx?.server.close();
    await fx.cleanup();
    plugin.cleanup();
  });

  it("sends each channel the new version by name with the image's labels", async () => {
    const before = (await dv(["check-updates", ...targets()])).stdout;
    expect(before).toMatch(/worker\s+1\.64/);
    expect(rx.got).toHaveLength(0); // nothing newer yet: nothing sent
    await must(
      "bash",
      [
        path.resolve(import.meta.dirname, "../bed/image.sh"),
        `${bed.registry}/${ns}/taskservice`,
        `ts 1.65 ${Date.now()}`,
        "1.65",
        "latest",
      ],
      {
        env: { ...process.env, DV_IMAGE_LABELS: LABELS },
      },
    );
    const r = await dv(["check-updates", "--exit-code", ...targets()]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toBe("");
    const by = (p: string) => rx.got.find((g) => g.url === p) as Received;
    expect(rx.got.map((g) => g.url).sort()).toEqual(["/discord", "/generic", "/ntfy/updates", "/slack"]);

    const generic = JSON.parse(by("/generic").body);
    expect(generic).toMatchObject({
      source: "docker-versions",
      event: "updates",
      project: fx.project,
      updates: [
        {
          service: "worker",
          current: "1.64",
          newest: "1.65",
          labels: {
            version: "1.65",
            revision: "4f1c2e9",
            source: "https://git.example.test/taskservice",
            created: "2026-11-28T10:00:00Z",
          },
          link: "https://git.example.test/taskservice",
        },
      ],
    });
    expect(generic.updates).toHaveLength(1);
    const slack = JSON.parse(by("/slack").body).text as string;
    const discord = JSON.parse(by("/discord").body).content as string;
    const ntfy = by("/ntfy/updates");
    for (const text of [generic.text, slack, discord, ntfy.body]) {
      expect(text).toContain("worker 1.64 → 1.65");
      expect(text).toContain("version 1.65, revision 4f1c2e9, created 2026-11-28T10:00:00Z");
      expect(text).toContain("https://git.example.test/taskservice");
    }
    expect(by("/slack").headers["content-type"]).toBe("application/json");
    expect(ntfy.headers.title).toBe(`docker-versions: ${fx.project}: a new version`);
    expect(ntfy.headers.click).toBe("https://git.example.test/taskservice");
    // The program got the generic JSON on stdin.
    expect(JSON.parse(readFileSync(cmdOut(), "utf8"))).toMatchObject({
      event: "updates",
      updates: [{ service: "worker", newest: "1.65" }],
    });
  });

  it("does not repeat itself on the next check", async () => {
    rx.got.length = 0;
    rmSync(cmdOut());
    const r = await dv(["check-updates", "--exit-code", ...targets()]);
    expect(r.code).toBe(2); // still newer, still exit 2: only the announcement is once
    expect(rx.got).toHaveLength(0);
    expect(existsSync(cmdOut())).toBe(false);
    // The remembered state holds no URL (webhook paths are secrets).
    const state = readFileSync(path.join(fx.dir, "version-notify.json"), "utf8");
    expect(state).not.toContain("127.0.0.1");
    expect(state).toContain('"worker"');
  });

  it("a dead receiver is one warning line and leaves the exit code alone", async () => {
    const port = await closedPort();
    const r = await dv([
      "check-updates",
      "--exit-code",
      "--notify",
      `https://127.0.0.1:${port}/secret-token`,
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(
      new RegExp(`^warning: notification to json \\(127\\.0\\.0\\.1:${port}\\) failed: `),
    );
    expect(r.stderr).not.toContain("secret-token");
    // user:password@ becomes Basic auth, and appears in no message.
    const withAuth = url("/fail/token").replace("http://", "http://ops:s3cret@");
    const failing = await dv(["check-updates", "--notify", withAuth]);
    expect(failing.code).toBe(0);
    expect(failing.stderr).toMatch(/^warning: notification to json \(127\.0\.0\.1:\d+\) failed: HTTP 500/);
    expect(failing.stderr).not.toMatch(/token|s3cret|ops/);
    const got = rx.got.find((g) => g.url === "/fail/token");
    expect(got?.headers.authorization).toBe(`Basic ${Buffer.from("ops:s3cret").toString("base64")}`);
  });

  it("writes node_exporter textfiles for check-updates and status", async () => {
    const checks = path.join(fx.dir, "checks.prom");
    const health = path.join(fx.dir, "status.prom");
    expect((await dv(["check-updates", "--prometheus", checks])).code).toBe(0);
    const text = readFileSync(checks, "utf8");
    expect(text).toContain(
      `docker_versions_update_available{project="${fx.project}",service="worker",running="1.64",kind="line"} 1\n`,
    );
    expect(text).toContain(
      `docker_versions_update_available{project="${fx.project}",service="api",running="1.64",kind="line"} 0\n`,
    );
    expect(text).toMatch(/docker_versions_last_check_timestamp_seconds\{project="[^"]+"\} \d{10}\n/);
    expect((await dv(["status", "--prometheus", health])).code).toBe(0);
    const s = readFileSync(health, "utf8");
    expect(s).toMatch(
      /docker_versions_service_running\{project="[^"]+",service="worker",image="[^"]+"\} 1\n/,
    );
    expect(s).toMatch(
      /docker_versions_service_version_state\{project="[^"]+",service="worker",image="[^"]+",state="in sync"\} 1\n/,
    );
  });

  /** `HH:MM-HH:MM` around the current local time of a zone `offset` minutes east of UTC. */
  const windowAround = (offset: number, from: number, to: number) => {
    const now = new Date();
    const t = now.getUTCHours() * 60 + now.getUTCMinutes() + offset;
    const hm = (m: number) => {
      const x = (((t + m) % 1440) + 1440) % 1440;
      return `${String(Math.floor(x / 60)).padStart(2, "0")}:${String(x % 60).padStart(2, "0")}`;
    };
    return `${hm(from)}-${hm(to)}`;
  };

  it("holds update-safe outside its window in local time, saying so, and changes nothing", async () => {
    const manifest = () => readFileSync(path.join(fx.dir, "version-manifest.yaml"), "utf8");
    const before = manifest();
    // Kolkata is UTC+05:30: the window is read in the local time of the TZ the job runs with.
    for (const [tz, offset] of [
      ["UTC", 0],
      ["Asia/Kolkata", 330],
    ] as const) {
      // Opens 30 minutes from now and closes 30 minutes ago: it crosses midnight.
      const closed = windowAround(offset, 30, -30);
      const r = await dv(["update-safe", "--window", closed, "--timeout", "30"], { TZ: tz });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^outside the update window .*: nothing was changed$/m);
      // 30 minutes, or 29 when the minute turned between the two clocks.
      expect(r.stdout).toMatch(/opens in 0h(29|30)m/);
      expect(manifest()).toBe(before);
      // A window around the local time now is open.
      const open = windowAround(offset, -30, 30);
      const dry = await dv(["update-safe", "--window", open, "--dry-run"], { TZ: tz });
      expect(dry.code, dry.stderr).toBe(0);
      expect(dry.stdout).toMatch(/^worker: 1\.64 .*→ 1\.65/m);
    }
    // Kolkata's open window is closed in UTC: the zone is what decides.
    const kolkata = await dv(["update-safe", "--window", windowAround(330, -30, 30), "--dry-run"], {
      TZ: "UTC",
    });
    expect(kolkata.stdout).toMatch(/^outside the update window/m);
    const bad = await dv(["update-safe", "--window", "25:00-03:00"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^error: '25:00-03:00' is not an update window/);
  });

  it("update-safe tells how it ended", async () => {
    rx.got.length = 0;
    const r = await dv([
      "update-safe",
      "--skip-data-backup",
      "--settle",
      "1",
      "--timeout",
      "60",
      "--notify",
      url("/outcome"),
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(rx.got).toHaveLength(1);
    expect(JSON.parse(rx.got[0]?.body ?? "{}")).toMatchObject({
      event: "update-safe",
      outcome: "updated",
      changes: [{ service: "worker", from: "1.64", to: "1.65" }],
    });
    // Updated: the next check has no news, and the announced 1.65 is forgotten.
    rx.got.length = 0;
    expect((await dv(["check-updates", "--notify", url("/generic")])).code).toBe(0);
    expect(rx.got).toHaveLength(0);
  });

  it("update-safe tells when it rolled back, and why", async () => {
    // A release whose process exits at once: update-safe puts 1.65 back.
    await must(
      "bash",
      [
        path.resolve(import.meta.dirname, "../bed/image.sh"),
        `${bed.registry}/${ns}/taskservice`,
        `ts 1.66 ${Date.now()}`,
        "1.66",
        "latest",
      ],
      { env: { ...process.env, DV_IMAGE_CMD: '["/bin/busybox","false"]' } },
    );
    rx.got.length = 0;
    const r = await dv([
      "update-safe",
      "--skip-data-backup",
      "--settle",
      "1",
      "--timeout",
      "60",
      "--notify",
      `ntfy+${url("/ntfy/ops")}`,
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/update-safe rolled back/);
    expect(rx.got).toHaveLength(1);
    expect(rx.got[0]?.headers.title).toBe(`docker-versions: ${fx.project}: update rolled back`);
    expect(rx.got[0]?.headers.priority).toBe("high");
    expect(rx.got[0]?.body).toMatch(/^reason: update-safe rolled back: .*worker/m);
  });
});
