// Finds and loads the Compose project the way `docker compose` does, and runs `docker compose`
// subcommands against it. Compose itself answers what it can (`config --format json`, `ps`);
// only the file discovery, which Compose does not report, is done here.
import { existsSync, statSync } from "node:fs";
import path from "node:path";
import { UserError } from "../errors.js";
import { remembered } from "./compose-memo.js";
import {
  type DockerCli,
  labelledIds,
  lastLine,
  type RunOptions,
  type RunResult,
  runDocker,
} from "./docker.js";
import {
  type ApiContainerSummary,
  type EngineApi,
  EngineApiError,
  engineApi,
  inspectContainerApi,
  listContainersApi,
  type RawContainer,
} from "./engine-api.js";

/** Compose's global options, as the user gave them. */
export interface ComposeOptions {
  files?: string[];
  projectName?: string;
  projectDirectory?: string;
  envFiles?: string[];
  profiles?: string[];
}

export interface ServiceSpec {
  image?: string;
  build?: unknown;
  labels?: Record<string, string>;
  healthcheck?: { test?: string[] | string; disable?: boolean };
  profiles?: string[];
  [key: string]: unknown;
}

/** What `docker compose config --format json` prints, as far as this plugin reads it. */
interface ConfigJson {
  name?: string;
  services?: Record<string, ServiceSpec>;
  volumes?: Record<string, { name?: string; external?: boolean }>;
}

export interface ComposeProject {
  name: string;
  workingDir: string;
  files: string[];
  services: Record<string, ServiceSpec>;
  /**
   * Each service's `image:` as written (after merges, `extends` and override files, before
   * interpolation), for every service of the files, profiles off included.
   */
  templates: Record<string, string | undefined>;
  /** Top-level named volumes: key in the file → the engine's volume name. */
  volumes: Record<string, { name?: string; external?: boolean }>;
  /** Env files passed to every Compose call, in order (the project's own first). */
  envFiles: string[];
  profiles: string[];
}

export interface ContainerState {
  id: string;
  name: string;
  service: string;
  image: string;
  state: string;
  health: string;
  exitCode: number;
  status: string;
}

// Compose's default file names, in the priority it gives them.
const DEFAULT_FILES = ["compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml"];
const OVERRIDE_FILES = [
  "compose.override.yaml",
  "compose.override.yml",
  "docker-compose.override.yml",
  "docker-compose.override.yaml",
];

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/** The compose files Compose would use, as absolute paths. */
export function findComposeFiles(opts: ComposeOptions, env: NodeJS.ProcessEnv, cwd: string): string[] {
  const explicit = opts.files?.length
    ? opts.files
    : env.COMPOSE_FILE
      ? env.COMPOSE_FILE.split(env.COMPOSE_PATH_SEPARATOR || ":").filter(Boolean)
      : [];
  if (explicit.length > 0) {
    return explicit.map((f) => {
      if (f === "-")
        throw new UserError("reading the compose file from stdin is not supported: name a file with -f");
      const abs = path.resolve(cwd, f);
      if (!existsSync(abs)) throw new UserError(`compose file not found: ${abs}`);
      return abs;
    });
  }
  const start = path.resolve(cwd, opts.projectDirectory ?? ".");
  for (let dir = start; ; dir = path.dirname(dir)) {
    const main = DEFAULT_FILES.map((f) => path.join(dir, f)).find(isFile);
    if (main) {
      const override = OVERRIDE_FILES.map((f) => path.join(dir, f)).find(isFile);
      return override ? [main, override] : [main];
    }
    if (path.dirname(dir) === dir) break;
  }
  throw new UserError(
    `no compose file found in ${start} or any parent directory (looked for ${DEFAULT_FILES.join(", ")})`,
  );
}

interface RunningProject {
  files: string[];
  workingDir: string;
  envFiles?: string[];
}

/**
 * Where a project's files are, read from its containers' labels as Compose wrote them, or null
 * when no container of that name exists (or its files are gone).
 */
async function runningProject(cli: DockerCli, name: string): Promise<RunningProject | null> {
  const [id] = (await labelledIds(cli, ["ps", "--all"], `com.docker.compose.project=${name}`)).ids;
  if (!id) return null;
  const res = await runDocker(cli, ["inspect", "--format", "{{json .Config.Labels}}", id]);
  if (res.code !== 0) return null;
  let labels: Record<string, string>;
  try {
    labels = JSON.parse(res.stdout) as Record<string, string>;
  } catch {
    return null;
  }
  const get = (key: string): string | undefined => (Object.hasOwn(labels, key) ? labels[key] : undefined);
  const workingDir = get("com.docker.compose.project.working_dir");
  const files = get("com.docker.compose.project.config_files")?.split(",").filter(Boolean) ?? [];
  if (!workingDir || files.length === 0 || !files.every(isFile)) return null;
  const envFiles = get("com.docker.compose.project.environment_file")?.split(",").filter(isFile);
  return { files, workingDir, envFiles: envFiles?.length ? envFiles : undefined };
}

/** `compose` plus the global options that pin a call to this project. */
export function composeArgs(
  project: Pick<ComposeProject, "files" | "name" | "workingDir" | "envFiles" | "profiles">,
): string[] {
  const args = ["compose"];
  for (const f of project.files) args.push("-f", f);
  args.push("-p", project.name, "--project-directory", project.workingDir);
  for (const e of project.envFiles) args.push("--env-file", e);
  for (const p of project.profiles) args.push("--profile", p);
  return args;
}

/** Where a project's files are and the Compose options that name it, before Compose is asked. */
export interface ProjectLocation {
  files: string[];
  workingDir: string;
  /** Env files as given (or as the running project's labels name them). */
  envFiles: string[];
  profiles: string[];
  /** `compose -f … [-p …] --project-directory … [--env-file …] [--profile …]`. */
  args: string[];
}

/** What `config` says with interpolation: the project as every other command sees it. */
export type ComposeServices = Omit<ComposeProject, "templates">;

/** Finds the project's files as Compose would (or from a running project's labels, for `-p NAME`). */
export async function locateProject(cli: DockerCli, opts: ComposeOptions): Promise<ProjectLocation> {
  let files: string[];
  let labelled: RunningProject | null = null;
  try {
    files = findComposeFiles(opts, cli.env, cli.cwd);
  } catch (e) {
    // `-p NAME` from anywhere: a running project's containers say where its files are.
    const name = opts.projectName ?? cli.env.COMPOSE_PROJECT_NAME;
    labelled = !opts.files?.length && name ? await runningProject(cli, name) : null;
    if (!labelled) throw e;
    files = labelled.files;
    opts = { ...opts, projectName: name, projectDirectory: opts.projectDirectory ?? labelled.workingDir };
  }
  const firstDir = path.dirname(files[0] as string);
  const workingDir = opts.projectDirectory ? path.resolve(cli.cwd, opts.projectDirectory) : firstDir;
  const envFiles = (opts.envFiles ?? labelled?.envFiles ?? []).map((e) => path.resolve(cli.cwd, e));
  const profiles = opts.profiles ?? [];
  const args = ["compose"];
  for (const f of files) args.push("-f", f);
  if (opts.projectName) args.push("-p", opts.projectName);
  args.push("--project-directory", workingDir);
  for (const e of envFiles) args.push("--env-file", e);
  for (const p of profiles) args.push("--profile", p);
  return { files, workingDir, envFiles, profiles, args };
}

const NOT_JSON =
  "docker compose config did not print JSON: is Compose v2 installed (docker compose version)?";

/** The project through `docker compose config --format json`: services, volumes, its name. */
export async function loadServices(cli: DockerCli, at: ProjectLocation): Promise<ComposeServices> {
  const spec = await remembered(cli, at, "config", async () => {
    const res = await runDocker(cli, [...at.args, "config", "--format", "json"]);
    if (res.code !== 0) {
      throw new UserError(
        `cannot load the compose project (${at.files.join(", ")}): ${lastLine(res.stderr) || `exit ${res.code}`}`,
        "engine",
      );
    }
    let json: ConfigJson;
    try {
      json = JSON.parse(res.stdout) as ConfigJson;
    } catch {
      throw new UserError(NOT_JSON);
    }
    if (!json.name) throw new UserError("docker compose config did not name the project");
    return { value: withoutSecrets(json), keep: true };
  });
  // Without --env-file Compose reads the project's .env; keep that when we add env files later.
  const defaultEnv = path.join(at.workingDir, ".env");
  const projectEnvFiles = at.envFiles.length > 0 ? at.envFiles : isFile(defaultEnv) ? [defaultEnv] : [];
  return {
    name: spec.name as string,
    workingDir: at.workingDir,
    files: at.files,
    services: spec.services ?? {},
    volumes: spec.volumes ?? {},
    envFiles: projectEnvFiles,
    profiles: at.profiles,
  };
}

/**
 * What the plugin keeps of Compose's answer: the name, the services and the named volumes,
 * without the values a service is given to run with (`environment`, build args and secrets),
 * which no command reads and which therefore never reach the memo on disk.
 */
function withoutSecrets(json: ConfigJson): ConfigJson {
  // Built with fromEntries: a service named `__proto__` stays a service, not the prototype.
  const services: Record<string, ServiceSpec> = Object.fromEntries(
    Object.entries(json.services ?? {}).map(([name, spec]) => {
      const { environment: _environment, ...kept } = spec;
      if (kept.build && typeof kept.build === "object") {
        const { args: _args, secrets: _secrets, ...build } = kept.build as Record<string, unknown>;
        kept.build = build;
      }
      return [name, kept];
    }),
  );
  return { name: json.name, services, volumes: json.volumes ?? {} };
}

/**
 * Each service's `image:` as written, from the same config without interpolation: which
 * variable decides which part of each image. Empty when Compose cannot say (an old Compose).
 */
export async function loadTemplates(
  cli: DockerCli,
  at: ProjectLocation,
): Promise<Record<string, string | undefined>> {
  // A service without `image:` is null here (JSON keeps it), undefined to the callers.
  const templates = await remembered(cli, at, "config --no-interpolate", async () => {
    const raw = await runDocker(cli, [...at.args, "config", "--no-interpolate", "--format", "json"]);
    // An old Compose without --no-interpolate: no templates, asked again next time.
    if (raw.code !== 0) return { value: {}, keep: false };
    let rawSpec: { services?: Record<string, { image?: unknown }> };
    try {
      rawSpec = JSON.parse(raw.stdout) as typeof rawSpec;
    } catch {
      throw new UserError(NOT_JSON);
    }
    const images = Object.entries(rawSpec.services ?? {}).map(([k, v]) => [
      k,
      typeof v?.image === "string" ? v.image : null,
    ]);
    return { value: Object.fromEntries(images) as Record<string, string | null>, keep: true };
  });
  // fromEntries again: a service named `__proto__` keeps its template.
  return Object.fromEntries(
    Object.entries(templates).map(([k, v]) => [k, typeof v === "string" ? v : undefined]),
  );
}

/** Runs `docker compose <project options> <args>`. */
export function compose(
  cli: DockerCli,
  project: ComposeProject,
  args: readonly string[],
  opts: RunOptions = {},
): Promise<RunResult> {
  return runDocker(cli, [...composeArgs(project), ...args], { cwd: project.workingDir, ...opts });
}

interface PsRow {
  ID?: string;
  Name?: string;
  Service?: string;
  Image?: string;
  State?: string;
  Health?: string;
  ExitCode?: number;
  Status?: string;
}

/** A container of the project as the engine API lists it, with its inspection. */
export interface ApiProjectContainer {
  summary: ApiContainerSummary;
  inspect: RawContainer;
}

/**
 * The project's containers as `docker compose ps --all` finds them, from the engine API: those
 * with the project's label and a config hash (Compose's own), one-off `run` containers included,
 * sorted by name.
 */
export async function projectSummariesApi(
  api: EngineApi,
  projectName: string,
): Promise<ApiContainerSummary[]> {
  const listed = await listContainersApi<ApiContainerSummary>(api, [
    `com.docker.compose.project=${projectName.toLowerCase()}`,
    "com.docker.compose.config-hash",
  ]);
  return listed
    .map((c) => ({ c, name: canonicalName(c) }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map(({ c }) => c);
}

/**
 * The same, each inspected (where `ps` takes health and exit code from). A container removed
 * between the list and its inspection is left out.
 */
export async function projectContainersApi(
  api: EngineApi,
  projectName: string,
): Promise<ApiProjectContainer[]> {
  const listed = await projectSummariesApi(api, projectName);
  const found = await Promise.all(
    listed.map(async (summary) => {
      const inspect = await inspectContainerApi(api, summary.Id);
      return inspect ? { summary, inspect } : null;
    }),
  );
  return found.filter((c): c is ApiProjectContainer => c !== null);
}

/** The container's own name (not a link alias `/other/name`), as Compose shows it. */
function canonicalName(c: ApiContainerSummary): string {
  const names = c.Names ?? [];
  if (names.length === 0) return c.Id.slice(0, 12);
  const own = names.find((n) => n.lastIndexOf("/") === 0);
  return own ? own.slice(1) : (names[0] as string).replace(/^\//, "");
}

/** A row as `compose ps --format json` prints it: health only while running, exit code once stopped. */
export function psState({ summary, inspect }: ApiProjectContainer): ContainerState {
  const status = inspect.State?.Status;
  return {
    id: summary.Id.slice(0, 12),
    name: canonicalName(summary),
    service: summary.Labels?.["com.docker.compose.service"] ?? "",
    image: summary.Image ?? "",
    state: summary.State ?? "",
    health: status === "running" ? (inspect.State.Health?.Status ?? "") : "",
    exitCode: status === "exited" || status === "dead" ? (inspect.State.ExitCode ?? 0) : 0,
    status: summary.Status ?? "",
  };
}

/** A listing of the project's containers through the engine API; its failure is the line `ps` gives. */
export async function listedThroughApi<T>(list: () => Promise<T>): Promise<T> {
  try {
    return await list();
  } catch (e) {
    if (e instanceof EngineApiError)
      throw new UserError(`cannot list the project's containers: ${e.message}`, "engine");
    throw e;
  }
}

/** Every container of the project, running or not. */
export async function listContainers(cli: DockerCli, project: ComposeProject): Promise<ContainerState[]> {
  const api = engineApi(cli);
  if (api) return (await listedThroughApi(() => projectContainersApi(api, project.name))).map(psState);
  const res = await compose(cli, project, ["ps", "--all", "--format", "json"]);
  if (res.code !== 0)
    throw new UserError(`cannot list the project's containers: ${lastLine(res.stderr)}`, "engine");
  return parsePs(res.stdout).map((r) => ({
    id: r.ID ?? "",
    name: r.Name ?? "",
    service: r.Service ?? "",
    image: r.Image ?? "",
    state: r.State ?? "",
    health: r.Health ?? "",
    exitCode: r.ExitCode ?? 0,
    status: r.Status ?? "",
  }));
}

/** Compose prints either one JSON array or one object per line, depending on its version. */
export function parsePs(stdout: string): PsRow[] {
  const text = stdout.trim();
  if (!text) return [];
  if (text.startsWith("[")) return JSON.parse(text) as PsRow[];
  return text
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as PsRow);
}

export function manifestPathFor(
  project: Pick<ComposeProject, "files">,
  override?: string,
  cwd = process.cwd(),
): string {
  return override
    ? path.resolve(cwd, override)
    : path.join(path.dirname(project.files[0] as string), "version-manifest.yaml");
}
