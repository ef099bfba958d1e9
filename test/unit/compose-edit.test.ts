import { describe, expect, it } from "vitest";
import { interpolateImage } from "../../src/core/compose-edit.js";

const file = `# deployment of customer X
x-common: &common
  restart: unless-stopped

services:
  api:
    <<: *common
    image: reg.example.com:5000/team/api:1.42   # pinned by hand
    ports: ["8080:8080"]
  web:
    image: "nginx"
  worker:
    image: 'reg/worker:2.0'
  pinned:
    image: reg/p:1.0@sha256:${"a".repeat(64)}
  done:
    image: reg/d:\${D_VERSION:-1}
`;

describe("interpolateImage", () => {
  it("rewrites only the image scalar, keeping every other byte", () => {
    const edit = interpolateImage(file, "api", "API_VERSION");
    expect(edit?.after).toBe("reg.example.com:5000/team/api:${API_VERSION:-1.42}");
    expect(edit?.text).toBe(
      file.replace(
        "reg.example.com:5000/team/api:1.42",
        "reg.example.com:5000/team/api:${API_VERSION:-1.42}",
      ),
    );
  });
  it.each([
    ["web", "WEB_VERSION", '"nginx:${WEB_VERSION:-latest}"'],
    ["worker", "WORKER_VERSION", "'reg/worker:${WORKER_VERSION:-2.0}'"],
  ])("keeps the quoting of %s", (service, variable, expected) => {
    expect(interpolateImage(file, service, variable)?.text).toContain(`image: ${expected}`);
  });
  it.each(["pinned", "done", "missing"])("leaves %s alone", (service) => {
    expect(interpolateImage(file, service, "V")).toBeNull();
  });
});
