// Running without anyone watching: check-updates' notifications (each new version announced
// once per destination) and metrics, update-safe's outcome notification and update window,
// the schedule that runs them, and a prune that keeps every version a rollback needs.
import { existsSync } from "node:fs";
import path from "node:path";
import { imageExists, imagesInUse, localImages, removeImageRefs } from "./adapters/images.js";
import { journalPath } from "./adapters/journal.js";
import { deliver, runNotifyCommand } from "./adapters/notify.js";
import { destinationKey, readNotifyState, writeNotifyState } from "./adapters/notify-state.js";
import { readOwned } from "./adapters/owned-files.js";
import { imageLabels } from "./adapters/registry/labels.js";
import {
  type InstalledSchedule,
  installSchedule,
  readSchedule,
  removeSchedule,
  type ScheduleReport,
  type Scheduler,
  scheduleIsPresent,
  systemdRuns,
} from "./adapters/schedule.js";
import { writeAtomic } from "./adapters/store.js";
import { type Announced, newsOf, remember, unannounced, withLabels } from "./core/announced.js";
import { mapLimit } from "./core/limit.js";
import { checkMetrics, type StatusMetricsInput, statusMetrics } from "./core/metrics.js";
import {
  formatMessage,
  type NotifyEvent,
  type OutcomeEvent,
  parseTarget,
  type ServiceNews,
  type Target,
} from "./core/notify-message.js";
import { type PrunePlan, planPrune, type RecordedImage } from "./core/prune-plan.js";
import {
  checkSchedulable,
  commandLine,
  type Job,
  parseWhen,
  type ScheduleSpec,
  slugOf,
} from "./core/schedule.js";
import { recordTime } from "./core/time.js";
import { parseWindow } from "./core/window.js";
import { dockerConfigDir } from "./docker-globals.js";
import { messageOf, UserError, usageError } from "./errors.js";
import { requireManifest, serviceImages } from "./record.js";
import type { UpdateRow } from "./registry-ops.js";
import type { UpdateSafeReport } from "./update-safe.js";
import type { Workspace } from "./workspace.js";

export interface NotifyOptions {
  /** --notify URLs (repeatable): `slack+https://…`, or a URL whose host names the channel. */
  notify?: string[];
  /** --notify-command PROGRAM [ARG…]: the generic JSON on its stdin. */
  notifyCommand?: string[];
}

/** A pure parse's error as the one line the user sees. */
function asInput<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw usageError(messageOf(e));
  }
}

interface Destination {
  key: string;
  label: string;
  send(e: NotifyEvent): Promise<string | null>;
}

export interface PruneReport {
  dryRun: boolean;
  plan: PrunePlan;
  /** Image names removed. */
  removed: string[];
  /** Bytes of the images that are gone (shared layers may count more than once). */
  freed: number;
  warnings: string[];
}

export interface ScheduleOptions extends NotifyOptions {
  check?: string;
  updateSafe?: string;
  /** Passed on to the scheduled update-safe: it then updates only inside the window. */
  window?: string;
  prometheus?: string;
  scheduler?: "auto" | Scheduler;
  dryRun?: boolean;
}

export interface ScheduleStatus {
  installed: InstalledSchedule | null;
  problems: string[];
  lastCheck?: string;
  lastUpdate?: { at: string; outcome: string; detail?: string };
}

export class Unattended {
  constructor(readonly ws: Workspace) {}

  private now(): Date {
    return this.ws.clock();
  }

  /** The destinations of --notify and --notify-command, validated before anything runs. */
  destinations(opts: NotifyOptions): Destination[] {
    const out: Destination[] = (opts.notify ?? []).map((raw) => {
      const target: Target = asInput(() => parseTarget(raw));
      return {
        key: destinationKey(`${target.channel} ${target.url}`),
        label: target.label,
        send: (e) => deliver(target, formatMessage(target.channel, e)),
      };
    });
    if (opts.notifyCommand && opts.notifyCommand.length > 0) {
      const argv = opts.notifyCommand;
      out.push({
        key: destinationKey(`command ${argv.join("\0")}`),
        label: `command ${path.basename(argv[0] ?? "")}`,
        send: (e) =>
          runNotifyCommand(argv, formatMessage("json", e).body, {
            cwd: this.ws.ctx.cli.cwd,
            env: this.ws.ctx.cli.env,
          }),
      });
    }
    return out;
  }

  /**
   * Sends each destination the news it has not been told: per service its current version →
   * the newest in its line (a major outside it apart), with the new image's labels. Returns one
   * warning per failed delivery; what failed is tried again by the next check.
   */
  async announceUpdates(
    rows: readonly UpdateRow[],
    opts: NotifyOptions,
  ): Promise<{ sent: string[]; warnings: string[] }> {
    const destinations = this.destinations(opts);
    const manifestPath = await this.ws.manifestPath();
    const state = await readNotifyState(manifestPath);
    const warnings: string[] = [];
    const news = rows.flatMap((r) => {
      const n = newsOf(r, r.repository ?? "");
      return n ? [n] : [];
    });
    const unchecked = rows.filter((r) => r.error).map((r) => r.service);
    const fresh = destinations.map((d) => unannounced(news, state.destinations[d.key] ?? {}));
    // Labels only for what is sent: one config read per service with news.
    const needed = news.filter((n) => fresh.some((f) => f.some((x) => x.service === n.service)));
    const labelled = new Map<string, ServiceNews>();
    await mapLimit(needed, 4, async (n) => {
      const tag = n.newest && !n.newest.includes(" ") ? n.newest : n.major;
      let labels: Record<string, string> = {};
      if (tag) labels = await imageLabels(this.ws.registry(), n.repository, tag).catch(() => ({}));
      labelled.set(n.service, withLabels(n, labels));
    });
    const project = (await this.ws.project()).name;
    const at = recordTime(this.now());
    const sent: string[] = [];
    await Promise.all(
      destinations.map(async (d, i) => {
        const seen: Announced = state.destinations[d.key] ?? {};
        const toSend = (fresh[i] ?? []).map((n) => labelled.get(n.service) ?? n);
        if (toSend.length === 0) {
          state.destinations[d.key] = remember(seen, news, [], unchecked);
          return;
        }
        const failed = await d.send({ event: "updates", project, at, updates: toSend });
        if (failed) {
          warnings.push(`notification to ${d.label} failed: ${failed}`);
          return;
        }
        sent.push(d.label);
        state.destinations[d.key] = remember(seen, news, toSend, unchecked);
      }),
    );
    state.last_check = at;
    try {
      await writeNotifyState(manifestPath, state);
    } catch (e) {
      warnings.push(
        `could not remember what was announced (${(e as Error).message}): the next check repeats it`,
      );
    }
    return { sent, warnings };
  }

  /** After check-updates: metrics, then notifications; returns the warnings to show. */
  async afterCheck(
    rows: readonly UpdateRow[],
    opts: NotifyOptions & { prometheus?: string },
  ): Promise<string[]> {
    if (opts.prometheus) await this.writeCheckMetrics(opts.prometheus, rows);
    if (this.destinations(opts).length > 0) return (await this.announceUpdates(rows, opts)).warnings;
    if (opts.prometheus) await this.recordCheck();
    return [];
  }

  /** Records the time of a check that sent nothing (metrics only), for `schedule status`. */
  async recordCheck(): Promise<void> {
    const manifestPath = await this.ws.manifestPath();
    const state = await readNotifyState(manifestPath);
    state.last_check = recordTime(this.now());
    await writeNotifyState(manifestPath, state).catch(() => {});
  }

  /** update-safe's outcome to every destination (not deduplicated: each run is news). */
  async notifyOutcome(
    event: Omit<OutcomeEvent, "event" | "project" | "at">,
    opts: NotifyOptions,
  ): Promise<string[]> {
    const destinations = this.destinations(opts);
    if (destinations.length === 0) return [];
    const e: OutcomeEvent = {
      event: "update-safe",
      project: (await this.ws.project()).name,
      at: recordTime(this.now()),
      ...event,
    };
    const failed = await Promise.all(destinations.map(async (d) => [d, await d.send(e)] as const));
    return failed.flatMap(([d, why]) => (why ? [`notification to ${d.label} failed: ${why}`] : []));
  }

  /**
   * Runs update-safe and tells the destinations how it ended: updated (with the versions),
   * rolled back or failed (with the reason). Outside the window or with nothing to do, a run
   * is not news and sends nothing. A failed delivery goes to `warn`, never changes the result.
   */
  async notifyingUpdate(
    run: () => Promise<UpdateSafeReport>,
    opts: NotifyOptions,
    warn: (line: string) => void,
  ): Promise<UpdateSafeReport> {
    const destinations = this.destinations(opts);
    if (destinations.length === 0) return run();
    let report: UpdateSafeReport;
    try {
      report = await run();
    } catch (e) {
      if (e instanceof UserError) {
        const rolledBack = /rolled back/.test(e.message);
        for (const w of await this.notifyOutcome(
          { outcome: rolledBack ? "rolled-back" : "failed", changes: [], reason: e.message },
          opts,
        ))
          warn(w);
      }
      throw e;
    }
    if (report.outcome === "updated" || report.outcome === "resumed") {
      const show = (v?: { tag: string }) => v?.tag;
      const changes = report.changes.map((c) => ({ service: c.service, from: show(c.from), to: c.to.tag }));
      for (const w of await this.notifyOutcome({ outcome: "updated", changes }, opts)) warn(w);
    }
    return report;
  }

  /** A node_exporter textfile for check-updates' rows, written atomically. */
  async writeCheckMetrics(file: string, rows: readonly UpdateRow[]): Promise<void> {
    const project = (await this.ws.project()).name;
    await writeAtomic(
      path.resolve(this.ws.ctx.cli.cwd, file),
      checkMetrics({ project, at: Math.floor(this.now().getTime() / 1000), rows }),
    );
  }

  async writeStatusMetrics(file: string, services: StatusMetricsInput["services"]): Promise<void> {
    const project = (await this.ws.project()).name;
    await writeAtomic(
      path.resolve(this.ws.ctx.cli.cwd, file),
      statusMetrics({ project, at: Math.floor(this.now().getTime() / 1000), services }),
    );
  }

  /** `prune`: local images of the tracked repositories that no record entry and no container uses. */
  async prune(opts: { dryRun?: boolean } = {}): Promise<PruneReport> {
    const project = await this.ws.project();
    const { manifest } = await requireManifest(await this.ws.manifestPath());
    const images = serviceImages(project);
    const recorded: RecordedImage[] = [];
    for (const [service, rec] of Object.entries(manifest.services)) {
      const repository = images.get(service)?.repository ?? rec.image;
      if (!repository) continue;
      recorded.push({
        repository,
        tag: rec.current_tag,
        digest: rec.image_digest,
        why: `${service} ${rec.current_tag} (current)`,
      });
      for (const e of rec.history)
        recorded.push({ repository, tag: e.tag, digest: e.digest, why: `${service} ${e.tag} (history)` });
    }
    const cli = this.ws.ctx.cli;
    // Containers first: an image a container starts using meanwhile is then seen as used.
    const inUse = await imagesInUse(cli);
    const plan = planPrune(await localImages(cli), recorded, inUse);
    const report: PruneReport = { dryRun: Boolean(opts.dryRun), plan, removed: [], freed: 0, warnings: [] };
    if (opts.dryRun) {
      report.freed = plan.remove.filter((r) => r.whole).reduce((n, r) => n + r.size, 0);
      return report;
    }
    for (const r of plan.remove) {
      const failed = await removeImageRefs(cli, r.refs);
      if (failed) report.warnings.push(`kept ${r.refs[0]}: ${failed}`);
      else report.removed.push(...r.refs);
      if (!(await imageExists(cli, r.id))) report.freed += r.size;
    }
    return report;
  }

  /** The scheduled jobs' command lines, from the project as this command loaded it. */
  private async spec(opts: ScheduleOptions): Promise<{ spec: ScheduleSpec; manifestPath: string }> {
    const project = await this.ws.project();
    const manifestPath = await this.ws.manifestPath();
    await requireManifest(manifestPath);
    const env = this.ws.ctx.cli.env;
    const docker = findOnPath("docker", env.PATH ?? "");
    if (!docker)
      throw new UserError("the docker CLI was not found on PATH: the schedule needs its full path");
    const cwd = project.workingDir;
    const base = [
      docker,
      ...this.ws.ctx.cli.globals,
      "versions",
      ...project.files.flatMap((f) => ["--file", f]),
      "--project-name",
      project.name,
      ...project.profiles.flatMap((p) => ["--profile", p]),
      ...(this.ws.ctx.compose.envFiles ?? []).flatMap((e) => [
        "--env-file",
        path.resolve(this.ws.ctx.cli.cwd, e),
      ]),
      "--manifest",
      manifestPath,
    ];
    for (const raw of opts.notify ?? []) asInput(() => parseTarget(raw));
    const notify = (opts.notify ?? []).flatMap((u) => ["--notify", u]);
    const jobs: Job[] = [];
    jobs.push({
      name: "check",
      when: asInput(() => parseWhen(opts.check ?? "daily")),
      argv: [
        ...base,
        "check-updates",
        ...notify,
        ...(opts.prometheus ? ["--prometheus", path.resolve(this.ws.ctx.cli.cwd, opts.prometheus)] : []),
      ],
      describe: "check for new versions",
    });
    if (opts.updateSafe)
      jobs.push({
        name: "update",
        when: asInput(() => parseWhen(opts.updateSafe as string)),
        argv: [
          ...base,
          "update-safe",
          ...(opts.window ? ["--window", asInput(() => parseWindow(opts.window as string)).text] : []),
          ...notify,
        ],
        describe: "update-safe",
      });
    // What the jobs need to find the same docker setup as this command (the plugin, the engine).
    const vars: Record<string, string> = {};
    for (const k of ["DOCKER_CONFIG", "DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_VERSIONS_INSECURE_REGISTRIES"])
      if (env[k]) vars[k] = env[k] as string;
    // A timer's environment may lack HOME: the config directory (and its plugin) is named outright.
    const globals = this.ws.ctx.cli.globals;
    if (!vars.DOCKER_CONFIG && !globals.some((g) => g === "--config" || g.startsWith("--config=")))
      vars.DOCKER_CONFIG = dockerConfigDir(globals, env, this.ws.ctx.cli.cwd);
    const spec: ScheduleSpec = { slug: slugOf(project.name), project: project.name, cwd, jobs, env: vars };
    asInput(() => checkSchedulable(spec));
    return { spec, manifestPath };
  }

  /** The command lines a schedule runs, as an operator would type them. */
  async scheduledCommands(opts: ScheduleOptions): Promise<{ name: string; when: string; command: string }[]> {
    const { spec } = await this.spec(opts);
    return spec.jobs.map((j) => ({
      name: j.name,
      when: j.when.text,
      command: commandLine(spec.cwd, j.argv, spec.env),
    }));
  }

  async installSchedule(opts: ScheduleOptions): Promise<ScheduleReport & { dryRun: boolean }> {
    const { spec, manifestPath } = await this.spec(opts);
    const scheduler: Scheduler =
      opts.scheduler && opts.scheduler !== "auto" ? opts.scheduler : systemdRuns() ? "systemd" : "cron";
    const commands = spec.jobs.map((j) => ({
      name: j.name,
      when: j.when.text,
      command: commandLine(spec.cwd, j.argv, spec.env),
    }));
    if (opts.dryRun)
      return {
        dryRun: true,
        installed: { schema: 1, scheduler, installed_at: "", id: "", jobs: commands },
        notes: [],
      };
    const at = recordTime(this.now());
    return {
      dryRun: false,
      ...(await installSchedule(manifestPath, spec, scheduler, at, this.ws.ctx.cli.env, commands)),
    };
  }

  async removeSchedule(): Promise<{ removed: boolean; notes: string[] }> {
    const manifestPath = await this.ws.manifestPath();
    const installed = await readSchedule(manifestPath);
    if (!installed) return { removed: false, notes: ["no schedule is installed for this project"] };
    return { removed: true, ...(await removeSchedule(manifestPath, installed, this.ws.ctx.cli.env)) };
  }

  async scheduleStatus(): Promise<ScheduleStatus> {
    const manifestPath = await this.ws.manifestPath();
    const installed = await readSchedule(manifestPath);
    const problems = installed ? await scheduleIsPresent(installed, this.ws.ctx.cli.env) : [];
    const state = await readNotifyState(manifestPath).catch(() => null);
    return { installed, problems, lastCheck: state?.last_check, lastUpdate: lastUpdateSafe(manifestPath) };
  }
}

/** The newest finished update-safe run in the journal. */
function lastUpdateSafe(manifestPath: string): ScheduleStatus["lastUpdate"] {
  let text: string | null;
  try {
    text = readOwned(journalPath(manifestPath), 64 * 1024 * 1024);
  } catch {
    return undefined;
  }
  const ends = (text ?? "").split("\n").filter((l) => l.includes('"step":"end"'));
  for (const line of ends.reverse()) {
    try {
      const e = JSON.parse(line) as { at: string; outcome?: string; detail?: string };
      return { at: e.at, outcome: e.outcome ?? "?", detail: e.detail };
    } catch {
      // a torn line: look at the one before
    }
  }
  return undefined;
}

function findOnPath(name: string, pathVar: string): string | null {
  for (const dir of pathVar.split(":").filter(Boolean)) {
    const full = path.join(dir, name);
    if (path.isAbsolute(full) && existsSync(full)) return full;
  }
  return null;
}
