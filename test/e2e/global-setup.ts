// Brings up the real test bed once for every end-to-end test file (engine, Compose v2,
// registry, fixture images) and makes sure the built executable is current. With CI=true a
// missing engine fails the run; elsewhere it is one loud line and the e2e tests are skipped.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import type { TestProject } from "vitest/node";
import { assetName, hostTarget, TARGETS } from "../../build/targets.mjs";

const root = path.resolve(import.meta.dirname, "../..");
export const EXE = path.join(root, "dist", assetName(hostTarget() ?? process.arch));
// Every release executable: the other architecture's is tested under emulation.
const OUTPUTS = Object.keys(TARGETS).map((t) => path.join(root, "dist", assetName(t)));

function newestSource(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestSource(p) : statSync(p).mtimeMs);
  }
  return newest;
}

export default function setup(project: TestProject) {
  const ci = process.env.CI === "true";
  const bed = spawnSync("bash", [path.join(root, "test/bed/up.sh")], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  if (bed.status !== 0) {
    const why = `the Docker test bed could not be brought up (test/bed/up.sh exited ${bed.status}; it needs a Debian host and root)`;
    if (ci) throw new Error(why);
    const skipped = readdirSync(path.join(root, "test/e2e")).filter((f) => f.endsWith(".test.ts"));
    console.error(
      `\n!!! ${why}: run the tests as root on Debian (test/bed/up.sh installs docker.io, Compose v2 and docker-registry) — SKIPPED: ${skipped.join(", ")} !!!\n`,
    );
    project.provide("bed", { available: false, registry: "", exe: EXE });
    return;
  }
  const registry = /^REGISTRY=(.*)$/m.exec(bed.stdout)?.[1] ?? "";
  const newest = Math.max(
    newestSource(path.join(root, "src")),
    newestSource(path.join(root, "build")),
    statSync(path.join(root, "package.json")).mtimeMs,
    statSync(path.join(root, "package-lock.json")).mtimeMs,
  );
  if (OUTPUTS.some((f) => !existsSync(f) || statSync(f).mtimeMs < newest)) {
    execFileSync(process.execPath, [path.join(root, "build/build.mjs")], { cwd: root, stdio: "inherit" });
  }
  project.provide("bed", { available: true, registry, exe: EXE });
}

declare module "vitest" {
  export interface ProvidedContext {
    bed: { available: boolean; registry: string; exe: string };
  }
}
