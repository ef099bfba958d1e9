// The two checks yargs takes from node:assert, in the release bundle. yargs uses them for its
// own invariants and, on every start, to learn that no package.json lies above the executable
// (it catches the failure); loading node:assert for that, and building its AssertionError, cost
// more than the rest of the parse.
export function notStrictEqual(actual, expected, message) {
  if (Object.is(actual, expected))
    throw new Error(message ?? `expected a value other than ${String(expected)}`);
}

export function strictEqual(actual, expected, message) {
  if (!Object.is(actual, expected))
    throw new Error(message ?? `expected ${String(expected)}, got ${String(actual)}`);
}
