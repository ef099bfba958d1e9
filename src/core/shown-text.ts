// Text from files, registries and the command line, made safe to show: control characters
// escaped (a service name cannot move the cursor or add a line), URLs without their userinfo
// (a password typed into a URL never reaches a terminal, a log or the journal), long values
// clipped. Every place that shows such text goes through here. Pure code.

// C0 controls, DEL and C1 controls; also the bidi overrides that reorder what a reader sees.
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;
const NAMED: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t", "\u001b": "\\e" };

/** `text` with every control character written as an escape (`\n`, `\e`, `\u0007`). */
export function printable(text: string): string {
  return text.replace(
    CONTROL,
    (c) => NAMED[c] ?? `\\u${(c.codePointAt(0) ?? 0).toString(16).padStart(4, "0")}`,
  );
}

// scheme://userinfo@ — the userinfo is everything up to the last @ before the host's end.
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@]*(?:@[^\s/?#@]*)*@/gi;

/** `text` with the userinfo (user:password@) removed from every URL in it. */
export function withoutUserinfo(text: string): string {
  return text.replace(URL_USERINFO, "$1");
}

/** At most `max` characters, the cut marked with an ellipsis and the length. */
export function clipped(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length} characters)`;
}

/** The one treatment for any outside text in a message: no secrets, no controls, bounded. */
export function shown(text: string, max = 2000): string {
  return clipped(printable(withoutUserinfo(text)), max);
}
