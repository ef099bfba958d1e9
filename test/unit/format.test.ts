// --format: the subset of Go templates the reporting commands accept, applied to JSON rows.
import { describe, expect, it } from "vitest";
import { outputFormat, parseTemplate, renderTemplate } from "../../src/commands/format.js";
import { UserError } from "../../src/errors.js";

const rows = [
  {
    service: "api",
    tag: "1.64",
    digest: "sha256:aa",
    custom: false,
    updatedAt: "2026-01-02",
    drift: "in sync",
  },
  { service: "db", tag: "16.4", custom: true, drift: "drift", next: "docker versions restart --service db" },
];
const render = (f: string) => renderTemplate(parseTemplate(f), rows);

describe("--format", () => {
  it.each([
    ["{{.Service}} {{.Tag}}", "api 1.64\ndb 16.4\n"],
    ["{{ .Service }}={{.Tag}}", "api=1.64\ndb=16.4\n"],
    ["{{.service}}", "api\ndb\n"],
    ["{{.UpdatedAt}}|{{.Digest}}", "2026-01-02|sha256:aa\n|\n"],
    ["{{.Custom}}", "false\ntrue\n"],
    ["{{.Service}}\\t{{.Drift}}", "api\tin sync\ndb\tdrift\n"],
    ["{{json .Tag}}", '"1.64"\n"16.4"\n'],
    ["{{json .Next}}", 'null\n"docker versions restart --service db"\n'],
    ["no fields", "no fields\nno fields\n"],
  ])("%s", (format, expected) => {
    expect(render(format)).toBe(expected);
  });

  it("{{.}} and {{json .}} print the whole row", () => {
    expect(renderTemplate(parseTemplate("{{json .}}"), [{ a: 1 }])).toBe('{"a":1}\n');
    expect(renderTemplate(parseTemplate("{{.}}"), [{ a: 1 }])).toBe('{"a":1}\n');
  });

  it("nested fields", () => {
    expect(renderTemplate(parseTemplate("{{.Manifest.Path}}"), [{ manifest: { path: "/x" } }])).toBe("/x\n");
  });

  it("table: a header from the field names and aligned columns", () => {
    expect(render("table {{.Service}}\\t{{.Tag}}\\t{{.UpdatedAt}}")).toBe(
      "SERVICE   TAG    UPDATED_AT\napi       1.64   2026-01-02\ndb        16.4\n",
    );
  });

  it.each([
    ["{{.Service | upper}}"],
    ["{{range .}}x{{end}}"],
    ["{{if .Custom}}c{{end}}"],
    ['{{printf "%s" .Tag}}'],
    ["{{.Service"],
  ])("%s is refused, in one line", (format) => {
    expect(() => parseTemplate(format)).toThrow(UserError);
    expect(() => parseTemplate(format)).toThrow(/^--format: /);
  });

  it("a field no row has is an error naming the fields", () => {
    expect(() => render("{{.Servce}}")).toThrow(
      "--format: no field .Servce (fields: .Service, .Tag, .Digest, .Custom, .UpdatedAt, .Drift)",
    );
  });

  it("json, table, --json and their conflicts", () => {
    expect(outputFormat({})).toEqual({ kind: "table" });
    expect(outputFormat({ format: "table" })).toEqual({ kind: "table" });
    expect(outputFormat({ format: "json" })).toEqual({ kind: "json" });
    expect(outputFormat({ json: true })).toEqual({ kind: "json" });
    expect(outputFormat({ json: true, format: "json" })).toEqual({ kind: "json" });
    expect(() => outputFormat({ json: true, format: "{{.Tag}}" })).toThrow(/--json and --format/);
    expect(outputFormat({ format: "{{.Tag}}" }).kind).toBe("template");
  });
});
