// node_exporter textfile metrics: what check-updates found per service and when, and what
// status sees (health, drift). Prometheus' text exposition format. Pure code.

type Labels = Record<string, string>;

/** A label value with backslash, double quote and newline escaped, as the format requires. */
export function labelValue(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function sample(name: string, labels: Labels, value: number): string {
  const l = Object.entries(labels)
    .map(([k, v]) => `${k}="${labelValue(v)}"`)
    .join(",");
  return `${name}{${l}} ${Number.isFinite(value) ? value : 0}\n`;
}

function family(name: string, help: string, samples: string[]): string {
  return `# HELP ${name} ${help}\n# TYPE ${name} gauge\n${samples.join("")}`;
}

export interface CheckMetricsInput {
  project: string;
  /** Seconds since the epoch. */
  at: number;
  rows: readonly {
    service: string;
    current: string;
    updates: { newer: string[]; outside: string[] } | null;
    available: boolean;
    error?: string;
  }[];
}

export function checkMetrics(input: CheckMetricsInput): string {
  const { project } = input;
  const available: string[] = [];
  const errors: string[] = [];
  for (const r of input.rows) {
    const base = { project, service: r.service, running: r.current };
    available.push(
      sample("docker_versions_update_available", { ...base, kind: "line" }, r.available ? 1 : 0),
    );
    available.push(
      sample(
        "docker_versions_update_available",
        { ...base, kind: "major" },
        (r.updates?.outside.length ?? 0) > 0 ? 1 : 0,
      ),
    );
    errors.push(sample("docker_versions_check_error", base, r.error ? 1 : 0));
  }
  return [
    family(
      "docker_versions_update_available",
      "1 when a newer version exists: kind=line within the tag line the service follows, kind=major outside it.",
      available,
    ),
    family(
      "docker_versions_check_error",
      "1 when the registry could not be asked about the service.",
      errors,
    ),
    family("docker_versions_last_check_timestamp_seconds", "When check-updates last ran for the project.", [
      sample("docker_versions_last_check_timestamp_seconds", { project }, input.at),
    ]),
  ].join("");
}

export interface StatusMetricsInput {
  project: string;
  at: number;
  services: readonly {
    service: string;
    image: string;
    drift: string;
    containers: readonly { state: string; health: string; restarts: number }[];
  }[];
}

const DRIFT_STATES = ["in sync", "drift", "not running", "unknown", "unpinned", "untracked"];

export function statusMetrics(input: StatusMetricsInput): string {
  const { project } = input;
  const up: string[] = [];
  const healthy: string[] = [];
  const restarts: string[] = [];
  const drift: string[] = [];
  for (const s of input.services) {
    const base = { project, service: s.service, image: s.image };
    const running = s.containers.filter((c) => c.state === "running");
    up.push(sample("docker_versions_service_running", base, running.length));
    // Healthy: every container runs and none is unhealthy or still starting.
    const ok =
      s.containers.length > 0 &&
      s.containers.every((c) => c.state === "running" && (c.health === "" || c.health === "healthy"));
    healthy.push(sample("docker_versions_service_healthy", base, ok ? 1 : 0));
    restarts.push(
      sample(
        "docker_versions_service_restarts",
        base,
        s.containers.reduce((n, c) => n + c.restarts, 0),
      ),
    );
    for (const state of DRIFT_STATES)
      drift.push(
        sample("docker_versions_service_version_state", { ...base, state }, s.drift === state ? 1 : 0),
      );
  }
  return [
    family("docker_versions_service_running", "Running containers of the service.", up),
    family(
      "docker_versions_service_healthy",
      "1 when every container of the service runs and is healthy.",
      healthy,
    ),
    family("docker_versions_service_restarts", "Restarts of the service's containers.", restarts),
    family(
      "docker_versions_service_version_state",
      "1 for the service's version state: in sync (runs the recorded digest), drift, not running, unknown, unpinned, untracked.",
      drift,
    ),
    family("docker_versions_status_timestamp_seconds", "When status last ran for the project.", [
      sample("docker_versions_status_timestamp_seconds", { project }, input.at),
    ]),
  ].join("");
}
