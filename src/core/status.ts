// What `status` and `version` report about a project: its services, their containers, and
// whether each runs what the record names. Shapes only; the service fills them.
import type { Role } from "./roles.js";

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

export interface VersionRow {
  service: string;
  tag: string;
  digest?: string;
  custom: boolean;
  updatedAt?: string;
  updatedBy?: string;
  /** Database or app (manifest, then the com.docker-versions.role label, then the image). */
  role: Role;
  drift: "in sync" | "drift" | "not running" | "unknown" | "unpinned";
  /** How Compose is made to run the record: versions.env, the compose file's own digest, or not at all. */
  pinnedBy: "versions.env" | "compose file" | "nothing";
  running?: string;
  /** Why the state is not "in sync", and the command (or edit) that makes it so. */
  next?: string;
}
