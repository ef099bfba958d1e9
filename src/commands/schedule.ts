// `schedule install|status|remove`: a systemd timer (or a crontab entry) that runs
// check-updates, and optionally update-safe, for this project; the lines it runs are printed.
import { json, paint, warn } from "../render.js";
import type { ScheduleStatus } from "../unattended.js";
import type { Command } from "./command.js";
import { dryRunOption, jsonOption, notifyOption, prometheusOption } from "./shared.js";

type Args = {
  action: "install" | "status" | "remove";
  check: string;
  updateSafe?: string;
  window?: string;
  notify?: string[];
  prometheus?: string;
  scheduler: "auto" | "systemd" | "cron";
  dryRun: boolean;
  json: boolean;
};

function renderStatus(s: ScheduleStatus): string {
  if (!s.installed) return "no schedule is installed for this project\n";
  const i = s.installed;
  const where = i.units
    ? `${i.units.user ? "user" : "system"} units in ${i.units.dir}`
    : `crontab${i.crontab?.user ? ` of ${i.crontab.user}` : ""}`;
  const lines = [`scheduler: ${i.scheduler} (${where}), installed ${i.installed_at}`];
  for (const j of i.jobs) lines.push(`${j.name}: ${j.when}\n  ${j.command}`);
  for (const p of s.problems) lines.push(`problem: ${p}`);
  lines.push(
    `last check: ${s.lastCheck ?? "none recorded (a check records its time when it notifies or writes metrics)"}`,
  );
  if (s.lastUpdate)
    lines.push(
      `last update-safe: ${s.lastUpdate.at} (${s.lastUpdate.outcome}${s.lastUpdate.detail ? `: ${s.lastUpdate.detail}` : ""})`,
    );
  else lines.push("last update-safe: none in the journal");
  return `${lines.join("\n")}\n`;
}

export const schedule: Command<Args> = {
  name: "schedule",
  positionals: "<action>",
  examples: [
    [
      "docker versions schedule install --check daily --notify ntfy+https://ntfy.sh/my-topic",
      "a daily check that notifies",
    ],
    [
      "docker versions schedule install --check 06:00 --update-safe 'Sun 03:00'",
      "check daily, update on Sundays",
    ],
    ["docker versions schedule status", "what is installed, and when it last ran"],
  ],
  describe: "Install, show or remove a scheduled check (and update-safe) for this project",
  builder: (y) =>
    y
      .positional("action", {
        choices: ["install", "status", "remove"],
        describe: "install, status or remove",
      })
      .option("check", {
        type: "string",
        default: "daily",
        requiresArg: true,
        describe:
          "When to run check-updates: hourly, daily, weekly, HH:MM, or weekdays and a time ('Mon..Fri 06:00')",
      })
      .option("update-safe", {
        type: "string",
        requiresArg: true,
        describe: "Also run update-safe at this time (same forms, e.g. 'Sun 03:00')",
      })
      .option("window", {
        type: "string",
        requiresArg: true,
        describe:
          "Pass --window HH:MM-HH:MM to the scheduled update-safe (a late or repeated run then waits)",
      })
      .option("notify", notifyOption)
      .option("prometheus", prometheusOption)
      .option("scheduler", {
        choices: ["auto", "systemd", "cron"],
        default: "auto",
        describe: "systemd timers when systemd runs (auto), else the crontab",
      })
      .option("dry-run", dryRunOption)
      .option("json", jsonOption),
  async run(args, versions, out) {
    const u = versions.unattended();
    if (args.action === "status") {
      const s = await u.scheduleStatus();
      out.write(args.json ? json(s) : renderStatus(s));
      return 0;
    }
    if (args.action === "remove") {
      const r = await u.removeSchedule();
      if (args.json) out.write(json(r));
      else for (const n of r.notes) out.write(`${n}\n`);
      return 0;
    }
    const r = await u.installSchedule({
      check: args.check,
      updateSafe: args.updateSafe,
      window: args.window,
      notify: args.notify,
      prometheus: args.prometheus,
      scheduler: args.scheduler,
      dryRun: args.dryRun,
    });
    if (args.json) {
      out.write(json(r));
      return 0;
    }
    for (const j of r.installed.jobs) out.write(`${j.name} (${j.when}):\n  ${j.command}\n`);
    for (const n of r.notes)
      (n.startsWith("systemd is not running") ? warn : (l: string) => out.write(`${l}\n`))(n);
    out.write(
      r.dryRun
        ? "dry run: nothing was installed\n"
        : paint(
            out,
            "green",
            `installed with ${r.installed.scheduler}; 'docker versions schedule remove' removes it\n`,
          ),
    );
    return 0;
  },
};
