// What the commands share: the common flags, and how a change to the record is shown (one line
// per service, old → new, the backup taken, warnings, and what to run next).
import type { Argv } from "yargs";
import { shortDigest } from "../core/reference.js";
import type { LifecycleIO } from "../lifecycle.js";
import { json, type Out, paint, warn } from "../render.js";
import type { ChangeReport, VersionRef, Versions } from "../service.js";

/** A yes/no flag, off unless given. */
export const switchFlag = (describe: string) => ({ type: "boolean", default: false, describe }) as const;
/** A flag that takes one value. */
const valueFlag = (describe: string) => ({ type: "string", requiresArg: true, describe }) as const;

export const dryRunOption = switchFlag("Show what would change and change nothing");
export const jsonOption = switchFlag("Print JSON for scripts");
export const serviceOption = valueFlag("Service name as in the compose file");
export const tagOption = valueFlag("Image tag");
export const applyOption = switchFlag(
  "Also run the new versions: recreate the changed containers (with --stack, deploy the stack)",
);

/** The flags of every command that changes versions: --apply, --dry-run, --json. */
export function changeFlags<T>(y: Argv<T>, apply = applyOption.describe) {
  return y
    .option("apply", { ...applyOption, describe: apply })
    .option("dry-run", dryRunOption)
    .option("json", jsonOption);
}

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
    writePlan(out, report.plan);
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

/** A dry run's plan: the steps a run would take, in order, as the executor runs them. */
export function writePlan(out: Out, plan: readonly string[] | undefined): void {
  if (!plan?.length) return;
  out.write(`plan:\n${plan.map((line) => `  ${line}\n`).join("")}`);
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
  ...valueFlag(
    "Send what is new to a webhook (repeatable): slack+https://…, discord+https://…, ntfy+https://…, json+https://…; a plain URL's host picks the channel (hooks.slack.com, discord.com, ntfy.sh; else JSON)",
  ),
  array: true,
  nargs: 1,
} as const;

export const notifyCommandOption = {
  ...valueFlag("Run PROGRAM [ARG…] with the notification's JSON on stdin (no shell; put it last)"),
  array: true,
} as const;

export const prometheusOption = valueFlag("Write node_exporter textfile metrics to FILE (atomically)");

export function notifyOptions(y: Argv): Argv {
  return y.option("notify", notifyOption).option("notify-command", notifyCommandOption);
}
