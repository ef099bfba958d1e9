// The pure rules of unattended operation, as tables: update windows (with a clock passed in),
// schedule times for systemd and cron, the crontab block, notification channels and messages,
// announce-once, prune decisions and the metrics text.
import { describe, expect, it } from "vitest";
import { type CheckedService, newsOf, remember, unannounced, withLabels } from "../../src/core/announced.js";
import { checkMetrics, labelValue, statusMetrics } from "../../src/core/metrics.js";
import { formatMessage, newsLine, parseTarget, type UpdatesEvent } from "../../src/core/notify-message.js";
import { planPrune } from "../../src/core/prune-plan.js";
import {
  blockIn,
  checkSchedulable,
  commandLine,
  cronFields,
  crontabBlock,
  onCalendar,
  parseWhen,
  type ScheduleSpec,
  shellWord,
  unitFiles,
  withBlock,
  withoutBlock,
} from "../../src/core/schedule.js";
import { inWindow, minutesUntil, parseWindow, windowState } from "../../src/core/window.js";

const at = (h: number, m: number) => new Date(2026, 10, 29, h, m); // local time

describe("update window", () => {
  it.each([
    ["02:00-05:00", 1, 59, false],
    ["02:00-05:00", 2, 0, true],
    ["02:00-05:00", 4, 59, true],
    ["02:00-05:00", 5, 0, false],
    ["02:00-05:00", 14, 0, false],
    // across midnight
    ["22:00-04:00", 21, 59, false],
    ["22:00-04:00", 22, 0, true],
    ["22:00-04:00", 23, 59, true],
    ["22:00-04:00", 0, 0, true],
    ["22:00-04:00", 3, 59, true],
    ["22:00-04:00", 4, 0, false],
    ["22:00-04:00", 12, 0, false],
    ["23:30-00:30", 0, 15, true],
    ["23:30-00:30", 0, 30, false],
    ["0:00-1:00", 0, 0, true],
  ] as const)("%s at %i:%i → %s", (w, h, m, inside) => {
    expect(inWindow(parseWindow(w), at(h, m))).toBe(inside);
  });

  it("says how long until it opens, across midnight too", () => {
    expect(minutesUntil(parseWindow("02:00-05:00"), at(23, 0))).toBe(180);
    expect(minutesUntil(parseWindow("02:00-05:00"), at(5, 0))).toBe(21 * 60);
    expect(minutesUntil(parseWindow("22:00-04:00"), at(23, 0))).toBe(0);
  });

  it("says where the clock is, and when a closed window opens", () => {
    expect(windowState(parseWindow("2:00-5:00"), at(23, 5))).toEqual({
      open: false,
      note: "outside the update window 02:00-05:00 (local time 23:05; it opens in 2h55m): nothing was changed",
    });
    expect(windowState(parseWindow("22:00-04:00"), at(1, 0)).note).toBe(
      "inside the update window 22:00-04:00 (local time 01:00)",
    );
  });

  it.each([
    "",
    "02:00",
    "2-5",
    "02:00-05:60",
    "24:00-01:00",
    "02:00-02:00",
    "02:00-05:00-06:00",
    "a:00-b:00",
  ])("refuses %j", (w) => {
    expect(() => parseWindow(w)).toThrow(/update window/);
  });
});

describe("schedule times", () => {
  it.each([
    ["hourly", "*-*-* *:00:00", "0 * * * *"],
    ["daily", "*-*-* 00:00:00", "0 0 * * *"],
    ["weekly", "Mon *-*-* 00:00:00", "0 0 * * 1"],
    ["06:30", "*-*-* 06:30:00", "30 6 * * *"],
    ["Sun 03:00", "Sun *-*-* 03:00:00", "0 3 * * 0"],
    ["sunday 3:05", "Sun *-*-* 03:05:00", "5 3 * * 0"],
    ["Mon,Thu 02:30", "Mon,Thu *-*-* 02:30:00", "30 2 * * 1,4"],
    ["Mon..Fri 06:00", "Mon,Tue,Wed,Thu,Fri *-*-* 06:00:00", "0 6 * * 1,2,3,4,5"],
    ["Fri-Mon 23:59", "Sun,Mon,Fri,Sat *-*-* 23:59:00", "59 23 * * 0,1,5,6"],
    ["Mon..Sun 01:00", "*-*-* 01:00:00", "0 1 * * *"],
  ])("%s → %s | %s", (text, calendar, cron) => {
    const w = parseWhen(text);
    expect(onCalendar(w)).toBe(calendar);
    expect(cronFields(w)).toBe(cron);
  });

  it.each(["", "Sun", "25:00", "Sun 3", "Funday 03:00", "daily 03:00", "Sun 03:00:00"])("refuses %j", (t) => {
    expect(() => parseWhen(t)).toThrow(/not a schedule/);
  });
});

const spec = (over: Partial<ScheduleSpec> = {}): ScheduleSpec => ({
  slug: "shop",
  project: "shop",
  cwd: "/srv/shop app",
  env: { DOCKER_CONFIG: "/root/.docker" },
  jobs: [
    {
      name: "check",
      when: parseWhen("daily"),
      argv: ["/usr/bin/docker", "versions", "check-updates", "--notify", "https://h.example/x?a=1&b=%41"],
      describe: "check for new versions",
    },
    {
      name: "update",
      when: parseWhen("Sun 03:00"),
      argv: ["/usr/bin/docker", "versions", "update-safe"],
      describe: "update-safe",
    },
  ],
  ...over,
});

describe("scheduled command lines", () => {
  it.each([
    ["plain", "plain"],
    ["/a/b-c_d.e:f@g,h=i+j%k", "/a/b-c_d.e:f@g,h=i+j%k"],
    ["two words", "'two words'"],
    ["it's", `'it'\\''s'`],
    ["$(rm -rf /)", "'$(rm -rf /)'"],
    ["a;b", "'a;b'"],
    ["", "''"],
  ])("shell word %j → %s", (w, q) => expect(shellWord(w)).toBe(q));

  it("cd's to the project and passes the environment to docker only", () => {
    expect(
      commandLine("/srv/shop app", ["docker", "versions", "check-updates"], { DOCKER_CONFIG: "/c d" }),
    ).toBe("cd '/srv/shop app' && DOCKER_CONFIG='/c d' docker versions check-updates");
  });

  it("writes a service and a timer per job, quoting for systemd", () => {
    const files = unitFiles(spec());
    expect([...files.keys()]).toEqual([
      "docker-versions-shop-check.service",
      "docker-versions-shop-check.timer",
      "docker-versions-shop-update.service",
      "docker-versions-shop-update.timer",
    ]);
    const service = files.get("docker-versions-shop-check.service") as string;
    expect(service).toContain("WorkingDirectory=/srv/shop app\n");
    expect(service).toContain('Environment="DOCKER_CONFIG=/root/.docker"\n');
    // % is a specifier for systemd: doubled.
    expect(service).toContain('"--notify" "https://h.example/x?a=1&b=%%41"');
    // Only Exec lines expand $VAR: doubled there, literal in Environment=.
    const odd = unitFiles(
      spec({
        env: { K: "a$b" },
        jobs: [{ ...spec().jobs[1], argv: ["/bin/docker", "$HOME", 'say "hi"\\'] } as never],
      }),
    ).get("docker-versions-shop-update.service") as string;
    expect(odd).toContain('Environment="K=a$b"\n');
    expect(odd).toContain('ExecStart="/bin/docker" "$$HOME" "say \\"hi\\"\\\\"\n');
    expect(files.get("docker-versions-shop-update.timer")).toContain(
      "OnCalendar=Sun *-*-* 03:00:00\nPersistent=true\n",
    );
  });

  it("puts the crontab lines between markers and removes exactly them", () => {
    const block = crontabBlock(spec(), "shop abc");
    expect(block.split("\n")[0]).toBe("# BEGIN docker-versions schedule shop abc");
    // cron turns % into a newline: escaped.
    expect(block).toContain(
      "0 0 * * * cd '/srv/shop app' && DOCKER_CONFIG=/root/.docker /usr/bin/docker versions check-updates --notify 'https://h.example/x?a=1&b=\\%41'\n",
    );
    expect(block).toContain("0 3 * * 0 cd '/srv/shop app'");
    for (const before of ["", "MAILTO=ops\n0 1 * * * backup\n", "# no newline at the end"]) {
      const after = withBlock(before, "shop abc", block);
      expect(blockIn(after, "shop abc")).toBe(block);
      const removed = withoutBlock(after, "shop abc");
      expect(removed.found).toBe(true);
      expect(removed.text).toBe(before === "" || before.endsWith("\n") ? before : `${before}\n`);
      // Installing again replaces the block, never duplicates it.
      expect(withBlock(after, "shop abc", block)).toBe(after);
      // Another project's block is left alone.
      const two = withBlock(after, "other 123", crontabBlock(spec({ project: "other" }), "other 123"));
      expect(withoutBlock(two, "shop abc").text).toBe(
        withoutBlock(after, "shop abc").text + crontabBlock(spec({ project: "other" }), "other 123"),
      );
    }
  });

  it("refuses words a crontab line or a unit file cannot hold", () => {
    expect(() => checkSchedulable(spec({ cwd: "/srv/a\nb" }))).toThrow(/control character/);
    expect(() => checkSchedulable(spec())).not.toThrow();
  });
});

describe("notification channels", () => {
  it.each([
    ["slack+https://example.test/hook", "slack", "slack (example.test)"],
    ["discord+http://127.0.0.1:9/x", "discord", "discord (127.0.0.1:9)"],
    ["ntfy+https://ntfy.example/topic", "ntfy", "ntfy (ntfy.example)"],
    ["json+https://example.test/", "json", "json (example.test)"],
    ["https://hooks.slack.com/services/T0/B0/secret", "slack", "slack (hooks.slack.com)"],
    ["https://discord.com/api/webhooks/1/secret", "discord", "discord (discord.com)"],
    ["https://ntfy.sh/my-topic", "ntfy", "ntfy (ntfy.sh)"],
    ["https://example.test/hook", "json", "json (example.test)"],
    ["http://localhost:8080/h", "json", "json (localhost:8080)"],
  ])("%s → %s", (raw, channel, label) => {
    const t = parseTarget(raw);
    expect(t.channel).toBe(channel);
    expect(t.label).toBe(label);
  });

  it.each([
    ["http://example.test/hook", /need https/],
    ["teams+https://example.test/", /unknown notification channel/],
    ["not a url", /not a URL/],
    ["ftp://example.test/", /need https/],
  ])("refuses %s without repeating it", (raw, why) => {
    expect(() => parseTarget(raw)).toThrow(why);
    try {
      parseTarget(`${raw}`);
    } catch (e) {
      expect((e as Error).message).not.toContain("/hook");
    }
  });
});

const row = (over: Partial<CheckedService> = {}): CheckedService => ({
  service: "taskservice",
  current: "1.64",
  updates: { newer: ["1.65"], outside: [] },
  floatingTag: "latest",
  available: true,
  ...over,
});

describe("news and announce-once", () => {
  it("names the newest in the line, a major outside it apart", () => {
    const n = newsOf(row({ updates: { newer: ["1.66", "1.65"], outside: ["2.0"] } }), "r/ts");
    expect(n && newsLine(n)).toBe("taskservice 1.64 → 1.66 (major available: 2.0)");
    expect(n?.keys).toEqual(["1.66", "major:2.0"]);
    const only = newsOf(row({ updates: { newer: [], outside: ["17.1"] } }), "r/pg");
    expect(only && newsLine(only)).toBe("taskservice 1.64: major available: 17.1");
    expect(newsOf(row({ updates: { newer: [], outside: [] }, available: false }), "r")).toBeNull();
    expect(newsOf(row({ error: "registry down" }), "r")).toBeNull();
  });

  it("names where a moved floating tag went, or its digest once when no version names it", () => {
    const moved = newsOf(
      row({ updates: null, floatingMoved: true, floatingTo: "stable-2", floatingDigest: "sha256:1" }),
      "r",
    );
    expect(moved?.newest).toBe("stable-2");
    const unnamed = newsOf(
      row({ updates: null, floatingMoved: true, floatingTo: null, floatingDigest: "sha256:1" }),
      "r",
    );
    expect(unnamed?.keys).toEqual(["latest@sha256:1"]);
  });

  it("sends each version once, again when a newer one comes, and forgets what is no longer news", () => {
    const n65 = newsOf(row(), "r") as NonNullable<ReturnType<typeof newsOf>>;
    let seen = {};
    expect(unannounced([n65], seen)).toEqual([n65]);
    seen = remember(seen, [n65], [n65]);
    expect(unannounced([n65], seen)).toEqual([]);
    const n66 = newsOf(row({ updates: { newer: ["1.66", "1.65"], outside: [] } }), "r") as typeof n65;
    expect(unannounced([n66], seen)).toEqual([n66]);
    // Not delivered: still news next time.
    expect(unannounced([n66], remember(seen, [n66], []))).toEqual([n66]);
    // Updated (no news): forgotten, so a later 1.65 on another line would be news again.
    expect(remember(seen, [], [])).toEqual({});
    // A service whose check failed keeps what it had.
    expect(remember(seen, [], [], ["taskservice"])).toEqual({ taskservice: ["1.65"] });
  });

  it("shows the OCI labels cleaned, and links only an http(s) source", () => {
    const n = withLabels(newsOf(row(), "r") as NonNullable<ReturnType<typeof newsOf>>, {
      "org.opencontainers.image.version": "1.65",
      "org.opencontainers.image.revision": "abc\u001b[31m",
      "org.opencontainers.image.source": "https://git.example/ts",
      "org.opencontainers.image.created": "2026-11-01T00:00:00Z",
    });
    expect(n.labels.revision).toBe("abc\\e[31m");
    expect(n.link).toBe("https://git.example/ts");
    expect(withLabels(n, { "org.opencontainers.image.source": "javascript:alert(1)" }).link).toBeUndefined();
  });
});

describe("messages", () => {
  const news = withLabels(newsOf(row(), "r/ts") as NonNullable<ReturnType<typeof newsOf>>, {
    "org.opencontainers.image.version": "1.65",
    "org.opencontainers.image.source": "https://git.example/ts",
  });
  const e: UpdatesEvent = { event: "updates", project: "shop", at: "2026-11-29T00:00:00Z", updates: [news] };

  it.each(["json", "slack", "discord", "ntfy"] as const)(
    "%s names the service and both versions",
    (channel) => {
      const m = formatMessage(channel, e);
      const text = channel === "ntfy" ? m.body : JSON.stringify(JSON.parse(m.body));
      expect(text).toContain("taskservice 1.64 → 1.65");
      expect(text).toContain("version 1.65");
      expect(text).toContain("https://git.example/ts");
    },
  );

  it("gives each channel its own shape", () => {
    expect(JSON.parse(formatMessage("json", e).body)).toMatchObject({
      event: "updates",
      project: "shop",
      updates: [{ service: "taskservice", newest: "1.65" }],
    });
    expect(JSON.parse(formatMessage("slack", e).body).text).toContain(
      "<https://git.example/ts|https://git.example/ts>",
    );
    expect(JSON.parse(formatMessage("discord", e).body).allowed_mentions).toEqual({ parse: [] });
    const ntfy = formatMessage("ntfy", e);
    expect(ntfy.headers).toMatchObject({
      Title: "docker-versions: shop: a new version",
      Click: "https://git.example/ts",
    });
    expect(ntfy.contentType).toMatch(/^text\/plain/);
  });

  it("escapes Slack markup and keeps header values ASCII", () => {
    const odd = { ...e, project: "shöp <@here>", updates: [{ ...news, service: "a<b>&c" }] };
    expect(JSON.parse(formatMessage("slack", odd).body).text).toContain("a&lt;b&gt;&amp;c");
    expect(formatMessage("ntfy", odd).headers.Title).toMatch(/^[\x20-\x7e]+$/);
  });
});

describe("prune plan", () => {
  const img = (id: string, tags: string[], digests: string[], size = 10) => ({
    id,
    repoTags: tags,
    repoDigests: digests,
    size,
  });
  const images = [
    img("i1", ["reg:5000/app:1.0"], ["reg:5000/app@sha256:a1"]),
    img("i2", ["reg:5000/app:1.1", "reg:5000/app:latest"], ["reg:5000/app@sha256:a2"]),
    img("i3", ["reg:5000/app:1.2"], ["reg:5000/app@sha256:a3"]),
    img("i4", [], ["reg:5000/app@sha256:a4"]),
    img("i5", ["reg:5000/app:0.9"], ["reg:5000/app@sha256:a5"]),
    img("i6", ["reg:5000/app:1.3", "mirror/app:1.3"], ["reg:5000/app@sha256:a6"]),
    img("i7", ["other/thing:1"], ["other/thing@sha256:b"]),
    img("i8", ["reg:5000/app:custom"], []),
  ];
  const recorded = [
    { repository: "reg:5000/app", tag: "1.1", digest: "sha256:a2", why: "app 1.1 (current)" },
    { repository: "reg:5000/app", tag: "1.0", digest: "sha256:a1", why: "app 1.0 (history)" },
    { repository: "reg:5000/app", tag: "custom", why: "app custom (history)" },
  ];
  const plan = planPrune(images, recorded, new Map([["i5", "container old"]]));

  it("keeps every recorded digest, tag-only entries by tag, and images in use", () => {
    expect(plan.keep.map((k) => [k.id, k.why])).toEqual([
      ["i1", "app 1.0 (history)"],
      ["i2", "app 1.1 (current)"],
      ["i5", "container old"],
      ["i8", "app custom (history)"],
    ]);
  });

  it("removes the rest of the tracked repository's names, and only those", () => {
    expect(plan.remove.map((r) => [r.id, r.refs, r.whole])).toEqual([
      ["i3", ["reg:5000/app:1.2", "reg:5000/app@sha256:a3"], true],
      ["i4", ["reg:5000/app@sha256:a4"], true],
      ["i6", ["reg:5000/app:1.3", "reg:5000/app@sha256:a6"], false],
    ]);
  });
});

describe("metrics", () => {
  it("writes update availability per service with the running tag, and the time of the check", () => {
    const text = checkMetrics({
      project: "shop",
      at: 1700000000,
      rows: [
        { service: "ts", current: "1.64", updates: { newer: ["1.65"], outside: ["2.0"] }, available: true },
        { service: "db", current: "16.1", updates: null, available: false, error: "down" },
      ],
    });
    expect(text).toContain(
      'docker_versions_update_available{project="shop",service="ts",running="1.64",kind="line"} 1\n',
    );
    expect(text).toContain(
      'docker_versions_update_available{project="shop",service="ts",running="1.64",kind="major"} 1\n',
    );
    expect(text).toContain('docker_versions_check_error{project="shop",service="db",running="16.1"} 1\n');
    expect(text).toContain('docker_versions_last_check_timestamp_seconds{project="shop"} 1700000000\n');
    expect(text).toMatch(
      /^# HELP docker_versions_update_available .*\n# TYPE docker_versions_update_available gauge\n/,
    );
  });

  it("writes health and the version state from status", () => {
    const text = statusMetrics({
      project: "p",
      at: 1,
      services: [
        {
          service: "api",
          image: "r/api:1",
          drift: "drift",
          containers: [{ state: "running", health: "healthy", restarts: 2 }],
        },
        {
          service: "db",
          image: "r/db:1",
          drift: "in sync",
          containers: [{ state: "running", health: "starting", restarts: 0 }],
        },
      ],
    });
    expect(text).toContain('docker_versions_service_healthy{project="p",service="api",image="r/api:1"} 1\n');
    expect(text).toContain('docker_versions_service_healthy{project="p",service="db",image="r/db:1"} 0\n');
    expect(text).toContain(
      'docker_versions_service_version_state{project="p",service="api",image="r/api:1",state="drift"} 1\n',
    );
    expect(text).toContain('docker_versions_service_restarts{project="p",service="api",image="r/api:1"} 2\n');
  });

  it("escapes label values", () => {
    expect(labelValue('a"b\\c\nd')).toBe('a\\"b\\\\c\\nd');
  });
});
