// The record on disk for one project: reading the manifest (with a useful error when it is
// corrupt), changing it under the lock with a backup first (the one path every change of the
// record takes: mutateRecord, writeRecord, restoreRecord, all through commitRecord), and
// regenerating versions.env from it and the raw compose files.
import path from "node:path";
import type { ComposeProject, ComposeServices } from "./adapters/compose.js";
import { type AuditLine, auditPath, auditText } from "./adapters/journal.js";
import { ownedFileStat, readOwned } from "./adapters/owned-files.js";
import { recordMemo } from "./adapters/record-memo.js";
import {
  backupFile,
  MAX_RECORD_BYTES,
  newestBackup,
  readText,
  removeStaleTempsOf,
  withLock,
  writeAtomic,
} from "./adapters/store.js";
import { runTransaction, type Settled, settleTransaction } from "./adapters/transaction.js";
import { type EnvAssignment, renderEnv } from "./core/env.js";
import {
  type Manifest,
  ManifestError,
  parseManifest,
  type RecordMemo,
  renderManifest,
  type ServiceRecord,
} from "./core/manifest.js";
import { byName } from "./core/names.js";
import { type Pin, type PinPlan, planPins, type RecordedVersion, versionGroup } from "./core/pinning.js";
import { parseReference, repositoryName } from "./core/reference.js";
import { recordTime } from "./core/time.js";
import { UserError } from "./errors.js";

export const ENV_FILE = "versions.env";

export interface RecordPaths {
  manifest: string;
  env: string;
}

export function recordPaths(manifestPath: string): RecordPaths {
  return { manifest: manifestPath, env: path.join(path.dirname(manifestPath), ENV_FILE) };
}

/** Where a change of the record in progress (or cut short) is described, next to the lock. */
export function intentPath(manifestPath: string): string {
  return `${manifestPath}.txn`;
}

function readIfExists(file: string): string | null {
  return readOwned(file, MAX_RECORD_BYTES);
}

export interface LoadedManifest {
  text: string;
  manifest: Manifest;
}

/** The manifest, or null when the project has none; a corrupt one is a one-line error. */
export async function readManifest(file: string): Promise<LoadedManifest | null> {
  const text = readIfExists(file);
  return text === null ? null : parseLoaded(file, text);
}

/** The memo of validated records (adapters/record-memo.ts), looked for once per process. */
let records: { memo: RecordMemo | undefined } | undefined;
const knownRecords = (): RecordMemo | undefined => {
  records ??= { memo: recordMemo(process.env) };
  return records.memo;
};

/** Validates manifest text read from `file`; a corrupt one is a one-line error naming a backup. */
export async function parseLoaded(file: string, text: string): Promise<LoadedManifest> {
  try {
    return { text, manifest: parseManifest(text, knownRecords()) };
  } catch (e) {
    if (!(e instanceof ManifestError)) throw e;
    const backup = await newestBackup(file);
    const where = e.line ? `${file}:${e.line}` : file;
    const hint = backup ? `; the newest backup is ${backup}` : "; there is no backup in .version-backups/";
    throw new UserError(`corrupt manifest ${where}: ${e.message}${hint}`);
  }
}

/** Reads the manifest and fails with the next step when there is none. */
export async function requireManifest(file: string): Promise<LoadedManifest> {
  const loaded = await readManifest(file);
  if (!loaded)
    throw new UserError(
      `no version manifest at ${file}: run 'docker versions migrate-versions' to create one`,
    );
  return loaded;
}

export interface ServiceImage {
  /** `image:` as written (after merges, extends, overrides), before interpolation. */
  template?: string;
  /** Repository as Docker names it locally, from Compose's interpolated image. */
  repository?: string;
  /** A digest the interpolated image itself names (pinned in the compose file). */
  digest?: string;
  /** In the project as loaded (its profiles active). */
  active: boolean;
}

/** For every service of the compose files: its image template and what Compose made of it. */
export function serviceImages(project: ComposeProject): Map<string, ServiceImage> {
  const out = new Map<string, ServiceImage>();
  for (const [name, template] of Object.entries(project.templates)) {
    if (!Object.hasOwn(project.services, name)) out.set(name, { template, active: false });
  }
  for (const [name, composed] of composedImages(project)) {
    // Without the uninterpolated config (an old Compose), the interpolated image is all we know.
    const template = Object.hasOwn(project.templates, name)
      ? project.templates[name]
      : project.services[name]?.image;
    out.set(name, { template, ...composed });
  }
  return out;
}

/**
 * What Compose made of each active service's image (repository, digest it names), from the
 * interpolated config alone: enough for asking the registry, not for pinning.
 */
export function composedImages(project: ComposeServices): Map<string, Omit<ServiceImage, "template">> {
  const out = new Map<string, Omit<ServiceImage, "template">>();
  for (const [name, spec] of Object.entries(project.services)) {
    let repository: string | undefined;
    let digest: string | undefined;
    try {
      const ref = spec.image ? parseReference(spec.image) : undefined;
      repository = ref ? repositoryName(ref) : undefined;
      digest = ref?.digest;
    } catch {
      repository = undefined;
    }
    out.set(name, { repository, digest, active: true });
  }
  return out;
}

/** Which variable pins which tracked service, from the templates and the record. */
export function pinPlanFor(manifest: Manifest, images: Map<string, ServiceImage>): PinPlan {
  const records = new Map<string, RecordedVersion>();
  for (const [service, rec] of Object.entries(manifest.services)) {
    records.set(service, { tag: rec.current_tag, digest: rec.image_digest, repository: rec.image });
  }
  return planPins(
    [...images].map(([service, img]) => ({ service, ...img })),
    records,
  );
}

/** The tracked services that move with `service` (it included), as versionGroup decides. */
export function groupMembers(
  manifest: Manifest,
  images: Map<string, ServiceImage>,
  service: string,
): string[] {
  return versionGroup(
    [...images].map(([s, img]) => ({ service: s, ...img })),
    service,
  ).filter((s) => s === service || Object.hasOwn(manifest.services, s));
}

/** One line on a tracked service that versions.env cannot pin, with the edit that would. */
export function unpinnedWarning(service: string, pin: Pin & { state: "unpinned" }): string {
  const fix = pin.edit
    ? `; to pin it, change its image: to ${pin.edit}`
    : "; give it a variable of its own for its whole tag";
  return `service '${service}' is not pinned: ${pin.reason}${fix}`;
}

/** versions.env text for a manifest, and one warning per tracked service Compose cannot pin. */
export function envFor(
  manifest: Manifest,
  images: Map<string, ServiceImage>,
): { text: string; warnings: string[]; plan: PinPlan } {
  const warnings: string[] = [];
  const plan = pinPlanFor(manifest, images);
  for (const service of Object.keys(manifest.services).sort()) {
    const pin = plan.pins.get(service);
    if (!images.get(service)?.active) {
      warnings.push(
        `service '${service}' is in the manifest but not in the compose project; it is left out of ${ENV_FILE}`,
      );
    } else if (pin?.state === "unpinned") warnings.push(unpinnedWarning(service, pin));
  }
  const assignments: EnvAssignment[] = plan.assignments.map((a) => ({
    service: a.services.join(", "),
    variable: a.variable,
    value: a.value,
  }));
  try {
    return { text: renderEnv(assignments), warnings, plan };
  } catch (e) {
    throw new UserError((e as Error).message);
  }
}

export interface Mutation<T> {
  /** The new manifest, or null when nothing changes. */
  manifest: Manifest | null;
  result: T;
}

/**
 * Changes the record under the lock: settles a change an earlier command left unfinished,
 * re-reads the manifest (another command may have written it meanwhile), lets `change` decide,
 * then writes manifest, versions.env and the audit lines as one transaction. Returns the backup
 * path and env warnings with the result.
 */
export async function mutateRecord<T>(
  paths: RecordPaths,
  images: Map<string, ServiceImage>,
  command: string,
  now: Date,
  change: (current: LoadedManifest | null) => Mutation<T> | Promise<Mutation<T>>,
): Promise<{ result: T; backup: string | null; warnings: string[]; changed: boolean }> {
  return withLock(paths.manifest, { command, now }, async () => {
    await settleLocked(paths, images);
    const current = await readManifest(paths.manifest);
    const { manifest, result } = await change(current);
    if (!manifest) return { result, backup: null, warnings: [], changed: false };
    return { result, ...(await writeRecord(paths, images, command, current, manifest, now)), changed: true };
  });
}

const versionText = (rec: { current_tag: string; image_digest?: string } | undefined) =>
  rec ? `${rec.current_tag}${rec.image_digest ? `@${rec.image_digest}` : ""}` : "(untracked)";

/** One audit line per service whose version differs between `before` and `after`. */
export function auditLines(
  command: string,
  before: Manifest | undefined,
  after: Manifest,
  at: string,
): AuditLine[] {
  const from = before?.services ?? byName<ServiceRecord>();
  return [...new Set([...Object.keys(from), ...Object.keys(after.services)])]
    .sort()
    .filter((s) => versionText(from[s]) !== versionText(after.services[s]))
    .map((service) => ({
      at,
      command,
      service,
      from: versionText(from[service]),
      to: versionText(after.services[service]),
    }));
}

export interface CommitOptions {
  /**
   * A backup of this very manifest that the caller took earlier under the same lock (update-safe
   * backs up before it pulls): the change then takes no second one.
   */
  backup?: string | null;
}

/**
 * Writes a new manifest over `current` (the caller holds the lock): the manifest, versions.env
 * and one audit line per service that changed, as one transaction, after a backup.
 */
export async function writeRecord(
  paths: RecordPaths,
  images: Map<string, ServiceImage>,
  command: string,
  current: LoadedManifest | null,
  manifest: Manifest,
  now: Date,
  opts: CommitOptions = {},
): Promise<{ backup: string | null; warnings: string[] }> {
  const next = { manifest, text: renderManifest(manifest, current?.text) };
  return commitLoaded(paths, images, command, current, next, now, opts);
}

/**
 * Puts an earlier manifest back byte for byte (update-safe's rollback), with its versions.env and
 * the audit lines of what that undoes, as one record transaction; nothing when it is already back.
 */
export async function restoreRecord(
  paths: RecordPaths,
  images: Map<string, ServiceImage>,
  command: string,
  previous: LoadedManifest,
  now: Date,
): Promise<void> {
  const current = await requireManifest(paths.manifest);
  if (current.text === previous.text) return;
  await commitLoaded(paths, images, command, current, previous, now, {});
}

async function commitLoaded(
  paths: RecordPaths,
  images: Map<string, ServiceImage>,
  command: string,
  current: LoadedManifest | null,
  next: LoadedManifest,
  now: Date,
  opts: CommitOptions,
): Promise<{ backup: string | null; warnings: string[] }> {
  const env = envFor(next.manifest, images);
  const lines = auditLines(command, current?.manifest, next.manifest, recordTime(now));
  const backup = await commitRecord(paths, command, next.text, env.text, lines, { ...opts, now });
  return { backup, warnings: env.warnings };
}

/**
 * The record transaction (the caller holds the lock): every file is prepared first, so one that
 * cannot be written fails the change before the manifest moves; then the manifest is backed up
 * and the intent synced; then manifest, versions.env and audit lines are written in that order.
 */
export async function commitRecord(
  paths: RecordPaths,
  command: string,
  manifestText: string,
  envText: string,
  lines: readonly AuditLine[],
  opts: CommitOptions & { now?: Date } = {},
): Promise<string | null> {
  const audit = auditPath(paths.manifest);
  // Every path this change writes is checked before the first write: a link or a special file
  // in any of their places refuses the whole change, so none of it happens.
  // (.version-backups/ is checked by the backup itself, before anything visible changes.)
  for (const file of [paths.manifest, paths.env, audit, intentPath(paths.manifest)]) ownedFileStat(file);
  return runTransaction({
    intent: intentPath(paths.manifest),
    command,
    files: [
      { name: "manifest", path: paths.manifest, text: manifestText },
      { name: "env", path: paths.env, text: envText },
    ],
    append: lines.length > 0 ? { name: "audit", path: audit, text: auditText(lines) } : undefined,
    before: async () =>
      opts.backup !== undefined ? opts.backup : backupFile(paths.manifest, { now: opts.now }),
    now: opts.now,
  });
}

/** The one line that tells the operator what became of a change cut short. */
export function settledLine(s: Settled): string {
  const what = `the change of the record that ${s.command} (pid ${s.pid}) began at ${s.at} and did not finish`;
  switch (s.outcome) {
    case "completed":
      return `completed ${what}: the manifest had been written, and ${ENV_FILE} and the audit log now match it`;
    case "reverted":
      return `reverted ${what}: the manifest had not been written yet, so the record is as it was before`;
    default:
      return `dropped ${what}: the manifest has been changed since, and ${ENV_FILE} is rewritten from it`;
  }
}

const toStderr = (line: string) => process.stderr.write(`${line}\n`);

/** settleRecord's work, for a caller that already holds the lock. */
async function settleLocked(
  paths: RecordPaths,
  images: Map<string, ServiceImage> | undefined,
  notice: (line: string) => void = toStderr,
): Promise<Settled | null> {
  const settled = await settleTransaction(intentPath(paths.manifest));
  if (!settled) return null;
  notice(settledLine(settled));
  if (settled.outcome === "discarded" && images) await syncEnv(paths, images, () => {});
  return settled;
}

/**
 * Finds a change of the record that a crashed command left half done and completes or reverts
 * it (under the lock, saying so in one line); also removes temp files crashed writers left.
 * Every command runs it before it reads the record.
 */
export async function settleRecord(
  paths: RecordPaths,
  images?: Map<string, ServiceImage> | (() => Promise<Map<string, ServiceImage> | undefined>),
  notice: (line: string) => void = toStderr,
  now?: Date,
): Promise<Settled | null> {
  await removeStaleTempsOf(paths.manifest, paths.env, intentPath(paths.manifest));
  if ((await readText(intentPath(paths.manifest))) === null) return null;
  // Asked only now that there is a change to settle (it may cost a Compose call).
  const known = typeof images === "function" ? await images() : images;
  return withLock(paths.manifest, { command: "settle an unfinished change", now }, () =>
    settleLocked(paths, known, notice),
  );
}

/** Rewrites versions.env from the manifest when it says something else; true if it did. */
async function syncEnv(
  paths: RecordPaths,
  images: Map<string, ServiceImage>,
  notice: (line: string) => void,
): Promise<boolean> {
  const loaded = await readManifest(paths.manifest);
  if (!loaded) return false;
  const env = envFor(loaded.manifest, images);
  const onDisk = await readText(paths.env);
  if (onDisk === env.text) return false;
  await writeAtomic(paths.env, env.text);
  notice(
    `${paths.env} ${onDisk === null ? "was missing" : "did not match the manifest"}: rewrote it from the manifest before running Compose`,
  );
  return true;
}

/**
 * Called before every Compose run that reads versions.env: settles an unfinished change, then
 * makes versions.env say what the manifest says (rewriting it under the lock when it does
 * not), so Compose never starts a version the record does not name.
 */
export async function ensureEnvMatches(
  paths: RecordPaths,
  images: Map<string, ServiceImage>,
  notice: (line: string) => void = toStderr,
  now?: Date,
): Promise<void> {
  await settleRecord(paths, images, notice, now);
  const loaded = await readManifest(paths.manifest);
  if (!loaded) return;
  if ((await readText(paths.env)) === envFor(loaded.manifest, images).text) return;
  await withLock(paths.manifest, { command: "generate-env", now }, async () => {
    await settleLocked(paths, images, notice);
    await syncEnv(paths, images, notice);
  });
}
