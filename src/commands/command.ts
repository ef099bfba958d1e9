// The shape every command file exports: flags in, one call to the service, rendering out.
import type { Argv } from "yargs";
import type { Out } from "../render.js";
import type { Versions } from "../service.js";

export interface Command<A = Record<string, unknown>> {
  name: string;
  aliases?: string[];
  /** Shown by `docker versions <command> --help`: the command line and what it does. */
  examples?: [string, string][];
  /** Positional arguments in yargs' notation, e.g. "[shell]". */
  positionals?: string;
  describe: string;
  builder?: (y: Argv) => Argv;
  /**
   * Reads only the project as Compose interpolates it (repositories, services), never the image
   * templates: one `docker compose config` instead of two.
   */
  interpolatedOnly?: boolean;
  run: (args: A, versions: Versions, out: Out) => Promise<number>;
}

/** A command as the entry point lists it: with the heading help shows it under. */
export type Listed = Command & { group: string };
