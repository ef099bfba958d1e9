// The record on disk for one project: reading the manifest (with a useful error when it is
// corrupt), changing it under the lock with a backup first, and regenerating versions.env
// from it and the raw compose files.
import { readFileSync } from "node:fs";
import path from "node:path";
import { parseDocument } from "yaml";
import type { ComposeProject } from "./adapters/compose.js";
import { type AuditLine, auditPath, auditText } from "./adapters/journal.js";
import {
  backupFile,
  newestBackup,
  readText,
  removeStaleTempsOf,
  withLock,
  writeAtomic,
} from "./adapters/store.js";
import { runTransaction, type Settled, settleTransaction } from "./adapters/transaction.js";
import {
  type EnvAssignment,
  type ImageVariable,
  imageVariable,
  pinnedValue,
  renderEnv,
  suggestedVariable,
} from "./core/env.js";
import { type Manifest, ManifestError, parseManifest, renderManifest } from "./core/manifest.js";
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
  try {
    return readFileSync(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw new UserError(`cannot read ${file}: ${(e as Error).message}`);
  }
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

/** Validates manifest text read from `file`; a corrupt one is a one-line error naming a backup. */
export async function parseLoaded(file: string, text: string): Promise<LoadedManifest> {
  try {
    return { text, manifest: parseManifest(text) };
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
  /** The `image:` line as written in the last compose file that sets it, and that file. */
  raw?: string;
  file?: string;
  variable: ImageVariable | null;
  /** Repository as Docker names it locally, from Compose's resolved image. */
  repository?: string;
}

/** For every service: the raw `image:` text and the variable its version comes from. */
export function serviceImages(project: ComposeProject): Map<string, ServiceImage> {
  const raws = new Map<string, { raw: string; file: string }>();
  for (const file of project.files) {
    const doc = parseDocument(readFileSync(file, "utf8")).toJS() as {
      services?: Record<string, { image?: unknown }>;
    } | null;
    for (const [name, svc] of Object.entries(doc?.services ?? {})) {
      if (typeof svc?.image === "string") raws.set(name, { raw: svc.image, file });
    }
  }
  const out = new Map<string, ServiceImage>();
  for (const [name, spec] of Object.entries(project.services)) {
    const { raw, file } = raws.get(name) ?? {};
    let repository: string | undefined;
    try {
      repository = spec.image ? repositoryName(parseReference(spec.image)) : undefined;
    } catch {
      repository = undefined;
    }
    out.set(name, { raw, file, variable: raw ? imageVariable(raw) : null, repository });
  }
  return out;
}

/** versions.env text for a manifest, and one warning per tracked service Compose cannot pin. */
export function envFor(
  manifest: Manifest,
  images: Map<string, ServiceImage>,
): { text: string; warnings: string[] } {
  const assignments: EnvAssignment[] = [];
  const warnings: string[] = [];
  for (const [service, rec] of Object.entries(manifest.services)) {
    const img = images.get(service);
    if (!img) {
      warnings.push(
        `service '${service}' is in the manifest but not in the compose project; it is left out of ${ENV_FILE}`,
      );
      continue;
    }
    if (!img.variable) {
      const shown = img.raw ?? "(no image: line)";
      const fix = img.repository
        ? `${img.repository}:\${${suggestedVariable(service)}:-${rec.current_tag}}`
        : `<repository>:\${${suggestedVariable(service)}}`;
      warnings.push(
        `service '${service}' is not pinned: its image '${shown}' has no version variable; change it to image: ${fix}`,
      );
      continue;
    }
    const repository = rec.image ?? img.repository ?? "";
    assignments.push({
      service,
      variable: img.variable.name,
      value: pinnedValue(img.variable, repository, rec.current_tag, rec.image_digest),
    });
  }
  try {
    return { text: renderEnv(assignments), warnings };
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
  change: (current: LoadedManifest | null) => Mutation<T> | Promise<Mutation<T>>,
): Promise<{ result: T; backup: string | null; warnings: string[]; changed: boolean }> {
  return withLock(paths.manifest, { command }, async () => {
    await settleLocked(paths, images);
    const current = await readManifest(paths.manifest);
    const { manifest, result } = await change(current);
    if (!manifest) return { result, backup: null, warnings: [], changed: false };
    return { result, ...(await writeRecord(paths, images, command, current, manifest)), changed: true };
  });
}

const versionText = (rec: { current_tag: string; image_digest?: string } | undefined) =>
  rec ? `${rec.current_tag}${rec.image_digest ? `@${rec.image_digest}` : ""}` : "(untracked)";

/** One audit line per service whose version differs between `before` and `after`. */
export function auditLines(command: string, before: Manifest | undefined, after: Manifest): AuditLine[] {
  const from = before?.services ?? {};
  const at = recordTime();
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
): Promise<{ backup: string | null; warnings: string[] }> {
  const text = renderManifest(manifest, current?.text);
  const env = envFor(manifest, images);
  const backup = await commitRecord(
    paths,
    command,
    text,
    env.text,
    auditLines(command, current?.manifest, manifest),
  );
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
): Promise<string | null> {
  const audit = auditPath(paths.manifest);
  return runTransaction({
    intent: intentPath(paths.manifest),
    command,
    files: [
      { name: "manifest", path: paths.manifest, text: manifestText },
      { name: "env", path: paths.env, text: envText },
    ],
    append: lines.length > 0 ? { name: "audit", path: audit, text: auditText(lines) } : undefined,
    before: () => backupFile(paths.manifest),
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
  images?: Map<string, ServiceImage>,
  notice: (line: string) => void = toStderr,
): Promise<Settled | null> {
  await removeStaleTempsOf(paths.manifest, paths.env, intentPath(paths.manifest));
  if ((await readText(intentPath(paths.manifest))) === null) return null;
  return withLock(paths.manifest, { command: "settle an unfinished change" }, () =>
    settleLocked(paths, images, notice),
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
): Promise<void> {
  await settleRecord(paths, images, notice);
  const loaded = await readManifest(paths.manifest);
  if (!loaded) return;
  if ((await readText(paths.env)) === envFor(loaded.manifest, images).text) return;
  await withLock(paths.manifest, { command: "generate-env" }, async () => {
    await settleLocked(paths, images, notice);
    await syncEnv(paths, images, notice);
  });
}
