// Identity of the plugin: its version and the metadata the Docker CLI asks for before every run.
declare const __DV_VERSION__: string | undefined;

export const VERSION: string = typeof __DV_VERSION__ === "string" ? __DV_VERSION__ : "0.0.0-dev";
export const PLUGIN_NAME = "versions";

export const METADATA = {
  SchemaVersion: "0.1.0",
  Vendor: "docker-versions",
  Version: VERSION,
  ShortDescription: "Pin, record and roll back the image versions of a Compose deployment",
  URL: "https://github.com/docker-versions/docker-versions",
} as const;
