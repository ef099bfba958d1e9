// migrate-versions on running projects (scripted and through a terminal), the compose rewrite,
// and shell completion against a real project.
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bed, fixtureProject, installPlugin, must, runningDigest, sh } from "./harness.js";

const R = bed.registry;

/** Runs `docker versions <args>` on a pseudo-terminal (util-linux `script`), answering prompts in turn. */
function onTerminal(
  cwd: string,
  env: NodeJS.ProcessEnv,
  args: string[],
  answers: [RegExp, string][],
): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      "script",
      ["-q", "-e", "-c", ["docker", "versions", ...args].join(" "), "/dev/null"],
      { cwd, env, stdio: ["pipe", "pipe", "pipe"] },
    );
    let output = "";
    let next = 0;
    let consumed = 0;
    const onData = (b: Buffer) => {
      output += b.toString();
      while (next < answers.length) {
        const [prompt, answer] = answers[next] as [RegExp, string];
        const m = prompt.exec(output.slice(consumed));
        if (!m) break;
        consumed += m.index + m[0].length;
        child.stdin.write(`${answer}\r`);
        next++;
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? 1, output }));
    setTimeout(() => child.kill("SIGKILL"), 60_000).unref();
  });
}

describe.skipIf(!bed.available)("migrate-versions", () => {
  const plugin = installPlugin();
  const fixtures: { cleanup: () => Promise<void> }[] = [];
  const start = async () => {
    const fx = fixtureProject("unpinned");
    fixtures.push(fx);
    await must("docker", ["compose", "up", "-d"], { cwd: fx.dir });
    return fx;
  };
  afterAll(async () => {
    for (const fx of fixtures) await fx.cleanup();
    plugin.cleanup();
  });

  it("--yes records what runs, interpolates hand-pinned image lines keeping every other byte, and is a no-op the second time", async () => {
    const fx = await start();
    const composeFile = path.join(fx.dir, "compose.yaml");
    const original = readFileSync(composeFile, "utf8");
    const r = await sh("docker", ["versions", "migrate-versions", "--yes"], { cwd: fx.dir, env: plugin.env });
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(composeFile, "utf8")).toBe(
      original
        .replace(
          "image: 127.0.0.1:5077/settings:1.63 ",
          "image: 127.0.0.1:5077/settings:${SETTINGS_VERSION:-1.63} ",
        )
        .replace('image: "127.0.0.1:5077/wsfe"', 'image: "127.0.0.1:5077/wsfe:${WSFE_VERSION:-latest}"'),
    );
    const backups = readdirSync(path.join(fx.dir, ".version-backups"));
    expect(backups.filter((f) => f.startsWith("compose.yaml."))).toHaveLength(1);
    expect(
      readFileSync(
        path.join(fx.dir, ".version-backups", backups.find((f) => f.startsWith("compose.yaml.")) as string),
        "utf8",
      ),
    ).toBe(original);

    const versions = JSON.parse(
      (await sh("docker", ["versions", "version", "--json"], { cwd: fx.dir, env: plugin.env })).stdout,
    );
    for (const [service, repo] of [
      ["settings", "settings"],
      ["wsfe", "wsfe"],
      ["jobsched", "jobsched"],
    ] as const) {
      const row = versions.find((v: { service: string }) => v.service === service);
      expect(row.digest).toBe(await runningDigest(fx.project, service, `${R}/${repo}`));
      expect(row.drift).toBe("in sync");
    }
    expect(versions.map((v: { tag: string }) => v.tag)).toEqual(["1.62", "1.63", "latest"]);
    // pull-latest follows what the compose file named: a hand-pinned 1.63 stays 1.63, no tag means latest.
    const manifest = readFileSync(path.join(fx.dir, "version-manifest.yaml"), "utf8");
    expect(manifest).toMatch(/ {2}settings:\n(?: {4}.*\n)*? {4}floating_tag: "?1\.63"?\n/);
    expect(manifest).toMatch(/ {2}jobsched:\n(?: {4}.*\n)*? {4}floating_tag: "?1\.62"?\n/);
    expect(manifest).not.toMatch(/ {2}wsfe:\n(?: {4}.*\n)*? {4}floating_tag/);
    const env = readFileSync(path.join(fx.dir, "versions.env"), "utf8");
    expect(env).toMatch(/^SETTINGS_VERSION=1\.63@sha256:[0-9a-f]{64}$/m);
    expect(env).toMatch(/^WSFE_VERSION=latest@sha256:[0-9a-f]{64}$/m);

    const files = () =>
      ["compose.yaml", "version-manifest.yaml", "versions.env"].map((f) =>
        readFileSync(path.join(fx.dir, f), "utf8"),
      );
    const before = files();
    const again = await sh("docker", ["versions", "migrate-versions", "--yes"], {
      cwd: fx.dir,
      env: plugin.env,
    });
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/already migrated/);
    expect(files()).toEqual(before);
  });

  it("--no-edit-compose leaves the compose file alone and says what stays unpinned", async () => {
    const fx = await start();
    const original = readFileSync(path.join(fx.dir, "compose.yaml"), "utf8");
    const r = await sh("docker", ["versions", "migrate-versions", "--yes", "--no-edit-compose"], {
      cwd: fx.dir,
      env: plugin.env,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(path.join(fx.dir, "compose.yaml"), "utf8")).toBe(original);
    expect(r.stderr).toMatch(
      /warning: service 'settings' is not pinned: .*to pin it, change its image: to 127\.0\.0\.1:5077\/settings:\$\{SETTINGS_VERSION:-1\.63\}/,
    );
  });

  it("refuses to ask without a terminal", async () => {
    const fx = await start();
    const r = await sh("docker", ["versions", "migrate-versions"], { cwd: fx.dir, env: plugin.env });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toEqual([expect.stringMatching(/not a terminal: pass --yes/)]);
    expect(readdirSync(fx.dir)).not.toContain("version-manifest.yaml");
  });

  it("asks service by service on a terminal: Enter accepts, an answer replaces the proposal", async () => {
    const fx = await start();
    const r = await onTerminal(
      fx.dir,
      plugin.env,
      ["migrate-versions"],
      [
        [/settings: rewrite image: .*\[Y\/n\] /, ""],
        [/wsfe: rewrite image: .*\[Y\/n\] /, "n"],
        [/jobsched \(.*\) tag \[1\.62\]: /, ""],
        [/settings \(.*\) tag \[1\.63\]: /, "1.64"],
        [/wsfe \(.*\) tag \[latest\]: /, ""],
      ],
    );
    expect(r.code, r.output).toBe(0);
    const versions = JSON.parse(
      (await sh("docker", ["versions", "version", "--json"], { cwd: fx.dir, env: plugin.env })).stdout,
    );
    expect(
      Object.fromEntries(versions.map((v: { service: string; tag: string }) => [v.service, v.tag])),
    ).toEqual({ jobsched: "1.62", settings: "1.64", wsfe: "latest" });
    const compose = readFileSync(path.join(fx.dir, "compose.yaml"), "utf8");
    expect(compose).toContain("settings:${SETTINGS_VERSION:-1.63}");
    expect(compose).toContain('image: "127.0.0.1:5077/wsfe"');
  });
});

describe.skipIf(!bed.available)("shell completion", () => {
  const plugin = installPlugin();
  const fx = fixtureProject("unpinned");
  afterAll(async () => {
    await fx.cleanup();
    plugin.cleanup();
  });
  beforeAll(() => undefined);

  it("completes commands, flags and the project's service names through the bash script", async () => {
    const script = (await sh("docker", ["versions", "completion", "bash"], { env: plugin.env })).stdout;
    const complete = async (...words: string[]) => {
      const program = `${script}\nCOMP_WORDS=(docker versions ${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${words.length + 1}; __docker_versions_complete; printf '%s\\n' "\${COMPREPLY[@]}"`;
      return (await sh("bash", ["-c", program], { cwd: fx.dir, env: plugin.env })).stdout.trim().split("\n");
    };
    expect(await complete("rollback-s")).toEqual(["rollback-service"]);
    expect(await complete("version-pull", "--service", "")).toEqual(["jobsched", "settings", "wsfe"]);
    expect(await complete("pull-latest", "--dr")).toEqual(["--dry-run"]);
  });

  it("prints scripts for zsh and fish, and refuses other shells in one line", async () => {
    for (const shell of ["zsh", "fish"]) {
      const r = await sh("docker", ["versions", "completion", shell], { env: plugin.env });
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("__complete");
    }
    const bad = await sh("docker", ["versions", "completion", "tcsh"], { env: plugin.env });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr.trim().split("\n")).toHaveLength(1);
  });
});
