// Cost of resolving a floating tag, side by side in one run against the bed's real registry:
// our resolution (tags newest-first, stop at the first digest match) versus a naive baseline
// (HEAD every tag, then pick the newest one with the recorded digest), over 9 repositories of
// 100 version tags each, in four cases: latest is the newest tag (the usual one), a service
// following the line 1.9 (as `postgres:16` does; resolved within the line), latest lags 10
// versions behind, and the recorded image has no version tag at all.
// Usage: node bench/resolve.mjs [--runs N] [--json]    (registry: $DV_BENCH_REGISTRY or the bed's)
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { pushTags } from "../test/bed/push-tags.mjs";

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

/** The TypeScript sources, bundled once into a temporary module so plain Node can import them. */
async function loadSources() {
  const dir = mkdtempSync(path.join(tmpdir(), "dv-bench-"));
  const outfile = path.join(dir, "registry.mjs");
  await build({
    stdin: {
      contents: [
        'export * from "./src/adapters/registry/client.ts";',
        'export * from "./src/adapters/registry/manifests.ts";',
        'export * from "./src/adapters/registry/resolution.ts";',
        'export * from "./src/adapters/registry/tags.ts";',
        'export * from "./src/core/tags.ts";',
      ].join("\n"),
      resolveDir: root,
      loader: "ts",
    },
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    logLevel: "warning",
  });
  const mod = await import(outfile);
  rmSync(dir, { recursive: true, force: true });
  return mod;
}

/** Creates the 9 repositories unless a previous run left them complete. */
async function ensureRepositories() {
  for (const repository of SERVICES) {
    const res = await fetch(`http://${REGISTRY}/v2/${repository}/tags/list`);
    const have = res.ok ? ((await res.json()).tags ?? []) : [];
    if (VERSIONS.every((t) => have.includes(t)) && have.includes("latest")) continue;
    process.stderr.write(`[bench] creating ${REGISTRY}/${repository}: 100 tags\n`);
    await pushTags({
      registry: REGISTRY,
      from: "req_router:1.61",
      repository,
      tags: VERSIONS,
      distinct: true,
    });
    const manifest = await fetch(`http://${REGISTRY}/v2/${repository}/manifests/${NEWEST}`, {
      headers: { accept: "application/vnd.docker.distribution.manifest.v2+json" },
    });
    const put = await fetch(`http://${REGISTRY}/v2/${repository}/manifests/latest`, {
      method: "PUT",
      headers: { "content-type": manifest.headers.get("content-type") },
      body: await manifest.arrayBuffer(),
    });
    if (put.status !== 201) throw new Error(`cannot tag ${repository}:latest (${put.status})`);
  }
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function main() {
  const ping = await fetch(`http://${REGISTRY}/v2/`).catch(() => null);
  if (!ping?.ok) throw new Error(`no registry at ${REGISTRY}: run 'bash test/bed/up.sh' first (as root)`);
  const m = await loadSources();
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

  if (json) {
    console.log(
      JSON.stringify({ registry: REGISTRY, services: SERVICES.length, tagsPerService: 101, runs, results }),
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
}

main().catch((e) => {
  console.error(`bench/resolve: ${e.message}`);
  process.exit(1);
});
