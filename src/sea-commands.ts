// In the single executable, main.ts's `import("./cli.js")` lands here (build/build.mjs maps it):
// the commands are not part of the executable's main script but an asset of it, compiled here
// with a V8 code cache. Node's own cache of the main script holds only what V8 compiles before
// running it; and `docker-cli-plugin-metadata` and `--version`, answered before this file is
// reached, never pay for reading a larger one. The cache is the command's own when an earlier
// run left one (adapters/code-cache.ts), else the executable's cache of every function
// (build/code-cache.cjs). A cache V8 rejects only costs the time it would have saved.
import { getAsset, getRawAsset } from "node:sea";
import { Script } from "node:vm";
import { commandCodeCache } from "./adapters/code-cache.js";
import { splitDockerGlobals } from "./docker-globals.js";
import { PLUGIN_NAME } from "./meta.js";

type Commands = typeof import("./cli.js");

const own = commandCodeCache(process.env, splitDockerGlobals(process.argv.slice(2), PLUGIN_NAME).args);
const script = new Script(getAsset("app.cjs", "utf8"), {
  filename: "docker-versions-app.cjs",
  cachedData: own ? own.data : new Uint8Array(getRawAsset("app.cache") as ArrayBuffer),
});
own?.compiled(script);
const app = { exports: {} as Commands };
script.runInThisContext()(require, app, app.exports, __filename, __dirname);

export const { run, renderError } = app.exports;
