import { describe, expect, it } from "vitest";
import { previousVersion, recordDeployment } from "../../src/core/history.js";
import { ManifestError, parseManifest, renderManifest, type ServiceRecord } from "../../src/core/manifest.js";

const D1 = `sha256:${"1".repeat(64)}`;
const D2 = `sha256:${"2".repeat(64)}`;
const D3 = `sha256:${"3".repeat(64)}`;

describe("parseManifest", () => {
  it("reads a Makefile-era manifest as it is", () => {
    const m = parseManifest(
      `services:\n  req_router:\n    current_tag: latest\n    image_digest: '${D1}'\n    history:\n      - tag: '1.63'\n        deployed_at: '2026-01-12T12:20:31'\n`,
    );
    expect(m.schema).toBe(1);
    expect(m.services.req_router).toMatchObject({ current_tag: "latest", image_digest: D1, custom: false });
    expect(m.services.req_router?.history[0]).toEqual({
      tag: "1.63",
      digest: undefined,
      at: "2026-01-12T12:20:31",
      source: "",
    });
  });

  it("reads numbers that YAML took for floats as tags", () => {
    expect(parseManifest("services:\n  a:\n    current_tag: 1.64\n").services.a?.current_tag).toBe("1.64");
  });

  it.each([
    ["services: [\n", /not valid YAML/, 2],
    ["- 1\n", /expected a mapping/, 1],
    ["schema: 9\nservices: {}\n", /unsupported schema/, 1],
    ["services:\n  a:\n    current_tag: 'bad tag'\n", /current_tag 'bad tag' is not a valid tag/, 3],
    ["services:\n  a:\n    current_tag: x\n    image_digest: nope\n", /not a digest/, 4],
    ["services:\n  a:\n    current_tag: x\n    history: {}\n", /history must be a list/, 4],
    ["services:\n  'a b':\n    current_tag: x\n", /'a b' is not a Compose service name/, 2],
    ["services:\n  a: x\n", /service 'a' must be a mapping/, 2],
    ["services:\n  a:\n    - x\n", /service 'a' must be a mapping/, 2],
    [
      'services:\n  a:\n    current_tag: x\n    last_updated: "a\\nb"\n',
      /last_updated 'a\\nb' is not one line/,
      4,
    ],
    [
      "services:\n  a:\n    image: nginx:1\n    current_tag: x\n",
      /image 'nginx:1' is not an image repository/,
      3,
    ],
    ["services:\n  a:\n    current_tag: x\n    role: web\n", /role 'web' is not 'database' or 'app'/, 4],
    ["services:\n  a:\n    current_tag: x\n    custom: maybe\n", /custom 'maybe' is not true or false/, 4],
    ["services:\n  a:\n    current_tag: x\n    updated_by: [a]\n", /updated_by must be text/, 4],
    [
      'services:\n  a:\n    current_tag: x\n    updated_at: "a\\nb"\n',
      /updated_at 'a\\nb' is not one line/,
      4,
    ],
    [
      "services:\n  a:\n    current_tag: x\n    history:\n      - text\n",
      /history entry 1 must be a mapping/,
      5,
    ],
    [
      "services:\n  a:\n    current_tag: x\n    history:\n      - at: y\n",
      /history entry 1 has no valid tag/,
      5,
    ],
    [
      "services:\n  a:\n    current_tag: x\n    history:\n      - tag: x\n        image_digest: nope\n",
      /history entry 1 digest is not a digest/,
      5,
    ],
    [
      "services:\n  a:\n    current_tag: x\n    history:\n      - tag: x\n      - tag: y\n        source: [a]\n",
      /history entry 2 has a field that is not one line of text/,
      6,
    ],
    [
      "services:\n  a:\n    current_tag: x\n    history:\n      - tag: x\n        deployed_at: {b: c}\n",
      /history entry 1 has a field that is not one line of text/,
      5,
    ],
  ])("rejects %j", (text, message, line) => {
    try {
      parseManifest(text);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ManifestError);
      expect((e as ManifestError).message).toMatch(message);
      expect((e as ManifestError).line).toBe(line);
    }
  });
});

describe("renderManifest", () => {
  const rec: ServiceRecord = {
    image: "reg/a",
    current_tag: "1.64",
    image_digest: D1,
    custom: false,
    updated_at: "t",
    updated_by: "pull",
    history: [{ tag: "1.64", digest: D1, at: "t", source: "pull" }],
  };

  it("round-trips with a stable key order", () => {
    const text = renderManifest({ schema: 1, services: { b: rec, a: rec } });
    expect(parseManifest(text).services).toEqual({ a: rec, b: rec });
    expect(text.indexOf("  a:")).toBeLessThan(text.indexOf("  b:"));
    expect(text).toMatch(/^#/);
    expect(renderManifest(parseManifest(text), text)).toBe(text);
  });

  it("keeps a human's comments and unknown keys when editing in place", () => {
    const before = `# ops: pinned for customer X\nservices:\n  a: # the router\n    current_tag: '1.63'\n    note: keep me\n`;
    const m = parseManifest(before);
    m.services.a = recordDeployment(m.services.a, {
      tag: "1.64",
      digest: D2,
      at: "now",
      source: "version-pull",
    });
    const after = renderManifest(m, before);
    expect(after).toContain("# ops: pinned for customer X");
    expect(after).toContain("# the router");
    expect(after).toContain("note: keep me");
    expect(after).toMatch(/^schema: 1$/m);
    expect(parseManifest(after).services.a?.current_tag).toBe("1.64");
  });
});

describe("data_backup_command", () => {
  it("is read as a list of strings, rendered back, and rejected in other shapes", () => {
    const m = parseManifest("data_backup_command: [pg_dumpall, -f, /backup/all.sql]\nservices: {}\n");
    expect(m.data_backup_command).toEqual(["pg_dumpall", "-f", "/backup/all.sql"]);
    expect(parseManifest(renderManifest(m)).data_backup_command).toEqual(m.data_backup_command);
    expect(() => parseManifest("data_backup_command: pg_dumpall -f x\nservices: {}\n")).toThrow(
      /list of strings/,
    );
  });
});

describe("history", () => {
  const at = (i: number) => `2026-01-0${i}T00:00:00Z`;
  it("keeps the newest five, newest first, and skips a redeploy of what is current", () => {
    let r: ServiceRecord | undefined;
    for (let i = 1; i <= 7; i++)
      r = recordDeployment(r, {
        tag: `1.${60 + i}`,
        digest: `sha256:${String(i).repeat(64)}`,
        at: at(i),
        source: "pull-latest",
      });
    expect(r?.history.map((e) => e.tag)).toEqual(["1.67", "1.66", "1.65", "1.64", "1.63"]);
    const again = recordDeployment(r, {
      tag: "1.67",
      digest: `sha256:${"7".repeat(64)}`,
      at: at(8),
      source: "pull-latest",
    });
    expect(again).toBe(r);
  });

  it("finds the previous version by digest, not by tag", () => {
    let r = recordDeployment(undefined, { tag: "1.63", digest: D1, at: at(1), source: "x" });
    r = recordDeployment(r, { tag: "latest", digest: D2, at: at(2), source: "x" });
    r = recordDeployment(r, { tag: "1.64", digest: D2, at: at(3), source: "resolve-tags" });
    expect(previousVersion(r)).toMatchObject({ tag: "1.63", digest: D1 });
    r = recordDeployment(r, { tag: "1.65", digest: D3, at: at(4), source: "x" });
    expect(previousVersion(r)).toMatchObject({ tag: "1.64", digest: D2 });
  });

  it("has no previous version for a single deployment", () => {
    expect(
      previousVersion(recordDeployment(undefined, { tag: "1", digest: D1, at: at(1), source: "x" })),
    ).toBeUndefined();
  });

  it("marks custom tags and clears the mark on a normal update", () => {
    let r = recordDeployment(undefined, { tag: "1.35", digest: D1, at: at(1), source: "x" });
    r = recordDeployment(r, {
      tag: "1.35-hotfix-c1",
      digest: D2,
      at: at(2),
      source: "version-set",
      custom: true,
    });
    expect(r.custom).toBe(true);
    r = recordDeployment(r, { tag: "1.36", digest: D3, at: at(3), source: "pull-latest" });
    expect(r.custom).toBe(false);
  });
});
