// Rewrites one `image:` value in a compose file, touching nothing else: the edit replaces the
// scalar's own characters and keeps every other byte (comments, anchors, ordering, flow or
// block style). The value may sit under the service itself, in an anchor that services merge,
// or in the service an `extends` names. Pure code: text in, text out.
import { isCollection, isPair, isScalar, parseDocument, visit } from "yaml";

export interface ImageSite {
  file: string;
  /** Character range of the scalar (quotes included) in the file's text. */
  start: number;
  end: number;
  quote: '"' | "'" | "";
  /** Inside a flow mapping or sequence (`{ image: … }`), where a plain `{` would end the value. */
  flow: boolean;
  /** `services.<service>.image` itself; false for an anchor or another service's line. */
  direct: boolean;
}

/**
 * The `image:` scalars whose value is exactly `template`, in every file: the service's own
 * line first (the last file that sets it wins, as in Compose), then the others.
 */
export function findImageSites(
  files: readonly { file: string; text: string }[],
  service: string,
  template: string,
): ImageSite[] {
  const direct: ImageSite[] = [];
  const others: ImageSite[] = [];
  for (const { file, text } of files) {
    const doc = parseDocument(text, { keepSourceTokens: true });
    if (doc.errors.length > 0) continue;
    const own = doc.getIn(["services", service, "image"], true);
    visit(doc, {
      Pair(_, pair, path) {
        if (!isPair(pair) || !isScalar(pair.key) || pair.key.value !== "image") return;
        const node = pair.value;
        if (!isScalar(node) || node.value !== template || !node.range) return;
        const [start, end] = node.range;
        const raw = text.slice(start, end);
        const quote = raw.startsWith('"') ? '"' : raw.startsWith("'") ? "'" : "";
        // Only values written as they read (no escapes, no block scalars) are edited.
        if (raw !== (quote ? `${quote}${template}${quote}` : template)) return;
        const flow = path.some((p) => isCollection(p) && p.flow === true);
        const site = { file, start, end, quote, flow, direct: node === own } as const;
        (site.direct ? direct : others).push(site);
      },
    });
  }
  return [...direct.slice(-1), ...others];
}

/** The file's text with the site's value replaced, quoted as the site needs; null if it cannot be. */
export function replaceImage(text: string, site: ImageSite, value: string): string | null {
  let written: string;
  if (site.quote === '"') {
    if (/["\\]/.test(value)) return null;
    written = `"${value}"`;
  } else if (site.quote === "'" || site.flow) {
    // Single quotes escape nothing but themselves; a plain `{`/`}` would break a flow mapping.
    written = `'${value.replaceAll("'", "''")}'`;
  } else {
    if (/: |\s#|^[\s'"&*!|>%@`{[]/.test(value)) return null;
    written = value;
  }
  return `${text.slice(0, site.start)}${written}${text.slice(site.end)}`;
}
