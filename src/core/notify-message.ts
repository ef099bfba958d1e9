// What a notification says and how each channel wants it: the news of a check (each service's
// current version → the newest in its line, a major version outside the line apart, the new
// image's OCI labels and a link to its source) or the outcome of update-safe, formatted as a
// generic JSON webhook, a Slack-compatible or Discord webhook, or an ntfy message. Also which
// channel a --notify URL names. Pure code: the HTTP request is the adapter's.
import { printable, withoutUserinfo } from "./shown-text.js";

export type Channel = "json" | "slack" | "discord" | "ntfy";
export const CHANNELS: readonly Channel[] = ["json", "slack", "discord", "ntfy"];

/** The OCI labels a notification shows, from the new image's config. */
export interface ImageLabels {
  version?: string;
  revision?: string;
  source?: string;
  created?: string;
}
export const LABEL_KEYS: Record<keyof ImageLabels, string> = {
  version: "org.opencontainers.image.version",
  revision: "org.opencontainers.image.revision",
  source: "org.opencontainers.image.source",
  created: "org.opencontainers.image.created",
};

export interface ServiceNews {
  service: string;
  repository: string;
  current: string;
  /** The newest version in the service's line (or the tag its moved floating tag now names). */
  newest?: string;
  /** The newest version outside the line (a new major the line does not follow). */
  major?: string;
  /** Labels of the image `newest` names (of `major` when there is no newest). */
  labels: ImageLabels;
  /** The source link, from the labels: only an http(s) URL. */
  link?: string;
  /** What makes this news: one key per version, remembered once announced. */
  keys: string[];
}

export interface UpdatesEvent {
  event: "updates";
  project: string;
  at: string;
  updates: ServiceNews[];
}

export interface OutcomeEvent {
  event: "update-safe";
  project: string;
  at: string;
  outcome: "updated" | "rolled-back" | "failed" | "nothing-to-do" | "outside-window";
  changes: { service: string; from?: string; to: string }[];
  reason?: string;
}

export type NotifyEvent = UpdatesEvent | OutcomeEvent;

/** A --notify destination: the channel, the URL, and how messages may name it (no path, no secrets). */
export interface Target {
  channel: Channel;
  url: string;
  label: string;
}

const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])$/i;

/**
 * Reads `slack+https://…` (channel named), or a plain URL whose host says the channel
 * (hooks.slack.com, discord.com/api/webhooks, ntfy.sh; anything else is the generic JSON
 * webhook). HTTPS only, except on loopback. The error never repeats the URL (it may hold a token).
 */
export function parseTarget(raw: string): Target {
  const named = /^([a-z]+)\+(.*)$/i.exec(raw);
  const channel = named ? (named[1] as string).toLowerCase() : null;
  if (channel !== null && !CHANNELS.includes(channel as Channel))
    throw new Error(`unknown notification channel '${printable(channel)}' (use ${CHANNELS.join(", ")})`);
  let url: URL;
  try {
    url = new URL(named ? (named[2] as string) : raw);
  } catch {
    throw new Error("a --notify value is not a URL (write https://… or slack+https://…)");
  }
  if (url.protocol !== "https:" && !(url.protocol === "http:" && LOOPBACK.test(url.hostname)))
    throw new Error(`notifications to ${url.host} need https:// (plain http:// only on loopback)`);
  const host = url.hostname.toLowerCase();
  const found: Channel =
    (channel as Channel | null) ??
    (host === "hooks.slack.com"
      ? "slack"
      : /(^|\.)discord(app)?\.com$/.test(host) && url.pathname.startsWith("/api/webhooks/")
        ? "discord"
        : host === "ntfy.sh"
          ? "ntfy"
          : "json");
  return { channel: found, url: url.href, label: `${found} (${url.host})` };
}

const clip = (s: string, max: number) => (s.length <= max ? s : `${s.slice(0, max - 1)}…`);

/** A label value fit to show: no controls, no userinfo, bounded. */
export function cleanLabel(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const v = clip(printable(withoutUserinfo(value.trim())), 200);
  return v || undefined;
}

/** The source link a message may carry: an http(s) URL from the source label, nothing else. */
export function sourceLink(labels: ImageLabels): string | undefined {
  if (!labels.source) return undefined;
  try {
    const u = new URL(labels.source);
    if ((u.protocol !== "https:" && u.protocol !== "http:") || u.username || u.password) return undefined;
    return u.href;
  } catch {
    return undefined;
  }
}

/** `taskservice 1.64 → 1.65 (major available: 2.0)`. */
export function newsLine(n: ServiceNews): string {
  if (n.newest)
    return `${n.service} ${n.current} → ${n.newest}${n.major ? ` (major available: ${n.major})` : ""}`;
  return `${n.service} ${n.current}: major available: ${n.major ?? "?"}`;
}

/** `version 1.65, revision 0a1b2c3, created 2026-11-01T00:00:00Z`, from what the image has. */
export function labelLine(l: ImageLabels): string {
  const parts: string[] = [];
  if (l.version) parts.push(`version ${l.version}`);
  if (l.revision) parts.push(`revision ${l.revision}`);
  if (l.created) parts.push(`created ${l.created}`);
  return parts.join(", ");
}

export function title(e: NotifyEvent): string {
  if (e.event === "updates")
    return `${e.project}: ${e.updates.length === 1 ? "a new version" : `new versions for ${e.updates.length} services`}`;
  const what: Record<OutcomeEvent["outcome"], string> = {
    updated: "updated",
    "rolled-back": "update rolled back",
    failed: "update failed",
    "nothing-to-do": "nothing to update",
    "outside-window": "outside the update window",
  };
  return `${e.project}: ${what[e.outcome]}`;
}

/** The plain text of an event, one line per service; `link` renders a source link. */
export function textOf(
  e: NotifyEvent,
  link: (url: string) => string = (u) => u,
  esc = (s: string) => s,
): string {
  const lines: string[] = [];
  if (e.event === "updates") {
    for (const n of e.updates) {
      lines.push(esc(newsLine(n)));
      const labels = labelLine(n.labels);
      const detail = [labels && esc(labels), n.link && `source ${link(n.link)}`].filter(Boolean).join(", ");
      if (detail) lines.push(`  ${detail}`);
    }
  } else {
    for (const c of e.changes) lines.push(esc(`${c.service} ${c.from ?? "(new)"} → ${c.to}`));
    if (e.reason) lines.push(esc(`reason: ${e.reason}`));
  }
  return lines.join("\n");
}

export interface Message {
  contentType: string;
  body: string;
  headers: Record<string, string>;
}

// Slack's mrkdwn reads &, < and > as markup.
const slackEscape = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
// Header values must be ASCII (ntfy's Title, Click).
const ascii = (s: string) => s.replace(/[^\x20-\x7e]/g, "?");

/** The request body and headers of `event` for `channel`. */
export function formatMessage(channel: Channel, e: NotifyEvent): Message {
  const json = (value: unknown): Message => ({
    contentType: "application/json",
    body: JSON.stringify(value),
    headers: {},
  });
  switch (channel) {
    case "json":
      return json({ source: "docker-versions", title: title(e), text: textOf(e), ...e });
    case "slack":
      return json({
        text: clip(
          `*${slackEscape(`docker-versions: ${title(e)}`)}*\n${textOf(e, (u) => `<${u}|${slackEscape(u)}>`, slackEscape)}`,
          3000,
        ),
      });
    case "discord":
      // Mentions in a label or a reason must not ping anyone.
      return json({
        content: clip(`**docker-versions: ${title(e)}**\n${textOf(e, (u) => `<${u}>`)}`, 2000),
        allowed_mentions: { parse: [] },
      });
    case "ntfy": {
      const headers: Record<string, string> = {
        Title: ascii(clip(`docker-versions: ${title(e)}`, 200)),
        Tags: e.event === "updates" ? "package" : e.outcome === "updated" ? "white_check_mark" : "warning",
      };
      if (e.event === "update-safe" && (e.outcome === "rolled-back" || e.outcome === "failed"))
        headers.Priority = "high";
      const link = e.event === "updates" && e.updates.length === 1 ? e.updates[0]?.link : undefined;
      if (link) headers.Click = ascii(link);
      return { contentType: "text/plain; charset=utf-8", body: clip(textOf(e), 4000), headers };
    }
  }
}
