// A manifest's health_url may carry credentials (http://user:password@host/health). Fetch
// refuses such a URL, and it must never be shown: the request goes to the URL without its
// userinfo, with the credentials as a Basic Authorization header. Pure code.

export interface HealthRequest {
  /** The URL without userinfo: what is requested and what may be shown. */
  url: string;
  headers: Record<string, string>;
}

function base64(text: string): string {
  let binary = "";
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary);
}

export function healthRequest(raw: string): HealthRequest {
  const url = new URL(raw);
  if (!url.username && !url.password) return { url: url.href, headers: {} };
  const credentials = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
  url.username = "";
  url.password = "";
  return { url: url.href, headers: { authorization: `Basic ${base64(credentials)}` } };
}
