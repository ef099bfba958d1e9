// `migrate-versions`: the first record of a project, proposed from what runs (the digest each
// container actually runs) or, for a service not running, from the compose file; and the
// compose edits, asked one at a time, that let versions.env pin every tracked service.
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { ComposeProject } from "./adapters/compose.js";
import { listContainers } from "./adapters/compose.js";
import { digestFor, inspectContainers } from "./adapters/engine.js";
import { inspectRefs } from "./adapters/images.js";
import { backupFile, writeAtomic } from "./adapters/store.js";
import { findImageSites, replaceImage } from "./core/compose-edit.js";
import { parseComposeText } from "./core/compose-yaml.js";
import { recordDeployment } from "./core/history.js";
import type { ServiceRecord } from "./core/manifest.js";
import { byName } from "./core/names.js";
import { nameOrder } from "./core/order.js";
import { type Pin, planPins } from "./core/pinning.js";
import { isValidTag, parseReference } from "./core/reference.js";
import { specVersion } from "./core/swarm.js";
import { UserError } from "./errors.js";
import { mutateRecord, pinPlanFor, readManifest, type ServiceImage, serviceImages } from "./record.js";
import { observeStack, runningImages } from "./stack-reports.js";
import type { Workspace } from "./workspace.js";

export interface MigrationProposal {
  service: string;
  repository: string;
  tag: string;
  digest?: string;
  /** Whether the digest comes from a running container (else from the local image, if any). */
  running: boolean;
  variable?: string;
  /**
   * The tag pull-latest and update-safe will follow: the one the compose file names, so that
   * `postgres:16` keeps following 16 rather than jumping to latest; absent means latest.
   */
  floating?: string;
}

export interface ComposeEdit {
  service: string;
  file: string;
  before: string;
  after: string;
}

export interface MigrateOptions {
  dryRun?: boolean;
  /** Asked for each service whose `image:` has no version variable; true rewrites that line. */
  editCompose?: (edit: ComposeEdit) => Promise<boolean>;
  /** The wizard: returns the tag to record for a proposal. */
  decide?: (p: MigrationProposal) => Promise<string>;
}

export interface MigrationReport {
  composeEdits: ComposeEdit[];
  created: boolean;
  proposals: MigrationProposal[];
  manifest: string;
  warnings: string[];
}

/**
 * `migrate-versions`: proposes a record for every service with an image from what runs (the
 * digest the container actually runs) or, for a service not running, from the compose file;
 * `decide` may change each proposal's tag (the wizard), then the manifest and env are written.
 */
export async function migrate(ws: Workspace, opts: MigrateOptions = {}): Promise<MigrationReport> {
  const project = await ws.project();
  const paths = await ws.paths();
  if (await readManifest(paths.manifest)) {
    return { created: false, proposals: [], manifest: paths.manifest, warnings: [], composeEdits: [] };
  }
  const { proposals, warnings } = await propose(ws, project);
  // The compose edits are asked first, planned on the proposed tags.
  const composeEdits =
    opts.editCompose && !opts.dryRun
      ? await pinByEdits(project, proposals, opts.editCompose, ws.clock())
      : [];
  for (const p of proposals) {
    if (opts.decide) p.tag = await opts.decide(p);
    if (!isValidTag(p.tag)) throw new UserError(`'${p.tag}' is not a valid tag for ${p.service}`);
  }
  if (opts.dryRun) return { created: false, proposals, manifest: paths.manifest, warnings, composeEdits: [] };
  if (composeEdits.length > 0) ws.forgetProject(); // the files changed: read them again
  const images = serviceImages(await ws.project());
  const out = await mutateRecord(paths, images, "migrate-versions", ws.clock(), (current) => {
    if (current) return { manifest: null, result: false };
    const at = ws.at();
    const services = byName<ServiceRecord>();
    for (const p of proposals) {
      const rec = recordDeployment(undefined, {
        tag: p.tag,
        digest: p.digest,
        at,
        source: "migrate-versions",
        image: p.repository,
      });
      services[p.service] = p.floating ? { ...rec, floating_tag: p.floating } : rec;
    }
    return { manifest: { schema: 1, services }, result: true };
  });
  nameVariables(proposals, images);
  return {
    created: out.result,
    proposals,
    manifest: paths.manifest,
    warnings: [...warnings, ...out.warnings],
    composeEdits,
  };
}

/** One proposal per service with an image: what runs (its digest), else the compose file's. */
async function propose(
  ws: Workspace,
  project: ComposeProject,
): Promise<{ proposals: MigrationProposal[]; warnings: string[] }> {
  const before = serviceImages(project);
  if (ws.ctx.stack) return proposeFromStack(ws, ws.ctx.stack, project, before);
  const containers = await listContainers(ws.ctx.cli, project);
  const infos = await inspectContainers(
    ws.ctx.cli,
    containers.filter((c) => c.state === "running").map((c) => c.id),
  );
  const proposals: MigrationProposal[] = [];
  const warnings: string[] = [];
  const built = Object.entries(project.services)
    .filter(([, spec]) => !spec.image)
    .map(([s]) => s)
    .sort();
  if (built.length > 0) warnings.push(`not tracked, they are built from source: ${built.join(", ")}`);
  // Each service's image: the one its container runs, else the compose file's; one inspect for all.
  const sources = Object.entries(project.services)
    .sort(([a], [b]) => nameOrder(a, b))
    .flatMap(([service, spec]) => {
      const repository = before.get(service)?.repository;
      if (!spec.image || !repository) return [];
      const ids = containers.filter((c) => c.service === service).map((c) => c.id);
      const running = infos.find((i) => ids.some((id) => i.id.startsWith(id)));
      return [
        {
          service,
          repository,
          ref: parseReference(spec.image),
          image: running?.imageId ?? spec.image,
          running: Boolean(running),
        },
      ];
    });
  const local = await inspectRefs(
    ws.cli,
    sources.map((s) => s.image),
  );
  for (const { service, repository, ref, image, running } of sources) {
    const tag = ref.tag ?? "latest";
    const info = local.get(image);
    proposals.push({
      service,
      repository,
      tag,
      // A digest the compose file names is the record, whatever runs now.
      digest: ref.digest ?? (info ? digestFor(info, repository) : undefined),
      running,
      floating: tag === "latest" ? undefined : tag,
    });
  }
  return { proposals, warnings };
}

/**
 * On a stack, what runs is each service's spec: `docker stack deploy` resolved its image to
 * `repo:tag@digest`, which every task runs once Swarm converged.
 */
async function proposeFromStack(
  ws: Workspace,
  stack: string,
  project: ComposeProject,
  before: Map<string, ServiceImage>,
): Promise<{ proposals: MigrationProposal[]; warnings: string[] }> {
  const view = await observeStack(ws, stack);
  const running = runningImages(view);
  const proposals: MigrationProposal[] = [];
  const missing: string[] = [];
  for (const [service, spec] of Object.entries(project.services).sort(([a], [b]) => nameOrder(a, b))) {
    const img = before.get(service);
    if (!spec.image || !img?.repository) continue;
    const ref = parseReference(spec.image);
    const svc = view.services.find((s) => s.service === service);
    if (!svc) missing.push(service);
    const deployed = svc ? specVersion(svc.image) : {};
    const tag = ref.tag ?? "latest";
    proposals.push({
      service,
      repository: img.repository,
      tag: deployed.tag ?? tag,
      digest: ref.digest ?? deployed.digest,
      running: (running.get(service) ?? []).length > 0,
      floating: tag === "latest" ? undefined : tag,
    });
  }
  const warnings = missing.length
    ? [`not deployed in stack ${stack}, recorded from the compose file: ${missing.join(", ")}`]
    : [];
  return { proposals, warnings };
}

/** Each proposal learns the versions.env variable that pins it, if one does. */
function nameVariables(proposals: MigrationProposal[], images: Map<string, ServiceImage>): void {
  const plan = pinPlanFor(
    {
      schema: 1,
      services: Object.fromEntries(
        proposals.map((p) => [
          p.service,
          { current_tag: p.tag, image_digest: p.digest, custom: false, history: [] },
        ]),
      ),
    },
    images,
  );
  for (const p of proposals) {
    const pin = plan.pins.get(p.service);
    if (pin?.state === "pinned") p.variable = pin.variable;
  }
}

/**
 * Edits the compose files, one `image:` value at a time, where `confirm` agrees, until every
 * tracked service is pinned or no edit is left: each edit is planned on the files as the
 * previous ones left them, so a service that one edit frees is not edited itself. Backs up
 * each file it changes.
 */
async function pinByEdits(
  project: ComposeProject,
  proposals: readonly MigrationProposal[],
  confirm: (edit: ComposeEdit) => Promise<boolean>,
  now: Date,
): Promise<ComposeEdit[]> {
  const records = new Map(
    proposals.map((p) => [p.service, { tag: p.tag, digest: p.digest, repository: p.repository }]),
  );
  const inputs = [...serviceImages(project)].map(([service, img]) => ({ service, ...img }));
  const texts = new Map<string, string>();
  for (const file of await composeFilesWithExtends(project.files))
    texts.set(file, await readFile(file, "utf8"));
  const sources = () => [...texts].map(([file, text]) => ({ file, text }));
  const asked = new Set<string>();
  const changed = new Set<string>();
  const done: ComposeEdit[] = [];
  for (;;) {
    const next = [...planPins(inputs, records).pins]
      .filter(([s, p]) => p.state === "unpinned" && p.edit && !asked.has(s))
      // A service blocked only by another's use of its variable may be freed by that one's edit.
      .sort(
        ([a, p], [b, q]) =>
          Number(p.state === "unpinned" && p.shared) - Number(q.state === "unpinned" && q.shared) ||
          nameOrder(a, b),
      )[0];
    if (!next) break;
    const [service, pin] = next as [string, Pin & { state: "unpinned"; edit: string }];
    asked.add(service);
    const template = inputs.find((i) => i.service === service)?.template as string;
    const site = findImageSites(sources(), service, template)[0];
    if (!site) continue;
    const text = replaceImage(texts.get(site.file) as string, site, pin.edit);
    if (text === null) continue;
    const edit: ComposeEdit = { service, file: site.file, before: template, after: pin.edit };
    if (!(await confirm(edit))) continue;
    // Every service that reads this very line (an anchor, an extended service) changes with it.
    const readers = inputs.filter((i) => {
      if (i.template !== template) return false;
      const own = findImageSites(sources(), i.service, template)[0];
      return own?.file === site.file && own.start === site.start;
    });
    for (const r of readers) r.template = pin.edit;
    texts.set(site.file, text);
    changed.add(site.file);
    done.push(edit);
  }
  for (const file of changed) {
    await backupFile(file, { now });
    await writeAtomic(file, texts.get(file) as string);
  }
  return done;
}

/** The compose files and every file their services' `extends` name, as absolute paths. */
async function composeFilesWithExtends(files: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  const queue = [...files];
  while (queue.length > 0 && out.length < 64) {
    const file = queue.shift() as string;
    if (out.includes(file)) continue;
    out.push(file);
    type Extending = { services?: Record<string, { extends?: { file?: unknown } } | null> } | null;
    let doc: Extending;
    try {
      doc = parseComposeText(await readFile(file, "utf8"), file) as Extending;
    } catch {
      continue;
    }
    for (const svc of Object.values(doc?.services ?? {})) {
      const ref = svc?.extends?.file;
      if (typeof ref === "string") queue.push(path.resolve(path.dirname(file), ref));
    }
  }
  return out;
}
