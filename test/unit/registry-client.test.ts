import { describe, expect, it } from "vitest";
import { isLoopback, registryBaseUrl, retryDelayMs } from "../../src/adapters/registry/client.js";
import { mapLimit } from "../../src/core/limit.js";

describe("registryBaseUrl", () => {
  it.each([
    ["docker.io", [], "https://registry-1.docker.io/"],
    ["ghcr.io", [], "https://ghcr.io/"],
    ["public.ecr.aws", [], "https://public.ecr.aws/"],
    ["registry.example.com:5000", [], "https://registry.example.com:5000/"],
    ["127.0.0.1:5077", [], "http://127.0.0.1:5077/"],
    ["127.3.4.5", [], "http://127.3.4.5/"],
    ["localhost:5000", [], "http://localhost:5000/"],
    ["[::1]:5000", [], "http://[::1]:5000/"],
    ["registry.lan:5000", ["registry.lan:5000"], "http://registry.lan:5000/"],
    ["registry.lan:5000", ["registry.lan"], "http://registry.lan:5000/"],
    ["registry.lan:5000", ["other.lan:5000"], "https://registry.lan:5000/"],
    ["128.0.0.1:5000", [], "https://128.0.0.1:5000/"],
    ["localhost.example.com", [], "https://localhost.example.com/"],
  ])("%s (insecure %j) → %s", (registry, insecure, url) => {
    expect(registryBaseUrl(registry, insecure).href).toBe(url);
  });
  it.each([
    ["127.0.0.1", true],
    ["[::1]", true],
    ["::1", true],
    ["LOCALHOST:80", true],
    ["127.0.0.1.nip.io", false],
    ["10.0.0.1:5000", false],
  ])("isLoopback(%s) = %s", (registry, expected) => {
    expect(isLoopback(registry)).toBe(expected);
  });
});

describe("retryDelayMs", () => {
  const policy = { retries: 3, maxWaitMs: 10_000, backoffMs: 100 };
  const now = Date.parse("2026-01-01T00:00:00Z");
  it.each([
    [503, null, 0, 100],
    [503, null, 2, 400],
    [502, null, 3, null], // out of retries
    [429, "2", 0, 2000],
    [429, "0", 0, 0],
    [429, "Thu, 01 Jan 2026 00:00:05 GMT", 0, 5000],
    [429, "Wed, 31 Dec 2025 23:59:00 GMT", 0, 0], // a date in the past: retry now
    [429, "60", 0, null], // longer than we are willing to wait: give up and say so
    [429, "soon", 1, 200], // unreadable: plain backoff
    [500, null, 0, 100],
    [504, null, 0, 100],
    [501, null, 0, null],
    [404, null, 0, null],
    [401, null, 0, null],
  ])("%s with Retry-After %j on attempt %s → %s", (status, after, attempt, expected) => {
    expect(retryDelayMs(status, after, attempt, policy, now)).toBe(expected);
  });
});

describe("mapLimit", () => {
  it("keeps input order and never runs more than the limit at once", async () => {
    let running = 0;
    let peak = 0;
    const out = await mapLimit([50, 10, 30, 20, 0, 40], 3, async (ms, i) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, ms));
      running--;
      return i;
    });
    expect(out).toEqual([0, 1, 2, 3, 4, 5]);
    expect(peak).toBe(3);
  });
  it("rejects with the first failure and starts nothing after it", async () => {
    const started: number[] = [];
    const run = mapLimit([1, 2, 3, 4, 5], 1, async (n) => {
      started.push(n);
      if (n === 2) throw new Error("boom");
      return n;
    });
    await expect(run).rejects.toThrow("boom");
    expect(started).toEqual([1, 2]);
  });
  it("handles no items", async () => {
    expect(await mapLimit([], 4, async () => 1)).toEqual([]);
  });
});
