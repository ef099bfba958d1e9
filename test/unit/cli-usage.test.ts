// Help and usage messages as a user meets them: the CLI's entry point run in-process with the
// words typed, its stdout and stderr collected. None of these words reach Docker.
import { afterEach, describe, expect, it, vi } from "vitest";
import { commands, globalOptions, internal, run } from "../../src/cli.js";
import { recordSpec } from "../../src/commands/flags.js";
import { commandHelp, groupedHelp } from "../../src/commands/help.js";
import { namedCommand, route, unknownFlag, usageMessage } from "../../src/commands/usage.js";

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const o = vi.spyOn(process.stdout, "write").mockImplementation((t) => {
    stdout += String(t);
    return true;
  });
  const e = vi.spyOn(process.stderr, "write").mockImplementation((t) => {
    stderr += String(t);
    return true;
  });
  try {
    const code = await run({ dockerGlobals: [], args }, { ...process.env, NO_COLOR: "1" });
    return { code, stdout, stderr };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

afterEach(() => vi.restoreAllMocks());

const globals = recordSpec(globalOptions).flags;
const byName = (name: string) => {
  const c = commands.find((x) => x.name === name);
  if (!c) throw new Error(`no command ${name}`);
  return c;
};

describe("help", () => {
  it.each(commands.map((c) => c.name))("help %s equals %s --help", async (name) => {
    const viaHelp = await cli("help", name);
    const viaFlag = await cli(name, "--help");
    expect(viaHelp.code).toBe(0);
    expect(viaHelp.stdout).toBe(viaFlag.stdout);
    expect(viaHelp.stdout).toBe(await cli(name, "-h").then((r) => r.stdout));
    expect(viaHelp.stdout.startsWith(`Usage:  docker versions ${name}`)).toBe(true);
  });

  it("an alias shows its command's help", async () => {
    expect((await cli("help", "history")).stdout).toBe((await cli("version-history", "--help")).stdout);
  });

  it("help alone, --help and no words print the same grouped layout", async () => {
    const top = groupedHelp(commands);
    expect((await cli("help")).stdout).toBe(top);
    expect((await cli("--help")).stdout).toBe(top);
    expect((await cli()).stdout).toBe(top);
    expect((await cli("-f", "x.yml", "--help")).stdout).toBe(top);
  });

  it("no subcommand help offers --version, and flags read like Docker's", () => {
    for (const c of commands) expect(commandHelp(c)).not.toMatch(/--version/);
    const text = commandHelp(byName("rollback-to"));
    expect(text).toMatch(/^ {6}--service string {3}Service name as in the compose file \(required\)$/m);
    expect(text).toMatch(/^ {6}--dry-run {10}Show what would change/m);
    const down = commandHelp(byName("down"));
    expect(down).toMatch(/^ {2}-v, --volumes {3}/m);
  });

  it("every example is a whole command line of its own, under its comment", () => {
    for (const c of commands) {
      const lines = commandHelp(c).split("\n");
      for (const [line, what] of c.examples ?? []) {
        const at = lines.indexOf(`  ${line}`);
        expect(at, `${c.name}: ${line}`).toBeGreaterThan(0);
        expect(lines[at - 1]).toBe(`  # ${what}`);
      }
    }
  });

  it("--version answers with the version alone, before or without a command", async () => {
    expect((await cli("--version")).stdout).toMatch(/^\d+\.\d+\.\d+\S*\n$/);
    expect((await cli("-f", "x.yml", "--version")).stdout).toMatch(/^\d+\.\d+\.\d+\S*\n$/);
  });
});

describe("usage messages", () => {
  it.each([
    [["status", "--jsn"], "unknown flag: --jsn (see 'docker versions status --help')"],
    [["status", "-j"], "unknown flag: -j (see 'docker versions status --help')"],
    [["-x", "status"], "unknown flag: -x (see 'docker versions status --help')"],
    [["--jsn"], "unknown flag: --jsn (see 'docker versions --help')"],
    [["check-updates", "--pro"], "unknown flag: --pro (see 'docker versions check-updates --help')"],
    [
      ["rollback-service"],
      "required flag not set: --service (see 'docker versions rollback-service --help')",
    ],
    [["rollback-to"], "required flags not set: --service, --tag (see 'docker versions rollback-to --help')"],
    [
      ["rollback-service", "--service"],
      "flag needs an argument: --service (see 'docker versions rollback-service --help')",
    ],
    [["-f"], "flag needs an argument: -f (see 'docker versions --help')"],
    [
      ["status", "extra"],
      "'docker versions status' accepts no argument 'extra' (see 'docker versions status --help')",
    ],
    [
      ["completion", "csh"],
      "invalid argument \"csh\" for shell: choose one of bash, zsh, fish (see 'docker versions completion --help')",
    ],
    [
      ["stat"],
      "unknown command 'stat' for 'docker versions': did you mean 'status'? (docker versions --help lists them)",
    ],
    [
      ["help", "stat"],
      "unknown command 'stat' for 'docker versions': did you mean 'status'? (docker versions --help lists them)",
    ],
    [
      ["frobnicate"],
      "unknown command 'frobnicate' for 'docker versions' (docker versions --help lists them)",
    ],
    [
      ["frobnicate", "--help"],
      "unknown command 'frobnicate' for 'docker versions' (docker versions --help lists them)",
    ],
  ])("%j → one line, exit 2", async (args, message) => {
    const r = await cli(...args);
    expect(r.stderr).toBe(`error: ${message}\n`);
    expect(r.stdout).toBe("");
    expect(r.code).toBe(2);
  });

  it("known flags in every form pass the check (the command fails later, not on them)", async () => {
    for (const args of [
      ["down", "-v", "--dry-run", "--help"],
      ["up", "--no-wait", "--help"],
      ["status", "--json=true", "--help"],
      ["-q", "-p", "x", "status", "--help"],
      ["-pname", "-fcompose.yaml", "status", "--help"],
    ])
      expect((await cli(...args)).code, args.join(" ")).toBe(0);
  });

  it("the hidden log capture's own flags are known (updb and up start it with them)", () => {
    const all = [...commands, ...internal];
    expect(unknownFlag(["__capture-logs", "--kind", "db"], all, globals)).toBeNull();
    expect(unknownFlag(["-p", "x", "__capture-logs", "--kind=app"], all, globals)).toBeNull();
  });

  it("rewrites yargs' wording for each kind of complaint", () => {
    expect(
      usageMessage("Unknown arguments: foo-bar, fooBar", ["status", "--foo-bar"], commands, globals),
    ).toBe("unknown flag: --foo-bar (see 'docker versions status --help')");
    expect(
      usageMessage("Missing required argument: tag", ["rollback-to", "--service", "x"], commands, globals),
    ).toBe("required flag not set: --tag (see 'docker versions rollback-to --help')");
    expect(usageMessage("Not enough arguments following: f", ["-f"], commands, globals)).toBe(
      "flag needs an argument: -f (see 'docker versions --help')",
    );
    expect(usageMessage("Did you mean pull?", ["pul"], commands, globals)).toMatch(/^unknown command 'pul'/);
  });

  it("routes help before the parser", () => {
    expect(route(["help"], commands, globals)).toEqual({ kind: "top-help" });
    expect(route(["-p", "help", "status"], commands, globals)).toBeNull();
    expect(route(["-p", "x", "help", "status"], commands, globals)).toMatchObject({
      kind: "command-help",
      cmd: { name: "status" },
    });
    expect(route(["status", "--", "--help"], commands, globals)).toBeNull();
  });

  it("names the command the parser is given: the first word that is no flag nor a global flag's value", () => {
    const all = [...commands, ...internal];
    const named = (args: string[]) => namedCommand(args, all, globals)?.name;
    expect(named(["status"])).toBe("status");
    expect(named(["-p", "status", "version"])).toBe("version");
    expect(named(["--manifest", "rollback", "status", "--json"])).toBe("status");
    expect(named(["-f", "a.yaml", "rollback-service", "--service", "db"])).toBe("rollback-service");
    expect(named(["history"])).toBe("version-history");
    expect(named(["statuss"])).toBeUndefined();
    expect(named(["--json"])).toBeUndefined();
  });
});
