// The operations of docker-versions, one method each, usable without the CLI: the commands and
// the tests both call them with an options object.

import { existsSync } from "node:fs";
import {
  type ComposeOptions,
  type ComposeProject,
  listContainers,
  loadProject,
  manifestPathFor,
} from "./adapters/compose.js";
import type { DockerCli } from "./adapters/docker.js";

export interface Context {
  cli: DockerCli;
  compose: ComposeOptions;
  /** Where the manifest lives when not next to the first compose file. */
  manifest?: string;
}

export interface ServiceStatus {
  service: string;
  image: string;
  containers: { name: string; state: string; health: string; exitCode: number; status: string }[];
}

export interface StatusReport {
  project: string;
  composeFiles: string[];
  manifest: { path: string; present: boolean };
  services: ServiceStatus[];
}

export class Versions {
  #project?: Promise<ComposeProject>;

  constructor(readonly ctx: Context) {}

  /** The Compose project, loaded once per operation. */
  project(): Promise<ComposeProject> {
    this.#project ??= loadProject(this.ctx.cli, this.ctx.compose);
    return this.#project;
  }

  async manifestPath(): Promise<string> {
    return manifestPathFor(await this.project(), this.ctx.manifest, this.ctx.cli.cwd);
  }

  async status(): Promise<StatusReport> {
    const project = await this.project();
    const [containers, manifestPath] = await Promise.all([
      listContainers(this.ctx.cli, project),
      this.manifestPath(),
    ]);
    const services = Object.entries(project.services)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([service, spec]) => ({
        service,
        image: spec.image ?? "(built locally)",
        containers: containers
          .filter((c) => c.service === service)
          .map(({ name, state, health, exitCode, status }) => ({ name, state, health, exitCode, status })),
      }));
    return {
      project: project.name,
      composeFiles: project.files,
      manifest: { path: manifestPath, present: existsSync(manifestPath) },
      services,
    };
  }
}
