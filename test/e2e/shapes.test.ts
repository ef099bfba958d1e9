// Real compose files: one project holding every shape of `image:` line (shared variables of one
// and of two repositories, text around the variable, nested defaults, a variable registry or
// repository, a whole-image variable behind an anchor in block and flow style, a digest in the
// file, an override file, `extends`, a profile, a build-only service). After every step, the
// invariant: what Compose computes with versions.env is a reference of each service's own
// repository, each pinned service runs exactly its recorded digest, and the rest say unpinned.
import { readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { parseReference, repositoryName } from "../../src/core/reference.js";
import { bed, fixtureProject, installPlugin, must, pushImage, registryDigest, sh } from "./harness.js";

// service → repository inside the test's namespace (built is built here, not pulled).
const REPOSITORIES: Record<string, string> = {
  "photos-server": "photos/server",
  "photos-ml": "photos/ml",
  "auth-server": "auth/server",
  "auth-worker": "auth/server",
  vtool: "vtool",
  nested: "nested",
  app: "app",
  dated: "dated",
  "pipe-web": "pipeline",
  "pipe-worker": "pipeline",
  "tools-a": "tools",
  "tools-b": "tools",
  cache: "cache",
  plain: "plain",
  ext: "base",
  over: "over",
  prof: "prof",
};
const TAGS: Record<string, string[][]> = {
  "photos/server": [["v1.120.0"], ["v1.121.0"]],
  "photos/ml": [["v1.120.0-cpu"], ["v1.121.0-cpu"]],
  "auth/server": [["2.0"], ["2.1"]],
  vtool: [["v1.0"], ["v1.1"]],
  nested: [["1.0"], ["1.1"]],
  app: [["1.0", "latest"]],
  dated: [["2024.10.4"], ["2024.11.1"]],
  pipeline: [["2.10.3"], ["2.10.4"]],
  tools: [["1.0"], ["1.1"]],
  cache: [["7.4"]],
  plain: [["1.0"]],
  base: [["3.1"]],
  over: [["1.0"], ["1.1"]],
  prof: [["1.0"]],
};

interface Row {
  service: string;
  tag: string;
  digest?: string;
  drift: string;
  pinnedBy: string;
  next?: string;
}

/** service → the repo digests of the image its running container uses: three docker calls in all. */
async function runningDigests(project: string): Promise<Map<string, string[]>> {
  const ids = (
    await must("docker", ["ps", "-q", "--filter", `label=com.docker.compose.project=${project}`])
  ).stdout
    .split("\n")
    .filter(Boolean);
  const containers = (
    await must("docker", [
      "inspect",
      "--format",
      '{{index .Config.Labels "com.docker.compose.service"}} {{.Image}}',
      ...ids,
    ])
  ).stdout
    .split("\n")
    .filter(Boolean)
    .map((l) => l.split(" ") as [string, string]);
  const images = [...new Set(containers.map(([, image]) => image))];
  const digests = new Map(
    (
      await must("docker", ["image", "inspect", "--format", "{{.Id}} {{json .RepoDigests}}", ...images])
    ).stdout
      .split("\n")
      .filter(Boolean)
      .map((l) => [l.slice(0, l.indexOf(" ")), JSON.parse(l.slice(l.indexOf(" ") + 1)) as string[]] as const),
  );
  return new Map(containers.map(([service, image]) => [service, digests.get(image) ?? []]));
}

describe.skipIf(!bed.available)("every shape of image: line", () => {
  const plugin = installPlugin();
  const ns = `shapes${process.pid}`;
  const repo = (r: string) => `${bed.registry}/${ns}/${r}`;
  // The profile is on for every command here, Compose's and ours alike.
  const env = { ...plugin.env, COMPOSE_PROFILES: "extra" };
  let cacheDigest = "";

  beforeAll(async () => {
    const pushes = Object.entries(TAGS).flatMap(([r, sets]) => sets.map((tags) => ({ r, tags })));
    // A few at a time: the engine imports and pushes in parallel well, a loaded machine less so.
    for (let i = 0; i < pushes.length; i += 4) {
      await Promise.all(
        pushes.slice(i, i + 4).map((p) => pushImage(repo(p.r), p.tags, `${p.r} ${p.tags[0]}`)),
      );
    }
    cacheDigest = await registryDigest(`${ns}/cache`, "7.4");
  });
  afterAll(() => plugin.cleanup());

  /** A private copy of the fixture, running under plain Compose as a deployment would. */
  async function deployed() {
    const fx = fixtureProject("shapes");
    writeFileSync(path.join(fx.dir, ".env"), `DV_NS=${ns}\n`, { flag: "a" });
    const file = path.join(fx.dir, "compose.yaml");
    writeFileSync(file, readFileSync(file, "utf8").replace("@CACHE_DIGEST", `@${cacheDigest}`));
    await must("docker", ["compose", "up", "-d", "--quiet-pull"], { cwd: fx.dir, env });
    const dv = async (...args: string[]) => {
      const r = await sh("docker", ["versions", ...args], { cwd: fx.dir, env });
      expect(r.code, `docker versions ${args.join(" ")}: ${r.stderr}`).toBe(0);
      return r;
    };
    const manifest = () =>
      parse(readFileSync(path.join(fx.dir, "version-manifest.yaml"), "utf8")) as {
        services: Record<string, { current_tag: string; image_digest: string }>;
      };
    const rows = async () => JSON.parse((await dv("version", "--json")).stdout) as Row[];

    /** The invariant of the issue, checked on what Compose and the engine say. */
    async function invariant(unpinned: string[] = []) {
      const record = manifest().services;
      const config = JSON.parse(
        (
          await must(
            "docker",
            [
              "compose",
              "--env-file",
              path.join(fx.dir, ".env"),
              "--env-file",
              path.join(fx.dir, "versions.env"),
              "config",
              "--format",
              "json",
            ],
            { cwd: fx.dir, env },
          )
        ).stdout,
      ) as { services: Record<string, { image?: string }> };
      const running = await runningDigests(fx.project);
      for (const [service, r] of Object.entries(REPOSITORIES)) {
        const image = config.services[service]?.image as string;
        const ref = parseReference(image); // throws on an invalid reference
        expect(repositoryName(ref), `${service}: ${image}`).toBe(repo(r));
        const tracked = record[service];
        expect(tracked, `${service} is tracked`).toBeDefined();
        if (unpinned.includes(service)) continue;
        expect(ref.digest, `${service} is pinned to its recorded digest: ${image}`).toBe(
          tracked?.image_digest,
        );
        const runs = running.get(service)?.find((d) => d.startsWith(`${repo(r)}@`));
        expect(runs?.split("@")[1], `${service} runs its record`).toBe(tracked?.image_digest);
      }
      const v = await rows();
      for (const row of v) {
        if (unpinned.includes(row.service)) {
          expect(row.drift, row.service).toBe("unpinned");
          expect(row.next, row.service).toBeTruthy();
        } else expect(row.drift, `${row.service}: ${row.next}`).toBe("in sync");
      }
    }
    return { fx, dv, manifest, rows, invariant };
  }

  describe("migrated with the wizard's compose edits", () => {
    let p: Awaited<ReturnType<typeof deployed>>;
    let before: Record<string, string>;
    beforeAll(async () => {
      p = await deployed();
      before = Object.fromEntries(
        ["compose.yaml", "base.yaml", "compose.override.yaml"].map((f) => [
          f,
          readFileSync(path.join(p.fx.dir, f), "utf8"),
        ]),
      );
    });
    afterAll(() => p.fx.cleanup());

    it("migrate-versions --yes edits only the lines that cannot be pinned, then restart runs the record", async () => {
      const r = await p.dv("migrate-versions", "--yes");
      expect(r.stderr).toContain("not tracked, they are built from source: built");
      const after = (f: string) => readFileSync(path.join(p.fx.dir, f), "utf8");
      // Every line is as it was, but the edited ones.
      const changed = (f: string) => {
        const a = (before[f] as string).split("\n");
        const b = after(f).split("\n");
        expect(b.length).toBe(a.length);
        return b.filter((line, i) => line !== a[i]);
      };
      expect(changed("compose.yaml")).toEqual([
        "  image: 127.0.0.1:5077/${DV_NS}/tools:${TOOLS_VERSION:-1.0}   # one line for both tools services",
        "    image: 127.0.0.1:5077/${DV_NS}/photos/ml:${PHOTOS_ML_VERSION:-${PHOTOS_VERSION:-v1.120.0}-cpu}",
        "    image: 127.0.0.1:5077/${DV_NS}/plain:${PLAIN_VERSION:-1.0}",
      ]);
      expect(changed("base.yaml")).toEqual(["    image: 127.0.0.1:5077/${DV_NS}/base:${EXT_VERSION:-3.1}"]);
      expect(changed("compose.override.yaml")).toEqual([]);
      await p.dv("restart");
      await p.invariant();
      const env = readFileSync(path.join(p.fx.dir, "versions.env"), "utf8");
      // One line per variable: the groups share theirs; the file's digest and the operator's knobs stay out.
      expect(env).toMatch(/^AUTH_VERSION=2\.0@sha256:/m);
      expect(env).toMatch(/^VTOOL_VERSION=1\.0@sha256:/m);
      expect(env).toMatch(new RegExp(`^PIPE_IMAGE=${repo("pipeline")}:2\\.10\\.3@sha256:`, "m"));
      expect(env).not.toMatch(/NESTED_FALLBACK|REGISTRY=|DATED_IMAGE|cache/i);
      const cache = (await p.rows()).find((row) => row.service === "cache");
      expect(cache).toMatchObject({ pinnedBy: "compose file", digest: cacheDigest, drift: "in sync" });
    });

    it.each([
      ["auth-worker", "auth-server", "2.1", "2.0"],
      ["pipe-web", "pipe-worker", "2.10.4", "2.10.3"],
      ["tools-b", "tools-a", "1.1", "1.0"],
    ])(
      "version-pull of %s moves %s too, and a rollback of either moves both back",
      async (member, other, tag, back) => {
        const r = await p.dv("version-pull", "--service", member, "--tag", tag);
        expect(r.stderr).toContain(`${other} shares one version variable with ${member}`);
        expect(p.manifest().services[other]?.current_tag).toBe(tag);
        await p.dv("up");
        await p.invariant();
        await p.dv("rollback-service", "--service", other, "--apply");
        expect(p.manifest().services[member]?.current_tag).toBe(back);
        await p.invariant();
      },
    );

    it("services that no longer share a variable move alone; a v-prefixed and a date tag pin too", async () => {
      await p.dv("version-pull", "--service", "photos-ml", "--tag", "v1.121.0-cpu");
      expect(p.manifest().services["photos-server"]?.current_tag).toBe("v1.120.0");
      await p.dv("rollback-service", "--service", "photos-ml", "--apply");
      await p.invariant();
      await p.dv("version-pull", "--service", "vtool", "--tag", "v1.1");
      await p.dv("version-pull", "--service", "dated", "--tag", "2024.11.1");
      await p.dv("up");
      await p.invariant();
    });

    it("update-safe follows a moved floating tag and keeps every service pinned", async () => {
      await pushImage(repo("app"), ["1.1", "latest"], "app 1.1");
      const r = await p.dv("update-safe", "--settle", "1", "--skip-data-backup");
      expect(r.stderr + r.stdout).toMatch(/app/);
      expect(p.manifest().services.app?.current_tag).toBe("1.1");
      expect(p.manifest().services.app?.image_digest).toBe(await registryDigest(`${ns}/app`, "1.1"));
      await p.invariant();
    });

    it("docker versions -f FILE status, and -p NAME status from another directory", async () => {
      const f = await sh(
        "docker",
        [
          "versions",
          "-f",
          path.join(p.fx.dir, "compose.yaml"),
          "-f",
          path.join(p.fx.dir, "compose.override.yaml"),
          "status",
        ],
        { cwd: tmpdir(), env: { ...env, COMPOSE_PROJECT_NAME: p.fx.project } },
      );
      expect(f.code, f.stderr).toBe(0);
      expect(f.stdout).toContain(`Project:   ${p.fx.project}`);
      const byName = await sh("docker", ["versions", "-p", p.fx.project, "status", "--json"], {
        cwd: tmpdir(),
        env,
      });
      expect(byName.code, byName.stderr).toBe(0);
      const report = JSON.parse(byName.stdout) as {
        project: string;
        services: { service: string; drift: string }[];
      };
      expect(report.project).toBe(p.fx.project);
      expect(report.services.find((s) => s.service === "plain")?.drift).toBe("in sync");
    });
  });

  describe("migrated with --no-edit-compose", () => {
    let p: Awaited<ReturnType<typeof deployed>>;
    beforeAll(async () => {
      p = await deployed();
    });
    afterAll(() => p.fx.cleanup());

    it("reports the services it cannot pin, pins all others, and breaks nothing", async () => {
      const original = readFileSync(path.join(p.fx.dir, "compose.yaml"), "utf8");
      const r = await p.dv("migrate-versions", "--yes", "--no-edit-compose");
      expect(readFileSync(path.join(p.fx.dir, "compose.yaml"), "utf8")).toBe(original);
      const unpinned = ["ext", "photos-ml", "photos-server", "plain", "tools-a", "tools-b"];
      for (const s of unpinned) expect(r.stderr).toContain(`service '${s}' is not pinned`);
      // The suggestion is the wizard's own edit.
      expect(r.stderr).toContain(
        "change its image: to 127.0.0.1:5077/${DV_NS}/photos/ml:${PHOTOS_ML_VERSION:-${PHOTOS_VERSION:-v1.120.0}-cpu}",
      );
      expect(readFileSync(path.join(p.fx.dir, "versions.env"), "utf8")).not.toMatch(/^PHOTOS_VERSION=/m);
      await p.dv("restart");
      await p.invariant(unpinned);
      const status = await p.dv("status");
      expect(status.stdout).toMatch(/photos-ml \(unpinned\): change its image: to /);
      expect(status.stdout).not.toMatch(/photos-ml .*in sync/);
    });
  });
});
