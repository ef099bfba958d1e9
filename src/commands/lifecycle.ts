// `updb`, `up`, `down`, `restart`, `update`: starting and stopping the deployment the way the
// seed guide does, with progress as one line per step (Compose's own on a terminal).
import type { Argv } from "yargs";
import type { StartReport } from "../lifecycle.js";
import { warn } from "../render.js";
import type { Command } from "./command.js";
import { dryRunOption, serviceOption, stepsTo } from "./shared.js";

type StartArgs = { timeout: number; settle: number; wait: boolean; dryRun: boolean };

const startOptions = (y: Argv) =>
  y
    .option("timeout", {
      type: "number",
      default: 120,
      requiresArg: true,
      describe: "Seconds to wait for the services to be healthy",
    })
    .option("settle", {
      type: "number",
      default: 3,
      requiresArg: true,
      describe: "Seconds a service without a healthcheck must keep running to count as up",
    })
    .option("wait", {
      type: "boolean",
      default: true,
      describe: "Wait for health (--no-wait: start and return)",
    })
    .option("dry-run", dryRunOption);

const startOpts = (a: StartArgs) => ({
  timeout: a.timeout,
  settle: a.settle,
  noWait: !a.wait,
  dryRun: a.dryRun,
});

function finish(report: StartReport): number {
  for (const w of report.warnings) warn(w);
  return 0;
}

export const updb: Command<StartArgs> = {
  name: "updb",
  examples: [["docker versions updb --timeout 300", "databases up and healthy, allowing five minutes"]],
  describe: "Start the database services and wait until healthy",
  builder: startOptions,
  async run(args, versions, out) {
    return finish(await versions.lifecycle(stepsTo(versions, out)).updb(startOpts(args)));
  },
};

export const up: Command<StartArgs & { withDb: boolean }> = {
  name: "up",
  examples: [
    ["docker versions up", "the app on the manifest's digests, once the databases run"],
    ["docker versions up --with-db", "start the databases first when they are down"],
  ],
  describe: "Start the app services with the manifest's versions",
  builder: (y) =>
    startOptions(y).option("with-db", {
      type: "boolean",
      default: false,
      describe: "Start the databases first (updb) when they are not up",
    }),
  async run(args, versions, out) {
    return finish(
      await versions.lifecycle(stepsTo(versions, out)).up({ ...startOpts(args), withDb: args.withDb }),
    );
  },
};

export const down: Command<{ dryRun: boolean; volumes: boolean }> = {
  name: "down",
  examples: [["docker versions down", "every container and log capture stops; volumes stay"]],
  describe: "Stop every container of the project and the log captures",
  builder: (y) =>
    y
      .option("volumes", {
        alias: "v",
        type: "boolean",
        default: false,
        describe: "Also remove the project's named volumes (their data is lost)",
      })
      .option("dry-run", dryRunOption),
  async run(args, versions, out) {
    await versions.lifecycle(stepsTo(versions, out)).down({ dryRun: args.dryRun, volumes: args.volumes });
    return 0;
  },
};

export const restart: Command<StartArgs & { service?: string }> = {
  name: "restart",
  examples: [
    ["docker versions restart", "down → updb → up, as after pull-latest"],
    ["docker versions restart --service taskservice", "recreate one service only, as after rollback-service"],
  ],
  describe: "down, updb, up (or recreate one service with --service)",
  builder: (y) => startOptions(y).option("service", serviceOption),
  async run(args, versions, out) {
    const lc = versions.lifecycle(stepsTo(versions, out));
    return finish(
      args.service
        ? await lc.restartService(args.service, startOpts(args))
        : await lc.restart(startOpts(args)),
    );
  },
};

export const update: Command<{ dryRun: boolean }> = {
  name: "update",
  examples: [["docker versions update", "from-source workflow: down, pull, build"]],
  describe: "down, pull, build: the from-source workflow",
  builder: (y) => y.option("dry-run", dryRunOption),
  async run(args, versions, out) {
    const r = await versions.update({ dryRun: args.dryRun }, stepsTo(versions, out));
    if (!r.dryRun) out.write("next: run 'docker versions updb', then 'docker versions up'\n");
    return 0;
  },
};
