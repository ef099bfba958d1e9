// The Swarm decisions as tables: where a deployed service stands (converged, pending, rolled
// back, paused), which tasks run which digest, and the environment stack deploy is given.
import { describe, expect, it } from "vitest";
import {
  convergence,
  parseDotenv,
  replicaSummary,
  type StackService,
  type StackTask,
  specRepository,
  specVersion,
  stackEnvironment,
} from "../../src/core/swarm.js";

const OLD = `sha256:${"a".repeat(64)}`;
const NEW = `sha256:${"b".repeat(64)}`;
const img = (digest: string, tag = "1.0") => `reg:5000/team/web:${tag}@${digest}`;

const svc = (over: Partial<StackService> = {}): StackService => ({
  service: "web",
  name: "shop_web",
  id: "s1",
  image: img(NEW, "1.1"),
  desired: 2,
  failureAction: "rollback",
  ...over,
});
const task = (digest: string, state = "running", serviceId = "s1"): StackTask => ({
  id: `${digest.slice(7, 10)}${Math.random()}`,
  serviceId,
  image: img(digest),
  state,
  nodeId: "n1",
});

describe("specVersion / specRepository", () => {
  it.each([
    ["reg:5000/team/web:1.2@sha256:abc", { tag: "1.2", digest: "sha256:abc" }, "reg:5000/team/web"],
    ["reg:5000/team/web@sha256:abc", { tag: undefined, digest: "sha256:abc" }, "reg:5000/team/web"],
    ["reg:5000/web", { tag: undefined, digest: undefined }, "reg:5000/web"],
    ["redis:7", { tag: "7", digest: undefined }, "redis"],
  ])("%s", (image, version, repository) => {
    expect(specVersion(image)).toEqual(version);
    expect(specRepository(image)).toBe(repository);
  });
});

describe("convergence after a deploy to NEW", () => {
  const cases: [string, StackService, StackTask[], string][] = [
    [
      "every task on the new digest, updater done",
      svc({ updateState: "completed" }),
      [task(NEW), task(NEW)],
      "converged",
    ],
    ["a first deploy has no update status", svc(), [task(NEW), task(NEW)], "converged"],
    ["a global service: every task it wants", svc({ desired: null }), [task(NEW)], "converged"],
    ["still updating (monitor window)", svc({ updateState: "updating" }), [task(NEW), task(NEW)], "pending"],
    [
      "a stale completed from the last update, old tasks",
      svc({ updateState: "completed" }),
      [task(OLD), task(OLD)],
      "pending",
    ],
    ["one task replaced, one to go", svc({ updateState: "completed" }), [task(NEW), task(OLD)], "pending"],
    ["a new task still starting (health)", svc(), [task(NEW), task(NEW, "starting")], "pending"],
    ["another service's tasks do not count", svc(), [task(NEW), task(NEW, "running", "s2")], "pending"],
    ["rolling back", svc({ updateState: "rollback_started", image: img(OLD) }), [task(OLD)], "pending"],
    [
      "Swarm rolled it back",
      svc({ updateState: "rollback_completed", image: img(OLD) }),
      [task(OLD), task(OLD)],
      "rolled-back",
    ],
    [
      "rolled back earlier, now deployed again and running",
      svc({ updateState: "rollback_completed" }),
      [task(NEW), task(NEW)],
      "converged",
    ],
    ["paused (failure_action: pause)", svc({ updateState: "paused" }), [task(OLD), task(NEW)], "failed"],
    ["the rollback paused", svc({ updateState: "rollback_paused", image: img(OLD) }), [task(OLD)], "failed"],
  ];
  it.each(cases)("%s", (_name, service, tasks, state) => {
    expect(convergence(service, tasks, img(NEW, "1.1")).state).toBe(state);
  });

  it("says what Swarm said", () => {
    const c = convergence(
      svc({ updateState: "rollback_completed", updateMessage: "rollback completed", image: img(OLD) }),
      [],
      img(NEW),
    );
    expect(c).toEqual({ state: "rolled-back", detail: "Swarm rolled web back: rollback completed" });
  });
});

describe("replicaSummary", () => {
  it("counts running tasks per digest, most first; tasks not running are not counted", () => {
    const tasks = [task(OLD), task(NEW), task(NEW), task(NEW, "starting"), task(OLD, "running", "s2")];
    expect(replicaSummary(svc({ desired: 3 }), tasks)).toEqual({
      running: 3,
      desired: 3,
      digests: [
        { digest: NEW, tasks: 2 },
        { digest: OLD, tasks: 1 },
      ],
    });
  });
});

describe("stackEnvironment", () => {
  it("env files in order, then the shell, then versions.env last", () => {
    const env = stackEnvironment(
      ["DV_NS=a\nWEB_VERSION=1.0\nREGISTRY=r1\n", "REGISTRY=r2\n"],
      { DV_NS: "shell", PATH: "/bin", WEB_VERSION: "9.9" },
      `# generated\nWEB_VERSION=1.1@${NEW}\n`,
    );
    expect(env).toMatchObject({ DV_NS: "shell", REGISTRY: "r2", PATH: "/bin", WEB_VERSION: `1.1@${NEW}` });
  });
  it("without versions.env the shell decides", () => {
    expect(stackEnvironment(["A=1\n"], { A: "2" }, null).A).toBe("2");
  });
});

describe("parseDotenv", () => {
  it.each([
    ["A=1", { A: "1" }],
    ["export A=1", { A: "1" }],
    ["A = 1", { A: "1" }],
    ['A="x # y"', { A: "x # y" }],
    ["A='q'", { A: "q" }],
    ["A=1 # note", { A: "1" }],
    ["# comment\n\nB=", { B: "" }],
    ["not a line", {}],
  ])("%j", (text, want) => {
    expect(parseDotenv(text)).toEqual(want);
  });
});
