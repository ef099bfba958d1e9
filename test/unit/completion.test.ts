// Completion as the Docker CLI asks for it: the words after `docker versions`, the last one being
// typed; the answer is cobra's (candidates, then `:directive`). Services and history tags come
// from sources given here as plain data.
import { describe, expect, it } from "vitest";
import { commands, globalOptions } from "../../src/cli.js";
import {
  type CompletionSources,
  cobraAnswer,
  complete,
  completionWords,
  DIRECTIVE,
} from "../../src/commands/completion.js";
import { recordSpec } from "../../src/commands/flags.js";

const globals = recordSpec(globalOptions).flags;
const asked: { files?: string[]; service?: string }[] = [];
const sources: CompletionSources = {
  services: async (line) => {
    asked.push({ files: line.globals.file });
    return ["api", "db", "worker"];
  },
  historyTags: async (_line, service) => {
    asked.push({ service });
    return service === "db" ? ["16.4", "16.3", "16.2"] : ["1.64", "1.63"];
  },
};
const candidates = async (...words: string[]) =>
  (await complete(words, commands, globals, sources)).candidates;

describe("completion", () => {
  it("offers commands, and help's commands", async () => {
    expect(await candidates("roll")).toEqual(["rollback", "rollback-service", "rollback-to"]);
    expect(await candidates("")).toContain("update-safe");
    expect(await candidates("")).toContain("help");
    expect(await candidates("")).not.toContain("__capture-logs");
    expect(await candidates("help", "version-")).toEqual(["version-history", "version-pull", "version-set"]);
  });

  it("offers each command's own flags after it, and the global options before it", async () => {
    expect(await candidates("rollback-service", "--")).toEqual([
      "--apply",
      "--dry-run",
      "--json",
      "--service",
    ]);
    expect(await candidates("check-updates", "--p")).toEqual(["--prereleases"]);
    expect(await candidates("rollback-service", "--s")).toEqual(["--service"]);
    expect(await candidates("down", "-")).toEqual(["--dry-run", "--volumes", "-v"]);
    expect(await candidates("--p")).toEqual(["--profile", "--project-directory", "--project-name"]);
    expect(await candidates("-f", "a.yml", "--p")).toEqual([
      "--profile",
      "--project-directory",
      "--project-name",
    ]);
  });

  it("does not offer a flag already given, unless it repeats", async () => {
    expect(await candidates("rollback-to", "--service", "db", "--")).toEqual([
      "--apply",
      "--dry-run",
      "--json",
      "--tag",
    ]);
    expect(await candidates("-f", "a.yml", "--f")).toEqual(["--file"]);
  });

  it("offers service names after --service, read with the typed global options", async () => {
    asked.length = 0;
    expect(await candidates("-f", "prod.yml", "rollback-service", "--service", "")).toEqual([
      "api",
      "db",
      "worker",
    ]);
    expect(asked).toEqual([{ files: ["prod.yml"] }]);
    expect(await candidates("restart", "--service", "w")).toEqual(["worker"]);
    expect(await candidates("restart", "--service=d")).toEqual(["--service=db"]);
  });

  it("offers the history of the named service after --tag and --to", async () => {
    expect(await candidates("rollback-to", "--service", "db", "--tag", "")).toEqual(["16.4", "16.3", "16.2"]);
    expect(await candidates("rollback", "--service", "db", "--to", "16.3")).toEqual(["16.3"]);
    expect(await candidates("rollback-to", "--tag", "1.6")).toEqual(["1.64", "1.63"]);
  });

  it("asks the shell for files after a file flag, directories after --project-directory", async () => {
    expect(await complete(["-f", ""], commands, globals, sources)).toEqual({
      candidates: [],
      directive: DIRECTIVE.default,
    });
    expect((await complete(["--project-directory", ""], commands, globals, sources)).directive).toBe(
      DIRECTIVE.filterDirs,
    );
    expect((await complete(["update-safe", "--timeout", ""], commands, globals, sources)).directive).toBe(
      DIRECTIVE.noFileComp,
    );
  });

  it("offers the shells after completion", async () => {
    expect(await candidates("completion", "")).toEqual(["bash", "zsh", "fish"]);
    expect(await candidates("completion", "bash", "")).toEqual([]);
  });

  it("offers nothing, and no error, where the sources fail", async () => {
    const broken: CompletionSources = {
      services: () => Promise.reject(new Error("no compose file")),
      historyTags: () => Promise.reject(new Error("no manifest")),
    };
    expect(await complete(["restart", "--service", ""], commands, globals, broken)).toEqual({
      candidates: [],
      directive: DIRECTIVE.noFileComp,
    });
  });

  it("answers in cobra's format", () => {
    expect(cobraAnswer({ candidates: ["--service"], directive: 4 })).toBe("--service\n:4\n");
    expect(cobraAnswer({ candidates: [], directive: 0 })).toBe(":0\n");
  });

  it("drops the plugin name Docker passes first, and accepts the call without it", () => {
    expect(completionWords(["__complete", "versions", "rollback-to", "--"], "versions")).toEqual([
      "rollback-to",
      "--",
    ]);
    expect(completionWords(["__completeNoDesc", "rollback-to", "--"], "versions")).toEqual([
      "rollback-to",
      "--",
    ]);
    expect(completionWords(["__complete", "versions"], "versions")).toEqual(["versions"]);
  });
});
