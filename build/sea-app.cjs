// Runs inside the executable, where src/main.ts says `import("./cli.js")`: the commands are not
// part of the executable's main script but an asset of it, compiled here with a V8 code cache
// that holds every one of their functions (build/code-cache.cjs). Node's own cache for the main
// script holds only what V8 compiles before running it, so each function a command called was
// compiled on its first call, on every run; and `docker-cli-plugin-metadata` and `--version`,
// answered before this file is reached, never pay for reading the larger cache.
// A cache V8 rejects (another Node, other V8 flags in NODE_OPTIONS) only costs that time back.
const { getAsset, getRawAsset } = require("node:sea");
const { Script } = require("node:vm");

const script = new Script(getAsset("app.cjs", "utf8"), {
  filename: "docker-versions-app.cjs",
  cachedData: new Uint8Array(getRawAsset("app.cache")),
});
const app = { exports: {} };
script.runInThisContext()(require, app, app.exports, __filename, __dirname);
module.exports = app.exports;
