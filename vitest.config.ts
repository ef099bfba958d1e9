import { readFileSync } from "node:fs";
import { defineConfig } from "vitest/config";

const pkg = JSON.parse(readFileSync(new URL("./package.json", import.meta.url), "utf8")) as { version: string };

export default defineConfig({
  define: { __DV_VERSION__: JSON.stringify(pkg.version) },
  test: {
    projects: [
      { extends: true, test: { name: "unit", include: ["test/unit/**/*.test.ts"], sequence: { groupOrder: 0 } } },
      {
        extends: true,
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          globalSetup: ["test/e2e/global-setup.ts"],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          // One engine and one registry are shared; the files mostly wait on Docker, so three at a time.
          maxWorkers: 3,
          fileParallelism: true,
          // After the unit tests, which are quick and say first what is broken.
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
