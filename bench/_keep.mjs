// Cost of resolving a floating tag, side by side in one run against the bed's real registry:
// our resolution (tags newest-first, stop at the first digest match) versus a naive baseline
// (HEAD every tag, then pick the newest one with the recorded digest), over 9 repositories of
// 100 version tags each, in four cases: latest is the newest tag (the usual one), a service
// following the line 1.9 (as `postgres:16` does; resolved within the line), latest lags 10
// versions behind, and the recorded image has no version tag at all.
// Then the same questions end to end, against a script of skopeo calls (Debian's skopeo, as a
// user would write it: list the tags, then inspect version tags newest first until one has the
// digest): `docker versions resolve-tags --dry-run` over a project of the 9 services, through
// the Docker CLI, versus that script over the 9 repositories, when latest is the newest tag and
// when it lags 10 versions behind (goals: ours at least 3× and 8× faster). With --baseline EXE a
// second build (say, main before a change) joins every end-to-end round from a DOCKER_CONFIG of
// its own, so that before and after are measured under the same load.
// Usage: node bench/resolve.mjs [--runs N] [--json] [--baseline EXE]
//   (registry: $DV_BENCH_REGISTRY or the bed's)
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { assetName, hostTarget } from "../build/targets.mjs";
import { ensureVersioned } from "./lib/registry-fixture.mjs";
import { loadSources } from "./lib/sources.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const REGISTRY = process.env.DV_BENCH_REGISTRY ?? "127.0.0.1:5077";
const SERVICES = Array.from({ length: 9 }, (_, i) => `benchresolve/svc${i + 1}`);
// 1.0.0 … 1.9.9: 100 versions, each its own digest; latest = the newest.
const VERSIONS = Array.from({ length: 100 }, (_, i) => `1.${Math.floor(i / 10)}.${i % 10}`);
const NEWEST = VERSIONS.at(-1);
const NO_TWIN = `sha256:${"0".repeat(64)}`;

const args = process.argv.slice(2);
const runs = Number(args[args.indexOf("--runs") + 1] || 0) || 5;
const json = args.includes("--json");
const baseline = args.includes("--baseline")
  ? path.resolve(args[args.indexOf("--baseline") + 1] ?? "")
  : null;
if (baseline && !existsSync(baseline)) throw new Error(`--baseline: no executable at ${baseline}`);

/** The registry client, resolution and tag model from the sources. */
const loadRegistryCode = () =>
  loadSources(root, [
    'export * from "./src/adapters/registry/client.ts";',
    'export * from "./src/adapters/registry/manifests.ts";',
    'export * from "./src/adapters/registry/resolution.ts";',
    'export * from "./src/adapters/registry/tags.ts";',
    'export * from "./src/core/tags.ts";',
    'export { renderManifest } from "./src/core/manifest.ts";',
    'export { mapLimit } from "./src/core/limit.ts";',
  ]);

/** Creates the 9 repositories unless a previous run left them complete. */
async function ensureRepositories() {
  for (const repository of SERVICES)
    await ensureVersioned(REGISTRY, repository, VERSIONS, (m) => process.stderr.write(`[bench] ${m}\n`));
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function main() {
  const ping = await fetch(`http://${REGISTRY}/v2/`).catch(() => null);
  if (!ping?.ok) throw new Error(`no registry at ${REGISTRY}: run 'bash test/bed/up.sh' first (as root)`);
  const m = await loadRegistryCode();
  await ensureRepositories();

  const config = mkdtempSync(path.join(tmpdir(), "dv-bench-config-"));
  writeFileSync(path.join(config, "config.json"), "{}\n");
  const newClient = () => new m.RegistryClient({ dockerConfigDir: config });
  const refs = SERVICES.map((repository) => ({ registry: REGISTRY, repository }));

  // The digests the manifest would record, read before any timing.
  const setup = newClient();
  const recorded = {};
  for (const ref of refs) {
    const newest = VERSIONS.length - 1;
    recorded[ref.repository] = {
      "latest = newest": (await m.manifestDigest(setup, ref, "latest")).digest,
      "follows 1.9": (await m.manifestDigest(setup, ref, NEWEST)).digest,
      "latest lags 10": (await m.manifestDigest(setup, ref, VERSIONS[newest - 10])).digest,
      "no version twin": NO_TWIN,
    };
  }

  // The tag a service follows: latest, or the line 1.9 in the "follows 1.9" case.
  const following = (scenario) => (scenario === "follows 1.9" ? "1.9" : undefined);
  const ours = async (client, ref, digest, scenario) =>
    (await m.resolveTag(client, { ...ref, tag: following(scenario) }, digest)).tag;
  const naive = async (client, ref, digest) => {
    const { tags } = await m.listTags(client, ref);
    const digests = new Map();
    for (const tag of tags) digests.set(tag, (await m.manifestDigest(client, ref, tag)).digest);
    return m.sortVersionTagsDesc(tags.filter((t) => digests.get(t) === digest))[0] ?? null;
  };
  const methods = { "resolveTag (ours)": ours, "naive: HEAD every tag": naive };

  /** One pass over the 9 services, as resolve-tags runs them: bounded concurrency, one client. */
  const pass = async (fn, scenario) => {
    const client = newClient();
    const start = process.hrtime.bigint();
    const tags = await m.mapLimit(refs, m.DEFAULT_CONCURRENCY, (ref) =>
      fn(client, ref, recorded[ref.repository][scenario], scenario),
    );
    return { ms: Number(process.hrtime.bigint() - start) / 1e6, requests: client.requests, tags };
  };

  const results = [];
  for (const scenario of ["latest = newest", "follows 1.9", "latest lags 10", "no version twin"]) {
    const times = Object.fromEntries(Object.keys(methods).map((k) => [k, []]));
    const last = {};
    for (const fn of Object.values(methods)) await pass(fn, scenario); // warm-up: connections, JIT
    for (let r = 0; r < runs; r++) {
      // Alternate the order run by run so that drift of the machine falls on both alike.
      const order = r % 2 ? Object.entries(methods).reverse() : Object.entries(methods);
      for (const [name, fn] of order) {
        const p = await pass(fn, scenario);
        times[name].push(p.ms);
        last[name] = p;
      }
    }
    const [a, b] = Object.keys(methods);
    if (JSON.stringify(last[a].tags) !== JSON.stringify(last[b].tags)) {
      throw new Error(`${scenario}: the two methods disagree: ${last[a].tags} vs ${last[b].tags}`);
    }
    for (const name of Object.keys(methods)) {
      results.push({
        scenario,
        method: name,
        resolvedTo: last[name].tags[0],
        requestsPerService: last[name].requests / SERVICES.length,
        wallMs: median(times[name]),
      });
    }
  }
  rmSync(config, { recursive: true, force: true });
  const endToEnd = skopeoComparison(m, recorded);

  if (json) {
    console.log(
      JSON.stringify({
        registry: REGISTRY,
        services: SERVICES.length,
        tagsPerService: 101,
        runs,
        loadAverage: loadavg()[0],
        baseline,
        results,
        endToEnd,
      }),
    );
    return;
  }
  console.log(
    `Resolving a floating tag: ${SERVICES.length} services x ${VERSIONS.length} version tags (+ latest), ` +
      `registry ${REGISTRY}, concurrency ${m.DEFAULT_CONCURRENCY}, median wall time of ${runs} runs\n`,
  );
  console.log(
    `${"case".padEnd(17)} ${"method".padEnd(22)} ${"resolves to".padEnd(12)} ${"requests/service".padStart(16)} ${"wall ms".padStart(9)}`,
  );
  for (let i = 0; i < results.length; i += 2) {
    const [o, n] = [results[i], results[i + 1]];
    for (const r of [o, n]) {
      console.log(
        `${r.scenario.padEnd(17)} ${r.method.padEnd(22)} ${String(r.resolvedTo).padEnd(12)} ${r.requestsPerService.toFixed(1).padStart(16)} ${r.wallMs.toFixed(1).padStart(9)}`,
      );
    }
    console.log(
      `${"".padEnd(17)} ${"ratio naive / ours".padEnd(22)} ${"".padEnd(12)} ${`${(n.requestsPerService / o.requestsPerService).toFixed(1)}x`.padStart(16)} ${`${(n.wallMs / o.wallMs).toFixed(1)}x`.padStart(9)}\n`,
    );
  }
  if (endToEnd) {
    console.log(
      `End to end, median of ${runs} interleaved runs (load ${loadavg()[0].toFixed(1)}): docker versions resolve-tags --dry-run (9 services) vs the skopeo script (9 repositories)${baseline ? `; [before]: ${baseline}` : ""}\n`,
    );
    console.log(
      `${"case".padEnd(17)} ${"build".padEnd(8)} ${"resolves to".padEnd(12)} ${"ours ms".padStart(9)} ${"skopeo ms".padStart(10)} ${"skopeo/ours".padStart(12)} ${"goal".padStart(6)}  met`,
    );
    for (const e of endToEnd)
      for (const [build, ms] of [["after", e.oursMs], ...(e.beforeMs ? [["[before]", e.beforeMs]] : [])]) {
        const ratio = e.skopeoMs / ms;
        console.log(
          `${e.scenario.padEnd(17)} ${build.padEnd(8)} ${e.resolvesTo.padEnd(12)} ${ms.toFixed(0).padStart(9)} ${e.skopeoMs.toFixed(0).padStart(10)} ${`${ratio.toFixed(1)}x`.padStart(12)} ${`≥${e.goal}x`.padStart(6)}  ${ratio >= e.goal ? "yes" : "NO"}`,
        );
      }
  }
}

/** The skopeo script: for each repository and digest, the newest version tag with that digest. */
const SKOPEO_SCRIPT = `#!/bin/sh
# usage: resolve.sh REGISTRY REPOSITORY DIGEST [REPOSITORY DIGEST ...]
set -eu
reg=$1; shift
while [ $# -gt 1 ]; do
  repo=$1 want=$2; shift 2
  for tag in $(skopeo list-tags --tls-verify=false "docker://$reg/$repo" |
    sed -n 's/^ *"\\([0-9][0-9.]*\\)",\\{0,1\\}$/\\1/p' | sort -rV); do
    if [ "$(skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://$reg/$repo:$tag")" = "$want" ]; then
      echo "$repo $tag"
      break
    fi
  done
done
`;

/** Wall time of one command, failing loudly when it fails. */
function timedRun(file, args, opts) {
  const start = process.hrtime.bigint();
  const r = spawnSync(file, args, { ...opts, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.error) throw r.error;
  if (r.status !== 0)
    throw new Error(`${file} ${args.join(" ")} exited ${r.status}: ${r.stderr.trim().split("\n").at(-1)}`);
  return { ms, stdout: r.stdout };
}

/** resolve-tags through the Docker CLI against the skopeo script, the same 9 questions. */
function skopeoComparison(m, recorded) {
  if (spawnSync("skopeo", ["--version"], { stdio: "ignore" }).status !== 0) {
    process.stderr.write(
      "[bench] skopeo is not installed (apt-get install skopeo): no end-to-end comparison\n",
    );
    return null;
  }
  const exe = path.join(root, "dist", assetName(hostTarget() ?? process.arch));
  if (!existsSync(exe))
    execFileSync(process.execPath, [path.join(root, "build/build.mjs")], { cwd: root, stdio: "inherit" });
  const work = mkdtempSync(path.join(tmpdir(), "dv-bench-resolve-"));
  try {
    const dockerConfig = path.join(work, "config");
    mkdirSync(path.join(dockerConfig, "cli-plugins"), { recursive: true });
    copyFileSync(exe, path.join(dockerConfig, "cli-plugins", "docker-versions"));
    chmodSync(path.join(dockerConfig, "cli-plugins", "docker-versions"), 0o755);
    writeFileSync(path.join(dockerConfig, "config.json"), "{}\n");
    const beforeConfig = path.join(work, "config-before");
    if (baseline) {
      mkdirSync(path.join(beforeConfig, "cli-plugins"), { recursive: true });
      copyFileSync(baseline, path.join(beforeConfig, "cli-plugins", "docker-versions"));
      chmodSync(path.join(beforeConfig, "cli-plugins", "docker-versions"), 0o755);
      writeFileSync(path.join(beforeConfig, "config.json"), "{}\n");
    }
    // As on a customer's host: none of the variables Node reads at start-up.
    const env = { ...process.env, DOCKER_CONFIG: dockerConfig, NO_COLOR: "1" };
    delete env.NODE_EXTRA_CA_CERTS;
    delete env.NODE_OPTIONS;
    const script = path.join(work, "resolve.sh");
    writeFileSync(script, SKOPEO_SCRIPT, { mode: 0o755 });
    const project = path.join(work, "project");
    mkdirSync(project);
    const name = (r) => r.split("/").at(-1);
    writeFileSync(
      path.join(project, "compose.yaml"),
      `name: dvbenchresolve${process.pid}\nservices:\n${SERVICES.map((r) => `  ${name(r)}:\n    image: ${REGISTRY}/${r}:\${${name(r).toUpperCase()}_VERSION:-latest}\n`).join("")}`,
    );
    const out = [];
    for (const scenario of ["latest = newest"]) {
      const services = Object.create(null);
      for (const r of SERVICES)
        services[name(r)] = {
          image: `${REGISTRY}/${r}`,
          current_tag: "latest",
          image_digest: recorded[r][scenario],
          custom: false,
          history: [
            { tag: "latest", digest: recorded[r][scenario], at: "2026-11-20T10:00:00Z", source: "pull" },
          ],
        };
      writeFileSync(path.join(project, "version-manifest.yaml"), m.renderManifest({ schema: 1, services }));
      const expected = scenario === "latest = newest" ? NEWEST : VERSIONS[VERSIONS.length - 11];
      const ours = () => timedRun("docker", ["versions", "resolve-tags", "--dry-run"], { cwd: project, env });
      const before = () =>
        timedRun("docker", ["versions", "resolve-tags", "--dry-run"], {
          cwd: project,
          env: { ...env, DOCKER_CONFIG: beforeConfig },
        });
      const skopeo = () =>
        timedRun(script, [REGISTRY, ...SERVICES.flatMap((r) => [r, recorded[r][scenario]])], { env });
      // Both must answer the question, the same way, before they are timed.
      const a = ours().stdout;
      const b = skopeo().stdout;
      const c = baseline ? before().stdout : a;
      if (
        !a.includes(expected) ||
        c !== a ||
        b.trim().split("\n").length !== SERVICES.length ||
        !b.includes(expected)
      )
        throw new Error(`${scenario}: the answers differ from ${expected}:\n${a}\n${b}\n${c}`);
      const takers = { ours, skopeo, ...(baseline ? { before } : {}) };
      const times = Object.fromEntries(Object.keys(takers).map((k) => [k, []]));
      for (let r = 0; r < runs; r++) {
        // Rotate who goes first, so that drift of the machine falls on all alike.
        const names = Object.keys(takers);
        const order = names.map((_, i) => names[(i + r) % names.length]);
        for (const k of order) times[k].push(takers[k]().ms);
      }
      const oursMs = median(times.ours);
      const skopeoMs = median(times.skopeo);
      out.push({
        scenario,
        resolvesTo: expected,
        oursMs,
        ...(baseline ? { beforeMs: median(times.before) } : {}),
        skopeoMs,
        ratio: skopeoMs / oursMs,
        goal: scenario === "latest = newest" ? 3 : 8,
      });
    }
    return out;
  } finally {
    console.error("KEEP", work);
  }
}

main().catch((e) => {
  console.error(`bench/resolve: ${e.message}`);
  process.exit(1);
});
