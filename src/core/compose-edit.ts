// Rewrites a service's `image:` line so its version comes from a variable, touching nothing else
// in the file: the edit replaces the scalar's own characters and keeps every other byte
// (comments, anchors, ordering, quoting style).
import { isScalar, parseDocument } from "yaml";
import { imageVariable } from "./env.js";
import { parseReference } from "./reference.js";

export interface ImageEdit {
  text: string;
  before: string;
  after: string;
}

/** The file with `services.<service>.image` interpolating `variable`, or null when it cannot. */
export function interpolateImage(text: string, service: string, variable: string): ImageEdit | null {
  const doc = parseDocument(text, { keepSourceTokens: true });
  const node = doc.getIn(["services", service, "image"], true);
  if (!isScalar(node) || typeof node.value !== "string" || !node.range) return null;
  const before = node.value;
  if (imageVariable(before) || before.includes("$")) return null;
  let ref: ReturnType<typeof parseReference>;
  try {
    ref = parseReference(before);
  } catch {
    return null;
  }
  if (ref.digest) return null; // pinned by digest in the file itself: leave the operator's choice alone
  const tagAt = ref.tag === undefined ? before.length : before.lastIndexOf(":");
  const after = `${before.slice(0, tagAt)}:\${${variable}:-${ref.tag ?? "latest"}}`;
  const [start, end] = node.range;
  const raw = text.slice(start, end);
  const quote = raw.startsWith('"') ? '"' : raw.startsWith("'") ? "'" : "";
  if (quote === "" && raw !== before) return null; // a block scalar or escapes: too clever to edit safely
  if (quote && raw !== `${quote}${before}${quote}`) return null;
  return { text: `${text.slice(0, start)}${quote}${after}${quote}${text.slice(end)}`, before, after };
}
