// What one command works on: the Compose project (loaded once), the record's paths, the one
// clock, the registry client, and the few engine and Compose calls every operation shares
// (make an image local, recreate services on the record's versions). The service, the lifecycle
// and update-safe all use one Workspace; none of them reaches into another's internals.
import { readFile } from "node:fs/promises";
import { clockFrom } from "./adapters/clock.js";
import {
  type ComposeOptions,
  type ComposeProject,
  type ComposeServices,
  compose,
  loadServices,
  loadTemplates,
  locateProject,
  manifestPathFor,
  type ProjectLocation,
} from "./adapters/compose.js";
import { type DockerCli, lastLine } from "./adapters/docker.js";
import { digestFor, inspectImage } from "./adapters/engine.js";
import { ownedFileStat } from "./adapters/owned-files.js";
import type { RegistryClient } from "./adapters/registry/client.js";
import { manifestDigest } from "./adapters/registry/manifests.js";
import type { Manifest, ServiceRecord } from "./core/manifest.js";
import { has } from "./core/names.js";
import { parseReference } from "./core/reference.js";
import { recordTime } from "./core/time.js";
import { UserError } from "./errors.js";
import {
  ensureEnvMatches,
  pinPlanFor,
  type RecordPaths,
  readManifest,
  recordPaths,
  type ServiceImage,
  serviceImages,
  settleRecord,
} from "./record.js";
import { registryClient } from "./registry-ops.js";
import { deployAndConverge } from "./stack-deploy.js";

export interface Context {
  cli: DockerCli;
  compose: ComposeOptions;
  /** Where the manifest lives when not next to the first compose file. */
  manifest?: string;
  /** The clock, injectable for tests (default: real time, or DOCKER_VERSIONS_CLOCK_FILE's). */
  now?: () => Date;
  /** Where progress lines go (stderr by default). */
  progress?: (line: string) => void;
  /** No progress at all: neither Docker's own nor our lines (--quiet, for scripts). */
  quiet?: boolean;
  /** stdout is a terminal: Docker and Compose may draw their own progress there. */
  terminal?: boolean;
  /**
   * The command reads only what Compose interpolates (check-updates, version-history): the
   * image templates (a second `compose config`) are asked for only if something needs them.
   * Otherwise both configs are asked at once, as soon as the project is.
   */
  templatesWhenNeeded?: boolean;
  /** The Swarm stack the compose files are deployed as (--stack): deploys go through it. */
  stack?: string;
}

const CONCURRENCY = 4;

export class Workspace {
  #location?: Promise<ProjectLocation>;
  #services?: Promise<ComposeServices>;
  #templates?: Promise<ComposeProject["templates"]>;
  #project?: Promise<ComposeProject>;
  #registry?: RegistryClient;
  /** The one clock of the command: record times, journal entries, backups, log days. */
  readonly clock: () => Date;

  constructor(readonly ctx: Context) {
    this.clock = ctx.now ?? clockFrom(ctx.cli.env);
  }

  get cli(): DockerCli {
    return this.ctx.cli;
  }

  /** The project as Compose interpolates it (one `compose config`), loaded once per operation. */
  services(): Promise<ComposeServices> {
    if (!this.#services) {
      this.#location ??= locateProject(this.ctx.cli, this.ctx.compose);
      this.#services = this.#location.then((at) => loadServices(this.ctx.cli, at));
      // A command that will need the templates asks for both configs at once.
      if (!this.ctx.templatesWhenNeeded) this.#askTemplates();
    }
    return this.#services;
  }

  #askTemplates(): Promise<ComposeProject["templates"]> {
    this.#location ??= locateProject(this.ctx.cli, this.ctx.compose);
    this.#templates ??= this.#location.then((at) => loadTemplates(this.ctx.cli, at));
    // The interpolated config's error is the one to report; this one's outcome is then moot.
    this.#templates.catch(() => {});
    return this.#templates;
  }

  /** The Compose project with each service's image template, loaded once per operation. */
  project(): Promise<ComposeProject> {
    this.#project ??= (async () => {
      const templates = this.#askTemplates();
      const services = await this.services();
      return { ...services, templates: await templates };
    })();
    return this.#project;
  }

  /** The compose files changed (migrate's edits): the next project() reads them again. */
  forgetProject(): void {
    this.#location = undefined;
    this.#services = undefined;
    this.#templates = undefined;
    this.#project = undefined;
  }

  async manifestPath(): Promise<string> {
    return manifestPathFor(await this.services(), this.ctx.manifest, this.ctx.cli.cwd);
  }

  async paths(): Promise<RecordPaths> {
    return recordPaths(await this.manifestPath());
  }

  /** Now, as the record writes a moment. */
  at(): string {
    return recordTime(this.clock());
  }

  /** Docker and Compose draw their own progress (a terminal, and no --quiet). */
  get drawsProgress(): boolean {
    return Boolean(this.ctx.terminal) && !this.ctx.quiet;
  }

  /** How many pulls run at once: one while Docker draws, whose progress would interleave. */
  get pullLimit(): number {
    return this.drawsProgress ? 1 : CONCURRENCY;
  }

  /** `docker compose pull`: Compose's progress on a terminal, quiet with its error kept otherwise. */
  async composePull(project: ComposeProject, services: string[]): Promise<void> {
    const draw = this.drawsProgress;
    const res = await compose(this.ctx.cli, project, ["pull", ...(draw ? [] : ["--quiet"]), ...services], {
      inherit: draw ? "stdout" : false,
    });
    if (res.code !== 0)
      throw new UserError(
        `docker compose pull${services.length ? ` ${services.join(" ")}` : ""} failed: ${lastLine(res.stderr) || `exit ${res.code}`}`,
        "engine",
      );
  }

  progress(line: string): void {
    // Progress is for people watching; scripts get stderr with errors only.
    if (this.ctx.quiet) return;
    if (this.ctx.progress) this.ctx.progress(line);
    else if (process.stderr.isTTY) process.stderr.write(`${line}\n`);
  }

  /** The registry client for this command (credentials from the user's Docker config). */
  registry(): RegistryClient {
    this.#registry ??= registryClient(this.ctx.cli.globals, this.ctx.cli.env, this.ctx.cli.cwd);
    return this.#registry;
  }

  /** Checks a --service value against the project (and the manifest when given). */
  checkService(project: ComposeServices, service: string, manifest?: Manifest): void {
    if (!has(project.services, service)) {
      throw new UserError(
        `unknown service '${service}' (the project has: ${Object.keys(project.services).sort().join(", ")})`,
      );
    }
    if (manifest && !has(manifest.services, service)) {
      throw new UserError(
        `service '${service}' is not tracked in the manifest (tracked: ${Object.keys(manifest.services).sort().join(", ")})`,
      );
    }
  }

  repositoryOf(
    service: string,
    rec: ServiceRecord | undefined,
    images: Map<string, Pick<ServiceImage, "repository">>,
  ): string {
    const repo = images.get(service)?.repository ?? rec?.image;
    if (!repo) throw new UserError(`service '${service}' has no image in the compose file`);
    return repo;
  }

  /** The digest `repository:tag` has locally or in the registry; a tag that is nowhere is an error. */
  async tagDigest(repository: string, tag: string): Promise<string | undefined> {
    const local = await inspectImage(this.ctx.cli, `${repository}:${tag}`);
    if (local) return digestFor(local, repository);
    return (await manifestDigest(this.registry(), parseReference(`${repository}:${tag}`), tag)).digest;
  }

  /**
   * The digest the registry has for `repository:tag` (a HEAD: the same in a dry run and a real
   * one); with `localToo`, a tag the registry does not have may be a local image's (a hotfix
   * built or loaded here). Failing, it says which version cannot be pulled and why.
   */
  async registryDigest(
    repository: string,
    tag: string,
    opts: { localToo?: boolean } = {},
  ): Promise<string | undefined> {
    const ref = `${repository}:${tag}`;
    try {
      return (await manifestDigest(this.registry(), parseReference(ref), tag)).digest;
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      const local = opts.localToo ? await inspectImage(this.ctx.cli, ref) : null;
      if (local) return digestFor(local, repository);
      throw new UserError(`cannot pull ${ref}: ${e.message}`, e.category);
    }
  }

  /**
   * A change of the record that a crashed command left half done is completed or reverted
   * (one line on stderr says which); every command runs this before it reads the record.
   */
  async settleRecord(): Promise<void> {
    const paths = await this.paths();
    // The templates only when there is a change to settle (most runs have none).
    await settleRecord(
      paths,
      async (): Promise<Map<string, ServiceImage> | undefined> => {
        try {
          return serviceImages(await this.project());
        } catch {
          return undefined; // an unreadable compose file is the command's own error to report
        }
      },
      undefined,
      this.clock(),
    );
  }

  /**
   * The project's env files followed by versions.env, so the manifest has the last word. With
   * `verify` (any call that may start containers) versions.env is first made to agree with the
   * manifest, so Compose never starts a version the record does not name.
   */
  async composeEnvFiles(opts: { verify?: boolean } = { verify: true }): Promise<string[]> {
    const project = await this.project();
    const paths = await this.paths();
    if (opts.verify) await ensureEnvMatches(paths, serviceImages(project), undefined, this.clock());
    // A link or a FIFO there is refused: Compose would read another file, or wait forever.
    return ownedFileStat(paths.env) ? [...project.envFiles, paths.env] : project.envFiles;
  }

  /**
   * Recreates the containers of `services` on the manifest's versions; on a stack, deploys it
   * and waits (up to `timeout` seconds) for Swarm to run them on the recorded digests.
   */
  async recreate(services: string[], opts: { timeout?: number } = {}): Promise<string[]> {
    if (this.ctx.stack) return this.deployStack(this.ctx.stack, services, opts.timeout ?? 120);
    const project = await this.project();
    const withEnv = { ...project, envFiles: await this.composeEnvFiles() };
    // On a terminal Compose draws its own progress (and prints its own error above ours).
    const draw = this.drawsProgress;
    const res = await compose(this.ctx.cli, withEnv, ["up", "-d", "--no-deps", ...services], {
      env: await this.clearedVariables(),
      inherit: draw,
    });
    if (res.code !== 0)
      throw new UserError(
        `docker compose up ${services.join(" ")} failed: ${(draw ? "" : lastLine(res.stderr)) || `exit ${res.code}`}`,
        "engine",
      );
    return services;
  }

  private async deployStack(stack: string, services: string[], timeout: number): Promise<string[]> {
    const project = await this.project();
    const paths = await this.paths();
    const images = serviceImages(project);
    await ensureEnvMatches(paths, images);
    const loaded = await readManifest(paths.manifest);
    // A service versions.env pins must run its recorded digest; any other, what the deploy set.
    const pins = loaded ? pinPlanFor(loaded.manifest, images).pins : new Map();
    const wanted = (s: string) =>
      pins.get(s)?.state === "pinned" ? loaded?.manifest.services[s]?.image_digest : undefined;
    await deployAndConverge(this.ctx.cli, {
      stack,
      files: project.files,
      workingDir: project.workingDir,
      envTexts: await Promise.all(project.envFiles.map((f) => readFile(f, "utf8"))),
      versionsEnv: ownedFileStat(paths.env) ? await readFile(paths.env, "utf8") : null,
      wanted: Object.fromEntries(services.map((s) => [s, wanted(s)])),
      timeout,
      progress: (line) => this.progress(line),
    });
    return services;
  }

  /** Blanks the variables versions.env sets in the child's environment, so versions.env decides them. */
  async clearedVariables(): Promise<NodeJS.ProcessEnv> {
    const paths = await this.paths();
    let text = "";
    try {
      text = await readFile(paths.env, "utf8");
    } catch {
      return {};
    }
    const env: NodeJS.ProcessEnv = {};
    for (const line of text.split("\n")) {
      const name = /^([A-Za-z_][A-Za-z0-9_]*)=/.exec(line)?.[1];
      if (name && this.ctx.cli.env[name] !== undefined) env[name] = undefined;
    }
    return env;
  }
}
