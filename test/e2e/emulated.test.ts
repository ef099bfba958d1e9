// The release executable of the other architecture (aarch64 on an x86_64 machine), run under
// Debian's qemu-user-static against the real bed: it must answer exactly as this machine's own
// executable does. Its children (docker, compose) are this machine's programs and run natively.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assetName, hostTarget, runPrefix, TARGETS, type TargetName } from "../../build/targets.mjs";
import { bed, fixtureProject, installPlugin, type Run, sh } from "./harness.js";

const pkg = JSON.parse(readFileSync(path.resolve(import.meta.dirname, "../../package.json"), "utf8")) as {
  version: string;
};
const ELF_MACHINE: Record<TargetName, RegExp> = { x86_64: /X86-64/, aarch64: /AArch64/ };
const others = (Object.keys(TARGETS) as TargetName[]).filter((t) => t !== hostTarget());
/**
 * Each run of the emulated executable starts a whole Node under qemu, some 20 times slower than
 * natively and slower still on a loaded machine: these tests wait on emulation, not on Docker.
 */
const EMULATED_TIMEOUT = 600_000;

/**
 * A DOCKER_CONFIG whose cli-plugins/docker-versions runs `exe` under qemu. The kernel of this
 * machine has no binfmt_misc handler for the other architecture (a container may not register
 * one), so the plugin file is a two-line script that execs qemu with the target's sysroot.
 */
function installEmulated(target: TargetName, exe: string) {
  const dockerConfig = mkdtempSync(path.join(tmpdir(), `dv-config-${target}-`));
  mkdirSync(path.join(dockerConfig, "cli-plugins"));
  const quoted = [...runPrefix(target), exe].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" ");
  writeFileSync(
    path.join(dockerConfig, "cli-plugins", "docker-versions"),
    `#!/bin/sh\nexec ${quoted} "$@"\n`,
    {
      mode: 0o755,
    },
  );
  writeFileSync(path.join(dockerConfig, "config.json"), "{}\n");
  return {
    env: { ...process.env, DOCKER_CONFIG: dockerConfig, NO_COLOR: "1" },
    cleanup: () => rmSync(dockerConfig, { recursive: true, force: true }),
  };
}

/** The parts of a report that depend on the moment it was made, not on the executable. */
function timeless(json: string): unknown {
  return JSON.parse(json, (key, value) =>
    /uptime|since|ago/i.test(key) || (typeof value === "string" && /^(Up|Exited) /.test(value))
      ? "(time)"
      : value,
  );
}

describe.skipIf(!bed.available || others.length === 0).each(others)(
  "the %s executable under emulation",
  (target) => {
    const exe = path.join(path.dirname(bed.exe), assetName(target));
    const native = installPlugin();
    const emulated = installEmulated(target, exe);
    const fx = fixtureProject("sample");
    const both = async (args: string[], opts: { cwd?: string } = {}): Promise<[Run, Run]> => [
      await sh("docker", ["versions", ...args], { ...opts, env: native.env }),
      await sh("docker", ["versions", ...args], { ...opts, env: emulated.env }),
    ];

    beforeAll(async () => {
      const up = await sh("docker", ["compose", "up", "-d", "--wait"], { cwd: fx.dir });
      expect(up.code, up.stderr).toBe(0);
    });
    afterAll(async () => {
      await fx.cleanup();
      native.cleanup();
      emulated.cleanup();
    });

    it(`is an ${target} ELF file`, async () => {
      expect(existsSync(exe), `${exe} was not built`).toBe(true);
      const header = await sh("readelf", ["-h", exe]);
      expect(header.stdout).toMatch(new RegExp(`Machine:\\s+.*${ELF_MACHINE[target].source}`));
    });

    it(
      "answers docker-cli-plugin-metadata as the native one does",
      async () => {
        const [file, ...args] = [...runPrefix(target), exe, "docker-cli-plugin-metadata"];
        const r = await sh(file as string, args);
        expect(r.code, r.stderr).toBe(0);
        const native = await sh(bed.exe, ["docker-cli-plugin-metadata"]);
        expect(JSON.parse(r.stdout)).toEqual(JSON.parse(native.stdout));
        expect(JSON.parse(r.stdout)).toMatchObject({ SchemaVersion: "0.1.0", Version: pkg.version });
      },
      EMULATED_TIMEOUT,
    );

    it(
      "reports its version and help through the docker CLI",
      async () => {
        const v = await sh("docker", ["versions", "--version"], { env: emulated.env });
        expect(v.code, v.stderr).toBe(0);
        expect(v.stdout.trim()).toBe(pkg.version);
        const [nativeHelp, help] = await both(["--help"]);
        expect(help.code, help.stderr).toBe(0);
        expect(help.stdout).toMatch(/^ {2}status\s/m);
        expect(help.stdout).toBe(nativeHelp.stdout);
      },
      EMULATED_TIMEOUT,
    );

    it(
      "runs status and version against the running project, with the same answers",
      async () => {
        const [nativeStatus, status] = await both(["status", "--json"], { cwd: fx.dir });
        expect(status.code, status.stderr).toBe(0);
        expect(JSON.parse(status.stdout).project).toBe(fx.project);
        expect(timeless(status.stdout)).toEqual(timeless(nativeStatus.stdout));

        // Before the manifest exists, both refuse `version` with the same one line.
        const [nativeNone, none] = await both(["version"], { cwd: fx.dir });
        expect(none.code).not.toBe(0);
        expect(none.stderr).toBe(nativeNone.stderr);

        const migrate = await sh("docker", ["versions", "migrate-versions", "--yes"], {
          cwd: fx.dir,
          env: native.env,
        });
        expect(migrate.code, migrate.stderr).toBe(0);
        const [nativeVersion, version] = await both(["version", "--json"], { cwd: fx.dir });
        expect(version.code, version.stderr).toBe(0);
        const rows = JSON.parse(version.stdout) as { service: string }[];
        expect(rows.map((r) => r.service).sort()).toEqual([
          "postgres",
          "req_router",
          "settings",
          "taskservice",
        ]);
        expect(timeless(version.stdout)).toEqual(timeless(nativeVersion.stdout));
      },
      EMULATED_TIMEOUT,
    );
  },
);
