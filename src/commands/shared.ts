// What the commands share: the common flags, and how a change to the record is shown (one line
// per service, old → new, the backup taken, warnings, and what to run next).
import type { Argv } from "yargs";
import { shortDigest } from "../core/reference.js";
import type { LifecycleIO } from "../lifecycle.js";
import { json, type Out, paint, warn } from "../render.js";
import type { ChangeReport, VersionRef, Versions } from "../service.js";

export const dryRunOption = {
  type: "boolean",
  default: false,
  describe: "Show what would change and change nothing",
} as const;
export const jsonOption = { type: "boolean", default: false, describe: "Print JSON for scripts" } as const;
export const serviceOption = {
  type: "string",
  requiresArg: true,
  describe: "Service name as in the compose file",
} as const;
export const applyOption = {
  type: "boolean",
  default: false,
  describe: "Also run the new versions: recreate the changed containers (with --stack, deploy the stack)",
} as const;
export const tagOption = { type: "string", requiresArg: true, describe: "Image tag" } as const;

export const showVersion = (v: VersionRef | undefined): string =>
  v ? `${v.tag}${v.digest ? ` (${shortDigest(v.digest)})` : ""}` : "(untracked)";

export function renderChanges(
  out: Out,
  report: ChangeReport,
  opts: { json?: boolean; nextStep?: string } = {},
): number {
  for (const w of report.warnings) warn(w);
  if (opts.json) {
    out.write(json(report));
    return 0;
  }
  const verb = report.dryRun ? "would change" : "changed";
  if (report.changes.length === 0) {
    out.write(
      report.dryRun ? "nothing would change\n" : "nothing changed: every service already has that version\n",
    );
    return 0;
  }
  for (const c of report.changes) {
    out.write(
      `${c.service}: ${showVersion(c.from)} → ${paint(out, "bold", showVersion(c.to))}${c.resolvedFrom ? paint(out, "dim", ` [${c.resolvedFrom} → ${c.to.tag}]`) : ""}${report.dryRun ? paint(out, "dim", " (dry run)") : ""}\n`,
    );
  }
  if (report.unchanged.length > 0)
    out.write(paint(out, "dim", `unchanged: ${report.unchanged.join(", ")}\n`));
  if (!report.dryRun) {
    if (report.backup) out.write(paint(out, "dim", `manifest backed up to ${report.backup}\n`));
    if (report.applied.length > 0) out.write(`recreated: ${report.applied.join(", ")}\n`);
    else if (opts.nextStep) out.write(`${opts.nextStep}\n`);
  } else {
    out.write(
      paint(
        out,
        "dim",
        `${report.changes.length} service(s) ${verb}; run again without --dry-run to apply\n`,
      ),
    );
  }
  return 0;
}

/** One line per service that is not in sync: its state and what brings it there. */
export function nextSteps(rows: readonly { service: string; drift: string; next?: string }[]): string {
  const lines = rows.filter((r) => r.next).map((r) => `  ${r.service} (${r.drift}): ${r.next}\n`);
  return lines.length > 0 ? `\nNext:\n${lines.join("")}` : "";
}

/** Progress for people: one line per step on stdout; on a terminal Compose draws its own; --quiet: neither. */
export function stepsTo(versions: Versions, out: Out): LifecycleIO {
  return {
    step: (line) => (versions.quiet ? undefined : out.write(`${line}\n`)),
    interactive: versions.drawsProgress,
  };
}

// The flags of unattended operation: check-updates, update-safe, status and schedule.
export const notifyOption = {
  type: "string",
  array: true,
  nargs: 1,
  requiresArg: true,
  describe:
    "Send what is new to a webhook (repeatable): slack+https://…, discord+https://…, ntfy+https://…, json+https://…; a plain URL's host picks the channel (hooks.slack.com, discord.com, ntfy.sh; else JSON)",
} as const;

export const notifyCommandOption = {
  type: "string",
  array: true,
  requiresArg: true,
  describe: "Run PROGRAM [ARG…] with the notification's JSON on stdin (no shell; put it last)",
} as const;

export const prometheusOption = {
  type: "string",
  requiresArg: true,
  describe: "Write node_exporter textfile metrics to FILE (atomically)",
} as const;

export function notifyOptions(y: Argv): Argv {
  return y.option("notify", notifyOption).option("notify-command", notifyCommandOption);
}
