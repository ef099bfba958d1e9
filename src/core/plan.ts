// The plan of a change to the record: which services move, from which version to which, and
// which stay; computed from plain data (the record, the compose model, what the registry and the
// engine answered), so --dry-run prints exactly what a run would do. Pure code.
import { findInHistory, previousVersion, recordDeployment, renameCurrentTag } from "./history.js";
import type { Manifest, ServiceRecord } from "./manifest.js";
import { byName } from "./names.js";
import { nameOrder } from "./order.js";

export interface VersionRef {
  tag: string;
  digest?: string;
}

export interface Change {
  service: string;
  /** The floating tag this version was pulled as, when it was resolved to a semantic tag. */
  resolvedFrom?: string;
  from?: VersionRef;
  to: VersionRef;
}

/** The floating tags' news: what would change (to the semantic tag where one matched). */
export interface FloatingPlan {
  changes: Change[];
  unchanged: string[];
  /** One per floating tag that could not be resolved (the tag is kept). */
  warnings: string[];
}

export interface ChangeReport {
  changes: Change[];
  unchanged: string[];
  dryRun: boolean;
  /** Backup of the manifest taken before the change, when there was one. */
  backup: string | null;
  warnings: string[];
  /** Services whose containers were recreated (--apply). */
  applied: string[];
  /** The steps of the change, one line each, as the executor runs them (core/steps.ts). */
  plan?: string[];
}

/** A version to record for one service, as a command planned it. */
export interface Target {
  service: string;
  to: VersionRef;
  custom?: boolean;
  resolvedFrom?: string;
  /** The repository to write into the record (the compose file's), when the command sets it. */
  image?: string;
}

/** A record change: the new manifest (null when nothing changes), what moved and what did not. */
export interface RecordPlan {
  manifest: Manifest | null;
  changes: Change[];
  unchanged: string[];
}

/** What one step of a record change does to one service: a new record, nothing, or skip it. */
type Step<T> = (
  rec: ServiceRecord | undefined,
  item: T,
) => { next: ServiceRecord; change: Change } | "unchanged" | "skipped";

/** Runs `step` for each item over a copy of `current`; top-level settings carry over. */
function planEach<T extends { service: string }>(
  current: Manifest | null,
  items: readonly T[],
  step: Step<T>,
): RecordPlan {
  const manifest: Manifest = { schema: 1, ...current, services: byName(current?.services) };
  const changes: Change[] = [];
  const unchanged: string[] = [];
  for (const item of items) {
    const done = step(manifest.services[item.service], item);
    if (done === "unchanged") unchanged.push(item.service);
    else if (done !== "skipped") {
      manifest.services[item.service] = done.next;
      changes.push(done.change);
    }
  }
  return { manifest: changes.length > 0 ? manifest : null, changes, unchanged };
}

/**
 * Every target recorded as a deployment at `at` by `source`, over the manifest as it is now (a
 * target already current is unchanged).
 */
export function planRecord(
  current: Manifest | null,
  targets: readonly Target[],
  at: string,
  source: string,
): RecordPlan {
  return planEach(current, targets, (rec, t) => {
    const next = recordDeployment(rec, { ...t.to, at, source, custom: t.custom, image: t.image });
    if (next === rec) return "unchanged";
    const from = rec ? { tag: rec.current_tag, digest: rec.image_digest } : undefined;
    return { next, change: { service: t.service, from, to: t.to, resolvedFrom: t.resolvedFrom } };
  });
}

/** What the registry said of a floating tag: the most specific tag with its digest, or why not. */
export interface Resolved {
  service: string;
  from: string;
  /** The most specific tag with the digest; `from` itself when nothing more specific exists. */
  to: string | null;
  /** Why a floating tag could not be resolved (the tag is kept). */
  reason?: string;
  /** Set when no tag has the digest and the image's version label named the tag instead. */
  byLabel?: boolean;
}

/** Warnings to show about resolutions: kept floating tags, and tags taken from a label. */
export function resolutionWarnings(resolved: readonly Resolved[], nextStep?: string): string[] {
  return resolved.flatMap((r) =>
    r.to === null
      ? [`kept '${r.from}' for ${r.service}: ${r.reason}${nextStep ? `; ${nextStep}` : ""}`]
      : r.byLabel
        ? [
            `${r.service}: no tag has the digest of '${r.from}'; named it ${r.to} from the image's org.opencontainers.image.version label`,
          ]
        : [],
  );
}

/** What pull-latest and update-safe observe before they plan. */
export interface FloatingObservation {
  /** Each followed service: its record, the floating tag it follows, and that tag's digest now. */
  found: { service: string; record: ServiceRecord; tag: string; digest?: string }[];
  /** The registry's names for the digests that moved. */
  resolved: Resolved[];
  /** Services the compose file pins by digest: never moved by a floating tag. */
  pinnedByFile: string[];
}

/**
 * The floating tags' plan: a service whose tag's digest moved changes to it, named by the
 * semantic tag of the same digest when the registry had one; the others stay.
 */
export function planFloating(o: FloatingObservation): FloatingPlan {
  // A floating tag whose digest did not move is no change, even if the record names it by its semantic tag.
  const moved = o.found.filter((f) => f.digest === undefined || f.digest !== f.record.image_digest);
  return {
    changes: moved.map((m) => {
      const semantic = o.resolved.find((r) => r.service === m.service)?.to ?? undefined;
      return {
        service: m.service,
        from: { tag: m.record.current_tag, digest: m.record.image_digest },
        to: { tag: semantic ?? m.tag, digest: m.digest },
        resolvedFrom: semantic && semantic !== m.tag ? m.tag : undefined,
      };
    }),
    unchanged: [...o.found.filter((f) => !moved.includes(f)).map((f) => f.service), ...o.pinnedByFile],
    warnings: [
      ...o.pinnedByFile.map(
        (s) => `${s} is pinned by digest in the compose file: left as it is (change the file to move it)`,
      ),
      ...resolutionWarnings(o.resolved, "run 'docker versions resolve-tags' later"),
    ],
  };
}

/** A current version known by another tag of the same digest (resolve-tags: `latest` → `1.64`). */
export interface Rename {
  service: string;
  /** The version that was resolved; a service changed since is left alone. */
  from: VersionRef;
  to: string;
}

/** Each rename whose service still has the version that was resolved; the others are skipped. */
export function planRename(
  current: Manifest | null,
  renames: readonly Rename[],
  at: string,
  source: string,
): RecordPlan {
  const plan = planEach(current, renames, (rec, r) => {
    // Another command may have changed the service meanwhile: rename only what was resolved.
    if (!rec || rec.current_tag !== r.from.tag || rec.image_digest !== r.from.digest) return "skipped";
    const digest = rec.image_digest;
    return {
      next: renameCurrentTag(rec, r.to, at, source),
      change: {
        service: r.service,
        from: { tag: r.from.tag, digest },
        to: { tag: r.to, digest },
        resolvedFrom: r.from.tag,
      },
    };
  });
  return plan;
}

/** What a rollback (`rollback`, `rollback-service`, `rollback-to`) is planned from. */
export interface RollbackInput {
  manifest: Manifest;
  /** The services of the compose project. */
  services: readonly string[];
  /** rollback-service / rollback-to: the one service (checked to be tracked). */
  service?: string;
  /** rollback-to: the tag to go back to (from history, else as named). */
  to?: string;
  /** The tracked services that move with `service`, it included (one version variable). */
  group?: readonly string[];
  /** An interrupted update-safe run: the versions it started from, and the services it changed. */
  interrupted?: { from: Readonly<Record<string, VersionRef | null>>; changed: readonly string[] } | null;
}

export type RollbackPlan = { targets: Target[]; group: string[] } | { refused: string };

/**
 * Which services go back to which version. One service: its previous version (or the named one),
 * for its whole version group. All: after an interrupted update-safe run, exactly what that run
 * changed, back to where it started; otherwise every service to its previous version.
 */
export function planRollback(input: RollbackInput): RollbackPlan {
  const { manifest, service } = input;
  const inProject = (s: string) => input.services.includes(s);
  if (service !== undefined) {
    const rec = manifest.services[service] as ServiceRecord;
    const entry = input.to !== undefined ? findInHistory(rec, input.to) : previousVersion(rec);
    if (input.to === undefined && !entry)
      return {
        refused: `no previous version of '${service}' to roll back to (its history holds only ${rec.current_tag})`,
      };
    const to: VersionRef = entry ? { tag: entry.tag, digest: entry.digest } : { tag: input.to as string };
    const group = [...(input.group ?? [service])];
    return { targets: group.map((s) => ({ service: s, to: { ...to } })), group };
  }
  if (input.interrupted) {
    const { from, changed } = input.interrupted;
    const targets: Target[] = [];
    for (const s of [...changed].sort()) {
      const to = Object.hasOwn(from, s) ? from[s] : null;
      if (to && inProject(s) && Object.hasOwn(manifest.services, s))
        targets.push({ service: s, to: { ...to } });
    }
    return { targets, group: [] };
  }
  const targets: Target[] = [];
  for (const [s, rec] of Object.entries(manifest.services).sort(([a], [b]) => nameOrder(a, b))) {
    const prev = previousVersion(rec);
    if (prev && inProject(s)) targets.push({ service: s, to: { tag: prev.tag, digest: prev.digest } });
  }
  return { targets, group: [] };
}

/** update-safe's plan: the new record, and which services are recreated (only those that moved). */
export interface UpdatePlan extends FloatingPlan {
  /** The manifest to record; null when nothing moved. */
  manifest: Manifest | null;
  /** The services whose containers are recreated and health-checked, in order. */
  recreate: string[];
}

export function planUpdate(
  current: Manifest,
  floating: FloatingPlan,
  at: string,
  source: string,
): UpdatePlan {
  const recorded = planRecord(current, floating.changes, at, source);
  return {
    ...floating,
    manifest: recorded.manifest,
    recreate: recorded.changes.map((c) => c.service),
  };
}

/** `restart --service`: recreate that one service and nothing else, then start its log capture. */
export function planRestartService(
  services: readonly string[],
  roles: ReadonlyMap<string, "database" | "app">,
  service: string,
): { recreate: string[]; capture: "db" | "app" } | { refused: string } {
  if (!services.includes(service))
    return { refused: `unknown service '${service}' (the project has: ${[...services].sort().join(", ")})` };
  return { recreate: [service], capture: roles.get(service) === "database" ? "db" : "app" };
}
