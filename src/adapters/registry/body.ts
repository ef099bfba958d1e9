// Reading a registry's answer with a bound: a body that would not fit is never held in memory.
import type { Answer } from "./http.js";

/**
 * The most of one answer's body that is read. Manifests are at most 4 MiB by the distribution
 * spec, a page of 1000 tags a few hundred KiB; a registry sending more is not answered in kind.
 */
export const MAX_BODY_BYTES = 8 * 1024 * 1024;

/** The body, read until `maxBytes`; past that the stream is cancelled and `null` returned. */
export async function readCapped(
  res: Pick<Answer, "headers" | "body">,
  maxBytes: number,
): Promise<Buffer | null> {
  const declared = Number(res.headers.get("content-length") ?? Number.NaN);
  if (declared > maxBytes) {
    await res.body?.cancel();
    return null;
  }
  if (!res.body) return Buffer.alloc(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}
