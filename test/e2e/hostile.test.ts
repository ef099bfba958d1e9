// Hostile and unlucky input through the built executable, the real docker CLI, Compose and the
// registry: service names that are JavaScript built-ins, a compose file of 100 services merging
// one anchor, injection through the manifest and through the command line, a flag without its
// value, and a link where versions.env should be. Each ends in the command's real answer or in
// one line on stderr, never a stack.
import {
  lstatSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bed, installPlugin, type Run, registryDigest, seedNamespace, sh } from "./harness.js";

/** One line on stderr, no stack, no raw control character; the exit code given. */
function oneLine(r: Run, code: number | "non-zero", message: RegExp): void {
  const where = `stderr: ${r.stderr}`;
  if (code === "non-zero") expect(r.code, where).not.toBe(0);
  else expect(r.code, where).toBe(code);
  expect(r.code, where).not.toBe(70);
  expect(r.stderr.trimEnd().split("\n"), where).toHaveLength(1);
  expect(r.stderr, where).toMatch(message);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: no control character may reach the terminal
  expect(r.stderr.trimEnd(), where).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
  expect(r.stderr, where).not.toMatch(/internal error|\n\s+at /);
}

describe.skipIf(!bed.available)("hostile input end to end", () => {
  const plugin = installPlugin();
  const ns = `hostile${process.pid}`;
  const repo = `${bed.registry}/${ns}/apigateway`;
  const dirs: string[] = [];
  /** A project directory with this compose file and (optionally) this manifest. */
  const project = (compose: string, manifest?: string) => {
    const dir = mkdtempSync(path.join(tmpdir(), "dv-hostile-"));
    dirs.push(dir);
    writeFileSync(path.join(dir, "compose.yaml"), compose);
    writeFileSync(path.join(dir, ".env"), `COMPOSE_PROJECT_NAME=dv${process.pid}h${dirs.length}\n`);
    if (manifest !== undefined) writeFileSync(path.join(dir, "version-manifest.yaml"), manifest);
    return dir;
  };
  const dv = (dir: string, ...args: string[]) =>
    sh("docker", ["versions", ...args], { cwd: dir, env: plugin.env });
  let d63: string;
  let d64: string;

  beforeAll(async () => {
    await seedNamespace(ns, ["apigateway"]);
    d63 = await registryDigest(`${ns}/apigateway`, "1.63");
    d64 = await registryDigest(`${ns}/apigateway`, "1.64");
  });
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    plugin.cleanup();
  });

  describe("service names that are JavaScript built-ins", () => {
    const names = ["constructor", "__proto__", "toString"];
    const variable = (s: string) => `${s.replace(/[^A-Za-z]/g, "").toUpperCase()}_VERSION`;
    const compose = `services:\n${names.map((s) => `  ${s}:\n    image: ${repo}:\${${variable(s)}:-latest}\n`).join("")}`;
    const record = (s: string) =>
      `  ${s}:\n    image: ${repo}\n    current_tag: "1.64"\n    image_digest: ${d64}\n    history:\n      - {tag: "1.64", digest: ${d64}, at: "2026-01-02T00:00:00Z", source: test}\n      - {tag: "1.63", digest: ${d63}, at: "2026-01-01T00:00:00Z", source: test}\n`;
    let dir: string;
    beforeAll(() => {
      dir = project(compose, `schema: 1\nservices:\n${names.map(record).join("")}`);
    });

    it("are listed, pinned and rolled back like any other service", async () => {
      const v = await dv(dir, "version", "--json");
      expect(v.code, v.stderr).toBe(0);
      expect((JSON.parse(v.stdout) as { service: string }[]).map((r) => r.service).sort()).toEqual(
        [...names].sort(),
      );
      const g = await dv(dir, "generate-env");
      expect(g.code, g.stderr).toBe(0);
      const env = readFileSync(path.join(dir, "versions.env"), "utf8");
      for (const s of names) expect(env).toContain(`${variable(s)}=1.64@${d64}`);
      for (const s of names) {
        const r = await dv(dir, "rollback-service", "--service", s);
        expect(r.code, `${s}: ${r.stderr}`).toBe(0);
      }
      expect(readFileSync(path.join(dir, "versions.env"), "utf8")).toContain(`TOSTRING_VERSION=1.63@${d63}`);
      const h = await dv(dir, "version-history", "--service", "__proto__", "--json");
      expect(h.code, h.stderr).toBe(0);
      expect(h.stdout).toContain("1.63");
    });

    it("a name that is a built-in but not a service is unknown, in one line", async () => {
      oneLine(
        await dv(dir, "rollback-service", "--service", "hasOwnProperty"),
        1,
        /unknown service 'hasOwnProperty'/,
      );
    });
  });

  it("a compose file with 100 services merging one anchor works", async () => {
    const services = Array.from(
      { length: 100 },
      (_, i) => `  s${i}:\n    <<: *base\n    image: ${repo}:\${S${i}_VERSION:-latest}\n`,
    ).join("");
    const dir = project(`x-base: &base\n  restart: "no"\n  labels: {tier: test}\nservices:\n${services}`);
    expect((await sh("docker", ["compose", "config", "-q"], { cwd: dir })).code).toBe(0);
    const r = await dv(dir, "generate-env", "--dry-run");
    expect(r.stderr).not.toMatch(/Excessive alias count|internal error/);
    const s = await dv(dir, "status", "--json");
    expect(s.code, s.stderr).toBe(0);
    expect((JSON.parse(s.stdout) as { services: unknown[] }).services).toHaveLength(100);
  });

  describe("injection through the manifest", () => {
    const compose = `services:\n  app:\n    image: ${repo}:\${APP_VERSION:-latest}\n`;
    const withField = (field: string) =>
      `schema: 1\nservices:\n  app:\n    current_tag: "1.64"\n    image_digest: ${d64}\n${field}`;

    it.each([
      [
        "an image that adds lines to versions.env",
        '    image: "x\\nCOMPOSE_PROJECT_NAME=evil\\nX=$(id)"\n',
        /image .* is not an image repository/,
      ],
      [
        "a floating_tag with a newline",
        '    floating_tag: "latest\\nx"\n',
        /floating_tag .* is not a valid tag/,
      ],
      [
        "an updated_by with terminal escapes",
        '    updated_by: "\\e[2J\\e]0;owned\\a"\n',
        /updated_by .* is not one line of text/,
      ],
    ])(
      "%s: every command says corrupt manifest in one line; versions.env is not written",
      async (_, field, why) => {
        const dir = project(compose, withField(field));
        for (const args of [
          ["generate-env"],
          ["version"],
          ["check-updates"],
          ["version-set", "--service", "app", "--tag", "1.63"],
        ]) {
          oneLine(
            await dv(dir, ...args),
            "non-zero",
            new RegExp(`corrupt manifest .*version-manifest\\.yaml:\\d+: .*${why.source}`),
          );
        }
        expect(() => lstatSync(path.join(dir, "versions.env"))).toThrow();
      },
    );

    it("a service name with an escape sequence is refused and shown escaped", async () => {
      const dir = project(compose, `services:\n  "app\\e[31m":\n    current_tag: x\n`);
      oneLine(await dv(dir, "version"), 1, /'app\\u001b\[31m' is not a Compose service name/);
    });

    it("a tag typed unquoted keeps its text: 1.10 stays 1.10", async () => {
      const dir = project(
        compose,
        `schema: 1\nservices:\n  app:\n    current_tag: 1.10\n    image_digest: ${d64}\n`,
      );
      const r = await dv(dir, "generate-env");
      expect(r.code, r.stderr).toBe(0);
      expect(readFileSync(path.join(dir, "versions.env"), "utf8")).toContain(`APP_VERSION=1.10@${d64}`);
    });
  });

  describe("injection through the command line", () => {
    const compose = `services:\n  app:\n    image: ${repo}:\${APP_VERSION:-latest}\n`;
    const manifest = () =>
      `schema: 1\nservices:\n  app:\n    current_tag: "1.64"\n    image_digest: ${d64}\n`;

    it("a tag with a newline is refused; the record is unchanged", async () => {
      const dir = project(compose, manifest());
      oneLine(
        await dv(dir, "version-set", "--service", "app", "--tag", "1.0\nX=$(id)"),
        "non-zero",
        /'1\.0\\nX=\$\(id\)' is not a valid tag/,
      );
      expect(readFileSync(path.join(dir, "version-manifest.yaml"), "utf8")).toBe(manifest());
    });

    it("a service name with terminal escapes is shown escaped", async () => {
      const dir = project(compose, manifest());
      oneLine(
        await dv(dir, "rollback-service", "--service", "x\u001b[2J\ry"),
        1,
        /unknown service 'x\\e\[2J\\ry'/,
      );
    });
  });

  it.each([
    ["rollback-service", "--service"],
    ["version-pull", "--service", "app", "--tag"],
    ["version-history", "--service"],
  ])("a flag without its value is a usage error: exit 2, one line (%s)", async (...args) => {
    const dir = project(`services:\n  app:\n    image: ${repo}:\${APP_VERSION:-latest}\n`);
    oneLine(await dv(dir, ...args), 2, /^error: flag needs an argument: --(service|tag) /m);
  });

  it("versions.env as a link is refused by name; the manifest and the link's target stay as they were", async () => {
    const manifest = `schema: 1\nservices:\n  app:\n    current_tag: "1.64"\n    image_digest: ${d64}\n`;
    const dir = project(`services:\n  app:\n    image: ${repo}:\${APP_VERSION:-latest}\n`, manifest);
    const target = path.join(dir, "elsewhere.env");
    writeFileSync(target, "KEEP=1\n");
    symlinkSync(target, path.join(dir, "versions.env"));
    oneLine(
      await dv(dir, "version-set", "--service", "app", "--tag", "1.63"),
      1,
      /refusing .*versions\.env: it is a symbolic link/,
    );
    expect(readFileSync(target, "utf8")).toBe("KEEP=1\n");
    expect(readFileSync(path.join(dir, "version-manifest.yaml"), "utf8")).toBe(manifest);
  });

  it("logs/ as a link: the app starts, the capture refuses it in one warning and writes nothing through it", async () => {
    const dir = project(
      `services:\n  app:\n    image: ${repo}:1.64\n    command: ["/bin/busybox", "sh", "-c", "trap 'exit 0' TERM; while :; do echo tick; sleep 1; done"]\n`,
    );
    const outside = mkdtempSync(path.join(tmpdir(), "dv-hostile-outside-"));
    dirs.push(outside);
    symlinkSync(outside, path.join(dir, "logs"));
    try {
      const r = await dv(dir, "up");
      expect(r.code, r.stderr).toBe(0);
      const warnings = r.stderr.split("\n").filter((l) => l.startsWith("warning: "));
      expect(warnings.join("\n")).toMatch(/^warning: refusing .*\/logs: it is a symbolic link[^\n]*$/m);
      expect(readdirSync(outside)).toEqual([]);
    } finally {
      await sh("docker", ["compose", "down", "--timeout", "0"], { cwd: dir });
    }
  });
});
