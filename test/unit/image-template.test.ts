import { describe, expect, it } from "vitest";
import {
  effectiveVariables,
  governTag,
  lastVariableIndex,
  parseTemplate,
  positionOf,
  renderTemplate,
  TemplateError,
} from "../../src/core/image-template.js";

describe("parseTemplate", () => {
  it.each([
    "reg/x:${X_VERSION:-latest}",
    "reg/x:${X-1.2}",
    "reg/x:${X:?set X}",
    "reg/x:$X",
    "reg/x:${A:-${B:-1.2}}",
    "reg/ml:${ML:-${V:-v1.120.0}-cpu}",
    "${IMAGE:-ghcr.io/acme/server}:${TAG:-2024.10.4}",
    "acme/$$literal:1",
    "acme/x:1$",
    "redis:7.4@sha256:abc",
  ])("renders %s back byte for byte", (raw) => {
    expect(renderTemplate(parseTemplate(raw))).toBe(raw);
  });

  it("reads nested defaults as one variable whose default holds another", () => {
    const parts = parseTemplate("r/x:${A:-${B:-1.2}}");
    expect(parts).toMatchObject([
      { kind: "text", text: "r/x:" },
      {
        kind: "var",
        name: "A",
        op: ":-",
        arg: [{ kind: "var", name: "B", op: ":-", arg: [{ text: "1.2" }] }],
      },
    ]);
  });

  it.each(["r/x:${A", "r/x:${}", "r/x:${A!b}"])("refuses %s", (raw) => {
    expect(() => parseTemplate(raw)).toThrow(TemplateError);
  });
});

describe("effectiveVariables", () => {
  const names = (raw: string, set: string[]) =>
    effectiveVariables(parseTemplate(raw), new Set(set)).map((o) => `${o.name}@${o.index}`);
  it.each([
    ["r/x:${A:-${B:-1}}", [], ["A@1", "B@-1"]],
    ["r/x:${A:-${B:-1}}", ["A"], ["A@1"]],
    ["r/x:${A-${B}}", ["A"], ["A@1"]],
    ["r/x:${A:?need ${B}}", [], ["A@1"]],
    ["r/x:${A:+${B}}", ["A"], ["B@-1"]],
    ["${R:-reg}/x:${T}", ["T"], ["R@0", "T@2"]],
  ] as const)("%s with %j set", (raw, set, expected) => {
    expect(names(raw, [...set])).toEqual(expected);
  });
});

describe("positionOf the last variable", () => {
  const pos = (raw: string) => {
    const parts = parseTemplate(raw);
    return positionOf(parts, parts.length - 1);
  };
  it.each([
    ["reg/x:${V:-1}", { kind: "tag", lead: "" }],
    ["reg/x:v${V}", { kind: "tag", lead: "v" }],
    ["127.0.0.1:5000/x:${V}", { kind: "tag", lead: "" }],
    ["${REGISTRY:-r.example.com}/team/app:${APP-latest}", { kind: "tag", lead: "" }],
    ["${PIPE_IMAGE:-acme/pipeline:2.10.3}", { kind: "image" }],
    ["reg/x@${D}", { kind: "digest" }],
    ["reg/x:1@${D}", { kind: "digest" }],
  ] as const)("%s", (raw, expected) => {
    expect(pos(raw)).toEqual(expected);
  });
  it.each(["reg/x:${V}-cpu", "reg/${V}", "${REPO}${TAG}", "reg/x:${V:+1.2}", "reg:5000/${V}"])(
    "%s cannot be pinned by its variable",
    (raw) => {
      const parts = parseTemplate(raw);
      const last = lastVariableIndex(parts);
      expect(positionOf(parts, last).kind).toBe("none");
    },
  );
});

describe("governTag", () => {
  it.each([
    ["reg/ml:${V:-v1.120.0}-cpu", "reg/ml:${NEW:-${V:-v1.120.0}-cpu}"],
    ["reg/server:${V:-v1.120.0}", "reg/server:${NEW:-${V:-v1.120.0}}"],
    ["reg/x:1.0", "reg/x:${NEW:-1.0}"],
    ["reg/x", "reg/x:${NEW:-latest}"],
    ["127.0.0.1:5000/team/x", "127.0.0.1:5000/team/x:${NEW:-latest}"],
    ["${REGISTRY:-r.example.com}/team/app:2.1", "${REGISTRY:-r.example.com}/team/app:${NEW:-2.1}"],
    ["${IMAGE:-ghcr.io/acme/server}:2024.10.4", "${IMAGE:-ghcr.io/acme/server}:${NEW:-2024.10.4}"],
    ["reg/x:v${V}", "reg/x:${NEW:-v${V}}"],
    ["reg/x:$${odd}", "reg/x:${NEW:-$${odd}}"],
  ])("%s → %s", (raw, expected) => {
    expect(governTag(parseTemplate(raw), "NEW")).toBe(expected);
  });
  it.each([
    "${IMAGE}",
    "${REPO}${TAG}",
    "redis:7.4@sha256:0123456789abcdef0123456789abcdef",
    "reg/x:${V:?set V}-cpu",
  ])("%s has no such edit", (raw) => {
    expect(governTag(parseTemplate(raw), "NEW")).toBeNull();
  });
});
