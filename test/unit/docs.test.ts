// The README's command reference is the CLI's own: this fails when they drift apart.
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { commands } from "../../src/cli.js";
import { markdownReference } from "../../src/commands/help.js";

const readme = readFileSync(path.resolve(import.meta.dirname, "../../README.md"), "utf8");

describe("README", () => {
  it("embeds exactly the command reference the CLI generates", () => {
    const section = /<!-- commands:start -->\n([\s\S]*?)<!-- commands:end -->/.exec(readme)?.[1];
    expect(section, "README lacks the commands:start/end markers").toBeDefined();
    expect(section).toBe(markdownReference(commands));
  });

  it("gives every command at least one example for its --help", () => {
    expect(commands.filter((c) => !c.examples?.length).map((c) => c.name)).toEqual([]);
  });

  it("maps every command to a group and names no command twice", () => {
    const names = commands.flatMap((c) => [c.name, ...(c.aliases ?? [])]);
    expect(new Set(names).size).toBe(names.length);
  });
});
