// The work behind each step of a plan, done with the Workspace (Docker, Compose, the record):
// what the executor (executor.ts) calls. One run's work knows the record as it was (to put it
// back) and the record it plans (to write it); the order, the journal and what a failure
// means are the executor's.
import path from "node:path";
import { listContainers } from "./adapters/compose.js";
import { type DataBackup, runBackupCommand, snapshotVolumes } from "./adapters/data-backup.js";
import { waitForHealthUrl } from "./adapters/health-url.js";
import { appendJournal } from "./adapters/journal.js";
import { BACKUP_DIR, backupFile, readText } from "./adapters/store.js";
import type { Manifest } from "./core/manifest.js";
import { messageOf } from "./errors.js";
import { type Journal, LeftOpenError, type StepWork } from "./executor.js";
import type { Lifecycle } from "./lifecycle.js";
import { makeLocal } from "./local-images.js";
import {
  intentPath,
  type LoadedManifest,
  recordPaths,
  requireManifest,
  restoreRecord,
  type ServiceImage,
  writeRecord,
} from "./record.js";
import type { Workspace } from "./workspace.js";

export interface WorkOptions {
  command: string;
  /** The record as it was when the run planned (what a rollback puts back). */
  previous: LoadedManifest;
  /** The record the run writes (null on a resumed run, which has already written it). */
  next: Manifest | null;
  images: Map<string, ServiceImage>;
  lifecycle: Lifecycle;
  /** The run waits for health, and so does its rollback (update-safe). */
  health?: boolean;
  /** Waiting for health: seconds (update-safe's --timeout and --settle). */
  timeout?: number;
  settle?: number;
  /** Where the record's warnings go (a service versions.env cannot pin). */
  warnings?: string[];
  /** The data backup taken, for the report. */
  data?: { taken: DataBackup | null };
}

const compact = (d: Date) => d.toISOString().replace(/[-:T]/g, "").slice(0, 14);

/** A journal for one run, every entry stamped with its id and the Workspace clock. */
export function journalFor(ws: Workspace, manifestPath: string, id: string): Journal {
  return (e) => appendJournal(manifestPath, { id, at: ws.at(), ...e });
}

/** A run's id: when it started and which process runs it. */
export const runId = (ws: Workspace) => `${compact(ws.clock())}-${process.pid}`;

export function stepWork(ws: Workspace, o: WorkOptions): StepWork {
  const say = (line: string) => o.lifecycle.say(line);
  const wait = { timeout: o.timeout, settle: o.settle };
  const { stack } = ws.ctx;
  // On a stack the deploy itself waits for Swarm's update (tasks healthy, `monitor` passed, or
  // Swarm's rollback), so there is nothing more to wait for.
  const waitReady = async (services: string[]) => {
    if (!stack) await o.lifecycle.waitReady(services, wait);
  };
  return {
    say,
    async backup(step) {
      const manifestPath = await ws.manifestPath();
      const backup = await backupFile(manifestPath, { now: ws.clock() });
      if (!step.data) return backup;
      const dir = path.join(path.dirname(manifestPath), BACKUP_DIR, "data", compact(ws.clock()));
      const taken = await backupData(ws, o.lifecycle, o.previous.manifest, dir);
      if (o.data) o.data.taken = taken;
      return backup;
    },
    async pull(step) {
      await makeLocal(ws, step.images, o.next ?? o.previous.manifest, o.images, say);
    },
    async record(_step, backup) {
      const paths = await ws.paths();
      if (!o.next) return backup ?? null;
      try {
        const opts = backup === undefined ? {} : { backup };
        const out = await writeRecord(paths, o.images, o.command, o.previous, o.next, ws.clock(), opts);
        o.warnings?.push(...out.warnings);
        return out.backup;
      } catch (e) {
        // Failing before the transaction's commit point changed nothing (the run stops cleanly);
        // failing after it is like a crash there: the run stays open for --resume.
        if ((await readText(intentPath(paths.manifest))) === null) throw e;
        throw new LeftOpenError(
          `${o.command} could not finish recording the new versions (${messageOf(e)}): once that is fixed, run 'docker versions update-safe --resume' or 'docker versions rollback'`,
        );
      }
    },
    async recreate(step) {
      if (step.full) await o.lifecycle.restart(wait);
      else {
        say(`${stack ? "deploying" : "recreating"} ${step.services.join(", ")}`);
        await ws.recreate(step.services, { timeout: o.timeout });
      }
    },
    async health(step) {
      await waitReady(step.services);
      await checkHealthUrls(ws, step.services, o.timeout ?? 120);
    },
    async restore() {
      const paths = recordPaths(await ws.manifestPath());
      await restoreRecord(paths, o.images, `${o.command} (rollback)`, o.previous, ws.clock());
    },
    async rerun(services) {
      await ws.recreate(services, { timeout: o.timeout });
    },
    async waitRerun(services) {
      // Only a run that waits for health waits for its rollback; the others recreate and go.
      if (o.health) await waitReady(services);
    },
  };
}

/** The databases' data: the manifest's backup command, else an archive of each volume. */
async function backupData(
  ws: Workspace,
  lifecycle: Lifecycle,
  manifest: Manifest,
  dir: string,
): Promise<DataBackup> {
  const project = await ws.project();
  if (manifest.data_backup_command) {
    lifecycle.say(`data backup: ${manifest.data_backup_command.join(" ")}`);
    return runBackupCommand(manifest.data_backup_command, dir, project.workingDir, ws.cli.env);
  }
  if (ws.ctx.stack) {
    lifecycle.say(
      "data backup: on a stack the database volumes live on their nodes; set data_backup_command in the manifest to dump them",
    );
    return { dir, archives: [], skipped: ["(stack: no volume archive)"] };
  }
  const roles = await lifecycle.roles();
  const databases = [...roles].filter(([, r]) => r.role === "database").map(([s]) => s);
  const containers = await listContainers(ws.cli, project);
  const data = await snapshotVolumes(ws.cli, project, databases, containers, dir);
  const total = data.archives.reduce((n, a) => n + a.bytes, 0);
  lifecycle.say(
    `data backup: ${data.archives.length} volume(s), ${(total / 1024 / 1024).toFixed(1)} MiB in ${dir}`,
  );
  return data;
}

/** Each recreated service's health_url must answer 2xx before the timeout. */
async function checkHealthUrls(ws: Workspace, services: readonly string[], timeoutS: number): Promise<void> {
  const { manifest } = await requireManifest(await ws.manifestPath());
  const deadline = Date.now() + timeoutS * 1000;
  for (const service of services) {
    const raw = manifest.services[service]?.health_url;
    if (!raw) continue;
    await waitForHealthUrl(service, raw, { deadline });
  }
}
