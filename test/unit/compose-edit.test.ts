import { describe, expect, it } from "vitest";
import { findImageSites, replaceImage } from "../../src/core/compose-edit.js";

const file = `# deployment of customer X
x-common: &common
  restart: unless-stopped
  image: acme/pipeline:2.10.3 # shared by the pipeline services

services:
  api:
    <<: *common
    image: reg.example.com:5000/team/api:1.42   # pinned by hand
    ports: ["8080:8080"]
  web:
    image: "nginx"
  worker:
    image: 'reg/worker:2.0'
  pipe:
    <<: *common
  flow: { <<: *common, image: acme/flow:1.0, environment: [A=1] }
  ml:
    image: reg/ml:\${PHOTOS:-v1}-cpu
`;

/** Every byte outside [start, end) of `before` is in `after`, in order, around the new value. */
function onlyBetween(before: string, after: string, start: number, end: number): string {
  expect(after.slice(0, start)).toBe(before.slice(0, start));
  const tail = before.slice(end);
  expect(after.endsWith(tail)).toBe(true);
  return after.slice(start, after.length - tail.length);
}

const edit = (service: string, template: string, value: string) => {
  const [site] = findImageSites([{ file: "c.yaml", text: file }], service, template);
  if (!site) throw new Error(`no site for ${service}`);
  const out = replaceImage(file, site, value);
  if (out === null) throw new Error("refused");
  return { site, written: onlyBetween(file, out, site.start, site.end), out };
};

describe("editing one image: value", () => {
  it.each([
    ["api", "reg.example.com:5000/team/api:1.42", "reg.example.com:5000/team/api:${API_VERSION:-1.42}", true],
    ["web", "nginx", '"nginx:${WEB_VERSION:-latest}"', true],
    ["worker", "reg/worker:2.0", "'reg/worker:${WORKER_VERSION:-2.0}'", true],
    ["ml", "reg/ml:${PHOTOS:-v1}-cpu", "reg/ml:${ML_VERSION:-${PHOTOS:-v1}-cpu}", true],
  ])("%s keeps its quoting and every other byte", (service, template, expected, direct) => {
    const value = expected.replace(/^["']|["']$/g, "");
    const { site, written } = edit(service, template, value);
    expect(site.direct).toBe(direct);
    expect(written).toBe(expected);
  });

  it("a flow mapping gets a quoted value, so its braces stay its own", () => {
    const { site, written, out } = edit("flow", "acme/flow:1.0", "acme/flow:${FLOW_VERSION:-1.0}");
    expect(site.flow).toBe(true);
    expect(written).toBe("'acme/flow:${FLOW_VERSION:-1.0}'");
    expect(out).toContain(
      "flow: { <<: *common, image: 'acme/flow:${FLOW_VERSION:-1.0}', environment: [A=1] }",
    );
  });

  it("a service that merges an anchor is edited in the anchor", () => {
    const { site, out } = edit("pipe", "acme/pipeline:2.10.3", "acme/pipeline:${PIPELINE_VERSION:-2.10.3}");
    expect(site.direct).toBe(false);
    expect(out).toContain(
      "  image: acme/pipeline:${PIPELINE_VERSION:-2.10.3} # shared by the pipeline services\n",
    );
  });

  it("the service's own line wins over an anchor with the same value, and the last file wins", () => {
    const override = "services:\n  api:\n    image: reg.example.com:5000/team/api:1.42\n";
    const sites = findImageSites(
      [
        { file: "c.yaml", text: file },
        { file: "o.yaml", text: override },
      ],
      "api",
      "reg.example.com:5000/team/api:1.42",
    );
    expect(sites[0]).toMatchObject({ file: "o.yaml", direct: true });
  });

  it("an extended service's line is found in its own file", () => {
    const base = "services:\n  base:\n    image: acme/base:3.1\n";
    const [site] = findImageSites([{ file: "base.yaml", text: base }], "child", "acme/base:3.1");
    expect(site).toMatchObject({ file: "base.yaml", direct: false });
  });

  it("a value that plain YAML would misread is refused rather than written", () => {
    const [site] = findImageSites(
      [{ file: "c.yaml", text: file }],
      "api",
      "reg.example.com:5000/team/api:1.42",
    );
    expect(replaceImage(file, site as never, "a: b")).toBeNull();
  });
});
