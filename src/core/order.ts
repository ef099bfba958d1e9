// One order for names in everything the plugin prints or writes (services, variables, digests),
// the same on every host. `localeCompare` followed the host's locale (an Estonian host sorted
// `z` before `t`) and cost the ICU collator's start-up, 5–20 ms, on the first call of each command.
// For printable ASCII, which is all a Compose service name, a variable name, a digest or a record
// time can hold, this is the order `localeCompare(b, "en")` gives: punctuation, then digits, then
// letters, case ignored; then, between names equal but for case, lowercase first at the first
// difference. Anything else falls back to the "en" collator itself.

// Printable ASCII as the "en" collation orders it (letters case-folded: case is decided after).
const ORDERED = "_-,;:!?.'\"()[]{}@*/\\&#%`^+<=>|~$0123456789abcdefghijklmnopqrstuvwxyz";
const WEIGHT = new Int8Array(128).fill(-1);
for (let i = 0; i < ORDERED.length; i++) {
  const c = ORDERED.charCodeAt(i);
  WEIGHT[c] = i;
  if (c >= 97 && c <= 122) WEIGHT[c - 32] = i;
}

function plain(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || (WEIGHT[c] as number) < 0) return false;
  }
  return true;
}

/** Compares two names as the "en" collation does: negative, zero or positive. */
export function nameOrder(a: string, b: string): number {
  if (a === b) return 0;
  if (!plain(a) || !plain(b)) return a.localeCompare(b, "en");
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (WEIGHT[a.charCodeAt(i)] as number) - (WEIGHT[b.charCodeAt(i)] as number);
    if (d !== 0) return d;
  }
  if (a.length !== b.length) return a.length - b.length;
  // Equal but for case: the first lowercase letter where they differ comes first.
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return x > y ? -1 : 1;
  }
  return 0;
}
