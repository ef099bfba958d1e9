// What a command costs as a project grows, side by side with what a user already pays, on the
// real bed: projects of N running services (several repositories, a 5-entry history each), the
// built executable run through `docker versions …` from a temporary DOCKER_CONFIG, commands of a
// round interleaved run by run, medians. For each command it also counts, in separate runs:
//   - registry requests, through a counting proxy on loopback in front of the bed's registry
//     (the project's images name the proxy, so every request the plugin makes passes it);
//   - `docker` calls, through a `docker` on PATH that logs its argv and execs the real one.
// And, for the record, the engine's own answer to what `status` asks of it (list + inspections),
// and the manifest's first read in a fresh process as the executable pays it.
// With --baseline EXE a second build (say, main before a change) runs too, from a DOCKER_CONFIG
// of its own, its commands in the same rounds: before and after measured side by side.
// Usage: node bench/scale.mjs [--sizes 10,50,200] [--runs 9] [--json] [--exe PATH] [--baseline EXE]
//        (registry: $DV_BENCH_REGISTRY or the bed's 127.0.0.1:5077)
// Exits 0 whatever the figures; non-zero only when a command fails to run.
import { execFileSync, spawn, spawnSync } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { loadavg, tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { assetName, hostTarget, pinnedNode } from "../build/targets.mjs";
import { ensureVersioned, tagDigest } from "./lib/registry-fixture.mjs";
import { loadSources } from "./lib/sources.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const REGISTRY = process.env.DV_BENCH_REGISTRY ?? "127.0.0.1:5077";
const REPOSITORIES = ["benchscale/app1", "benchscale/app2", "benchscale/app3", "benchscale/db"];
// Six versions: a service records 1.0.4 with 1.0.4 … 1.0.0 as its history; latest = 1.0.5 moved on.
const VERSIONS = ["1.0.0", "1.0.1", "1.0.2", "1.0.3", "1.0.4", "1.0.5"];
const CURRENT = "1.0.4";
const STARTUP_VARIABLES = ["NODE_EXTRA_CA_CERTS", "NODE_OPTIONS"];

function parseArgs(argv) {
  const o = {
    sizes: [10, 50, 200],
    runs: 9,
    json: false,
    exe: path.join(root, "dist", assetName(hostTarget() ?? process.arch)),
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--json") o.json = true;
    else if (a === "--runs") o.runs = Number(argv[++i]);
    else if (a === "--sizes") o.sizes = argv[++i].split(",").map(Number);
    else if (a === "--exe") o.exe = path.resolve(argv[++i]);
    else if (a === "--baseline") o.baseline = path.resolve(argv[++i]);
    else
      throw new Error(
        `unknown argument '${a}' (usage: scale.mjs [--sizes 10,50,200] [--runs N] [--json] [--exe PATH] [--baseline EXE])`,
      );
  }
  if (!Number.isInteger(o.runs) || o.runs < 3) throw new Error(`--runs must be at least 3, got ${o.runs}`);
  if (o.sizes.some((n) => !Number.isInteger(n) || n < 1)) throw new Error("--sizes: positive integers");
  return o;
}

/** The manifest reader and writer from the sources: the bench writes (and reads) as the plugin does. */
const loadManifestCode = () =>
  loadSources(root, ['export { parseManifest, renderManifest } from "./src/core/manifest.ts";']);

/** How long the plugin's own reader takes over this manifest text, median of `runs` (in process). */
function parseMs(parseManifest, text, runs = 21) {
  parseManifest(text);
  const xs = [];
  for (let i = 0; i < runs; i++) {
    // A text of its own each time (a comment differs): the reader keeps the last one it parsed.
    const own = `${text}# run ${i}\n`;
    const start = process.hrtime.bigint();
    parseManifest(own);
    xs.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return Math.round(median(xs) * 100) / 100;
}

/** The bench's repositories (each version its own digest, latest = 1.0.5), unless already there. */
async function ensureRepositories() {
  const digests = {};
  for (const repository of REPOSITORIES) {
    await ensureVersioned(REGISTRY, repository, VERSIONS, (m) => process.stderr.write(`[scale] ${m}\n`));
    digests[repository] = {};
    for (const tag of [...VERSIONS, "latest"])
      digests[repository][tag] = await tagDigest(REGISTRY, repository, tag);
  }
  return digests;
}

/** Starts the counting proxy; resolves with its address and a reader of its counts. */
function startProxy() {
  const child = spawn(process.execPath, [path.join(root, "bench/lib/count-proxy.mjs"), REGISTRY], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.stdout.once("data", (b) => {
      const address = `127.0.0.1:${String(b).trim()}`;
      const counts = () =>
        JSON.parse(execFileSync("curl", ["-sf", `http://${address}/_counts`], { encoding: "utf8" }));
      resolve({ address, counts, stop: () => child.kill() });
    });
  });
}

function serviceName(i) {
  return `s${String(i + 1).padStart(3, "0")}`;
}

/**
 * The first read of `text` in a fresh process, as the executable pays it: the executable's own
 * Node, the reader compiled from a code cache made as the build makes the commands' one
 * (build/code-cache.cjs: every function compiled ahead, none optimised yet). Two ways: parsed
 * (the text is new: edited by hand, or just written) and remembered (the text is unchanged since
 * a read, and the record memo gives its validated record: record-memo.ts, in a cache directory of
 * its own here). Median and best of `runs` processes each, each reading once.
 */
async function coldParseMs(text, runs = 9) {
  const dir = mkdtempSync(path.join(tmpdir(), "dv-bench-cold-"));
  try {
    const node = pinnedNode(root, hostTarget() ?? process.arch);
    const manifest = path.join(dir, "version-manifest.yaml");
    writeFileSync(manifest, text);
    const reader = await build({
      stdin: {
        contents: [
          'import { readFileSync } from "node:fs";',
          'import { parseManifest } from "./src/core/manifest.ts";',
          'import { recordMemo } from "./src/adapters/record-memo.ts";',
          "const text = readFileSync(process.argv[2], 'utf8');",
          "const start = process.hrtime.bigint();",
          "parseManifest(text, process.argv[3] ? recordMemo({ XDG_CACHE_HOME: process.argv[3] }, 'bench') : undefined);",
          // The time is taken before process.stdout is first touched: making that stream loads
          // node:net and node:stream (~5 ms), which the executable has done before any read.
          "const ms = Number(process.hrtime.bigint() - start) / 1e6;",
          "process.stdout.write(String(ms));",
        ].join("\n"),
        resolveDir: root,
        loader: "ts",
      },
      bundle: true,
      platform: "node",
      format: "cjs",
      target: "node24",
      minify: true,
      write: false,
      logLevel: "warning",
    });
    const app = path.join(dir, "app.cjs");
    writeFileSync(
      app,
      `(function (require, module, exports, __filename, __dirname) {\n${reader.outputFiles[0].text}\n})`,
    );
    const cache = path.join(dir, "app.cache");
    execFileSync(node, ["--random-seed=1", path.join(root, "build/code-cache.cjs"), "make", app, cache]);
    const loader = path.join(dir, "load.cjs");
    writeFileSync(
      loader,
      [
        'const { readFileSync } = require("node:fs");',
        'const { Script } = require("node:vm");',
        `const script = new Script(readFileSync(${JSON.stringify(app)}, "utf8"), { filename: "docker-versions-app.cjs", cachedData: readFileSync(${JSON.stringify(cache)}) });`,
        'if (script.cachedDataRejected) throw new Error("code cache rejected");',
        "script.runInThisContext()(require, module, exports, __filename, __dirname);",
      ].join("\n"),
    );
    const memo = path.join(dir, "cache");
    execFileSync(node, [loader, manifest, memo]); // the memo now holds this text's record
    const [parsed, remembered] = [[], []];
    for (let i = 0; i < runs; i++) {
      parsed.push(Number(execFileSync(node, [loader, manifest], { encoding: "utf8" })));
      remembered.push(Number(execFileSync(node, [loader, manifest, memo], { encoding: "utf8" })));
    }
    // The best run too: V8's optimising compilers start on the reader part-way through, and on a
    // loaded machine their work lands on the read's own time more often than not.
    const figures = (xs) => ({
      median: Math.round(median(xs) * 10) / 10,
      best: Math.round(Math.min(...xs) * 10) / 10,
    });
    return { parsed: figures(parsed), remembered: figures(remembered) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A project of n services over the bench's repositories, with its record and versions.env. */
async function writeProject(dir, name, n, proxy, digests, { renderManifest, parseManifest }) {
  const lines = [`name: ${name}`, "services:"];
  const services = {};
  for (let i = 0; i < n; i++) {
    const s = serviceName(i);
    const repository = REPOSITORIES[i % REPOSITORIES.length];
    lines.push(`  ${s}:`, `    image: ${proxy}/${repository}:\${${s.toUpperCase()}_VERSION:-latest}`);
    const history = VERSIONS.slice(0, VERSIONS.indexOf(CURRENT) + 1)
      .reverse()
      .map((tag, k) => ({
        tag,
        digest: digests[repository][tag],
        at: `2026-11-${String(20 - k).padStart(2, "0")}T10:00:00Z`,
        source: k === 0 ? "pull-latest" : "version-pull",
      }));
    services[s] = {
      image: `${proxy}/${repository}`,
      current_tag: CURRENT,
      image_digest: digests[repository][CURRENT],
      custom: false,
      updated_at: history[0].at,
      updated_by: "pull-latest",
      history,
    };
  }
  writeFileSync(path.join(dir, "compose.yaml"), `${lines.join("\n")}\n`);
  const text = renderManifest({ schema: 1, services });
  writeFileSync(path.join(dir, "version-manifest.yaml"), text);
  return { bytes: text.length, parseMs: parseMs(parseManifest, text), coldParseMs: await coldParseMs(text) };
}

function run(file, args, opts) {
  const r = spawnSync(file, args, {
    ...opts,
    stdio: ["ignore", "pipe", "pipe"],
    encoding: "utf8",
    maxBuffer: 1 << 28,
  });
  if (r.error) throw r.error;
  if (r.status !== 0)
    throw new Error(
      `${file} ${args.join(" ")} exited ${r.status ?? r.signal}: ${(r.stderr || r.stdout).trim().split("\n").at(-1)}`,
    );
  return r;
}

/** A command's environment: its own, or the bench's with the command's additions. */
const envOf = (cmd, env) => cmd.env ?? { ...env, ...cmd.extraEnv };

function timed(cmd, cwd, env) {
  const start = process.hrtime.bigint();
  run(cmd.file, cmd.args, { cwd, env: envOf(cmd, env) });
  return Number(process.hrtime.bigint() - start) / 1e6;
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

const FLOORS = [
  { label: "compose config -q", file: "docker", args: ["compose", "config", "-q"], floor: true },
  { label: "compose ps", file: "docker", args: ["compose", "ps"], floor: true },
];
const OUR_ARGS = [
  ["version"],
  ["version-history"],
  ["generate-env"],
  ["status"],
  ["check-updates"],
  ["resolve-tags", "--dry-run"],
  ["pull-latest", "--dry-run"],
];
// The same read commands with the memo of `docker compose config` off: what a first run on a
// project, or any run right after its files changed, costs.
const COLD = ["version", "generate-env", "status"];
const MEMO_OFF = { DOCKER_VERSIONS_COMPOSE_CACHE: "off" };
/** Our commands for one build; `variant` names the baseline's (run from its own DOCKER_CONFIG). */
const oursFor = (variant) => [
  ...OUR_ARGS.map((args) => ({
    label: `${args.join(" ")}${variant ? ` [${variant}]` : ""}`,
    file: "docker",
    args: ["versions", ...args],
    variant,
  })),
  ...(variant
    ? []
    : COLD.map((command) => ({
        label: `${command} (memo off)`,
        file: "docker",
        args: ["versions", command],
        extraEnv: MEMO_OFF,
      }))),
];
let OURS = oursFor(undefined);
let COMMANDS = [...FLOORS, ...OURS];

/** A `docker` first on PATH that logs each call's argv to $DV_DOCKER_LOG, then execs the real one. */
function dockerWrapper(dir) {
  const real = execFileSync("sh", ["-c", "command -v docker"], { encoding: "utf8" }).trim();
  const bin = path.join(dir, "bin");
  mkdirSync(bin);
  writeFileSync(
    path.join(bin, "docker"),
    `#!/bin/sh\nprintf '%s\\n' "$*" >>"$DV_DOCKER_LOG"\nexec ${real} "$@"\n`,
  );
  chmodSync(path.join(bin, "docker"), 0o755);
  return bin;
}

const COMPOSE_COMMANDS = new Set([
  "config",
  "ps",
  "pull",
  "up",
  "down",
  "images",
  "create",
  "start",
  "stop",
  "restart",
  "logs",
  "ls",
  "version",
]);

/** The calls a command made to docker, beyond the one that started it, grouped by subcommand. */
function dockerCalls(logFile) {
  let text = "";
  try {
    text = readFileSync(logFile, "utf8");
  } catch {}
  const calls = text.split("\n").filter(Boolean).slice(1);
  const by = {};
  for (const c of calls) {
    const words = c.split(" ");
    let key = words[0];
    if (key === "compose") {
      key = `compose ${words.find((w) => COMPOSE_COMMANDS.has(w)) ?? "?"}`;
      if (words.includes("--no-interpolate")) key += " --no-interpolate";
    } else if (key === "container" || key === "image") key = words.slice(0, 2).join(" ");
    by[key] = (by[key] ?? 0) + 1;
  }
  return { total: calls.length, by };
}

/**
 * What the engine itself takes to answer `status`'s questions about a project: the list of its
 * containers and one inspection of each, over the local socket, asked by the plugin's own socket
 * client (8 connections, pipelined) from this warm process. Median over `runs` rounds, in ms.
 */
async function engineAnswerMs(project, runs) {
  const socketPath = (process.env.DOCKER_HOST ?? "unix:///var/run/docker.sock").replace(/^unix:\/\//, "");
  const { socketClient } = await loadSources(root, [
    'export { socketClient } from "./src/adapters/engine-socket.ts";',
  ]);
  const client = socketClient(socketPath, 8);
  const get = async (p) => JSON.parse((await client.get(p)).body.toString("utf8"));
  const filters = encodeURIComponent(JSON.stringify({ label: [`com.docker.compose.project=${project}`] }));
  const xs = [];
  for (let r = 0; r <= runs; r++) {
    const start = performance.now();
    const list = await get(`/containers/json?all=1&filters=${filters}`);
    await Promise.all(list.map((c) => get(`/containers/${c.Id}/json`)));
    if (r > 0) xs.push(performance.now() - start); // the first round opens the connections
  }
  return Math.round(median(xs) * 10) / 10;
}

async function measureSize(n, ctx) {
  const dir = mkdtempSync(path.join(tmpdir(), `dv-scale-${n}-`));
  const project = `dvscale${process.pid}n${n}`;
  const env = ctx.env;
  try {
    const manifest = await writeProject(dir, project, n, ctx.proxy.address, ctx.digests, ctx.sources);
    process.stderr.write(`[scale] N=${n}: generate-env, compose up of ${n} containers\n`);
    run("docker", ["versions", "generate-env"], { cwd: dir, env });
    const up = Date.now();
    run("docker", ["compose", "--env-file", "versions.env", "up", "-d", "--quiet-pull"], { cwd: dir, env });
    process.stderr.write(`[scale] N=${n}: up in ${((Date.now() - up) / 1000).toFixed(1)} s; timing\n`);

    const engineMs = await engineAnswerMs(project, ctx.runs);
    const samples = new Map(COMMANDS.map((c) => [c, []]));
    for (const c of COMMANDS) timed(c, dir, env); // warm-up: page cache, connections
    for (let r = 0; r < ctx.runs; r++) {
      const round = r % 2 ? [...COMMANDS].reverse() : COMMANDS;
      for (const c of round) samples.get(c).push(timed(c, dir, env));
    }
    // Counting runs, apart from the timed ones (the wrapper costs a shell per call).
    const counted = new Map();
    for (const c of COMMANDS) {
      const log = path.join(dir, `.docker-calls-${counted.size}`);
      const opts = {
        cwd: dir,
        env: { ...envOf(c, env), PATH: `${ctx.wrapperBin}:${env.PATH}`, DV_DOCKER_LOG: log },
      };
      // Counted on a second run, as the timed runs are: the first one in this environment (another
      // PATH) fills the memo of Compose's answers.
      run(c.file, c.args, opts);
      rmSync(log, { force: true });
      const before = ctx.proxy.counts();
      run(c.file, c.args, opts);
      const after = ctx.proxy.counts();
      const registry = {};
      for (const [k, v] of Object.entries(after))
        if (v - (before[k] ?? 0) > 0) registry[k] = v - (before[k] ?? 0);
      counted.set(c, { registry, docker: dockerCalls(log) });
    }
    const rows = COMMANDS.map((c) => ({
      command: c.label,
      floor: Boolean(c.floor),
      medianMs: Math.round(median(samples.get(c)) * 10) / 10,
      registryRequests: Object.values(counted.get(c).registry).reduce((a, b) => a + b, 0),
      registryByKind: counted.get(c).registry,
      dockerCalls: counted.get(c).docker.total,
      dockerByCommand: counted.get(c).docker.by,
    }));
    return { manifest, engineMs, rows };
  } finally {
    process.stderr.write(`[scale] N=${n}: compose down\n`);
    spawnSync("docker", ["compose", "-p", project, "down", "--remove-orphans", "--timeout", "0"], {
      cwd: dir,
      env,
      stdio: "ignore",
    });
    rmSync(dir, { recursive: true, force: true });
  }
}

function table(report) {
  const sizes = report.sizes.map((s) => s.n);
  const at = (n, label) => report.sizes.find((s) => s.n === n).rows.find((r) => r.command === label);
  const first = sizes[0];
  const last = sizes.at(-1);
  const header = [
    "median ms",
    ...sizes.map((n) => `N=${n}`),
    `÷ config -q at ${first} / ${last}`,
    `status ÷ ps at ${first} / ${last}`,
    `ms/service ${first}→${last}`,
  ];
  const rows = [header];
  for (const c of COMMANDS) {
    const ms = sizes.map((n) => at(n, c.label).medianMs);
    const ratio = (floor) =>
      `${(at(first, c.label).medianMs / at(first, floor).medianMs).toFixed(1)} / ${(at(last, c.label).medianMs / at(last, floor).medianMs).toFixed(1)}`;
    const growth = last > first ? ((ms.at(-1) - ms[0]) / (last - first)).toFixed(2) : "-";
    rows.push([
      c.floor ? `${c.label} (floor)` : c.label,
      ...ms.map((m) => m.toFixed(0)),
      c.label === "compose config -q" ? "1 / 1" : ratio("compose config -q"),
      c.label.startsWith("status") ? ratio("compose ps") : "",
      growth,
    ]);
  }
  const counts = [["calls per command", ...sizes.flatMap((n) => [`registry N=${n}`, `docker N=${n}`])]];
  for (const c of OURS)
    counts.push([
      c.label,
      ...sizes.flatMap((n) => [String(at(n, c.label).registryRequests), String(at(n, c.label).dockerCalls)]),
    ]);
  const detail = [];
  for (const c of OURS) {
    const r = at(last, c.label);
    const kinds = (o) =>
      Object.entries(o)
        .map(([k, v]) => `${k} ${v}`)
        .join(", ") || "none";
    detail.push(`  ${c.label}: registry ${kinds(r.registryByKind)}; docker ${kinds(r.dockerByCommand)}`);
  }
  return [
    `scale: medians of ${report.runs} interleaved runs, ${report.repositories} repositories, 5-entry histories (${report.executable}${report.baseline ? `; [before]: ${report.baseline}` : ""}, load ${report.loadAverage})`,
    render(rows),
    "",
    render(counts),
    "",
    `the engine's own answer to status's questions (list + one inspection per container, warm client): ${report.sizes.map((s) => `N=${s.n} ${s.engineMs} ms`).join(", ")}${report.sizes.length > 1 ? `, ${((report.sizes.at(-1).engineMs - report.sizes[0].engineMs) / (report.sizes.at(-1).n - report.sizes[0].n)).toFixed(2)} ms/service` : ""}`,
    `the manifest read by parseManifest (goal at 200 services: ≤ 15 ms), first read in a fresh process, median (best), parsed | unchanged (memo) / warm: ${report.sizes.map((s) => `N=${s.n} ${Math.round(s.manifest.bytes / 1024)} KB ${s.manifest.coldParseMs.parsed.median} (${s.manifest.coldParseMs.parsed.best}) | ${s.manifest.coldParseMs.remembered.median} (${s.manifest.coldParseMs.remembered.best}) / ${s.manifest.parseMs} ms`).join(", ")}`,
    "",
    `at N=${last}, by kind:`,
    ...detail,
    "",
  ].join("\n");
}

function render(rows) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  const line = (r) =>
    `| ${r.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join(" | ")} |`;
  return [
    line(rows[0]),
    `|${widths.map((w, i) => (i === 0 ? "-".repeat(w + 2) : `${"-".repeat(w + 1)}:`)).join("|")}|`,
    ...rows.slice(1).map(line),
  ].join("\n");
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const ping = await fetch(`http://${REGISTRY}/v2/`).catch(() => null);
  if (!ping?.ok) throw new Error(`no registry at ${REGISTRY}: run 'bash test/bed/up.sh' first (as root)`);
  const sources = await loadManifestCode();
  const digests = await ensureRepositories();
  const proxy = await startProxy();
  const dockerConfig = mkdtempSync(path.join(tmpdir(), "dv-scale-config-"));
  const cleanups = [];
  try {
    mkdirSync(path.join(dockerConfig, "cli-plugins"));
    const plugin = path.join(dockerConfig, "cli-plugins", "docker-versions");
    copyFileSync(o.exe, plugin);
    chmodSync(plugin, 0o755);
    writeFileSync(path.join(dockerConfig, "config.json"), "{}\n");
    // As on a customer's host: none of the variables Node reads at start-up.
    const env = Object.fromEntries(
      Object.entries({ ...process.env, DOCKER_CONFIG: dockerConfig, NO_COLOR: "1" }).filter(
        ([k]) => !STARTUP_VARIABLES.includes(k),
      ),
    );
    if (o.baseline) {
      // The baseline build, installed in a DOCKER_CONFIG of its own; its commands join every round.
      const before = mkdtempSync(path.join(tmpdir(), "dv-scale-baseline-"));
      cleanups.push(() => rmSync(before, { recursive: true, force: true }));
      mkdirSync(path.join(before, "cli-plugins"));
      copyFileSync(o.baseline, path.join(before, "cli-plugins", "docker-versions"));
      chmodSync(path.join(before, "cli-plugins", "docker-versions"), 0o755);
      writeFileSync(path.join(before, "config.json"), "{}\n");
      const baselineEnv = { ...env, DOCKER_CONFIG: before };
      const baseline = oursFor("before").map((c) => ({ ...c, env: baselineEnv }));
      OURS = [...OUR_ARGS.flatMap((_, i) => [OURS[i], baseline[i]]), ...OURS.slice(OUR_ARGS.length)];
      COMMANDS = [...FLOORS, ...OURS];
    }
    const ctx = {
      env,
      proxy,
      digests,
      sources,
      runs: o.runs,
      wrapperBin: dockerWrapper(dockerConfig),
    };
    const sizes = [];
    for (const n of o.sizes) sizes.push({ n, ...(await measureSize(n, ctx)) });
    const report = {
      runs: o.runs,
      repositories: REPOSITORIES.length,
      executable: path.relative(root, o.exe) || o.exe,
      baseline: o.baseline,
      loadAverage: Math.round(loadavg()[0] * 100) / 100,
      sizes,
    };
    process.stdout.write(o.json ? `${JSON.stringify(report, null, 2)}\n` : table(report));
  } finally {
    proxy.stop();
    rmSync(dockerConfig, { recursive: true, force: true });
    for (const c of cleanups) c();
  }
}

main().catch((e) => {
  process.stderr.write(`bench/scale: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
