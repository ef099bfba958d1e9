// Hostile or unlucky input in the record and around it: every manifest field checked against
// its grammar, scalars read as typed and written so YAML 1.1 and 1.2 readers agree, versions.env
// refusing anything but a plain reference, names that are JavaScript built-ins, alias bounds,
// and text made safe to show (control characters, URL credentials).

import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { readCapped } from "../../src/adapters/registry/body.js";
import { parseComposeText } from "../../src/core/compose-yaml.js";
import { checkEnvAssignment, renderEnv } from "../../src/core/env.js";
import { healthRequest } from "../../src/core/health-url.js";
import {
  ManifestError,
  needsQuotes,
  parseManifest,
  renderManifest,
  type ServiceRecord,
} from "../../src/core/manifest.js";
import { byName, has } from "../../src/core/names.js";
import { printable, shown, withoutUserinfo } from "../../src/core/shown-text.js";
import { safeOutput } from "../../src/render.js";

const D = `sha256:${"a".repeat(64)}`;
const svc = (fields: string) => `schema: 1\nservices:\n  a:\n    current_tag: "1.0"\n${fields}`;
const manifestError = (text: string): ManifestError => {
  try {
    parseManifest(text);
  } catch (e) {
    if (e instanceof ManifestError) return e;
    throw e;
  }
  throw new Error("expected a ManifestError");
};

describe("every field is checked when the manifest is read", () => {
  it.each([
    [
      "an image with a newline",
      svc('    image: "reg/a\\nCOMPOSE_PROJECT_NAME=x"\n'),
      /image .* is not an image repository/,
    ],
    ["an image with a command", svc('    image: "reg/a$(id)"\n'), /image/],
    ["an image with a tag", svc("    image: reg/a:1.0\n"), /image 'reg\/a:1.0' is not an image repository/],
    [
      "a floating_tag with a newline",
      svc('    floating_tag: "latest\\nX=1"\n'),
      /floating_tag .* is not a valid tag/,
    ],
    ["a tag with a space", 'services:\n  a:\n    current_tag: "1.0 x"\n', /current_tag/],
    [
      "a digest that is not one",
      svc("    image_digest: sha256:xyz\n"),
      /image_digest 'sha256:xyz' is not a digest/,
    ],
    [
      "a service name with a newline",
      'services:\n  "a\\nb":\n    current_tag: x\n',
      /'a\\nb' is not a Compose service name/,
    ],
    [
      "a service name with ESC",
      'services:\n  "a\\e[31m":\n    current_tag: x\n',
      /'a\\u001b\[31m' is not a Compose service name/,
    ],
    ["a health_url that is not http", svc("    health_url: file:///etc/passwd\n"), /health_url/],
    ["updated_by over two lines", svc('    updated_by: "x\\ny"\n'), /updated_by .* is not one line of text/],
    ["custom that is not a boolean", svc("    custom: maybe\n"), /custom 'maybe' is not true or false/],
    [
      "a history entry's source with ESC",
      svc('    history:\n      - tag: "1.0"\n        source: "\\e[2J"\n'),
      /history entry 1/,
    ],
    ["a mapping as a tag", svc("    floating_tag: {a: 1}\n"), /floating_tag must be text/],
    [
      "a data_backup_command with NUL",
      'data_backup_command: ["a\\0b"]\nservices: {}\n',
      /data_backup_command/,
    ],
  ])("%s is the corrupt-manifest error", (_, text, message) => {
    expect(manifestError(text).message).toMatch(message);
  });

  it("an alias bomb stops as a corrupt manifest, not an exhausted heap", () => {
    const levels = ["a: &a [x, x, x, x, x, x, x, x, x, x]"];
    for (let i = 1; i < 9; i++)
      levels.push(
        `${"abcdefghi"[i]}: &${"abcdefghi"[i]} [${Array(10)
          .fill(`*${"abcdefghi"[i - 1]}`)
          .join(", ")}]`,
      );
    const bomb = `${levels.join("\n")}\nservices: {}\n`;
    expect(manifestError(bomb).message).toMatch(/alias/);
  });

  it("aliases within the bound are read (a manifest may use anchors)", () => {
    const text = 'services:\n  a: &svc\n    current_tag: "1.0"\n  b: *svc\n';
    expect(parseManifest(text).services.b?.current_tag).toBe("1.0");
  });
});

describe("scalars are read as the text that was typed", () => {
  it.each([
    ["1.10", "1.10"],
    ["2024-11-20", "2024-11-20"],
    ["1e3", "1e3"],
    ["0x1F", "0x1F"],
    ["010", "010"],
    ["yes", "yes"],
    ["'null'", "null"],
    ['"1.10"', "1.10"],
  ])("current_tag: %s is the tag %j", (typed, tag) => {
    expect(parseManifest(`services:\n  a:\n    current_tag: ${typed}\n`).services.a?.current_tag).toBe(tag);
  });

  it("service names that look like numbers or booleans stay those names", () => {
    const m = parseManifest("services:\n  1.10: {current_tag: x}\n  yes: {current_tag: y}\n");
    expect(Object.keys(m.services).sort()).toEqual(["1.10", "yes"]);
  });
});

describe("written values read back the same in YAML 1.1 and 1.2", () => {
  const tricky = [
    "1.10",
    "2024-11-20",
    "1e3",
    "yes",
    "on",
    "n",
    "0755",
    "1_000",
    "0o17",
    "null",
    "true",
    "0b101",
    "NO",
    "Off",
    "1.0",
  ];
  const rec = (tag: string): ServiceRecord => ({
    current_tag: tag,
    image_digest: D,
    floating_tag: tag,
    custom: false,
    updated_at: "2026-01-02T03:04:05Z",
    updated_by: "pull-latest",
    history: [{ tag, digest: D, at: "2026-01-02T03:04:05Z", source: "pull-latest" }],
  });

  it.each(tricky)("%s", (tag) => {
    const text = renderManifest({ schema: 1, services: { [tag]: rec(tag) } });
    for (const version of ["1.1", "1.2"] as const) {
      const read = parse(text, { version }) as {
        schema: unknown;
        services: Record<string, Record<string, unknown>>;
      };
      expect(read.schema).toBe(1);
      const s = read.services[tag] as Record<string, unknown>;
      expect([s.current_tag, s.floating_tag, s.updated_at]).toEqual([tag, tag, "2026-01-02T03:04:05Z"]);
      expect((s.history as Record<string, unknown>[])[0]?.tag).toBe(tag);
    }
    expect(parseManifest(text).services[tag]).toEqual(rec(tag));
  });

  it("a hand-typed ambiguous tag is quoted on the next write; plain text stays plain", () => {
    const before = "schema: 1\nservices:\n  a:\n    current_tag: 1.10 # pinned\n    floating_tag: stable\n";
    const after = renderManifest(parseManifest(before), before);
    expect(after).toBe(
      'schema: 1\nservices:\n  a:\n    current_tag: "1.10" # pinned\n    floating_tag: stable\n',
    );
    expect(needsQuotes("1.2.3")).toBe(false);
    expect(needsQuotes("latest")).toBe(false);
  });
});

describe("versions.env holds plain references only", () => {
  it.each([
    ["tag", "1.64"],
    ["tag@digest", `1.64@${D}`],
    ["repository:tag@digest", `127.0.0.1:5077/team/app:1.64@${D}`],
    ["hub image", "nginx:1.27-alpine"],
  ])("accepts %s", (_, value) => {
    expect(() => checkEnvAssignment({ service: "a", variable: "A_VERSION", value })).not.toThrow();
  });

  it.each([
    ["a newline adding a variable", "1.0\nCOMPOSE_PROJECT_NAME=evil"],
    ["a command substitution", "$(id)"],
    ["an interpolation", "$" + "{HOME}"],
    ["a quote", "1.0'"],
    ["a space", "1.0 x"],
    ["a bad digest", "1.0@sha256:zz"],
    ["an empty value", ""],
  ])("refuses %s", (_, value) => {
    expect(() => renderEnv([{ service: "a", variable: "A_VERSION", value }])).toThrow(
      /is not a plain image reference; versions.env was not written/,
    );
  });

  it("refuses a variable name that is not one", () => {
    expect(() => checkEnvAssignment({ service: "a", variable: "A\nB", value: "1.0" })).toThrow();
  });
});

describe("names that are JavaScript built-ins", () => {
  const names = ["constructor", "__proto__", "toString", "hasOwnProperty", "valueOf"];
  it.each(names)("%s is a service like any other in the manifest, both ways", (name) => {
    const m = parseManifest(`services:\n  ${name}:\n    current_tag: "1.0"\n`);
    expect(Object.keys(m.services)).toEqual([name]);
    expect(has(m.services, name)).toBe(true);
    expect(has(m.services, name === "toString" ? "constructor" : "toString")).toBe(false);
    const again = parseManifest(renderManifest(m));
    expect(again.services[name]?.current_tag).toBe("1.0");
  });

  it("a copy keeps __proto__ as an entry, not as a prototype", () => {
    const copy = byName<number>();
    for (const [i, name] of ["__proto__", "constructor"].entries()) copy[name] = i + 1;
    expect(Object.keys(copy).sort()).toEqual(["__proto__", "constructor"]);
    expect(has(byName(copy), "__proto__")).toBe(true);
  });
});

describe("compose files", () => {
  it("100 services merging one anchor read as Compose reads them", () => {
    const services = Array.from(
      { length: 100 },
      (_, i) => `  s${i}:\n    <<: *defaults\n    image: reg/s${i}:\${S${i}:-latest}`,
    );
    const text = `x-defaults: &defaults\n  restart: always\n  labels: {a: b}\nservices:\n${services.join("\n")}\n`;
    const data = parseComposeText(text, "compose.yaml") as {
      services: Record<string, Record<string, unknown>>;
    };
    expect(Object.keys(data.services)).toHaveLength(100);
    expect(data.services.s99).toMatchObject({ restart: "always", image: `reg/s99:$\{S99:-latest}` });
  });

  it("an alias bomb is still one line", () => {
    const levels = ["a: &a [x, x, x, x, x, x, x, x, x, x]"];
    for (let i = 1; i < 9; i++)
      levels.push(
        `${"abcdefghi"[i]}: &${"abcdefghi"[i]} [${Array(10)
          .fill(`*${"abcdefghi"[i - 1]}`)
          .join(", ")}]`,
      );
    expect(() => parseComposeText(`${levels.join("\n")}\n`, "compose.yaml")).toThrow(
      /^compose.yaml cannot be read: [^\n]+$/,
    );
  });
});

describe("text made safe to show", () => {
  it("escapes control characters, keeping our colour codes and line breaks in output", () => {
    expect(printable("a\u001b[31mred\r\nb\u0007")).toBe("a\\e[31mred\\r\\nb\\u0007");
    expect(safeOutput("\u001b[32mok\u001b[0m name\u001b]0;title\u0007\n")).toBe(
      "\u001b[32mok\u001b[0m name\\e]0;title\\u0007\n",
    );
    // The audit log's columns are tabs: they pass, as line breaks do.
    expect(safeOutput("2026-01-01T00:00:00Z\troot@h\tversion-pull\tapi: 1 → 2\n")).toBe(
      "2026-01-01T00:00:00Z\troot@h\tversion-pull\tapi: 1 → 2\n",
    );
  });

  it("removes userinfo from every URL in a text", () => {
    expect(withoutUserinfo("GET http://user:p%40ss@host:8080/health and https://a:b@c/d failed")).toBe(
      "GET http://host:8080/health and https://c/d failed",
    );
    expect(withoutUserinfo("user@host is not a URL")).toBe("user@host is not a URL");
    expect(shown(`x${"y".repeat(3000)}`).length).toBeLessThan(2100);
  });

  it("a health_url with credentials is requested with Basic auth, the URL without them", () => {
    const r = healthRequest("http://user:p%40ss@127.0.0.1:8080/health");
    expect(r.url).toBe("http://127.0.0.1:8080/health");
    expect(r.headers.authorization).toBe(`Basic ${Buffer.from("user:p@ss").toString("base64")}`);
    expect(healthRequest("https://h/x").headers).toEqual({});
  });
});

describe("registry bodies are read up to a cap", () => {
  it("stops reading an endless body at the cap and says so", async () => {
    let sent = 0;
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        sent += 65536;
        controller.enqueue(new Uint8Array(65536));
      },
    });
    expect(await readCapped(new Response(endless), 1024 * 1024)).toBeNull();
    expect(sent).toBeLessThan(4 * 1024 * 1024);
  });

  it("refuses a declared length over the cap without reading", async () => {
    const res = new Response("x", { headers: { "content-length": String(2 ** 31) } });
    expect(await readCapped(res, 1024)).toBeNull();
    expect((await readCapped(new Response("small"), 1024))?.toString()).toBe("small");
  });
});
