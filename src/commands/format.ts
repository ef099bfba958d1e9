// `--format` on the reporting commands, as `docker ps` takes it: `table` (the default, for
// people), `json` (what --json prints), or a template applied to each row of the JSON output.
// The template language is a small, safe subset of Go's: literal text, `{{.Field}}` (nested:
// `{{.Field.Sub}}`, the whole row: `{{.}}`), `{{json .Field}}`, `\t` and `\n`; a `table `
// prefix adds a header and aligns the tab-separated columns. Nothing else is evaluated.
import { usageError } from "../errors.js";
import { table } from "../render.js";

export const formatOption = {
  type: "string",
  requiresArg: true,
  describe: "Output: table (default), json, or a template such as '{{.Service}} {{.Tag}}'",
} as const;

type Part = { text: string } | { path: string[]; json: boolean };

export interface Template {
  parts: Part[];
  /** `table …`: a header of the field names, columns aligned. */
  table: boolean;
}

export type OutputFormat = { kind: "table" } | { kind: "json" } | { kind: "template"; template: Template };

/** Parses a template, refusing any action outside the subset (no functions, no control flow). */
export function parseTemplate(source: string): Template {
  let text = source.replace(/\\t/g, "\t").replace(/\\n/g, "\n");
  const isTable = /^table(\s|$)/.test(text);
  if (isTable) text = text.replace(/^table\s?/, "");
  const parts: Part[] = [];
  let rest = text;
  while (rest.length > 0) {
    const open = rest.indexOf("{{");
    if (open < 0) {
      parts.push({ text: rest });
      break;
    }
    if (open > 0) parts.push({ text: rest.slice(0, open) });
    const close = rest.indexOf("}}", open);
    if (close < 0) throw usageError(`--format: '{{' without '}}' in ${JSON.stringify(source)}`);
    const action = rest.slice(open + 2, close).trim();
    const m = /^(json\s+)?\.((?:[A-Za-z_][\w-]*)(?:\.[A-Za-z_][\w-]*)*)?$/.exec(action);
    if (!m)
      throw usageError(
        `--format: {{${action}}} is not supported (use {{.Field}}, {{.Field.Sub}}, {{.}} or {{json .Field}})`,
      );
    parts.push({ path: m[2] ? m[2].split(".") : [], json: Boolean(m[1]) });
    rest = rest.slice(close + 2);
  }
  return { parts, table: isTable };
}

/** Reads --format and its shorthand --json: both may be given only when they agree. */
export function outputFormat(args: { format?: string; json?: boolean }): OutputFormat {
  const f = args.format?.trim();
  if (args.json && f !== undefined && f !== "json")
    throw usageError(`--json and --format ${f} disagree: give one of them`);
  if (args.json || f === "json") return { kind: "json" };
  if (f === undefined || f === "" || f === "table") return { kind: "table" };
  return { kind: "template", template: parseTemplate(args.format as string) };
}

/** A row's key for a template's field: `Service` → `service`, `UpdatedAt` → `updatedAt`. */
function keyIn(obj: Record<string, unknown>, name: string): string | undefined {
  if (Object.hasOwn(obj, name)) return name;
  const lower = name.toLowerCase();
  return Object.keys(obj).find((k) => k.toLowerCase() === lower);
}

function show(value: unknown, json: boolean): string {
  if (json) return JSON.stringify(value ?? null);
  if (value === undefined || value === null) return "";
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

function lookup(row: unknown, path: readonly string[], rows: readonly unknown[]): unknown {
  let value: unknown = row;
  for (const [i, name] of path.entries()) {
    if (value === null || typeof value !== "object" || Array.isArray(value)) return undefined;
    const key = keyIn(value as Record<string, unknown>, name);
    if (key === undefined) {
      // A field no row has is a typo, not an empty value.
      const known = rows.some((r) => {
        let v: unknown = r;
        for (const n of path.slice(0, i + 1)) {
          if (v === null || typeof v !== "object") return false;
          const k = keyIn(v as Record<string, unknown>, n);
          if (k === undefined) return false;
          v = (v as Record<string, unknown>)[k];
        }
        return true;
      });
      if (!known) {
        const fields = Object.keys(value as object).map((k) => `.${k[0]?.toUpperCase()}${k.slice(1)}`);
        throw usageError(`--format: no field .${path.join(".")} (fields: ${fields.join(", ")})`);
      }
      return undefined;
    }
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/** The template applied to each row, one line per row. */
export function renderTemplate(t: Template, rows: readonly unknown[]): string {
  const lines = rows.map((row) =>
    t.parts.map((p) => ("text" in p ? p.text : show(lookup(row, p.path, rows), p.json))).join(""),
  );
  if (!t.table) return lines.map((l) => `${l}\n`).join("");
  const header = t.parts
    .map((p) =>
      "text" in p ? p.text : (p.path.at(-1) ?? "").replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase(),
    )
    .join("");
  const cells = (l: string) => l.split("\t");
  const [head, ...body] = [header, ...lines].map(cells);
  return table(head ?? [], body);
}
