// The fleet view's decisions as tables of plain data: which contexts a selection names, the
// version a record gives a digest, per host and service the drift against the record, the
// exit code and the table. No engine, no registry.
import { describe, expect, it } from "vitest";
import { dockerCli } from "../../src/adapters/docker.js";
import { contextCli } from "../../src/adapters/fleet-engine.js";
import {
  type ContextEntry,
  digestIn,
  type FleetHost,
  type FleetReport,
  type FleetRow,
  fleetExitCode,
  fleetTable,
  globToRegExp,
  hostRows,
  nameFromRecord,
  type SeenContainer,
  selectContexts,
  shownEndpoint,
  summarize,
} from "../../src/core/fleet.js";
import type { Manifest } from "../../src/core/manifest.js";
import { D, manifest, rec } from "./records.js";

const REPO = "reg.example:5000/shop/api";
const running = (
  service: string,
  digest: number | null,
  image = `${REPO}:x`,
  repo = REPO,
): SeenContainer => ({
  service,
  running: true,
  image,
  repoDigests: digest === null ? [] : [`${repo}@${D(digest)}`],
});

describe("selectContexts: names, then patterns, each context once", () => {
  const listed: ContextEntry[] = ["default", "prod-eu", "prod-us", "staging", "prod-eu-2"].map((name) => ({
    name,
    endpoint: `unix:///${name}`,
  }));
  const names = (r: ReturnType<typeof selectContexts>) =>
    "selected" in r ? r.selected.map((c) => c.name) : r;
  it.each([
    [["staging"], [], ["staging"]],
    [[], ["prod-*"], ["prod-eu", "prod-us", "prod-eu-2"]],
    [["prod-us"], ["prod-*"], ["prod-us", "prod-eu", "prod-eu-2"]],
    [[], ["prod-??"], ["prod-eu", "prod-us"]],
    [[], ["*"], ["default", "prod-eu", "prod-us", "staging", "prod-eu-2"]],
    [["staging", "staging"], [], ["staging"]],
  ])("--context %j --contexts %j → %j", (n, p, want) => {
    expect(names(selectContexts(listed, n, p))).toEqual(want);
  });
  it.each([
    [["nope"], [], /no docker context named 'nope' \(contexts: default, prod-eu/],
    [[], ["qa-*"], /no docker context matches 'qa-\*'/],
    [[], [], /name the hosts/],
  ])("--context %j --contexts %j is an error", (n, p, want) => {
    const r = selectContexts(listed, n, p);
    expect("error" in r && r.error).toMatch(want);
  });
  it("a pattern's other characters are literal", () => {
    expect(globToRegExp("a.b+(c)").test("a.b+(c)")).toBe(true);
    expect(globToRegExp("a.b").test("axb")).toBe(false);
  });
});

describe("shownEndpoint: no credentials", () => {
  it.each([
    ["tcp://user:s3cret@10.0.0.5:2376", "tcp://10.0.0.5:2376"],
    ["ssh://deploy@host.example", "ssh://host.example"],
    ["unix:///var/run/docker.sock", "unix:///var/run/docker.sock"],
  ])("%s → %s", (e, want) => expect(shownEndpoint(e)).toBe(want));
});

describe("nameFromRecord: the record's current version, else its history", () => {
  const r = rec(["1.64", 4], ["1.63", 3], ["1.62", 2], ["1.62-hotfix", 9]);
  it.each([
    [4, "1.64"],
    [2, "1.62"],
    [9, "1.62-hotfix"],
    [7, null],
  ])("digest %i → %s", (d, want) => expect(nameFromRecord(r, D(d))).toBe(want));
  it("no record, no name", () => expect(nameFromRecord(undefined, D(4))).toBeNull());
});

describe("digestIn: the repository's digest among an image's repo digests", () => {
  it.each([
    [[`${REPO}@${D(1)}`, `other/x@${D(2)}`], REPO, D(1)],
    [[`other/x@${D(2)}`, `${REPO}@${D(1)}`], "other/x", D(2)],
    [[`mirror/api@${D(3)}`], REPO, D(3)],
    [[`a@${D(1)}`, `b@${D(2)}`], REPO, undefined],
    [[], REPO, undefined],
  ])("%j in %s → %s", (digests, repo, want) => expect(digestIn(digests, repo)).toBe(want));
});

describe("hostRows: per service and digest, drift against the record", () => {
  const record = manifest({
    api: rec(["1.64", 4], ["1.63", 3]),
    worker: rec(["2.0", 20]),
    db: rec(["16", undefined]),
  });
  const repo = () => REPO;
  const named = (service: string, digest: string) => {
    const v = nameFromRecord(record.services[service], digest);
    return v === null
      ? { version: null, unnamed: "not in the record" }
      : { version: v, namedBy: "record" as const };
  };
  const rows = (cs: SeenContainer[], r: Manifest | null = record) =>
    hostRows(cs, r, repo, named).map((x) => [x.service, x.version, x.drift, x.containers]);

  it("in sync, drift to a version of the history, not running, a digest the record lacks", () => {
    expect(rows([running("api", 3), running("worker", 20), running("db", 16)])).toEqual([
      ["api", "1.63", "drift", 1],
      ["db", null, "unknown", 1],
      ["worker", "2.0", "in sync", 1],
    ]);
  });
  it("a tracked service with no running container is 'not running'; a stopped container does not count", () => {
    expect(rows([running("api", 4), { ...running("worker", 20), running: false }])).toEqual([
      ["api", "1.64", "in sync", 1],
      ["db", null, "not running", 0],
      ["worker", null, "not running", 0],
    ]);
  });
  it("replicas on one digest are one row; on two digests, two rows", () => {
    expect(
      rows([
        running("api", 4),
        running("api", 4),
        running("api", 3),
        running("worker", 20),
        running("db", 1),
      ]),
    ).toEqual([
      ["api", "1.64", "in sync", 2],
      ["api", "1.63", "drift", 1],
      ["db", null, "unknown", 1],
      ["worker", "2.0", "in sync", 1],
    ]);
  });
  it("a service the record does not track is 'untracked'; an image without registry digest has no name", () => {
    const r = hostRows(
      [running("cache", null), running("api", 4)],
      manifest({ api: rec(["1.64", 4]) }),
      repo,
      named,
    );
    expect(r.map((x) => [x.service, x.drift, x.version, x.unnamed])).toEqual([
      ["api", "in sync", "1.64", undefined],
      ["cache", "untracked", null, "the image has no registry digest on this host"],
    ]);
  });
  it("without a record, nothing is judged and nothing is 'not running'", () => {
    const nameless = () => ({ version: null, unnamed: "not in the record" });
    const r = hostRows([running("api", 4)], null, repo, nameless);
    expect(r.map((x) => [x.service, x.version, x.drift, x.containers])).toEqual([
      ["api", null, "no record", 1],
    ]);
  });
  it("a drifting row carries the record's version", () => {
    const [r] = hostRows([running("api", 3)], manifest({ api: rec(["1.64", 4]) }), repo, named);
    expect(r?.recorded).toEqual({ tag: "1.64", digest: D(4) });
  });
});

describe("summary, exit code and table", () => {
  const up = (context: string, rows: FleetRow[]): FleetHost => ({
    context,
    endpoint: "unix:///x",
    reachable: true,
    rows,
  });
  const down: FleetHost = {
    context: "b",
    endpoint: "tcp://h:1",
    reachable: false,
    reason: "connection refused",
  };
  const synced = up("a", [
    { service: "api", digest: D(4), containers: 1, version: "1.64", namedBy: "record", drift: "in sync" },
  ]);
  const drifted = up("c", [
    {
      service: "api",
      digest: D(3),
      containers: 2,
      version: "1.63",
      namedBy: "registry",
      drift: "drift",
      recorded: { tag: "1.64", digest: D(4) },
    },
  ]);
  const report = (hosts: FleetHost[]): FleetReport => ({
    project: "shop",
    against: "/r/version-manifest.yaml",
    hosts,
    summary: summarize(hosts),
  });
  it.each([
    [[synced], 0],
    [[synced, drifted], 3],
    [[synced, down], 4],
    [[drifted, down], 4],
    [[up("e", [])], 0],
  ])("exit code of %#", (hosts, code) => expect(fleetExitCode(report(hosts))).toBe(code));

  it("one line per unreachable host, the host named once per group, the record's version on drift", () => {
    const { cells, drift } = fleetTable(report([synced, drifted, down]));
    expect(cells).toEqual([
      ["a", "api", "1.64", "444444444444", "in sync"],
      ["c", "api", "1.63 [registry] ×2", "333333333333", "drift (record: 1.64 444444444444)"],
      ["b", "-", "-", "-", "unreachable: connection refused"],
    ]);
    expect(drift).toEqual(["in sync", "drift", "unreachable"]);
  });
});

describe("contextCli: each call aimed at one context, whatever engine the plugin was given", () => {
  it.each([
    [[], ["--context", "eu-1"]],
    [
      ["--context", "other"],
      ["--context", "eu-1"],
    ],
    [
      ["-c", "other", "--config", "/cfg"],
      ["--config", "/cfg", "--context", "eu-1"],
    ],
    [
      ["-H", "tcp://h:2376", "--tlsverify", "--tlscacert", "/ca.pem"],
      ["--context", "eu-1"],
    ],
    [
      ["--host=unix:///x.sock", "-Hunix:///y.sock", "--log-level", "debug"],
      ["--log-level", "debug", "--context", "eu-1"],
    ],
  ])("%j → %j", (globals, want) => {
    const cli = contextCli(
      dockerCli(globals, { DOCKER_HOST: "tcp://h:1", DOCKER_CONTEXT: "x", PATH: "/bin" }),
      "eu-1",
    );
    expect(cli.globals).toEqual(want);
    expect(cli.env).toEqual({ PATH: "/bin" });
  });
});
