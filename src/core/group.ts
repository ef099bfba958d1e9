// Lists looked up by key: a report over 200 services makes 200 lookups, not 200 scans of 200.
// Pure code.

/** The items of `list` by key, each group in the list's order. */
export function groupBy<T>(list: Iterable<T>, key: (item: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of list) {
    const k = key(item);
    const group = out.get(k);
    if (group) group.push(item);
    else out.set(k, [item]);
  }
  return out;
}

/** The first item of `list` for each key (what `find` by that key would return). */
export function firstBy<T>(list: Iterable<T>, key: (item: T) => string): Map<string, T> {
  const out = new Map<string, T>();
  for (const item of list) {
    const k = key(item);
    if (!out.has(k)) out.set(k, item);
  }
  return out;
}
