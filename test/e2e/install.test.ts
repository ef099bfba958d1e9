// install.sh as a customer runs it: the built executable and its checksums served from a
// loopback HTTP server, a fresh HOME each time, the real docker CLI answering at the end.
import { createHash } from "node:crypto";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hostTarget } from "../../build/targets.mjs";
import { bed, type Run, sh } from "./harness.js";

const root = path.resolve(import.meta.dirname, "../..");
const INSTALL_SH = path.join(root, "install.sh");
const pkg = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")) as { version: string };
const asset = path.basename(bed.exe);

// What install.sh calls, besides a downloader and docker.
const BASIC_TOOLS = [
  "sh",
  "uname",
  "mktemp",
  "rm",
  "cp",
  "mv",
  "mkdir",
  "chmod",
  "dirname",
  "head",
  "tail",
  "tr",
  "sed",
  "awk",
  "cat",
  "sha256sum",
  "od",
  "sort",
];

function which(name: string): string {
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    const p = path.join(dir, name);
    if (dir && existsSync(p) && statSync(p).isFile()) return p;
  }
  return "";
}

function writeScript(file: string, body: string): void {
  writeFileSync(file, `#!/bin/sh\n${body}\n`);
  chmodSync(file, 0o755);
}

describe.skipIf(!bed.available)("install.sh", () => {
  let server: Server;
  let baseUrl = "";
  const requested: string[] = [];
  const scratch = mkdtempSync(path.join(tmpdir(), "dv-install-"));
  let seq = 0;

  beforeAll(async () => {
    // Read once; every request is answered from memory.
    const exe = readFileSync(bed.exe);
    const sum = createHash("sha256").update(exe).digest("hex");
    const files: Record<string, Buffer | string> = {
      [`/good/${asset}`]: exe,
      "/good/checksums.txt": `${"1".repeat(64)}  docker-versions-linux-other\n${sum}  ${asset}\n`,
      [`/wrong/${asset}`]: exe,
      "/wrong/checksums.txt": `${"0".repeat(64)}  ${asset}\n`,
      [`/unlisted/${asset}`]: exe,
      "/unlisted/checksums.txt": `${sum}  docker-versions-linux-other\n`,
    };
    // The release as the build leaves it: every executable and the one checksums.txt.
    const dist = path.dirname(bed.exe);
    for (const f of readdirSync(dist)) {
      if (f === "checksums.txt" || f.startsWith("docker-versions-linux-")) {
        files[`/release/${f}`] = readFileSync(path.join(dist, f));
      }
    }
    server = createServer((req, res) => {
      requested.push(req.url ?? "");
      const body = files[req.url ?? ""];
      if (body === undefined) {
        res.writeHead(404).end("not found\n");
        return;
      }
      res.writeHead(200, { "content-length": Buffer.byteLength(body) }).end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
    rmSync(scratch, { recursive: true, force: true });
  });

  /** A fresh HOME and TMPDIR, and the environment a customer's shell would give install.sh. */
  function host(extra: NodeJS.ProcessEnv = {}) {
    const home = path.join(scratch, `home${++seq}`);
    const tmp = path.join(home, "tmp");
    mkdirSync(tmp, { recursive: true });
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: home,
      TMPDIR: tmp,
      NO_COLOR: "1",
      ...(process.env.DOCKER_HOST ? { DOCKER_HOST: process.env.DOCKER_HOST } : {}),
      ...extra,
    };
    const plugin = path.join(
      env.DOCKER_CONFIG ?? path.join(home, ".docker"),
      "cli-plugins",
      "docker-versions",
    );
    return { home, tmp, env, plugin };
  }

  /** A directory holding links to the named tools only, to use as the whole PATH. */
  function toolbox(names: string[]): string {
    const dir = path.join(scratch, `bin${++seq}`);
    mkdirSync(dir);
    for (const name of names) {
      const real = which(name);
      if (!real) throw new Error(`${name} is not on PATH`);
      symlinkSync(real, path.join(dir, name));
    }
    return dir;
  }

  function install(env: NodeJS.ProcessEnv, args: string[] = []): Promise<Run> {
    return sh("sh", [INSTALL_SH, ...args], { env });
  }

  function expectRefused(r: Run, message: RegExp): void {
    expect(r.code, r.stdout + r.stderr).not.toBe(0);
    const lines = r.stderr.trim().split("\n");
    expect(lines, r.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/^install\.sh: /);
    expect(lines[0]).toMatch(message);
  }

  function expectNothingLeft(h: ReturnType<typeof host>): void {
    expect(existsSync(h.plugin)).toBe(false);
    const dir = path.dirname(h.plugin);
    if (existsSync(dir)) expect(readdirSync(dir)).toEqual([]);
    expect(readdirSync(h.tmp)).toEqual([]);
  }

  it("installs the verified executable where the docker CLI finds it", async () => {
    const h = host({ DOCKER_VERSIONS_BASE_URL: `${baseUrl}/good/` });
    const r = await install(h.env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`Installed docker-versions ${pkg.version} at ${h.plugin}`);
    expect(statSync(h.plugin).mode & 0o777).toBe(0o755);
    expect(readdirSync(path.dirname(h.plugin))).toEqual(["docker-versions"]);
    expect(readdirSync(h.tmp)).toEqual([]);

    const v = await sh("docker", ["versions", "--version"], { env: h.env });
    expect(v.code, v.stderr).toBe(0);
    expect(v.stdout.trim()).toBe(pkg.version);
  });

  it("refuses a file whose checksum does not match, keeping the plugin already there", async () => {
    const h = host({ DOCKER_VERSIONS_BASE_URL: `${baseUrl}/wrong` });
    mkdirSync(path.dirname(h.plugin), { recursive: true });
    writeScript(h.plugin, "echo previous");
    const r = await install(h.env);
    expectRefused(r, /checksum mismatch for docker-versions-linux-\S+ .*refusing/);
    expect(readFileSync(h.plugin, "utf8")).toContain("echo previous");
    expect(readdirSync(path.dirname(h.plugin))).toEqual(["docker-versions"]);
    expect(readdirSync(h.tmp)).toEqual([]);
  });

  it("refuses a file that checksums.txt does not list", async () => {
    const h = host({ DOCKER_VERSIONS_BASE_URL: `${baseUrl}/unlisted` });
    expectRefused(await install(h.env), new RegExp(`checksums.txt .* has no line for ${asset}`));
    expectNothingLeft(h);
  });

  it("says which download failed", async () => {
    const h = host({ DOCKER_VERSIONS_BASE_URL: `${baseUrl}/missing` });
    expectRefused(
      await install(h.env),
      new RegExp(`could not download ${baseUrl}/missing/checksums.txt .*404`),
    );
    expectNothingLeft(h);
  });

  it("refuses an unsupported architecture or operating system before downloading", async () => {
    const uname = which("uname");
    for (const [flag, answer, message] of [
      ["-m", "mips", /unsupported architecture mips/],
      ["-s", "Darwin", /unsupported operating system Darwin: .*Linux only/],
    ] as const) {
      const fake = path.join(scratch, `fake${++seq}`);
      mkdirSync(fake);
      writeScript(
        path.join(fake, "uname"),
        `[ "$1" = ${flag} ] && { echo ${answer}; exit 0; }\nexec ${uname} "$@"`,
      );
      // A base URL nobody serves: a download attempt would show up as a different error.
      const h = host({ PATH: `${fake}:${process.env.PATH}`, DOCKER_VERSIONS_BASE_URL: `${baseUrl}/missing` });
      expectRefused(await install(h.env), message);
      expectNothingLeft(h);
    }
  });

  /** A directory of stand-in commands, put first on PATH. */
  function stubs(scripts: Record<string, string>): string {
    const dir = path.join(scratch, `stubs${++seq}`);
    mkdirSync(dir);
    for (const [name, body] of Object.entries(scripts)) writeScript(path.join(dir, name), body);
    return `${dir}:${process.env.PATH}`;
  }

  it("installs this machine's file from a release that holds both, checked against its line", async () => {
    const h = host({ DOCKER_VERSIONS_BASE_URL: `${baseUrl}/release` });
    const r = await install(h.env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`Downloading ${asset} from`);
    // (compared as booleans: a structural diff of two 90 MB buffers takes minutes)
    expect(readFileSync(h.plugin).equals(readFileSync(bed.exe))).toBe(true);
  });

  it("fetches the aarch64 file where uname -m says aarch64, and will not run it on another machine", async () => {
    const uname = which("uname");
    const from = requested.length;
    const h = host({
      PATH: stubs({ uname: `[ "$1" = -m ] && { echo aarch64; exit 0; }\nexec ${uname} "$@"` }),
      DOCKER_VERSIONS_BASE_URL: `${baseUrl}/release`,
    });
    const r = await install(h.env);
    expect(requested.slice(from)).toEqual([
      "/release/checksums.txt",
      "/release/docker-versions-linux-aarch64",
    ]);
    expect(r.stdout).toContain("Downloading docker-versions-linux-aarch64 from");
    // Its checksum matched (a mismatch is refused first); this machine runs x86_64 programs, and
    // the downloaded file is never executed here, where a shell would read it as a script.
    if (hostTarget() === "x86_64") {
      expectRefused(
        r,
        /the downloaded docker-versions-linux-aarch64 is built for aarch64, but this host runs x86_64 programs \(uname -m says aarch64\): refusing/,
      );
      expectNothingLeft(h);
    } else {
      expect(r.code, r.stderr).toBe(0);
    }
  });

  it("says a musl host (Alpine) is not supported, before downloading anything", async () => {
    const from = requested.length;
    // What Alpine's ldd (musl's loader) answers to --version: on stderr, with status 1.
    const h = host({
      PATH: stubs({
        ldd: 'printf "musl libc (x86_64)\\nVersion 1.2.5\\nDynamic Program Loader\\n" >&2\nexit 1',
      }),
      DOCKER_VERSIONS_BASE_URL: `${baseUrl}/release`,
    });
    expectRefused(
      await install(h.env),
      /C library is musl \(Alpine\?\), which docker-versions does not support yet/,
    );
    expect(requested.slice(from)).toEqual([]);
    expectNothingLeft(h);
  });

  it("refuses a glibc older than the executables need, before downloading anything", async () => {
    const from = requested.length;
    const old = host({
      PATH: stubs({ getconf: '[ "$1" = GNU_LIBC_VERSION ] && { echo "glibc 2.17"; exit 0; }\nexit 1' }),
      DOCKER_VERSIONS_BASE_URL: `${baseUrl}/release`,
    });
    expectRefused(
      await install(old.env),
      /this host has glibc 2\.17; docker-versions needs glibc 2\.28 or newer/,
    );
    expect(requested.slice(from)).toEqual([]);
    expectNothingLeft(old);

    const minimum = host({
      PATH: stubs({ getconf: '[ "$1" = GNU_LIBC_VERSION ] && { echo "glibc 2.28"; exit 0; }\nexit 1' }),
      DOCKER_VERSIONS_BASE_URL: `${baseUrl}/release`,
    });
    const r = await install(minimum.env);
    expect(r.code, r.stderr).toBe(0);
  });

  it("wants docker, and curl or wget, on PATH before downloading anything", async () => {
    const noDocker = host({
      PATH: toolbox([...BASIC_TOOLS, "curl"]),
      DOCKER_VERSIONS_BASE_URL: `${baseUrl}/good`,
    });
    expectRefused(await install(noDocker.env), /docker was not found on PATH/);
    expectNothingLeft(noDocker);

    const noDownloader = host({
      PATH: toolbox([...BASIC_TOOLS, "docker"]),
      DOCKER_VERSIONS_BASE_URL: `${baseUrl}/good`,
    });
    expectRefused(await install(noDownloader.env), /neither curl nor wget was found/);
    expectNothingLeft(noDownloader);
  });

  it("downloads from the latest release, or the pinned one", async () => {
    // A stand-in curl records the URL it was given and fails; no real downloader is on PATH,
    // so nothing can leave this machine.
    const bin = toolbox([...BASIC_TOOLS, "docker"]);
    const log = path.join(scratch, `curl${++seq}.log`);
    writeScript(path.join(bin, "curl"), `for a; do last=$a; done\necho "$last" >> ${log}\nexit 22`);
    const releases = "https://github.com/docker-versions/docker-versions/releases";

    const latest = host({ PATH: bin });
    expectRefused(await install(latest.env), /could not download .*curl exited with status 22/);
    const pinned = host({ PATH: bin, DOCKER_VERSIONS_VERSION: "v1.2.3" });
    expectRefused(await install(pinned.env), /could not download/);
    expect(readFileSync(log, "utf8").trim().split("\n")).toEqual([
      `${releases}/latest/download/checksums.txt`,
      `${releases}/download/v1.2.3/checksums.txt`,
    ]);
    expectNothingLeft(latest);
    expectNothingLeft(pinned);
  });

  it.skipIf(!which("wget"))("works with wget when curl is missing, into DOCKER_CONFIG", async () => {
    const config = path.join(scratch, `cfg${++seq}`);
    const h = host({
      PATH: toolbox([...BASIC_TOOLS, "wget", "docker"]),
      DOCKER_CONFIG: config,
      DOCKER_VERSIONS_BASE_URL: `${baseUrl}/good`,
    });
    const r = await install(h.env);
    expect(r.code, r.stderr).toBe(0);
    expect(h.plugin).toBe(path.join(config, "cli-plugins", "docker-versions"));
    expect(r.stdout).toContain(`at ${h.plugin}`);
    expect(existsSync(path.join(h.home, ".docker"))).toBe(false);
    const v = await sh("docker", ["versions", "--version"], { env: h.env });
    expect(v.stdout.trim()).toBe(pkg.version);
  });

  it("rejects options it does not know", async () => {
    const h = host({ DOCKER_VERSIONS_BASE_URL: `${baseUrl}/good` });
    expectRefused(await install(h.env, ["--sytem"]), /unknown option '--sytem'/);
    expectNothingLeft(h);
  });
});
