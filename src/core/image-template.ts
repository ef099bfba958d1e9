// The image reference template: an `image:` value as written, before Compose interpolates it.
// Parsed into literal text and variable expressions (Compose's `$V`, `${V}`, `${V:-d}`, `${V-d}`,
// `${V:?e}`, `${V?e}`, `${V:+a}`, `${V+a}`, nested defaults, `$$`), so that we know which part
// of the reference each variable decides. Pure code.

export type Operator = "" | "-" | ":-" | "?" | ":?" | "+" | ":+";

export type Part =
  | { kind: "text"; text: string; raw: string }
  | { kind: "var"; name: string; op: Operator; arg: Part[]; raw: string };

export class TemplateError extends Error {}

const NAME = /[A-Za-z_][A-Za-z0-9_]*/y;
const OPERATORS: Operator[] = [":-", ":?", ":+", "-", "?", "+"];

/** Parses a template; throws TemplateError where Compose's interpolation would fail too. */
export function parseTemplate(input: string): Part[] {
  const [parts, end] = parseParts(input, 0, false);
  if (end !== input.length) throw new TemplateError(`unexpected '}' at ${end + 1} in '${input}'`);
  return parts;
}

// A recursive-descent parser of Compose's interpolation grammar; its cases belong together.
function parseParts(s: string, start: number, inBraces: boolean): [Part[], number] {
  const parts: Part[] = [];
  let text = "";
  let raw = "";
  const flush = () => {
    if (raw) parts.push({ kind: "text", text, raw });
    text = "";
    raw = "";
  };
  let i = start;
  while (i < s.length) {
    const c = s[i] as string;
    if (inBraces && c === "}") break;
    if (c !== "$") {
      text += c;
      raw += c;
      i++;
      continue;
    }
    const next = s[i + 1];
    if (next === "$") {
      text += "$";
      raw += "$$";
      i += 2;
      continue;
    }
    if (next === "{") {
      NAME.lastIndex = i + 2;
      const m = NAME.exec(s);
      if (!m) throw new TemplateError(`invalid interpolation at ${i + 1} in '${s}'`);
      let j = i + 2 + m[0].length;
      let op: Operator = "";
      let arg: Part[] = [];
      if (s[j] !== "}") {
        const found = OPERATORS.find((o) => s.startsWith(o, j));
        if (!found) throw new TemplateError(`invalid interpolation at ${i + 1} in '${s}'`);
        op = found;
        [arg, j] = parseParts(s, j + found.length, true);
      }
      if (s[j] !== "}") throw new TemplateError(`missing '}' in '${s}'`);
      flush();
      parts.push({ kind: "var", name: m[0], op, arg, raw: s.slice(i, j + 1) });
      i = j + 1;
      continue;
    }
    NAME.lastIndex = i + 1;
    const m = NAME.exec(s);
    if (m) {
      flush();
      parts.push({ kind: "var", name: m[0], op: "", arg: [], raw: `$${m[0]}` });
      i += 1 + m[0].length;
      continue;
    }
    // A lone `$` stays text, as Compose leaves it.
    text += "$";
    raw += "$";
    i++;
  }
  flush();
  return [parts, i];
}

/** Index of the last top-level variable, or -1. */
export function lastVariableIndex(parts: readonly Part[]): number {
  for (let i = parts.length - 1; i >= 0; i--) if (parts[i]?.kind === "var") return i;
  return -1;
}

export function renderTemplate(parts: readonly Part[]): string {
  return parts.map((p) => p.raw).join("");
}

export interface Occurrence {
  name: string;
  /** Index among the top-level parts, or -1 when nested inside another variable's argument. */
  index: number;
}

/**
 * The variables whose value can reach the interpolated result, given the variables that will be
 * set (`set`): a set variable's default is never used; an unset one's default may be.
 */
export function effectiveVariables(parts: readonly Part[], set: ReadonlySet<string>): Occurrence[] {
  const out: Occurrence[] = [];
  const walk = (ps: readonly Part[], top: boolean) => {
    ps.forEach((p, index) => {
      if (p.kind !== "var") return;
      const isSet = set.has(p.name);
      const alternative = p.op === "+" || p.op === ":+";
      // `${V:+a}` yields `a`, not V's value; everything else yields V's value when V is set.
      if (!(isSet && alternative)) out.push({ name: p.name, index: top ? index : -1 });
      const argUsed = p.op === "-" || p.op === ":-" ? !isSet : !!alternative; /* `?` args are messages */
      if (argUsed) walk(p.arg, false);
    });
  };
  walk(parts, true);
  return out;
}

/** Where a variable that ends the template sits in the reference it completes. */
export type Position =
  /** The whole reference: `${APP_IMAGE:-acme/app:1.0}`. */
  | { kind: "image" }
  /** The tag, after literal text `lead` that follows the tag's `:` (`v` in `repo:v${V}`). */
  | { kind: "tag"; lead: string }
  /** The digest, right after a literal `@`. */
  | { kind: "digest" }
  | { kind: "none"; why: string };

/** The position of the top-level variable at `index` when it is the template's last part. */
export function positionOf(parts: readonly Part[], index: number): Position {
  const p = parts[index];
  if (p?.kind !== "var") return { kind: "none", why: "not a variable" };
  if (index !== parts.length - 1) {
    const after = renderTemplate(parts.slice(index + 1));
    return { kind: "none", why: `text follows \${${p.name}} ('${after}')` };
  }
  if (p.op === "+" || p.op === ":+")
    return { kind: "none", why: `\${${p.name}${p.op}…} does not yield its value` };
  if (index === 0) return { kind: "image" };
  const before = parts[index - 1];
  if (before?.kind !== "text")
    return { kind: "none", why: `\${${p.name}} directly follows another variable` };
  const tail = before.text;
  if (tail.endsWith("@")) return { kind: "digest" };
  const colon = tail.lastIndexOf(":");
  if (colon >= 0 && !/[/@]/.test(tail.slice(colon))) return { kind: "tag", lead: tail.slice(colon + 1) };
  return { kind: "none", why: `\${${p.name}} is not the tag` };
}

/**
 * Where the tag begins in the template: the part index and offset just after the tag's `:`,
 * or the end of the template when it names no tag (implicitly `latest`); null when a variable
 * may hide the separator (`${REPO}${TAG}`, `${IMAGE}`).
 */
export function tagStart(
  parts: readonly Part[],
): { index: number; offset: number; implicit: boolean } | null {
  for (let i = parts.length - 1; i >= 0; i--) {
    const p = parts[i] as Part;
    if (p.kind !== "text") continue;
    const slashOrAt = Math.max(p.text.lastIndexOf("/"), p.text.lastIndexOf("@"));
    const colon = p.text.lastIndexOf(":");
    if (p.text.includes("@")) return null; // a digest in the file: not ours to move
    if (colon > slashOrAt) {
      // The raw text may hold `$$`; map the offset in text to the offset in raw.
      return { index: i, offset: rawOffset(p.raw, colon + 1), implicit: false };
    }
    if (slashOrAt >= 0) {
      // A `/` after every `:`: the reference has no tag, unless a later variable adds one.
      const later = parts.slice(i + 1);
      return later.length === 0 ? { index: i, offset: p.raw.length, implicit: true } : null;
    }
  }
  return null;
}

function hasRequired(parts: readonly Part[]): boolean {
  return parts.some((p) => p.kind === "var" && (p.op === "?" || p.op === ":?" || hasRequired(p.arg)));
}

function rawOffset(raw: string, textOffset: number): number {
  let t = 0;
  let r = 0;
  while (t < textOffset && r < raw.length) {
    r += raw.startsWith("$$", r) ? 2 : 1;
    t++;
  }
  return r;
}

/**
 * The template with its whole tag governed by `variable` (defaulting to what decided it
 * before), so existing knobs keep working: `repo:${V:-1}-cpu` → `repo:${NEW:-${V:-1}-cpu}`,
 * `repo:1.0` → `repo:${NEW:-1.0}`, `repo` → `repo:${NEW:-latest}`. Null when the template
 * cannot be edited that way (the tag may come from a variable that also holds the repository).
 */
export function governTag(parts: readonly Part[], variable: string): string | null {
  const at = tagStart(parts);
  if (!at) return null;
  const head = parts
    .slice(0, at.index)
    .map((p) => p.raw)
    .join("");
  const split = parts[at.index] as Part;
  const before = head + split.raw.slice(0, at.offset);
  const rest = split.raw.slice(at.offset) + renderTemplate(parts.slice(at.index + 1));
  if (at.implicit) return `${before}:\${${variable}:-latest}`;
  if (rest === "") return null;
  // Compose evaluates a default even when the variable is set, so a wrapped `${V:?…}` would
  // still fail whenever V is unset: such a tag cannot get a fallback this way.
  if (hasRequired(parts.slice(at.index + 1))) return null;
  // A lone variable with a `:-` default: its default moves inside, the old name stays the fallback.
  return `${before}\${${variable}:-${rest}}`;
}
