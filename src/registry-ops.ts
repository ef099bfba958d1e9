// The operations that ask the registry: resolving floating tags to the semantic tag with the
// same digest, and listing newer tags. They share the client, which is built once per command
// from the user's Docker config (credentials) and the insecure-registry setting.
import { RegistryClient } from "./adapters/registry/client.js";
import { checkUpdates, resolveTag } from "./adapters/registry/resolution.js";
import type { CheckedService } from "./core/announced.js";
import { mapLimit } from "./core/limit.js";
import type { ServiceRecord } from "./core/manifest.js";
import type { Resolved } from "./core/plan.js";
import type { AvailableUpdates } from "./core/updates.js";
import { dockerConfigDir } from "./docker-globals.js";
import { UserError } from "./errors.js";

export function registryClient(
  globals: readonly string[],
  env: NodeJS.ProcessEnv,
  cwd: string,
): RegistryClient {
  const insecure = (env.DOCKER_VERSIONS_INSECURE_REGISTRIES ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  return new RegistryClient({
    dockerConfigDir: dockerConfigDir(globals, env, cwd),
    insecureRegistries: insecure,
    env,
    onWait: (line) => process.stderr.write(`${line}\n`),
    oneCommand: true,
  });
}

/**
 * For each service: the most specific tag of the line its tag follows with its digest (`16` →
 * `16.6`); `hint` is the version it ran before, where a named channel most likely moved from.
 */
export async function resolveFloating(
  client: RegistryClient,
  items: readonly { service: string; repository: string; tag: string; digest?: string; hint?: string }[],
): Promise<Resolved[]> {
  return mapLimit(items, 4, async (i): Promise<Resolved> => {
    if (!i.digest)
      return {
        service: i.service,
        from: i.tag,
        to: null,
        reason: "no digest recorded (run docker versions pull)",
      };
    try {
      // The image's version label is the second source, used only when no tag has the digest.
      const r = await resolveTag(client, `${i.repository}:${i.tag}`, i.digest, {
        useLabel: true,
        hint: i.hint,
      });
      if (r.tag !== null)
        return { service: i.service, from: i.tag, to: r.tag, byLabel: r.matchedBy === "label" };
      return { service: i.service, from: i.tag, to: null, reason: r.reason };
    } catch (e) {
      // What the registry answered (or a reference it cannot be asked about) keeps the tag, with
      // the reason; the engine, a held lock or a bug is not a tag's problem and stops the command.
      if (e instanceof UserError && (e.category === "registry" || e.category === "input"))
        return { service: i.service, from: i.tag, to: null, reason: e.message };
      throw e;
    }
  });
}

/** One service's check-updates row: what news is made of, with the whole split of newer tags. */
export interface UpdateRow extends CheckedService {
  /** The repository the service's image comes from. */
  repository?: string;
  updates: AvailableUpdates | null;
}

/** check-updates for every tracked service; a registry failure is reported on its row. */
export async function updatesFor(
  client: RegistryClient,
  services: readonly { service: string; repository: string; record: ServiceRecord }[],
  opts: { prereleases?: boolean },
): Promise<UpdateRow[]> {
  return mapLimit(services, 4, async ({ service, repository, record }): Promise<UpdateRow> => {
    const floatingTag = record.floating_tag ?? "latest";
    try {
      const r = await checkUpdates(client, repository, {
        currentTag: record.current_tag,
        floatingTag,
        recordedDigest: record.image_digest,
        prereleases: opts.prereleases,
      });
      return {
        service,
        repository,
        current: record.current_tag,
        updates: r.updates,
        floatingTag,
        floatingMoved: r.floatingMoved,
        floatingTo: r.floatingTo,
        floatingDigest: r.floatingDigest,
        available: r.available,
      };
    } catch (e) {
      if (e instanceof UserError)
        return {
          service,
          repository,
          current: record.current_tag,
          updates: null,
          floatingTag,
          available: false,
          error: e.message,
        };
      throw e;
    }
  });
}
