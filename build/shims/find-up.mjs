// yargs looks for a package.json above the executable on every start (for a default version and
// its own settings under a "yargs" key). The plugin has neither: it finds nothing, so a stray
// package.json in a parent directory cannot change how arguments are parsed.
export default function findUp() {
  return undefined;
}
