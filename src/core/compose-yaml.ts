// Reading a compose file's YAML as Compose does. Compose files share settings through anchors
// and merge keys (`<<: *defaults` in every service), so the alias bound that protects the
// manifest would reject files `docker compose config` accepts; here it is sized for compose
// files, still finite so a file crafted to expand without end stops with one line.
import { parseDocument } from "yaml";

/** Alias expansions allowed in one compose file: thousands of services can each merge anchors. */
export const COMPOSE_MAX_ALIAS_COUNT = 100_000;

/** The compose file's data (merge keys applied); throws an Error whose message is one line. */
export function parseComposeText(text: string, file: string): unknown {
  const doc = parseDocument(text, { merge: true, uniqueKeys: false });
  const syntax = doc.errors[0];
  if (syntax) throw new Error(`${file} is not valid YAML: ${syntax.message.split("\n")[0]}`);
  try {
    return doc.toJS({ maxAliasCount: COMPOSE_MAX_ALIAS_COUNT });
  } catch (e) {
    throw new Error(`${file} cannot be read: ${(e as Error).message.split("\n")[0]}`);
  }
}
