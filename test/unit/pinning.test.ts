import { describe, expect, it } from "vitest";
import { type ImageInput, type Pin, planPins, type RecordedVersion } from "../../src/core/pinning.js";

const D1 = `sha256:${"1".repeat(64)}`;
const D2 = `sha256:${"2".repeat(64)}`;
const D3 = `sha256:${"3".repeat(64)}`;

type Svc = [service: string, template: string | undefined, repository?: string, extra?: Partial<ImageInput>];
const plan = (svcs: Svc[], recs: Record<string, RecordedVersion>) =>
  planPins(
    svcs.map(([service, template, repository, extra]) => ({
      service,
      template,
      repository,
      active: true,
      ...extra,
    })),
    new Map(Object.entries(recs)),
  );
const env = (p: ReturnType<typeof planPins>) =>
  Object.fromEntries(p.assignments.map((a) => [a.variable, a.value]));
const state = (p: ReturnType<typeof planPins>, s: string) => p.pins.get(s) as Pin;

describe("one service, one variable", () => {
  it.each([
    ["reg/x:${V:-1.2}", "1.3", { V: `1.3@${D1}` }],
    ["reg/x:${V-1.2}", "1.3", { V: `1.3@${D1}` }],
    ["reg/x:${V:?set V}", "1.3", { V: `1.3@${D1}` }],
    ["reg/x:$V", "1.3", { V: `1.3@${D1}` }],
    ["reg/x:${A:-${B:-1.2}}", "1.3", { A: `1.3@${D1}` }],
    ["reg/x:v${V:-1.2}", "v1.3", { V: `1.3@${D1}` }],
    ["${REGISTRY:-reg.example.com}/team/x:${APP_VERSION:-latest}", "1.3", { APP_VERSION: `1.3@${D1}` }],
    ["${IMAGE:-ghcr.io/acme/x}:${TAG:-2024.10.4}", "2024.11.1", { TAG: `2024.11.1@${D1}` }],
    ["${X_IMAGE:-reg/x:1.2}", "1.3", { X_IMAGE: `reg/x:1.3@${D1}` }],
  ])("%s recording %s writes %j", (template, tag, expected) => {
    const p = plan([["x", template, "reg/x"]], { x: { tag, digest: D1 } });
    expect(env(p)).toEqual(expected);
    expect(state(p, "x")).toMatchObject({ state: "pinned", members: ["x"] });
  });

  it.each([
    ["reg/x:1.2", "has no version variable", "reg/x:${X_VERSION:-1.2}"],
    ["reg/x", "has no version variable", "reg/x:${X_VERSION:-latest}"],
    ["reg/x:${V:-1.2}-cpu", "text follows ${V}", "reg/x:${X_VERSION:-${V:-1.2}-cpu}"],
    ["${R:-reg}/x:1.2", "no version variable in its tag", "${R:-reg}/x:${X_VERSION:-1.2}"],
  ])("%s is unpinned (%s) and the edit %s pins it", (template, why, edit) => {
    const p = plan([["x", template, "reg/x"]], { x: { tag: "1.2", digest: D1 } });
    expect(env(p)).toEqual({});
    const pin = state(p, "x");
    expect(pin).toMatchObject({ state: "unpinned", edit });
    expect(pin.state === "unpinned" && pin.reason).toContain(why);
    const after = plan([["x", edit, "reg/x"]], { x: { tag: "1.2", digest: D1 } });
    expect(state(after, "x")).toMatchObject({ state: "pinned", variable: "X_VERSION" });
  });

  it("a tag that does not start with the file's literal lead cannot be written", () => {
    const p = plan([["x", "reg/x:v${V}", "reg/x"]], { x: { tag: "1.3", digest: D1 } });
    expect(state(p, "x")).toMatchObject({ state: "unpinned" });
    expect(env(p)).toEqual({});
  });

  it("a digest in the file is the file's pin: nothing written", () => {
    const p = plan([["r", `redis:7.4@${D3}`, "redis", { digest: D3 }]], { r: { tag: "7.4", digest: D3 } });
    expect(state(p, "r")).toEqual({ state: "file", digest: D3 });
    expect(env(p)).toEqual({});
  });

  it("build-only and untracked services are said apart", () => {
    const p = plan(
      [
        ["b", undefined],
        ["u", "reg/u:${U}", "reg/u"],
      ],
      {},
    );
    expect(state(p, "b")).toEqual({ state: "build" });
    expect(state(p, "u")).toEqual({ state: "untracked" });
    expect(env(p)).toEqual({});
  });
});

describe("shared variables", () => {
  it("services of one repository form a group pinned by one value", () => {
    const p = plan(
      [
        ["server", "auth/server:${AUTH:-1}", "reg/auth/server"],
        ["worker", "auth/server:${AUTH:-1}", "reg/auth/server"],
      ],
      { server: { tag: "2", digest: D1 }, worker: { tag: "2", digest: D1 } },
    );
    expect(env(p)).toEqual({ AUTH: `2@${D1}` });
    expect(state(p, "worker")).toMatchObject({ state: "pinned", members: ["server", "worker"] });
  });

  it("a group whose members record different versions is left alone", () => {
    const p = plan(
      [
        ["server", "auth/server:${AUTH}", "reg/auth/server"],
        ["worker", "auth/server:${AUTH}", "reg/auth/server"],
      ],
      { server: { tag: "2", digest: D1 }, worker: { tag: "1", digest: D2 } },
    );
    expect(env(p)).toEqual({});
    expect(state(p, "server")).toMatchObject({ state: "unpinned", shared: true });
  });

  it("an untracked service with the same text before the variable follows the group", () => {
    const p = plan(
      [
        ["server", "auth/server:${AUTH}", "reg/auth/server"],
        ["extra", "auth/server:${AUTH}", undefined, { active: false }],
      ],
      { server: { tag: "2", digest: D1 } },
    );
    expect(env(p)).toEqual({ AUTH: `2@${D1}` });
  });

  it("two repositories with text after the variable: the clean one is pinned once the other is edited", () => {
    const svcs: Svc[] = [
      ["photos-server", "reg/photos/server:${PHOTOS:-v1.120.0}", "reg/photos/server"],
      ["photos-ml", "reg/photos/ml:${PHOTOS:-v1.120.0}-cpu", "reg/photos/ml"],
    ];
    const recs = {
      "photos-server": { tag: "v1.120.0", digest: D1 },
      "photos-ml": { tag: "v1.120.0-cpu", digest: D2 },
    };
    const p = plan(svcs, recs);
    // Writing PHOTOS=v1.120.0@D1 would make ml `…:v1.120.0@D1-cpu`: nothing is written.
    expect(env(p)).toEqual({});
    expect(state(p, "photos-server")).toMatchObject({ state: "unpinned", shared: true });
    const ml = state(p, "photos-ml");
    expect(ml).toMatchObject({
      state: "unpinned",
      shared: false,
      edit: "reg/photos/ml:${PHOTOS_ML_VERSION:-${PHOTOS:-v1.120.0}-cpu}",
    });
    const edited = plan(
      [svcs[0] as Svc, ["photos-ml", (ml as { edit: string }).edit, "reg/photos/ml"]],
      recs,
    );
    expect(env(edited)).toEqual({ PHOTOS: `v1.120.0@${D1}`, PHOTOS_ML_VERSION: `v1.120.0-cpu@${D2}` });
  });

  it("two repositories sharing a clean variable: each gets its own variable by edit", () => {
    const p = plan(
      [
        ["a", "reg/a:${V:-1}", "reg/a"],
        ["b", "reg/b:${V:-1}", "reg/b"],
      ],
      { a: { tag: "1", digest: D1 }, b: { tag: "1", digest: D2 } },
    );
    expect(env(p)).toEqual({});
    expect(state(p, "a")).toMatchObject({ state: "unpinned", edit: "reg/a:${A_VERSION:-${V:-1}}" });
  });

  it("a variable used by an untracked service of another repository is never written", () => {
    const p = plan(
      [
        ["a", "reg/a:${V}", "reg/a"],
        ["other", "reg/other:${V}-x", "reg/other"],
      ],
      { a: { tag: "1", digest: D1 } },
    );
    expect(env(p)).toEqual({});
    expect(state(p, "other")).toEqual({ state: "untracked" });
  });

  it("a whole-image variable merged by several services is one group", () => {
    const p = plan(
      [
        ["web", "${PIPE_IMAGE:-acme/pipeline:2.10.3}", "acme/pipeline"],
        ["worker", "${PIPE_IMAGE:-acme/pipeline:2.10.3}", "acme/pipeline"],
      ],
      { web: { tag: "2.10.4", digest: D1 }, worker: { tag: "2.10.4", digest: D1 } },
    );
    expect(env(p)).toEqual({ PIPE_IMAGE: `acme/pipeline:2.10.4@${D1}` });
  });

  it("a shared fallback stays usable: per-service variables over one knob", () => {
    const p = plan(
      [
        ["s", "reg/s:${S_V:-${ALL:-1}}", "reg/s"],
        ["t", "reg/t:${T_V:-${ALL:-1}}", "reg/t"],
      ],
      { s: { tag: "2", digest: D1 }, t: { tag: "3", digest: D2 } },
    );
    expect(env(p)).toEqual({ S_V: `2@${D1}`, T_V: `3@${D2}` });
  });
});
