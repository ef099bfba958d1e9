// Downtime of an update, seen from outside: an in-process probe polls every service of a sample
// project over HTTP on loopback and adds up, per service, the seconds it did not answer 2xx,
// while one app service gets a new image in three ways, side by side in one run:
//   (a) the seed's path: `docker versions down` → `updb` → `up` (after `pull-latest`)
//   (b) `docker versions update-safe --skip-data-backup`
//   (c) the reference: a bare `docker compose up -d --no-deps <service>` onto a new digest
// Goals (issue 7): in (b) only the changed service is ever unavailable, for at most 1.2× (c).
// Usage: node bench/update-downtime.mjs [--runs N] [--json]   (N runs of (b) and (c), default 3)
// Registry: $DV_BENCH_REGISTRY or the bed's (bash test/bed/up.sh). Exits 0 whatever the
// figures; non-zero only when a step fails to run. Everything it creates is removed at the end.
import { execFileSync, spawn } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import http from "node:http";
import net from "node:net";
import { arch, loadavg, tmpdir } from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const ARCH = { x64: "x86_64", arm64: "aarch64" }[arch()] ?? arch();
const exe = path.join(root, "dist", `docker-versions-linux-${ARCH}`);
const REGISTRY = process.env.DV_BENCH_REGISTRY ?? "127.0.0.1:5077";
const NS = `bench-${process.pid}`;
const PROJECT = `dvbench${process.pid}`;
const DATABASE = "postgres";
const APPS = ["req_router", "taskservice", "settings", "conv_mgr", "wsfe"];
const SERVICES = [DATABASE, ...APPS];
const CHANGED = "settings";
const POLL_MS = 50;
const POLL_TIMEOUT_MS = 300;
// The probe's own event loop is watched every TICK_MS; a gap of STALL_MS or more is a stall.
const TICK_MS = 10;
const STALL_MS = 100;
const GOAL = 1.2;
// After the measured commands return, the window stays open until every service answers again.
const RECOVERY_LIMIT_MS = 60_000;

const say = (line) => process.stderr.write(`[bench] ${line}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const variable = (service) => `${service.toUpperCase()}_VERSION`;
const repository = (service) => `${REGISTRY}/${NS}/${service}`;

function parseArgs(argv) {
  let runs = 3;
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--json") json = true;
    else if (a === "--runs") runs = Number(argv[++i]);
    else if (a.startsWith("--runs=")) runs = Number(a.slice("--runs=".length));
    else throw new Error(`unknown argument '${a}' (usage: update-downtime.mjs [--runs N] [--json])`);
  }
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer, got ${runs}`);
  return { runs, json };
}

// Children still running, so that an interrupted bench can stop them before it cleans up.
const children = new Set();

/** Runs a command without blocking the event loop (the probe keeps polling meanwhile). */
function run(file, args, opts = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd: opts.cwd, env: opts.env, stdio: ["ignore", "pipe", "pipe"] });
    children.add(child);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (b) => (stdout += b));
    child.stderr.on("data", (b) => (stderr += b));
    child.on("error", (e) => {
      children.delete(child);
      reject(e);
    });
    child.on("close", (code, signal) => {
      children.delete(child);
      resolve({ code: code ?? 1, signal, stdout, stderr });
    });
  });
}

async function must(file, args, opts = {}) {
  const r = await run(file, args, opts);
  if (r.code !== 0) {
    const why = (r.stderr || r.stdout).trim().split("\n").slice(-3).join(" / ");
    throw new Error(`${[file, ...args].join(" ")} exited ${r.signal ?? r.code}: ${why}`);
  }
  return r;
}

function median(xs) {
  const s = [...xs].sort((x, y) => x - y);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

const round2 = (x) => Math.round(x * 100) / 100;

/** One GET with a hard deadline: { ok } for a complete 2xx answer, else { ok: false, why }. */
function poll(url) {
  return new Promise((resolve) => {
    const req = http.get(
      url,
      { agent: false, headers: { connection: "close" }, signal: AbortSignal.timeout(POLL_TIMEOUT_MS) },
      (res) => {
        const ok = res.statusCode >= 200 && res.statusCode < 300;
        res.on("end", () => resolve(ok ? { ok } : { ok, why: `http ${res.statusCode}` }));
        res.on("error", (e) => resolve({ ok: false, why: failure(e) }));
        res.on("close", () => resolve({ ok: false, why: "reset" }));
        res.resume();
      },
    );
    req.on("error", (e) => resolve({ ok: false, why: failure(e) }));
  });
}

function failure(e) {
  if (e.name === "AbortError" || e.name === "TimeoutError") return "timeout";
  if (e.code === "ECONNREFUSED") return "refused";
  if (e.code === "ECONNRESET" || e.code === "EPIPE" || e.message === "socket hang up") return "reset";
  return e.code ?? e.message;
}

/**
 * Polls every target every POLL_MS until stopped. A failed poll counts the time since the
 * previous poll (or the window's start) as unavailable; outage spans are kept for diagnosis.
 * On a loaded host the probe itself can be descheduled: a poll that timed out while the
 * probe's own event loop was blocked for STALL_MS or more says nothing about the service, so
 * it is not a verdict (the next poll's answer covers its interval), and it is counted apart.
 */
function startProbe(targets) {
  const t0 = performance.now();
  let stopped = false;
  const stalls = [];
  let lastTick = t0;
  const ticker = setInterval(() => {
    const now = performance.now();
    if (now - lastTick >= STALL_MS) stalls.push([lastTick, now]);
    lastTick = now;
  }, TICK_MS);
  const stalledDuring = (from, to) =>
    performance.now() - lastTick >= STALL_MS || stalls.some(([a, b]) => a < to && b > from);
  const state = new Map(
    targets.map((t) => [t.service, { downMs: 0, polls: 0, failed: {}, unjudged: 0, okStreak: 0, spans: [] }]),
  );
  const loops = targets.map(async ({ service, url }) => {
    const s = state.get(service);
    let prev = t0;
    while (!stopped) {
      const started = performance.now();
      const r = await poll(url);
      const now = performance.now();
      s.polls++;
      // Let the ticker run first, so a stall that just ended is on record.
      await new Promise((resolve) => setImmediate(resolve));
      if (!r.ok && r.why === "timeout" && stalledDuring(started, now)) s.unjudged++;
      else {
        if (r.ok) s.okStreak++;
        else {
          s.failed[r.why] = (s.failed[r.why] ?? 0) + 1;
          s.okStreak = 0;
          s.downMs += now - prev;
          const last = s.spans.at(-1);
          if (last && last.to === prev && last.why === r.why) last.to = now;
          else s.spans.push({ from: prev, to: now, why: r.why });
        }
        prev = now;
      }
      const wait = POLL_MS - (performance.now() - started);
      if (wait > 0) await sleep(wait);
    }
  });
  return {
    at: () => (performance.now() - t0) / 1000,
    /** Every service answered its last two polls. */
    allUp: () => [...state.values()].every((s) => s.okStreak >= 2),
    async stop() {
      stopped = true;
      await Promise.all(loops);
      clearInterval(ticker);
      const windowS = (performance.now() - t0) / 1000;
      const rel = (t) => round2((t - t0) / 1000);
      const services = {};
      for (const [service, s] of state) {
        services[service] = {
          downS: round2(s.downMs / 1000),
          polls: s.polls,
          failedPolls: s.failed,
          unjudgedPolls: s.unjudged,
          outages: s.spans.map((x) => ({ from: rel(x.from), to: rel(x.to), why: x.why })),
        };
      }
      const probeStalls = {
        count: stalls.length,
        longestMs: Math.round(Math.max(0, ...stalls.map(([a, b]) => b - a))),
      };
      return { windowS: round2(windowS), services, probeStalls };
    },
  };
}

/** Probes while `steps` run one after the other, then until every service answers again. */
async function measure(targets, steps) {
  const probe = startProbe(targets);
  const marks = [];
  let failure;
  try {
    for (const step of steps) {
      await step.run();
      marks.push({ step: step.label, doneAtS: round2(probe.at()) });
    }
    const deadline = performance.now() + RECOVERY_LIMIT_MS;
    while (!probe.allUp() && performance.now() < deadline) await sleep(POLL_MS);
  } catch (e) {
    failure = e;
  }
  const result = await probe.stop();
  if (failure) throw failure;
  return { ...result, marks };
}

/** A base port under the kernel's ephemeral range with `count` free loopback ports from it. */
async function freeBasePort(count) {
  let low = 32768;
  try {
    low = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
  } catch {}
  // Below the ephemeral range, so the probe's own outgoing connections can never take a
  // published port while its container is being replaced.
  const top = Math.max(low - count - 1, 11000);
  const free = (port) =>
    new Promise((resolve) => {
      const srv = net.createServer();
      srv.once("error", () => resolve(false));
      srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
    });
  for (let attempt = 0; attempt < 100; attempt++) {
    const base = 10000 + Math.floor(Math.random() * (top - 10000));
    let ok = true;
    for (let i = 0; i < count && ok; i++) ok = await free(base + i);
    if (ok) return base;
  }
  throw new Error(`no ${count} consecutive free loopback ports found`);
}

function composeFile(base) {
  const lines = [
    "# Written by bench/update-downtime.mjs: one database and five app services, each on a fixed",
    "# loopback port so that a recreated container answers at the same address.",
    `name: ${PROJECT}`,
    "x-health: &health",
    "  healthcheck:",
    '    test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/"]',
    "    interval: 1s",
    "    timeout: 2s",
    "    retries: 3",
    "services:",
  ];
  SERVICES.forEach((service, i) => {
    lines.push(
      `  ${service}:`,
      `    image: ${repository(service)}:\${${variable(service)}:-latest}`,
      `    ports: ["127.0.0.1:${base + i}:8080"]`,
    );
    if (service === DATABASE) lines.push('    volumes: ["pgdata:/var/lib/data"]');
    else lines.push(`    depends_on: [${DATABASE}]`);
    lines.push("    <<: *health");
  });
  lines.push("volumes:", "  pgdata:", "");
  return lines.join("\n");
}

/** service → container ID of the bench project. */
async function containerIds(env) {
  const r = await must(
    "docker",
    [
      "ps",
      "--filter",
      `label=com.docker.compose.project=${PROJECT}`,
      "--format",
      '{{.Label "com.docker.compose.service"}} {{.ID}}',
    ],
    { env },
  );
  return Object.fromEntries(
    r.stdout
      .trim()
      .split("\n")
      .filter(Boolean)
      .map((l) => l.split(" ")),
  );
}

/** Waits until every service's container reports healthy, so each measurement starts alike. */
async function waitHealthy(env) {
  const deadline = Date.now() + 90_000;
  let last = "";
  while (Date.now() < deadline) {
    const r = await must(
      "docker",
      [
        "ps",
        "-a",
        "--filter",
        `label=com.docker.compose.project=${PROJECT}`,
        "--format",
        '{{.Label "com.docker.compose.service"}}\t{{.Status}}',
      ],
      { env },
    );
    const rows = r.stdout.trim().split("\n").filter(Boolean);
    const healthy = rows.filter((l) => l.includes("(healthy)")).map((l) => l.split("\t")[0]);
    if (SERVICES.every((s) => healthy.includes(s)) && rows.length === SERVICES.length) return;
    last = rows.join("; ");
    await sleep(250);
  }
  throw new Error(`the bench project did not become healthy: ${last}`);
}

/**
 * Copies the executable and checks that the copy runs: others may be rebuilding dist/ at the
 * same time, and a copy taken mid-write is not a plugin Docker can list.
 */
async function installSnapshot(plugin) {
  for (let attempt = 1; ; attempt++) {
    copyFileSync(exe, plugin);
    chmodSync(plugin, 0o755);
    const r = await run(plugin, ["docker-cli-plugin-metadata"]);
    if (r.code === 0) return;
    if (attempt === 10) throw new Error(`${path.relative(root, exe)} does not run: ${r.stderr.trim()}`);
    say(`${path.relative(root, exe)} is being rewritten: copying it again`);
    await sleep(2000);
  }
}

const recreatedBetween = (before, after) => SERVICES.filter((s) => before[s] !== after[s]);

async function main() {
  const { runs, json } = parseArgs(process.argv.slice(2));
  // Other work on the machine shows in every figure; the side-by-side ratio is what to compare.
  const load = { start: round2(loadavg()[0]) };
  const res = await fetch(`http://${REGISTRY}/v2/`).catch(() => null);
  if (!res?.ok) throw new Error(`the registry ${REGISTRY} does not answer: run 'bash test/bed/up.sh' first`);
  if (!existsSync(exe)) {
    say(`${path.relative(root, exe)} is missing: building it first`);
    execFileSync(process.execPath, [path.join(root, "build/build.mjs")], { cwd: root, stdio: "inherit" });
  }

  const cleanups = [];
  let cleaning;
  const cleanup = () => {
    cleaning ??= (async () => {
      for (const step of cleanups.reverse()) await step().catch((e) => say(`cleanup: ${e.message}`));
    })();
    return cleaning;
  };
  const onSignal = (signal) => {
    say(`${signal}: cleaning up`);
    for (const child of children) child.kill("SIGTERM");
    cleanup().finally(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);

  try {
    // The plugin installed the way install.sh does it, in a DOCKER_CONFIG of its own.
    const dockerConfig = mkdtempSync(path.join(tmpdir(), "dv-bench-config-"));
    cleanups.push(async () => rmSync(dockerConfig, { recursive: true, force: true }));
    mkdirSync(path.join(dockerConfig, "cli-plugins"));
    const plugin = path.join(dockerConfig, "cli-plugins", "docker-versions");
    await installSnapshot(plugin);
    writeFileSync(path.join(dockerConfig, "config.json"), "{}\n");
    const env = { ...process.env, DOCKER_CONFIG: dockerConfig, NO_COLOR: "1" };
    for (const s of SERVICES) delete env[variable(s)];

    const dir = mkdtempSync(path.join(tmpdir(), "dv-bench-project-"));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const dv = (...args) => must("docker", ["versions", ...args], { cwd: dir, env });
    const dc = (...args) => must("docker", ["compose", ...args], { cwd: dir, env });

    // The registry namespace: tags 1.64 and latest of each repository, as the e2e tests seed them.
    cleanups.push(() => forgetNamespace(env));
    say(`copying ${SERVICES.length} repositories into ${REGISTRY}/${NS}`);
    await Promise.all(
      SERVICES.map(async (s) => {
        for (const tag of ["1.64", "latest"]) {
          await must("docker", ["pull", "-q", `${REGISTRY}/${s}:${tag}`], { env });
          await must("docker", ["tag", `${REGISTRY}/${s}:${tag}`, `${repository(s)}:${tag}`], { env });
          await must("docker", ["push", "-q", `${repository(s)}:${tag}`], { env });
        }
      }),
    );

    const base = await freeBasePort(SERVICES.length);
    writeFileSync(path.join(dir, "compose.yaml"), composeFile(base));
    const targets = SERVICES.map((service, i) => ({ service, url: `http://127.0.0.1:${base + i}/` }));
    cleanups.push(async () => {
      // The plugin's down also stops the log captures that updb and up started.
      await run("docker", ["versions", "down"], { cwd: dir, env });
      await run("docker", ["compose", "down", "--remove-orphans", "--volumes", "--timeout", "0"], {
        cwd: dir,
        env,
      });
    });
    say(`starting ${PROJECT} on 127.0.0.1:${base}..${base + SERVICES.length - 1}`);
    await dc("up", "-d", "--wait");
    await dv("migrate-versions", "--yes");
    await dv("resolve-tags");
    await waitHealthy(env);

    // Each publication is a new version tag and a new latest of the changed service.
    let minor = 64;
    const publish = async (why) => {
      const tag = `1.${++minor}`;
      await must(
        "bash",
        [
          path.join(root, "test/bed/image.sh"),
          repository(CHANGED),
          `${CHANGED} ${tag} ${why} ${NS}`,
          tag,
          "latest",
        ],
        { env },
      );
      return tag;
    };

    const measurements = { a: [], b: [], c: [] };
    const step = (label, fn) => ({ label, run: fn });
    const record = async (kind, steps) => {
      const before = await containerIds(env);
      const m = await measure(targets, steps);
      await waitHealthy(env);
      m.recreated = recreatedBetween(before, await containerIds(env));
      measurements[kind].push(m);
      say(
        `(${kind}) window ${m.windowS}s, ${CHANGED} down ${m.services[CHANGED].downS}s, recreated: ${m.recreated.join(", ") || "none"}`,
      );
      return m;
    };

    // (a) The seed's restart flow; the pull happens before the window.
    say(`(a) down → updb → up with a new ${CHANGED}`);
    await publish("a");
    await dv("pull-latest");
    await record("a", [
      step("down", () => dv("down")),
      step("updb", () => dv("updb")),
      step("up", () => dv("up")),
    ]);

    const measureB = async (i) => {
      say(`(b) run ${i + 1}/${runs}: update-safe with a new ${CHANGED}`);
      await publish(`b${i}`);
      const m = await record("b", [step("update-safe", () => dv("update-safe", "--skip-data-backup"))]);
      if (!m.recreated.includes(CHANGED)) throw new Error(`update-safe did not recreate ${CHANGED}`);
    };
    const measureC = async (i) => {
      say(`(c) run ${i + 1}/${runs}: docker compose up -d --no-deps ${CHANGED}`);
      const tag = await publish(`c${i}`);
      // versions.env as the plugin wrote it, then the changed service pointed at the new tag.
      const override = path.join(dir, "bench-c.env");
      writeFileSync(override, `${variable(CHANGED)}=${tag}\n`);
      const envFiles = ["--env-file", path.join(dir, "versions.env"), "--env-file", override];
      await dc(...envFiles, "pull", "-q", CHANGED);
      const m = await record("c", [
        step("compose up", () => dc(...envFiles, "up", "-d", "--no-deps", CHANGED)),
      ]);
      if (!m.recreated.includes(CHANGED)) throw new Error(`docker compose did not recreate ${CHANGED}`);
    };
    for (let i = 0; i < runs; i++) {
      // Alternate which goes first, so neither always follows the other.
      if (i % 2 === 0) {
        await measureB(i);
        await measureC(i);
      } else {
        await measureC(i);
        await measureB(i);
      }
    }

    const report = summarize(runs, base, measurements, load);
    process.stdout.write(json ? `${JSON.stringify(report, null, 2)}\n` : table(report));
  } finally {
    process.removeListener("SIGINT", onSignal);
    process.removeListener("SIGTERM", onSignal);
    await cleanup();
  }
}

/** Removes the namespace's local images and its registry manifests (best effort). */
async function forgetNamespace(env) {
  const r = await run("docker", ["images", "--digests", "--format", "{{.Repository}}|{{.Tag}}|{{.Digest}}"], {
    env,
  });
  const refs = r.stdout
    .trim()
    .split("\n")
    .map((l) => l.split("|"))
    .filter(([repo]) => repo?.startsWith(`${REGISTRY}/${NS}/`))
    .map(([repo, tag, digest]) => (tag && tag !== "<none>" ? `${repo}:${tag}` : `${repo}@${digest}`));
  // By reference, never by ID: the bed's own tags share these images.
  if (refs.length > 0) await run("docker", ["rmi", ...new Set(refs)], { env });
  const accept = [
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
  ].join(", ");
  for (const s of SERVICES) {
    const list = await fetch(`http://${REGISTRY}/v2/${NS}/${s}/tags/list`).catch(() => null);
    const tags = list?.ok ? ((await list.json()).tags ?? []) : [];
    const digests = new Set();
    for (const tag of tags) {
      const head = await fetch(`http://${REGISTRY}/v2/${NS}/${s}/manifests/${tag}`, {
        method: "HEAD",
        headers: { accept },
      }).catch(() => null);
      const d = head?.headers.get("docker-content-digest");
      if (d) digests.add(d);
    }
    for (const d of digests)
      await fetch(`http://${REGISTRY}/v2/${NS}/${s}/manifests/${d}`, { method: "DELETE" }).catch(() => null);
  }
}

const failedCount = (failed) => Object.values(failed).reduce((n, k) => n + k, 0);

function summarize(runs, base, m, load) {
  const a = m.a[0];
  const services = SERVICES.map((service) => {
    const b = m.b.map((x) => x.services[service].downS);
    const c = m.c.map((x) => x.services[service].downS);
    return {
      service,
      role: service === DATABASE ? "database" : "app",
      changed: service === CHANGED,
      a: a.services[service].downS,
      b: round2(median(b)),
      c: service === CHANGED ? round2(median(c)) : null,
      runs: { b, c: service === CHANGED ? c : undefined },
    };
  });
  const others = SERVICES.filter((s) => s !== CHANGED);
  // Every (b) run in which another service failed a poll, and how it failed.
  const othersDown = m.b.flatMap((x, run) =>
    others
      .filter((s) => x.services[s].downS > 0)
      .map((s) => ({
        service: s,
        run: run + 1,
        downS: x.services[s].downS,
        failed: x.services[s].failedPolls,
      })),
  );
  // The same count for the untouched services during (c), where nothing but the reference
  // recreate runs: what a loaded host does to services nobody touched.
  const untouchedFailedInC = m.c.reduce(
    (n, x) => n + others.reduce((k, s) => k + failedCount(x.services[s].failedPolls), 0),
    0,
  );
  const all = [...m.a, ...m.b, ...m.c];
  const unjudged = all.reduce((n, x) => n + SERVICES.reduce((k, s) => k + x.services[s].unjudgedPolls, 0), 0);
  const changed = services.find((s) => s.changed);
  const ratio = changed.c > 0 ? round2(changed.b / changed.c) : null;
  return {
    runs,
    changedService: CHANGED,
    project: PROJECT,
    ports: `127.0.0.1:${base}..${base + SERVICES.length - 1}`,
    probe: {
      intervalMs: POLL_MS,
      timeoutMs: POLL_TIMEOUT_MS,
      // Timed-out polls while the probe itself was stalled: not counted either way.
      unjudgedPolls: unjudged,
      longestStallMs: Math.max(...all.map((x) => x.probeStalls.longestMs)),
    },
    loadAverage: { start: load.start, end: round2(loadavg()[0]) },
    windowS: {
      a: a.windowS,
      b: round2(median(m.b.map((x) => x.windowS))),
      c: round2(median(m.c.map((x) => x.windowS))),
    },
    services,
    onlyChangedUnavailableInB: othersDown.length === 0,
    othersUnavailableInB: othersDown,
    othersOnlyTimedOutInB: othersDown.every((o) => Object.keys(o.failed).every((why) => why === "timeout")),
    untouchedFailedPollsInC: untouchedFailedInC,
    ratio,
    goal: GOAL,
    met: ratio !== null && ratio <= GOAL,
    measurements: m,
  };
}

function table(report) {
  const rows = [["service", "role", "(a) down→updb→up", "(b) update-safe", "(c) compose up --no-deps"]];
  for (const s of report.services) {
    rows.push([
      `${s.service}${s.changed ? " *" : ""}`,
      s.role,
      s.a.toFixed(2),
      s.b.toFixed(2),
      s.c === null ? "" : s.c.toFixed(2),
    ]);
  }
  rows.push([
    "window",
    "",
    report.windowS.a.toFixed(2),
    report.windowS.b.toFixed(2),
    report.windowS.c.toFixed(2),
  ]);
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const lines = rows.map((r) =>
    r
      .map((cell, i) => (i >= 2 ? cell.padStart(widths[i]) : cell.padEnd(widths[i])))
      .join("  ")
      .trimEnd(),
  );
  const changed = report.services.find((s) => s.changed);
  const onlyChanged = report.onlyChangedUnavailableInB
    ? "yes"
    : [
        "no: ",
        report.othersUnavailableInB
          .map(
            (o) =>
              `${o.service} ${o.downS}s in run ${o.run} (${Object.entries(o.failed)
                .map(([why, n]) => `${n} ${why}`)
                .join(", ")})`,
          )
          .join(", "),
        report.othersOnlyTimedOutInB ? "; only timeouts (slow answers, never refused)" : "",
        `; untouched services failed ${report.untouchedFailedPollsInC} poll(s) during (c) too`,
      ].join("");
  const ratio =
    report.ratio === null
      ? `(c) showed no downtime to compare with: met NO`
      : `${report.ratio} (goal ≤ ${report.goal}): met ${report.met ? "yes" : "NO"}`;
  return [
    `update downtime: unavailable seconds per service, (a) once, (b) and (c) medians of ${report.runs} run(s)`,
    `(* = the service with a new image; probe every ${report.probe.intervalMs} ms, ${report.probe.timeoutMs} ms timeout)`,
    ...lines,
    `${changed.service} per run: (b) ${changed.runs.b.join(" ")}; (c) ${changed.runs.c.join(" ")}`,
    `(b) only the changed service unavailable: ${onlyChanged}`,
    `(b) ${changed.service} / (c): ${ratio}`,
    `probe: ${report.probe.unjudgedPolls} timed-out poll(s) not judged (the probe's own event loop stalled ≥ ${STALL_MS} ms; longest ${report.probe.longestStallMs} ms); load average ${report.loadAverage.start} → ${report.loadAverage.end}`,
    "",
  ].join("\n");
}

try {
  await main();
} catch (err) {
  process.stderr.write(`bench/update-downtime: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
