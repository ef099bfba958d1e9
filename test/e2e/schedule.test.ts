// schedule install/status/remove on the real bed: systemd units that `systemd-analyze verify`
// accepts (written to a temporary directory: systemd does not run here), and a crontab entry
// in a throwaway user's crontab (never root's), installed and removed exactly; the scheduled
// command line, run as cron would run it, does the check.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bed, fixtureProject, installPlugin, must, seedNamespace, sh } from "./harness.js";

// Test only: the crontab of this user (root may edit it with crontab -u); it normally has none.
const CRON_USER = "nobody";
const tools = ["systemd-analyze", "crontab"].every(
  (t) => process.env.PATH?.split(":").some((d) => existsSync(path.join(d, t))) ?? false,
);

describe.skipIf(!bed.available || !tools)("schedule", () => {
  const plugin = installPlugin();
  const fx = fixtureProject("tracked");
  const ns = `sch${process.pid}`;
  const units = mkdtempSync(path.join(tmpdir(), "dv-units-"));
  const dv = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    sh("docker", ["versions", ...args], { cwd: fx.dir, env: { ...plugin.env, ...env } });
  const crontab = () => sh("crontab", ["-u", CRON_USER, "-l"]);
  let cronBefore: Awaited<ReturnType<typeof crontab>>;

  beforeAll(async () => {
    cronBefore = await crontab();
    await seedNamespace(ns, ["postgres", "apigateway", "taskservice"], ["1.64", "latest"]);
    await must("sh", ["-c", `echo DV_NS=${ns} >> .env`], { cwd: fx.dir });
    await must("docker", ["compose", "up", "-d"], { cwd: fx.dir });
    expect((await dv(["migrate-versions", "--yes"])).code).toBe(0);
  });
  afterAll(async () => {
    // Whatever happened, the throwaway user's crontab is put back as it was.
    const now = await crontab();
    if (now.stdout !== cronBefore.stdout) {
      if (cronBefore.code === 0) await sh("crontab", ["-u", CRON_USER, "-"], { input: cronBefore.stdout });
      else await sh("crontab", ["-u", CRON_USER, "-r"]);
    }
    rmSync(units, { recursive: true, force: true });
    await fx.cleanup();
    plugin.cleanup();
  });

  it("writes systemd units that systemd-analyze verifies, and removes exactly them", async () => {
    const env = { DOCKER_VERSIONS_SYSTEMD_DIR: units };
    const r = await dv(
      [
        "schedule",
        "install",
        "--scheduler",
        "systemd",
        "--check",
        "daily",
        "--update-safe",
        "Sun 03:00",
        "--notify",
        "ntfy+https://ntfy.example/ops",
      ],
      env,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(
      /^warning: systemd is not running here: once it runs, enable the timers with systemctl enable --now /,
    );
    const slug = fx.project;
    const files = readdirSync(units).sort();
    expect(files).toEqual([
      `docker-versions-${slug}-check.service`,
      `docker-versions-${slug}-check.timer`,
      `docker-versions-${slug}-update.service`,
      `docker-versions-${slug}-update.timer`,
    ]);
    const verify = await sh("systemd-analyze", ["verify", ...files.map((f) => path.join(units, f))]);
    expect(verify.code, verify.stderr).toBe(0);
    // Nothing about our units in its complaints (unknown dependencies like docker.service aside).
    expect(verify.stderr).not.toMatch(/docker-versions-.*(bad|Failed|Unknown|Ignoring)/i);
    expect(readFileSync(path.join(units, files[3] as string), "utf8")).toContain(
      "OnCalendar=Sun *-*-* 03:00:00\n",
    );
    const service = readFileSync(path.join(units, files[0] as string), "utf8");
    expect(service).toContain(`"--notify" "ntfy+https://ntfy.example/ops"`);
    expect(service).toContain(`Environment="DOCKER_CONFIG=${plugin.dockerConfig}"`);
    // Printed: the command line of each job, as one would run it by hand.
    expect(r.stdout).toMatch(
      /^check \(daily\):\n {2}cd .* && DOCKER_CONFIG=\S+ \/\S+\/docker versions --file .* check-updates --notify ntfy\+https:\/\/ntfy\.example\/ops$/m,
    );

    const status = await dv(["schedule", "status"], env);
    expect(status.stdout).toMatch(/^scheduler: systemd \(system units in /m);
    expect(status.stdout).not.toMatch(/problem:/);
    const removed = await dv(["schedule", "remove"], env);
    expect(removed.code, removed.stderr).toBe(0);
    expect(readdirSync(units)).toEqual([]);
    expect(existsSync(path.join(fx.dir, "version-schedule.json"))).toBe(false);
    expect((await dv(["schedule", "status"], env)).stdout).toBe(
      "no schedule is installed for this project\n",
    );
  });

  it("installs a crontab entry, runs as written, and removes exactly it", async () => {
    const env = { DOCKER_VERSIONS_CRONTAB_USER: CRON_USER };
    // A line of the user's own that must survive install and remove.
    await must("crontab", ["-u", CRON_USER, "-"], { input: "# someone else's\n17 4 * * * true\n" });
    const mine = (await crontab()).stdout;
    const r = await dv(
      [
        "schedule",
        "install",
        "--scheduler",
        "cron",
        "--check",
        "Mon..Fri 06:00",
        "--prometheus",
        "checks.prom",
      ],
      env,
    );
    expect(r.code, r.stderr).toBe(0);
    const installed = (await crontab()).stdout;
    expect(installed.startsWith(mine)).toBe(true);
    const block = installed.slice(mine.length);
    expect(block).toMatch(
      /^# BEGIN docker-versions schedule \S+ [0-9a-f]{12}\n# check for new versions, Mon\.\.Fri 06:00\n0 6 \* \* 1,2,3,4,5 cd .*\n# END docker-versions schedule \S+ [0-9a-f]{12}\n$/,
    );
    // The scheduled line, run the way cron runs it (sh -c, % unescaped, a bare environment).
    const line = (block.split("\n")[2] as string).replace(/^(\S+ ){5}/, "").replace(/\\%/g, "%");
    expect(r.stdout).toContain(line);
    const ran = await sh("sh", ["-c", line], { env: { PATH: "/usr/bin:/bin", HOME: "/nonexistent" } });
    expect(ran.code, ran.stderr).toBe(0);
    expect(ran.stdout).toMatch(/^SERVICE\s+CURRENT/m);
    expect(readFileSync(path.join(fx.dir, "checks.prom"), "utf8")).toContain(
      "docker_versions_last_check_timestamp_seconds",
    );

    const status = await dv(["schedule", "status"], env);
    expect(status.stdout).toMatch(/^scheduler: cron \(crontab of nobody\)/m);
    expect(status.stdout).toMatch(/^last check: \d{4}-\d\d-\d\dT/m);
    // Installing again replaces the block instead of adding a second one.
    expect((await dv(["schedule", "install", "--scheduler", "cron", "--check", "hourly"], env)).code).toBe(0);
    expect((await crontab()).stdout.match(/# BEGIN docker-versions/g)).toHaveLength(1);

    expect((await dv(["schedule", "remove"], env)).code).toBe(0);
    expect((await crontab()).stdout).toBe(mine);
    await must("crontab", ["-u", CRON_USER, "-r"]);
  });

  it("refuses a schedule it cannot read, in one line, installing nothing", async () => {
    const r = await dv(["schedule", "install", "--scheduler", "cron", "--check", "Sun 25:00"], {
      DOCKER_VERSIONS_CRONTAB_USER: CRON_USER,
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: 'Sun 25:00' is not a schedule: /);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect((await crontab()).code).not.toBe(0);
  });
});
