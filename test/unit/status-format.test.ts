import { describe, expect, it } from "vitest";
import { duration } from "../../src/commands/status.js";

describe("status uptime", () => {
  it.each([
    [0, "0s"],
    [42.9, "42s"],
    [60, "1m0s"],
    [312, "5m12s"],
    [3600, "1h0m"],
    [11_040, "3h4m"],
    [86_400, "1d0h"],
    [190_800, "2d5h"],
    [-5, "0s"],
  ])("%s s → %s", (seconds, expected) => {
    expect(duration(seconds)).toBe(expected);
  });
});
