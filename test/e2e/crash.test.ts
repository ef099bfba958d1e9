// Crashes between the writes of one change, on the real engine and registry: the built plugin is
// killed (SIGKILL, through the test-only DOCKER_VERSIONS_FAULT points) at every point between two
// writes, in single commands and inside update-safe, and the next command must settle the record
// (manifest, versions.env, audit log and journal agree) and say so in one line.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  bed,
  fixtureProject,
  installPlugin,
  must,
  pushImage,
  registryDigest,
  runningDigest,
  seedNamespace,
  sh,
} from "./harness.js";

const RECORD_POINTS = ["record.prepared", "record.intent", "record.manifest", "record.env", "record.audit"];
// What the next command must make of a crash at each point of the record transaction.
const OUTCOME: Record<string, "none" | "reverted" | "completed"> = {
  "record.prepared": "none",
  "record.intent": "reverted",
  "record.manifest": "completed",
  "record.env": "completed",
  "record.audit": "completed",
};

describe.skipIf(!bed.available)("a crash between the writes of one change", () => {
  const plugin = installPlugin();
  const fx = fixtureProject("tracked");
  const ns = `crash${process.pid}`;
  const manifestPath = path.join(fx.dir, "version-manifest.yaml");
  const envPath = path.join(fx.dir, "versions.env");
  const auditPath = path.join(fx.dir, "version-audit.log");
  const repo = (name: string) => `${bed.registry}/${ns}/${name}`;
  const dv = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    sh("docker", ["versions", ...args], { cwd: fx.dir, env: { ...plugin.env, ...env } });
  const ok = async (...args: string[]) => {
    const r = await dv(args);
    expect(r.code, `docker versions ${args.join(" ")}: ${r.stderr}`).toBe(0);
    return r;
  };
  const rows = async () =>
    JSON.parse((await ok("version", "--json")).stdout) as { service: string; tag: string; drift: string }[];
  const tagOf = async (service: string) => (await rows()).find((r) => r.service === service)?.tag;
  /** Audit lines that contain every one of `needles`. */
  const auditCount = (...needles: string[]) =>
    readFileSync(auditPath, "utf8")
      .split("\n")
      .filter((l) => needles.every((n) => l.includes(n))).length;

  /** The record agrees with itself: versions.env is what the manifest generates, nothing is left over. */
  async function expectSettled(): Promise<void> {
    const generated = await ok("generate-env", "--dry-run");
    expect(readFileSync(envPath, "utf8")).toBe(generated.stdout);
    expect(readdirSync(fx.dir).filter((f) => f.endsWith(".tmp") || f.endsWith(".txn"))).toEqual([]);
  }

  beforeAll(async () => {
    await seedNamespace(ns, ["postgres", "apigateway", "taskservice"]);
    writeFileSync(path.join(fx.dir, ".env"), `DV_NS=${ns}\n`, { flag: "a" });
    await must("docker", ["compose", "up", "-d"], { cwd: fx.dir });
    await ok("migrate-versions", "--yes");
    await ok("resolve-tags");
  });
  afterAll(async () => {
    await fx.cleanup();
    plugin.cleanup();
  });

  describe("in a single command", () => {
    // Each round changes a service, so every crash interrupts a real change.
    const cases = RECORD_POINTS.flatMap((point) =>
      ["version-pull", "version-set", "rollback-service"].map((command) => [point, command] as const),
    );
    it.each(cases)("killed at %s in %s: the next command settles it and says so", async (point, command) => {
      const service = command === "version-pull" ? "worker" : "api";
      const before = await tagOf(service);
      let target: string;
      let args: string[];
      if (command === "rollback-service") {
        const h = JSON.parse((await ok("version-history", "--service", service, "--json")).stdout);
        const previous = h.services[0].entries.find((e: { mark: string }) => e.mark === "previous");
        if (!previous)
          await ok("version-set", "--service", service, "--tag", before === "1.61" ? "1.62" : "1.61");
        const h2 = JSON.parse((await ok("version-history", "--service", service, "--json")).stdout);
        target = h2.services[0].entries.find((e: { mark: string }) => e.mark === "previous").tag;
        args = ["rollback-service", "--service", service];
      } else {
        target = before === "1.62" ? "1.63" : "1.62";
        args = [command, "--service", service, "--tag", target];
      }
      const from = await tagOf(service);
      const audited = auditCount(`\t${command === "rollback-service" ? "rollback" : command}\t${service}: `);

      const crashed = await dv(args, { DOCKER_VERSIONS_FAULT: point });
      expect(crashed.code).not.toBe(0);

      const next = await dv(["version", "--json"]);
      expect(next.code, next.stderr).toBe(0);
      const outcome = OUTCOME[point];
      const lines = next.stderr.split("\n").filter(Boolean);
      if (outcome === "none") expect(lines).toEqual([]);
      else {
        expect(lines).toHaveLength(1);
        expect(lines[0]).toMatch(
          new RegExp(
            `^${outcome} the change of the record that ${command === "rollback-service" ? "rollback" : command} \\(pid \\d+\\)`,
          ),
        );
      }
      const tag = (JSON.parse(next.stdout) as { service: string; tag: string }[]).find(
        (r) => r.service === service,
      )?.tag;
      expect(tag).toBe(outcome === "completed" ? target : from);
      expect(auditCount(`\t${command === "rollback-service" ? "rollback" : command}\t${service}: `)).toBe(
        audited + (outcome === "completed" ? 1 : 0),
      );
      await expectSettled();
      // The same command again now does exactly what is left to do.
      const again = await dv(args);
      expect(again.code, again.stderr).toBe(0);
      if (outcome === "completed" && command !== "rollback-service")
        expect(again.stdout).toMatch(/^nothing changed/);
    });
  });

  it("fails before the manifest changes when versions.env cannot be written, and leaves nothing", async () => {
    const manifest = readFileSync(manifestPath, "utf8");
    const env = readFileSync(envPath, "utf8");
    const backups = readdirSync(path.join(fx.dir, ".version-backups")).length;
    rmSync(envPath);
    mkdirSync(envPath);
    try {
      const r = await dv(["version-set", "--service", "api", "--tag", "1.61"]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`^error: refusing ${envPath}: it is a directory[^\n]*\n$`));
      expect(readFileSync(manifestPath, "utf8")).toBe(manifest);
      expect(readdirSync(path.join(fx.dir, ".version-backups"))).toHaveLength(backups);
      expect(readdirSync(fx.dir).filter((f) => f.endsWith(".tmp") || f.endsWith(".txn"))).toEqual([]);
    } finally {
      rmSync(envPath, { recursive: true });
      writeFileSync(envPath, env);
    }
  });

  it("never runs Compose with a versions.env that disagrees with the manifest", async () => {
    const recorded = (await rows()).find((r) => r.service === "api");
    writeFileSync(envPath, readFileSync(envPath, "utf8").replace(/^API_VERSION=.*$/m, "API_VERSION=1.61"));
    const r = await dv(["restart", "--service", "api", "--settle", "1"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe(
      `${envPath} did not match the manifest: rewrote it from the manifest before running Compose\n`,
    );
    await expectSettled();
    const v = (await rows()).find((x) => x.service === "api");
    expect(v).toMatchObject({ tag: recorded?.tag, drift: "in sync" });
  });

  describe("inside update-safe", () => {
    const update = ["update-safe", "--skip-data-backup", "--settle", "1", "--timeout", "60"];
    let round = 0;

    // Killed anywhere on the way to a healthy update: --resume finishes it.
    const forward = [
      "update-safe.begin",
      "update-safe.backed-up",
      "update-safe.pulled",
      "update-safe.recording",
      ...RECORD_POINTS,
      "update-safe.recorded",
      "update-safe.recreated",
    ];
    it.each(forward)(
      "killed at %s: --resume ends with the new version recorded and running",
      async (point) => {
        const tag = `2.${++round}`;
        await pushImage(repo("apigateway"), [tag, "latest"]);
        const crashed = await dv(update, { DOCKER_VERSIONS_FAULT: point });
        expect(crashed.code).not.toBe(0);

        const next = await dv(["version"]);
        expect(next.code).toBe(0);
        const lines = next.stderr.split("\n").filter(Boolean);
        expect(lines.at(-1)).toMatch(/^warning: an update-safe run started at .* did not finish .*--resume/);
        if (OUTCOME[point] && OUTCOME[point] !== "none")
          expect(lines[0]).toMatch(
            new RegExp(`^${OUTCOME[point]} the change of the record that update-safe `),
          );
        expect(lines).toHaveLength(OUTCOME[point] && OUTCOME[point] !== "none" ? 2 : 1);

        const resumed = await dv([...update, "--resume"]);
        expect(resumed.code, resumed.stderr).toBe(0);
        expect(resumed.stdout).toMatch(/updated and healthy: api/);
        expect((await rows()).find((r) => r.service === "api")).toMatchObject({ tag, drift: "in sync" });
        expect(await runningDigest(fx.project, "api", repo("apigateway"))).toBe(
          await registryDigest(`${ns}/apigateway`, tag),
        );
        expect(auditCount("\tupdate-safe\tapi: ", ` → ${tag}@`)).toBe(1); // once, however it was settled
        expect((await dv(["version"])).stderr).toBe("");
        await expectSettled();
      },
    );

    // Killed while putting a bad release back: --resume finishes the rollback.
    const back = [
      "update-safe.rolling-back",
      "record.intent#2",
      "record.manifest#2",
      "record.audit#2",
      "update-safe.restored",
    ];
    it.each(back)("killed at %s of a rollback: --resume finishes the rollback", async (point) => {
      const good = await tagOf("api");
      const goodDigest = await runningDigest(fx.project, "api", repo("apigateway"));
      const tag = `3.${++round}`;
      await must("env", [
        'DV_IMAGE_CMD=["/bin/busybox","sh","-c","echo broken release; exit 1"]',
        "bash",
        path.resolve(import.meta.dirname, "../bed/image.sh"),
        repo("apigateway"),
        `broken ${tag}`,
        tag,
        "latest",
      ]);
      const crashed = await dv(update, { DOCKER_VERSIONS_FAULT: point });
      expect(crashed.code).not.toBe(0);

      const resumed = await dv([...update, "--resume"]);
      expect(resumed.code).toBe(1);
      expect(resumed.stderr).toMatch(
        /^(?:.*\n)?error: update-safe rolled back \(finished by --resume\): api exited with code 1/,
      );
      expect((await rows()).find((r) => r.service === "api")).toMatchObject({ tag: good, drift: "in sync" });
      expect(await runningDigest(fx.project, "api", repo("apigateway"))).toBe(goodDigest);
      expect((await dv(["version"])).stderr).toBe("");
      await expectSettled();
      // A good latest again, so the next round starts from a healthy registry.
      await pushImage(repo("apigateway"), [`2.${++round}`, "latest"]);
      await ok(...update);
    });

    it("stops before changing anything when versions.env cannot be written", async () => {
      const manifest = readFileSync(manifestPath, "utf8");
      const env = readFileSync(envPath, "utf8");
      await pushImage(repo("apigateway"), [`2.${++round}`, "latest"]);
      rmSync(envPath);
      mkdirSync(envPath);
      try {
        const r = await dv(update);
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(
          new RegExp(
            `^error: update-safe stopped before changing anything: refusing ${envPath}: it is a directory[^\n]*\n$`,
          ),
        );
        expect(readFileSync(manifestPath, "utf8")).toBe(manifest);
      } finally {
        rmSync(envPath, { recursive: true });
        writeFileSync(envPath, env);
      }
      expect((await dv(["version"])).stderr).toBe(""); // the run is closed, not left interrupted
    });

    it("killed after recreating, `rollback --apply` puts back exactly what the run changed", async () => {
      const before = await tagOf("api");
      const beforeDigest = await runningDigest(fx.project, "api", repo("apigateway"));
      await pushImage(repo("apigateway"), [`2.${++round}`, "latest"]);
      expect((await dv(update, { DOCKER_VERSIONS_FAULT: "update-safe.recreated" })).code).not.toBe(0);
      const r = await dv(["rollback", "--apply"]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^api: .* → ${before?.replace(/\./g, "\\.")} `, "m"));
      expect(r.stdout).not.toMatch(/^(db|worker):/m);
      expect((await rows()).find((x) => x.service === "api")).toMatchObject({
        tag: before,
        drift: "in sync",
      });
      expect(await runningDigest(fx.project, "api", repo("apigateway"))).toBe(beforeDigest);
      expect((await dv(["version"])).stderr).toBe("");
      await expectSettled();
    });
  });
});
