// judge(observed) as a table: one observation of a service's containers, and the verdict.
import { describe, expect, it } from "vitest";
import { judge, type ObservedContainer, type Verdict } from "../../src/core/readiness.js";

const SETTLE = 3_000;
const info = (o: Partial<NonNullable<ObservedContainer["info"]>> = {}) => ({
  running: true,
  restarting: false,
  health: "",
  exitCode: 0,
  oomKilled: false,
  restartCount: 0,
  ...o,
});
const c = (o: Partial<ObservedContainer> = {}): ObservedContainer => ({
  state: "running",
  health: "",
  exitCode: 0,
  info: info(),
  runningMs: 10_000,
  ...o,
});

describe("judge", () => {
  const cases: [string, ObservedContainer[], Verdict][] = [
    ["no container yet", [], { waiting: "has no container" }],
    ["healthcheck passed", [c({ info: info({ health: "healthy" }) })], { ready: "healthy" }],
    [
      "healthcheck starting",
      [c({ info: info({ health: "starting" }) })],
      { waiting: "is starting (its healthcheck has not passed yet)" },
    ],
    [
      "healthcheck failing",
      [c({ info: info({ health: "unhealthy" }) })],
      { failed: "is unhealthy (its healthcheck fails)" },
    ],
    ["no healthcheck, settled", [c()], { ready: "running" }],
    [
      "no healthcheck, not settled",
      [c({ runningMs: 1_000 })],
      { waiting: "is running but has not settled yet" },
    ],
    [
      "restarting",
      [c({ state: "restarting", info: info({ running: true, restarting: true, restartCount: 4 }) })],
      { waiting: "is restarting (4 restarts)" },
    ],
    [
      "exited 0: a one-shot job completed",
      [c({ state: "exited", info: info({ running: false }) })],
      { ready: "completed" },
    ],
    [
      "exited 1",
      [c({ state: "exited", info: info({ running: false, exitCode: 1 }) })],
      { failed: "exited with code 1" },
    ],
    [
      "killed for memory",
      [c({ state: "exited", info: info({ running: false, exitCode: 137, oomKilled: true }) })],
      { failed: "exited with code 137 (out of memory)" },
    ],
    [
      "created, never started",
      [c({ state: "created", info: info({ running: false, exitCode: 0 }) })],
      { failed: "was created but not started" },
    ],
    [
      "no engine details: Compose's ps decides",
      [c({ info: undefined, health: "healthy" })],
      { ready: "healthy" },
    ],
    [
      "a completed replica and a healthy one: healthy",
      [c({ state: "exited", info: info({ running: false }) }), c({ info: info({ health: "healthy" }) })],
      { ready: "healthy" },
    ],
    [
      "a healthy replica and a starting one: waits",
      [c({ info: info({ health: "healthy" }) }), c({ info: info({ health: "starting" }) })],
      { waiting: "is starting (its healthcheck has not passed yet)" },
    ],
    [
      "a healthy replica and a crashed one: fails",
      [
        c({ info: info({ health: "healthy" }) }),
        c({ state: "exited", info: info({ running: false, exitCode: 2 }) }),
      ],
      { failed: "exited with code 2" },
    ],
  ];
  it.each(cases)("%s", (_name, observed, verdict) => {
    expect(judge(observed, SETTLE)).toEqual(verdict);
  });
});
