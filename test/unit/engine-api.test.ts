// The engine API client against an HTTP server on a temporary unix socket that answers as the
// Engine API does (the real engine's answers are compared with the docker CLI's in
// test/e2e/engine-api.test.ts): what `compose ps` derives from each container, what a missing
// object, an error answer and a socket nobody listens on become (one line, kind "engine").
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ComposeProject, listContainers } from "../../src/adapters/compose.js";
import { dockerCli } from "../../src/adapters/docker.js";
import { inspectContainers, observeProject, runningContainers } from "../../src/adapters/engine.js";
import { inspectionHead, pathName } from "../../src/adapters/engine-api.js";
import { inspectRefs } from "../../src/adapters/images.js";
import { UserError } from "../../src/errors.js";

let dir: string;
let socket: string;
let server: Server;
const asked: string[] = [];
/** What the fake engine answers for the container list (status, body). */
let listAnswer: [number, unknown] = [200, []];

const ID = (c: string) => c.repeat(64);
const summary = (id: string, name: string, state: string, service: string, oneoff = "False") => ({
  Id: id,
  Names: [`/other/${name}-alias`, `/${name}`],
  Image: `reg/${service}:1`,
  ImageID: `sha256:${service}`,
  State: state,
  Status: state === "running" ? "Up 2 minutes (healthy)" : "Exited (3) 1 minute ago",
  Labels: { "com.docker.compose.service": service, "com.docker.compose.oneoff": oneoff },
});
/** An inspection in the engine's field order: what is read, then HostConfig, Config and the rest (unless `short`). */
const container = (
  id: string,
  name: string,
  status: string,
  exitCode: number,
  health?: string,
  short = false,
) => ({
  Id: id,
  Created: "2026-01-01T00:00:00Z",
  Args: ['{"HostConfig":{}}', ',"HostConfig":'],
  Name: `/${name}`,
  Image: `sha256:${"e".repeat(64)}`,
  RestartCount: 2,
  State: {
    Status: status,
    Running: status === "running",
    Restarting: false,
    OOMKilled: false,
    ExitCode: exitCode,
    StartedAt: "2026-01-01T00:00:00Z",
    ...(health ? { Health: { Status: health } } : {}),
  },
  ...(short
    ? {}
    : {
        HostConfig: { RestartPolicy: { Name: "always" } },
        Config: { Env: ['NOTE=,"HostConfig":{"State":1}'], Labels: { "com.docker.compose.service": "x" } },
        NetworkSettings: { Networks: {} },
      }),
});
const CONTAINERS: Record<string, unknown> = {
  [ID("a")]: container(ID("a"), "p-web-1", "running", 0, "healthy"),
  // Stopped: its last health is not shown, its exit code is.
  [ID("b")]: container(ID("b"), "p-job-1", "exited", 3, "unhealthy"),
  // Running after a restart: an old exit code is not shown.
  // Without the fields after the read ones (another engine): read whole.
  [ID("c")]: container(ID("c"), "p-job-run-1", "running", 137, undefined, true),
};

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "dv-engine-api-"));
  socket = path.join(dir, "engine.sock");
  server = createServer((req, res) => {
    const url = req.url ?? "";
    asked.push(url);
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { "Content-Type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (url.startsWith("/containers/json?")) return send(...listAnswer);
    const c = /^\/containers\/([^/]+)\/json$/.exec(url);
    if (c) {
      const found = Object.entries(CONTAINERS).find(
        ([id, raw]) => id.startsWith(c[1] as string) || (raw as { Name: string }).Name === `/${c[1]}`,
      );
      return found ? send(200, found[1]) : send(404, { message: `No such container: ${c[1]}` });
    }
    const i = /^\/images\/(.+)\/json$/.exec(url);
    if (i) {
      const name = decodeURIComponent(i[1] as string);
      if (name === "Bad") return send(400, { message: "invalid reference format" });
      if (name === "broken:1") return send(500, { message: "boom" });
      if (name.startsWith("reg/"))
        return send(200, { Id: `sha256:${name}`, RepoTags: [name], RepoDigests: null });
      return send(404, { message: `No such image: ${name}` });
    }
    send(404, { message: "page not found" });
  });
  await new Promise<void>((r) => server.listen(socket, r));
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});

const cli = () => dockerCli(["-H", `unix://${socket}`], { HOME: dir }, dir);
const project = { name: "P" } as ComposeProject;

describe("the engine API over a unix socket", () => {
  it("lists the project's containers as compose ps --all does", async () => {
    listAnswer = [
      200,
      [
        summary(ID("b"), "p-job-1", "exited", "job"),
        summary(ID("c"), "p-job-run-1", "running", "job", "True"),
        summary(ID("a"), "p-web-1", "running", "web"),
        // listed, then removed before its inspection: left out
        summary(ID("d"), "p-gone-1", "exited", "gone"),
      ],
    ];
    asked.length = 0;
    expect(await listContainers(cli(), project)).toEqual([
      {
        id: "bbbbbbbbbbbb",
        name: "p-job-1",
        service: "job",
        image: "reg/job:1",
        state: "exited",
        health: "",
        exitCode: 3,
        status: "Exited (3) 1 minute ago",
      },
      {
        id: "cccccccccccc",
        name: "p-job-run-1",
        service: "job",
        image: "reg/job:1",
        state: "running",
        health: "",
        exitCode: 0,
        status: "Up 2 minutes (healthy)",
      },
      {
        id: "aaaaaaaaaaaa",
        name: "p-web-1",
        service: "web",
        image: "reg/web:1",
        state: "running",
        health: "healthy",
        exitCode: 0,
        status: "Up 2 minutes (healthy)",
      },
    ]);
    // Compose's filters: the project (lower case) and its config hash; one-off containers not excluded.
    const list = asked.find((u) => u.startsWith("/containers/json?")) as string;
    const query = new URLSearchParams(list.split("?")[1]);
    expect(query.get("all")).toBe("1");
    expect(JSON.parse(query.get("filters") as string)).toEqual({
      label: ["com.docker.compose.project=p", "com.docker.compose.config-hash"],
    });
  });

  it("status observes each container once: list and inspections together", async () => {
    listAnswer = [200, [summary(ID("a"), "p-web-1", "running", "web")]];
    asked.length = 0;
    const seen = await observeProject(cli(), project);
    expect(seen.containers.map((c) => c.name)).toEqual(["p-web-1"]);
    expect(seen.infos).toEqual([
      {
        id: ID("a"),
        name: "p-web-1",
        imageId: `sha256:${"e".repeat(64)}`,
        running: true,
        restarting: false,
        oomKilled: false,
        exitCode: 0,
        startedAt: "2026-01-01T00:00:00Z",
        health: "healthy",
        restartCount: 2,
      },
    ]);
    expect(asked.filter((u) => u.startsWith("/containers/") && u.endsWith("/json"))).toHaveLength(1);
  });

  it("version reads the running containers' images from the list alone", async () => {
    listAnswer = [
      200,
      [summary(ID("b"), "p-job-1", "exited", "job"), summary(ID("a"), "p-web-1", "running", "web")],
    ];
    asked.length = 0;
    expect(await runningContainers(cli(), project)).toEqual([{ service: "web", imageId: "sha256:web" }]);
    expect(asked.filter((u) => !u.startsWith("/containers/json?"))).toEqual([]);
  });

  it("an error answer to the list is one engine line", async () => {
    listAnswer = [500, { message: "boom" }];
    const err = await listContainers(cli(), project).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).category).toBe("engine");
    expect((err as UserError).message).toBe(
      "cannot list the project's containers: Error response from daemon: boom",
    );
  });

  it("inspects containers in the order asked, leaving out missing ones", async () => {
    const infos = await inspectContainers(cli(), ["p-job-1", "nope", "aaaa"]);
    expect(infos.map((i) => [i.name, i.exitCode, i.health])).toEqual([
      ["p-job-1", 3, "unhealthy"],
      ["p-web-1", 0, "healthy"],
    ]);
  });

  it("inspects images: found, missing, unreadable names and error answers are no image", async () => {
    const found = await inspectRefs(cli(), [
      "reg/web:1",
      `reg/web@sha256:${"f".repeat(64)}`,
      "nope:1",
      "Bad",
      "broken:1",
    ]);
    expect(found.get("reg/web:1")).toEqual({
      id: "sha256:reg/web:1",
      repoTags: ["reg/web:1"],
      repoDigests: [],
      labels: {},
    });
    expect(found.get(`reg/web@sha256:${"f".repeat(64)}`)?.id).toBe(`sha256:reg/web@sha256:${"f".repeat(64)}`);
    expect([found.get("nope:1"), found.get("Bad"), found.get("broken:1")]).toEqual([null, null, null]);
  });

  it("a socket nobody listens on is one engine line, as the docker CLI puts it", async () => {
    const none = dockerCli(["-H", `unix://${dir}/none.sock`], { HOME: dir }, dir);
    const list = await listContainers(none, project).catch((e: unknown) => e);
    expect((list as UserError).category).toBe("engine");
    expect((list as UserError).message).toBe(
      `cannot list the project's containers: Cannot connect to the Docker daemon at unix://${dir}/none.sock. Is the docker daemon running?`,
    );
    const images = await inspectRefs(none, ["reg/web:1"]).catch((e: unknown) => e);
    expect((images as UserError).message).toMatch(
      /^cannot inspect images: Cannot connect to the Docker daemon at /,
    );
    // As `docker container inspect` without an engine: nothing found.
    expect(await inspectContainers(none, ["p-web-1"])).toEqual([]);
  });

  it("escapes a name in the path, keeping repository paths, tags and digests readable", () => {
    expect(pathName("127.0.0.1:5077/ns/app:1.2@sha256:ab")).toBe("127.0.0.1:5077/ns/app:1.2@sha256:ab");
    expect(pathName("a b?c#d%")).toBe("a%20b%3Fc%23d%25");
  });
});

describe("inspectionHead", () => {
  const READ = ["Id", "Name", "Image", "RestartCount", "State"];
  const pick = (o: Record<string, unknown>) =>
    Object.fromEntries(READ.filter((k) => k in o).map((k) => [k, o[k]]));
  const text = fc.oneof(fc.string(), fc.constantFrom(',"HostConfig":', '"}', "\\", "é€", '{"State":{}}'));
  const state = fc.record({
    Status: fc.constantFrom("running", "exited", "created"),
    Running: fc.boolean(),
    Restarting: fc.boolean(),
    OOMKilled: fc.boolean(),
    ExitCode: fc.integer({ min: 0, max: 255 }),
    StartedAt: text,
    Health: fc.option(fc.record({ Status: text }), { nil: undefined }),
  });
  const field = fc.tuple(fc.constantFrom("Config", "Mounts", "Args", "Path", "Other"), fc.jsonValue());

  it("reads what comes before HostConfig as JSON.parse reads it, or leaves the answer to be read whole", () => {
    fc.assert(
      fc.property(
        fc.record({ Id: text, Name: text, Image: text, RestartCount: fc.nat(), State: state }),
        fc.array(field, { maxLength: 4 }),
        fc.array(field, { maxLength: 4 }),
        fc.nat({ max: 6 }),
        fc.jsonValue(),
        (read, before, after, hostAt, hostConfig) => {
          // The read fields and some others in any order, HostConfig somewhere among them.
          const entries: [string, unknown][] = [...before, ...Object.entries(read)];
          entries.splice(Math.min(hostAt, entries.length), 0, ["HostConfig", hostConfig]);
          const json = `{${[...entries, ...after].map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v ?? null)}`).join(",")}}`;
          const whole = JSON.parse(json) as Record<string, unknown>;
          const head = inspectionHead(Buffer.from(json));
          if (head !== undefined)
            expect(pick(head as unknown as Record<string, unknown>)).toEqual(pick(whole));
          // Every read field before HostConfig: the head is read.
          const hostIndex = Math.min(hostAt, entries.length - 1);
          const lastRead = Math.max(...READ.map((k) => entries.findIndex(([e]) => e === k)));
          if (lastRead < hostIndex) expect(head).toBeDefined();
        },
      ),
      { numRuns: 300 },
    );
  });

  it("reads the engine's own order, and nothing when a read field comes after HostConfig", () => {
    const real = container(ID("d"), "p-web-1", "running", 0, "healthy");
    const head = inspectionHead(Buffer.from(JSON.stringify(real))) as unknown as Record<string, unknown>;
    expect(pick(head)).toEqual(pick(real));
    expect(head.Config).toBeUndefined(); // what follows HostConfig is not read
    const { RestartCount, ...rest } = real;
    expect(inspectionHead(Buffer.from(JSON.stringify({ ...rest, RestartCount })))).toBeUndefined();
    expect(
      inspectionHead(Buffer.from(JSON.stringify(container(ID("e"), "x", "exited", 1, undefined, true)))),
    ).toBeUndefined();
  });
});
