// At the terminal, with the built plugin and the real docker CLI: Docker's own progress on a pty
// (script(1)) during the pull of a multi-layer image and update-safe's step lines; the same
// commands through pipes print no control character. Completion through Docker's protocol and
// in an interactive bash driven in tmux; help, migrate's next step, rollback-to's tag check.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bed, fixtureProject, installPlugin, must, type Run, sh } from "./harness.js";

// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f]/;
const LAYERS = 4;
const DEBIAN_DOCKER_COMPLETION = "/usr/share/bash-completion/completions/docker";
// Docker 23 and later hand a plugin its words (`docker __complete versions …`); 20.10 does not,
// and its `docker completion bash` (where Debian has one) completes no plugin at all.
const onPath = (cmd: string) => {
  try {
    execFileSync("sh", ["-c", 'command -v "$1"', "sh", cmd], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
};
const DOCKER_DELEGATES = (() => {
  try {
    const v = execFileSync("docker", ["version", "--format", "{{.Client.Version}}"], { encoding: "utf8" });
    return Number(v.trim().split(".")[0]) >= 23;
  } catch {
    return false;
  }
})();

/** A shell word for a value the test chose itself. */
const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * Builds `repo:tag` on top of a fixture image (busybox httpd) with LAYERS extra layers of
 * distinct random content, pushes it, and removes it locally so the next pull downloads them.
 */
async function pushLayered(repo: string, tags: readonly string[]): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), "dv-layers-"));
  try {
    const lines = [`FROM ${bed.registry}/req_router:1.61`];
    for (let i = 1; i <= LAYERS; i++) {
      const bytes = Buffer.alloc(256 * 1024);
      for (let j = 0; j < bytes.length; j += 4) bytes.writeUInt32LE((Math.random() * 2 ** 32) >>> 0, j);
      writeFileSync(path.join(dir, `layer${i}`), bytes);
      lines.push(`COPY layer${i} /data/layer${i}`);
    }
    writeFileSync(path.join(dir, "Dockerfile"), `${lines.join("\n")}\n`);
    const [first, ...rest] = tags as [string, ...string[]];
    // The classic builder: FROM a loopback image and COPY work offline on every engine of the bed.
    await must("docker", ["build", "-q", "-t", `${repo}:${first}`, dir], {
      env: { ...process.env, DOCKER_BUILDKIT: "0" },
    });
    for (const t of rest) await must("docker", ["tag", `${repo}:${first}`, `${repo}:${t}`]);
    for (const t of tags) await must("docker", ["push", "-q", `${repo}:${t}`]);
    await must("docker", ["rmi", ...tags.map((t) => `${repo}:${t}`)]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Polls until `check` holds (no fixed sleeps: CI runs on loaded cores). */
async function until<T>(what: string, probe: () => Promise<T>, check: (v: T) => boolean, ms = 60_000) {
  const end = Date.now() + ms;
  let last: T = await probe();
  while (!check(last)) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; last: ${String(last)}`);
    await new Promise((r) => setTimeout(r, 200));
    last = await probe();
  }
  return last;
}

describe.skipIf(!bed.available)("at the terminal", () => {
  const plugin = installPlugin();
  const fx = fixtureProject("tracked");
  const ns = `term${process.pid}`;
  const repo = `${bed.registry}/${ns}/layered`;
  const tmuxSocket = `dv-term-${process.pid}`;
  const dv = (...args: string[]) => sh("docker", ["versions", ...args], { cwd: fx.dir, env: plugin.env });
  /** The command on a pty (script(1)): what a person at a terminal sees, control characters included. */
  const onTerminal = (...args: string[]): Promise<Run> =>
    sh("script", ["-qefc", ["docker", "versions", ...args].map(q).join(" "), "/dev/null"], {
      cwd: fx.dir,
      env: { ...plugin.env, TERM: "xterm", COLUMNS: "120", LINES: "40" },
    });

  beforeAll(async () => {
    await pushLayered(repo, ["1.0.0", "latest"]);
    writeFileSync(
      path.join(fx.dir, "compose.yaml"),
      [
        "services:",
        "  app:",
        `    image: ${repo}:\${APP_VERSION:-latest}`,
        "  web:",
        `    image: ${repo}:\${WEB_VERSION:-latest}`,
        "",
      ].join("\n"),
    );
    await must("docker", ["compose", "up", "-d", "--quiet-pull"], { cwd: fx.dir, env: plugin.env });
  });

  afterAll(async () => {
    await sh("tmux", ["-L", tmuxSocket, "kill-server"]);
    await fx.cleanup();
    plugin.cleanup();
  });

  it("migrate-versions names resolve-tags and says nothing needs a restart when all runs in sync", async () => {
    const r = await dv("migrate-versions", "--yes");
    expect(r.code, r.stderr).toBe(0);
    const status = await dv("status");
    expect(status.stdout, status.stdout).not.toContain("Next:");
    expect(r.stdout).not.toMatch(/docker versions restart/);
    expect(r.stdout).toContain("every tracked service already runs its recorded version");
    expect(r.stdout).toMatch(
      /docker versions resolve-tags: records the version behind app \(latest\), web \(latest\)/,
    );
    expect((await dv("resolve-tags")).code).toBe(0);
    const rows = JSON.parse((await dv("version", "--json")).stdout) as { service: string; tag: string }[];
    expect(rows.map((x) => x.tag)).toEqual(["1.0.0", "1.0.0"]);
  });

  it("pulls with Docker's per-layer progress on a terminal, and plain lines without one", async () => {
    await pushLayered(repo, ["1.1.0"]);
    const tty = await onTerminal("version-pull", "--service", "app", "--tag", "1.1.0");
    expect(tty.code, tty.stdout).toBe(0);
    expect(tty.stdout).toContain("\u001b["); // Docker redraws its progress lines
    expect(tty.stdout.match(/Pull complete/g)?.length ?? 0).toBeGreaterThanOrEqual(LAYERS);
    expect(tty.stdout).toMatch(/app: 1\.0\.0 .*→ .*1\.1\.0/);

    await pushLayered(repo, ["1.2.0"]);
    const piped = await dv("version-pull", "--service", "web", "--tag", "1.2.0");
    expect(piped.code, piped.stderr).toBe(0);
    expect(piped.stdout + piped.stderr).not.toMatch(CONTROL);
    expect(piped.stdout).not.toContain("Pull complete");
    expect(piped.stdout).toMatch(/^web: 1\.0\.0 \(\S+\) → 1\.2\.0 \(\S+\)$/m);

    // --quiet on a terminal: Docker draws nothing either.
    await pushLayered(repo, ["1.3.0"]);
    const quiet = await onTerminal("-q", "version-pull", "--service", "web", "--tag", "1.3.0");
    expect(quiet.code, quiet.stdout).toBe(0);
    expect(quiet.stdout).not.toContain("Pull complete");
    expect(quiet.stdout.replace(/\r\n/g, "\n")).not.toMatch(CONTROL);
  });

  it("update-safe shows its steps and Docker's progress on a terminal; through a pipe, steps only", async () => {
    await pushLayered(repo, ["2.0.0", "latest"]);
    const piped = await dv("update-safe", "--timeout", "60", "--settle", "1", "--skip-data-backup");
    expect(piped.code, piped.stderr).toBe(0);
    expect(piped.stdout + piped.stderr).not.toMatch(CONTROL);
    expect(piped.stdout).toMatch(/^pulling app: .*layered:latest$/m);
    expect(piped.stdout).toMatch(/^recreating app, web$/m);
    expect(piped.stdout).not.toContain("Pull complete");
    expect(piped.stdout).not.toMatch(/Container \S+ +Started/);

    await pushLayered(repo, ["2.1.0", "latest"]);
    const tty = await onTerminal("update-safe", "--timeout", "60", "--settle", "1", "--skip-data-backup");
    expect(tty.code, tty.stdout).toBe(0);
    expect(tty.stdout).toMatch(/pulling app: .*layered:latest/);
    expect(tty.stdout).toMatch(/recreating app, web/);
    expect(tty.stdout.match(/Pull complete/g)?.length ?? 0).toBeGreaterThanOrEqual(LAYERS);
    expect(tty.stdout).toMatch(/Container \S+-app-1\s+Started/); // Compose's own progress
    expect(tty.stdout).toMatch(/updated and healthy: app, web/);
  });

  it("rollback-to --dry-run checks that the tag exists, in the history or the registry", async () => {
    const known = await dv("rollback-to", "--service", "app", "--tag", "1.0.0", "--dry-run");
    expect(known.code, known.stderr).toBe(0);
    const registryOnly = await dv("rollback-to", "--service", "app", "--tag", "1.3.0", "--dry-run");
    expect(registryOnly.code, registryOnly.stderr).toBe(0);
    expect(registryOnly.stdout).toMatch(/app: .* → 1\.3\.0 \([0-9a-f]{12}\)/);
    const missing = await dv("rollback-to", "--service", "app", "--tag", "9.9.9", "--dry-run");
    expect(missing.code).not.toBe(0);
    expect(missing.stderr.trim().split("\n")).toHaveLength(1);
    expect(missing.stderr).toMatch(/9\.9\.9/);
  });

  it("answers Docker's completion protocol: commands, flags per command, services, history tags", async () => {
    const exe = path.join(plugin.dockerConfig, "cli-plugins", "docker-versions");
    const complete = async (...words: string[]) => {
      const r = await must(exe, ["__complete", "versions", ...words], { cwd: fx.dir, env: plugin.env });
      const lines = r.stdout.trim().split("\n");
      expect(lines.at(-1)).toMatch(/^:\d+$/);
      return lines.slice(0, -1);
    };
    expect(await complete("rollback-s")).toEqual(["rollback-service"]);
    expect(await complete("rollback-service", "--")).toEqual(["--apply", "--dry-run", "--json", "--service"]);
    expect(await complete("check-updates", "--p")).toEqual(["--prereleases"]);
    expect(await complete("rollback-to", "--service", "")).toEqual(["app", "web"]);
    const tags = await complete("rollback-to", "--service", "app", "--tag", "");
    expect(tags).toEqual(expect.arrayContaining(["1.0.0", "1.1.0", "2.1.0"]));
    expect(await complete("-f", path.join(fx.dir, "compose.yaml"), "restart", "--service", "w")).toEqual([
      "web",
    ]);

    // Through the docker CLI itself, where it hands plugins their words (Docker 23+).
    if (DOCKER_DELEGATES) {
      const viaDocker = await must("docker", ["__complete", "versions", "rollback-service", "--"], {
        cwd: fx.dir,
        env: plugin.env,
      });
      expect(viaDocker.stdout.split("\n").filter((l) => l.startsWith("--"))).toEqual([
        "--apply",
        "--dry-run",
        "--json",
        "--service",
      ]);
    }
  });

  /** An interactive shell in tmux, in the project, set up by `setup`; returns a typing helper. */
  async function shellIn(session: string, shell: readonly string[], setup: readonly string[]) {
    const env = [
      `PATH=${process.env.PATH}`,
      `HOME=${plugin.dockerConfig}`,
      `DOCKER_CONFIG=${plugin.dockerConfig}`,
      "TERM=xterm",
      "PS1=$ ",
      "NO_COLOR=1",
    ];
    await must("tmux", [
      "-L",
      tmuxSocket,
      "new-session",
      "-d",
      "-s",
      session,
      "-x",
      "200",
      "-y",
      "50",
      "-c",
      fx.dir,
      "env",
      "-i",
      ...env,
      ...shell,
    ]);
    const pane = async () =>
      (await must("tmux", ["-L", tmuxSocket, "capture-pane", "-p", "-t", session])).stdout;
    const keys = (...k: string[]) => must("tmux", ["-L", tmuxSocket, "send-keys", "-t", session, ...k]);
    for (const line of [...setup, "echo READY"]) await keys(line, "Enter");
    await until("the shell", pane, (p) => /^READY$/m.test(p));
    /**
     * Types `line`, presses Tab `tabs` times, and waits for `expected` on the screen.
     */
    return async (line: string, expected: RegExp, tabs: number) => {
      await keys("C-u", "clear", "Enter");
      await until("a clear screen", pane, (p) => !/READY/.test(p) && !p.includes("docker versions"));
      await keys(line, ...Array.from({ length: tabs }, () => "Tab"));
      return until(`completion of '${line}'`, pane, (p) => expected.test(p));
    };
  }

  /**
   * The same three completions in any shell. `list` is how many Tabs show the candidates when
   * more than one fits and none is typed: readline lists on the second Tab; zsh and fish on the
   * first (a second would pick one). `afterPrefix`: the same when the first Tab adds a prefix.
   */
  const completes = async (
    session: string,
    setup: readonly string[],
    shell: readonly string[] = ["bash", "--norc", "--noprofile", "-i"],
    list = 2,
    afterPrefix = 3,
  ) => {
    const type = await shellIn(session, shell, setup);
    await type(
      "docker versions rollback-service --s",
      /^\$ docker versions rollback-service --service\s*$/m,
      1,
    );
    // Two services: listed, and the line stays as typed.
    const listed = await type("docker versions rollback-service --service ", /^app\s+web\s*$/m, list);
    expect(listed).toMatch(/^\$ docker versions rollback-service --service\s*$/m);
    // "roll" becomes "rollback" on the first Tab; then what starts with it is listed (bash: two
    // more Tabs, zsh: one, fish lists at once).
    await type("docker versions roll", /^rollback\s+rollback-service\s+rollback-to\s*$/m, afterPrefix);
  };

  it.skipIf(!onPath("zsh"))("completes in an interactive zsh with our script", async () => {
    await completes(
      "zsh",
      ['PS1="$ "', "autoload -U compinit && compinit -u", "source <(docker versions completion zsh)"],
      ["zsh", "-f"],
      1,
      2,
    );
  });

  it.skipIf(!onPath("fish"))("completes in an interactive fish with our script", async () => {
    await completes(
      "fish",
      ["function fish_prompt; echo -n '$ '; end", "docker versions completion fish | source"],
      ["fish", "--no-config"],
      1,
      1,
    );
  });

  it("completes in an interactive bash with our script, no bash-completion", async () => {
    await completes("ours", ["source <(docker versions completion bash)"]);
  });

  it("completes in an interactive bash with Debian's bash-completion and our script", async () => {
    await completes("ours-bc", [
      "source /usr/share/bash-completion/bash_completion",
      "source <(docker versions completion bash)",
    ]);
  });

  it.skipIf(!DOCKER_DELEGATES)(
    "completes in an interactive bash with bash-completion and `docker completion bash` (Docker 23+)",
    async () => {
      await completes("docker-v2", [
        "source /usr/share/bash-completion/bash_completion",
        "source <(docker completion bash)",
      ]);
    },
  );

  // Debian's script for docker (docker.io) calls a plugin's __completeNoDesc itself, without its
  // name: the way Docker 20.10 users complete plugins.
  it.skipIf(!existsSync(DEBIAN_DOCKER_COMPLETION))(
    "completes in an interactive bash with bash-completion and Debian's script for docker",
    async () => {
      await completes("docker-debian", [
        "source /usr/share/bash-completion/bash_completion",
        `source ${DEBIAN_DOCKER_COMPLETION}`,
      ]);
    },
  );

  it("reports with --format: a template per row, json as --json, table as the default", async () => {
    const lines = await dv("version", "--format", "{{.Service}}={{.Tag}} {{.Drift}}");
    expect(lines.code, lines.stderr).toBe(0);
    expect(lines.stdout).toBe("app=2.1.0 in sync\nweb=2.1.0 in sync\n");
    const history = await dv("history", "--service", "app", "--format", "{{.Tag}}");
    expect(history.stdout.split("\n")[0]).toBe("2.1.0");
    // (status has uptimes, which move between two calls)
    expect((await dv("version", "--format", "json")).stdout).toBe((await dv("version", "--json")).stdout);
    expect((await dv("version", "--format", "table")).stdout).toBe((await dv("version")).stdout);
    const bad = await dv("version", "--format", "{{.Tag | upper}}");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^error: --format: \{\{\.Tag \| upper\}\} is not supported/);
  });

  it("help COMMAND is COMMAND --help, through docker", async () => {
    const a = await dv("help", "rollback-service");
    const b = await dv("rollback-service", "--help");
    expect(a.code).toBe(0);
    expect(a.stdout).toBe(b.stdout);
    expect(a.stdout).not.toContain("--version");
    const bad = await dv("status", "--jsn");
    expect(bad.stderr).toBe("error: unknown flag: --jsn (see 'docker versions status --help')\n");
  });
});
