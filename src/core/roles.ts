// Which services are databases and which are the application: the manifest says first, then a
// label on the service, then the image's repository name. Pure code, decided per service.
import { parseReference } from "./reference.js";

export type Role = "database" | "app";
export type RoleSource = "manifest" | "label" | "image" | "default";

/** The service label that sets a role in the compose file: `com.docker-versions.role: database`. */
export const ROLE_LABEL = "com.docker-versions.role";

/**
 * Repository names (the last path component) of images that hold data: relational and document
 * databases, caches, search engines, queues. A service built from one of them is started by
 * `updb` and waited for before the application.
 */
export const DATABASE_REPOSITORIES: ReadonlySet<string> = new Set([
  "postgres",
  "postgresql",
  "postgis",
  "timescaledb",
  "timescaledb-ha",
  "pgvector",
  "mysql",
  "mysql-server",
  "mariadb",
  "percona",
  "percona-server",
  "mongo",
  "mongodb",
  "mongodb-community-server",
  "redis",
  "redis-stack",
  "redis-stack-server",
  "valkey",
  "keydb",
  "dragonfly",
  "memcached",
  "elasticsearch",
  "opensearch",
  "solr",
  "clickhouse",
  "clickhouse-server",
  "cassandra",
  "scylla",
  "influxdb",
  "questdb",
  "couchdb",
  "couchbase",
  "neo4j",
  "cockroach",
  "etcd",
  "rabbitmq",
  "nats",
  "kafka",
  "zookeeper",
  "mssql-server",
  "oracle-database",
]);

export interface RoleInput {
  /** `role:` of the service's record in the manifest, if any. */
  manifest?: string;
  /** The service's labels as Compose resolved them. */
  labels?: Record<string, string>;
  /** The service's `image:` as Compose resolved it. */
  image?: string;
}

export interface RoleDecision {
  role: Role;
  source: RoleSource;
  /** Set when a manifest or label value was not understood and was passed over. */
  warning?: string;
}

function asRole(value: string | undefined): Role | undefined | null {
  if (value === undefined) return undefined;
  const v = value.trim().toLowerCase();
  if (v === "database" || v === "db") return "database";
  if (v === "app" || v === "application") return "app";
  return null;
}

/** The last path component of an image's repository, lower case ("127.0.0.1:5000/x/postgres" → "postgres"). */
export function repositoryBaseName(image: string): string | undefined {
  try {
    const { repository } = parseReference(image);
    return repository.slice(repository.lastIndexOf("/") + 1);
  } catch {
    return undefined;
  }
}

/** Decides one service's role. */
export function decideRole(input: RoleInput): RoleDecision {
  const warnings: string[] = [];
  const fromManifest = asRole(input.manifest);
  if (fromManifest) return { role: fromManifest, source: "manifest" };
  if (fromManifest === null) warnings.push(`manifest role '${input.manifest}' is not database or app`);
  const label = input.labels?.[ROLE_LABEL];
  const fromLabel = asRole(label);
  const warning = () => (warnings.length > 0 ? { warning: warnings.join("; ") } : {});
  if (fromLabel) return { role: fromLabel, source: "label", ...warning() };
  if (fromLabel === null) warnings.push(`label ${ROLE_LABEL}=${label} is not database or app`);
  const base = input.image ? repositoryBaseName(input.image) : undefined;
  if (base && DATABASE_REPOSITORIES.has(base)) return { role: "database", source: "image", ...warning() };
  return { role: "app", source: input.image ? "image" : "default", ...warning() };
}
