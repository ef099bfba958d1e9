// The flags of unattended operation, shared by check-updates, update-safe and schedule.
import type { Argv } from "yargs";

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
