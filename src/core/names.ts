// Lookups by a name that comes from a file or the command line. Such a name is any string,
// `constructor`, `toString` and `__proto__` included, so records keyed by it have no prototype
// and membership is an own-property test, never `in`.

/** Whether `record` has its own entry `name` (not one inherited from Object.prototype). */
export function has(record: object, name: string): boolean {
  return Object.hasOwn(record, name);
}

/** A copy of `from` without a prototype: `copy[name] = …` stores any name, `__proto__` too. */
export function byName<T>(from?: Readonly<Record<string, T>>): Record<string, T> {
  return Object.assign(Object.create(null) as Record<string, T>, from);
}
