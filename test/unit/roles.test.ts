import { describe, expect, it } from "vitest";
import { decideRole, ROLE_LABEL, type RoleInput, repositoryBaseName } from "../../src/core/roles.js";

describe("decideRole", () => {
  it.each<[string, RoleInput, { role: string; source: string; warning?: RegExp }]>([
    ["postgres by repository", { image: "postgres:16" }, { role: "database", source: "image" }],
    ["library path", { image: "docker.io/library/redis:7" }, { role: "database", source: "image" }],
    [
      "registry with port and namespace",
      { image: `127.0.0.1:5077/ns/postgres:latest@sha256:${"a".repeat(64)}` },
      { role: "database", source: "image" },
    ],
    ["bitnami postgresql", { image: "bitnami/postgresql:15" }, { role: "database", source: "image" }],
    [
      "elasticsearch",
      { image: "docker.elastic.co/elasticsearch/elasticsearch:8.1" },
      { role: "database", source: "image" },
    ],
    ["opensearch", { image: "opensearchproject/opensearch:2" }, { role: "database", source: "image" }],
    ["mariadb without a tag", { image: "mariadb" }, { role: "database", source: "image" }],
    [
      "clickhouse server",
      { image: "clickhouse/clickhouse-server:24" },
      { role: "database", source: "image" },
    ],
    ["rabbitmq", { image: "rabbitmq:3-management" }, { role: "database", source: "image" }],
    ["an app image", { image: "127.0.0.1:5077/req_router:1.64" }, { role: "app", source: "image" }],
    // Only the last component counts: a namespace called postgres holds apps.
    ["namespace named like a database", { image: "postgres/exporter:1" }, { role: "app", source: "image" }],
    ["a tool named after a database", { image: "postgres-exporter:1" }, { role: "app", source: "image" }],
    ["no image (built locally)", {}, { role: "app", source: "default" }],
    ["unparseable image", { image: "Not An Image" }, { role: "app", source: "image" }],
    [
      "label makes an app image a database",
      { image: "127.0.0.1:5077/settings:1", labels: { [ROLE_LABEL]: "database" } },
      { role: "database", source: "label" },
    ],
    [
      "label makes a database image an app",
      { image: "redis:7", labels: { [ROLE_LABEL]: "app" } },
      { role: "app", source: "label" },
    ],
    [
      "manifest wins over the label",
      { manifest: "app", image: "postgres", labels: { [ROLE_LABEL]: "database" } },
      { role: "app", source: "manifest" },
    ],
    ["manifest database", { manifest: "database", image: "nginx" }, { role: "database", source: "manifest" }],
    [
      "unknown label value falls through with a warning",
      { image: "mongo:7", labels: { [ROLE_LABEL]: "storage" } },
      { role: "database", source: "image", warning: /label com\.docker-versions\.role=storage/ },
    ],
    [
      "unknown manifest value falls through to the label",
      { manifest: "cache", image: "nginx", labels: { [ROLE_LABEL]: "db" } },
      { role: "database", source: "label", warning: /manifest role 'cache'/ },
    ],
    [
      "label value is case-insensitive",
      { labels: { [ROLE_LABEL]: " Database " } },
      { role: "database", source: "label" },
    ],
  ])("%s", (_name, input, expected) => {
    const got = decideRole(input);
    expect(got.role).toBe(expected.role);
    expect(got.source).toBe(expected.source);
    if (expected.warning) expect(got.warning).toMatch(expected.warning);
    else expect(got.warning).toBeUndefined();
  });
});

describe("repositoryBaseName", () => {
  it.each([
    ["postgres", "postgres"],
    ["127.0.0.1:5077/a/b/mysql:8", "mysql"],
    [`ghcr.io/org/app@sha256:${"b".repeat(64)}`, "app"],
    ["", undefined],
  ])("%s → %s", (image, expected) => {
    expect(repositoryBaseName(image)).toBe(expected);
  });
});
