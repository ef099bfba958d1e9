import { describe, expect, it } from "vitest";
import {
  dayOf,
  formatCaptured,
  isErrorLine,
  normalTimestamp,
  parseCaptured,
  parseComposeLine,
  parseSince,
  SeenLines,
} from "../../src/core/log-lines.js";

describe("parseComposeLine", () => {
  it.each([
    [
      "\u001b[2Kdb-1  | 2026-11-25T12:26:03.495597875Z ready to accept connections",
      {
        container: "db-1",
        ts: "2026-11-25T12:26:03.495597875Z",
        text: "ready to accept connections",
        notice: false,
      },
    ],
    [
      "api-1  | 2026-11-25T12:26:03.4955Z x | y",
      { container: "api-1", ts: "2026-11-25T12:26:03.495500000Z", text: "x | y", notice: false },
    ],
    [
      "db-1  | 2026-11-25T12:26:03Z",
      { container: "db-1", ts: "2026-11-25T12:26:03.000000000Z", text: "", notice: false },
    ],
    ["db-1  | no timestamp here", { container: "db-1", text: "no timestamp here", notice: false }],
    ["db-1 exited with code 137", { container: "db-1", text: "exited with code 137", notice: true }],
    ["worker-1 has been recreated", { container: "worker-1", text: "has been recreated", notice: true }],
  ])("%j", (raw, expected) => {
    expect(parseComposeLine(raw)).toEqual(expected);
  });

  it("skips blank lines", () => {
    expect(parseComposeLine("\u001b[2K  ")).toBeNull();
  });
});

describe("captured lines", () => {
  const now = "2026-11-25T12:00:00.000000000Z";
  it("round-trip through the file format, timestamp first", () => {
    const line = parseComposeLine("cache-1  | 2026-11-25T12:26:03.495597875Z FATAL: boom") as NonNullable<
      ReturnType<typeof parseComposeLine>
    >;
    const text = formatCaptured(line, now);
    expect(text).toBe("2026-11-25T12:26:03.495597875Z cache-1 | FATAL: boom");
    expect(parseCaptured(text)).toMatchObject({
      ts: "2026-11-25T12:26:03.495597875Z",
      container: "cache-1",
      service: "cache",
      text: "FATAL: boom",
      notice: false,
    });
  });

  it("stamps Compose's notices with the capture's clock", () => {
    const notice = parseComposeLine("db-1 exited with code 137") as NonNullable<
      ReturnType<typeof parseComposeLine>
    >;
    expect(formatCaptured(notice, now)).toBe(`${now} db-1 * exited with code 137`);
    expect(parseCaptured(`${now} db-1 * exited with code 137`)).toMatchObject({
      notice: true,
      service: "db",
    });
  });

  it("knows what a file holds, ignoring notices and noise", () => {
    const seen = SeenLines.fromCaptured(
      [
        "2026-11-25T12:00:01.000000000Z db-1 | a",
        "2026-11-25T12:00:03.000000000Z db-1 | b",
        "2026-11-25T12:00:02.000000000Z cache-1 | c",
        "2026-11-25T12:00:09.000000000Z db-1 * exited with code 0",
        "garbage",
        "2026-11-25T12:00:0",
      ].join("\n"),
    );
    expect(seen.oldest()).toBe("2026-11-25T12:00:02.000000000Z");
    expect(seen.fresh("db-1", "2026-11-25T12:00:03.000000000Z")).toBe(false);
    expect(seen.fresh("cache-1", "2026-11-25T12:00:02.000000000Z")).toBe(false);
    expect(seen.fresh("db-1", "2026-11-25T12:00:09.000000000Z")).toBe(true);
  });
});

describe("SeenLines", () => {
  const at = (s: number) => `2026-11-25T12:00:${String(s).padStart(2, "0")}.000000000Z`;
  it("writes a line once, even when an older one arrives after a newer one", () => {
    const seen = new SeenLines(30_000);
    expect(seen.fresh("db-1", at(10))).toBe(true);
    expect(seen.fresh("db-1", at(12))).toBe(true);
    // A restarted container's first line, delivered late by Compose: new, though older.
    expect(seen.fresh("db-1", at(11))).toBe(true);
    // Following again from earlier repeats all three: none is written twice.
    for (const s of [10, 11, 12]) expect(seen.fresh("db-1", at(s))).toBe(false);
    // Another container's line with the same time is its own.
    expect(seen.fresh("cache-1", at(11))).toBe(true);
  });

  it("takes anything older than its window below the newest line as written", () => {
    const seen = new SeenLines(5_000);
    expect(seen.fresh("db-1", at(30))).toBe(true);
    expect(seen.fresh("db-1", at(20))).toBe(false);
    expect(seen.fresh("db-1", at(26))).toBe(true);
  });
});

describe("normalTimestamp", () => {
  it.each([
    ["2026-01-12T12:29:08Z", "2026-01-12T12:29:08.000000000Z"],
    ["2026-01-12T12:29:08.1Z", "2026-01-12T12:29:08.100000000Z"],
    ["2026-01-12T12:29:08.123456789Z", "2026-01-12T12:29:08.123456789Z"],
    ["2026-01-12T12:29:08+01:00", undefined],
    ["yesterday", undefined],
  ])("%s", (ts, expected) => {
    expect(normalTimestamp(ts)).toBe(expected);
  });

  it("orders as strings the way the times order", () => {
    const a = normalTimestamp("2026-01-12T12:29:08.1234Z") as string;
    const b = normalTimestamp("2026-01-12T12:29:08.12345Z") as string;
    expect(a < b).toBe(true);
  });
});

describe("dayOf", () => {
  it("names the local calendar day", () => {
    expect(dayOf(new Date(2031, 4, 6, 23, 59, 59))).toBe("2031-05-06");
    expect(dayOf(new Date(2031, 4, 7, 0, 0, 1))).toBe("2031-05-07");
  });
});

describe("parseSince", () => {
  const now = new Date("2026-11-25T12:00:00Z");
  it.each([
    ["30m", "2026-11-25T11:30:00.000Z"],
    ["2h", "2026-11-25T10:00:00.000Z"],
    ["1d", "2026-11-24T12:00:00.000Z"],
    ["1h30m", "2026-11-25T10:30:00.000Z"],
    ["90s", "2026-11-25T11:58:30.000Z"],
    ["2026-11-20T08:00:00Z", "2026-11-20T08:00:00.000Z"],
  ])("%s", (text, expected) => {
    expect(parseSince(text, now)?.toISOString()).toBe(expected);
  });

  it.each(["", "soon", "10", "2026-13-45", "-5m"])("rejects %j", (text) => {
    expect(parseSince(text, now)).toBeUndefined();
  });
});

describe("isErrorLine", () => {
  it.each([
    ["FATAL:  the database system is starting up", true],
    ["panic: runtime error: invalid memory address", true],
    ["java.lang.OutOfMemoryError: Java heap space", true],
    ["OOM command not allowed when used memory > 'maxmemory'", true],
    ["ERROR: out of memory", true],
    ["Out of memory: Killed process 1234 (postgres)", true],
    ["could not fork: Cannot allocate memory", true],
    ["server process (PID 12) was terminated by signal 11: Segmentation fault", true],
    ["ERROR:  duplicate key value violates unique constraint", false],
    ["checkpoint complete", false],
    ["the room is ready", false],
  ])("%s → %s", (text, expected) => {
    expect(isErrorLine(text)).toBe(expected);
  });
});
