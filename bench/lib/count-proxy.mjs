// A counting HTTP proxy on loopback in front of one registry, for bench/scale: every request is
// forwarded unchanged (method, path, headers, body) and counted by kind. `GET /_counts` answers
// the counts so far as JSON; it never reaches the registry. Prints its port on stdout.
// Usage: node bench/lib/count-proxy.mjs <upstream host:port>
import http from "node:http";

const [host, port] = (process.argv[2] ?? "127.0.0.1:5077").split(":");
const counts = {};

/** What a registry request asks for: the ping, a tag list, a manifest (by method), a blob. */
function kindOf(method, url) {
  if (url === "/v2/" || url === "/v2") return "ping";
  if (/\/tags\/list(\?|$)/.test(url)) return "tags";
  if (/\/manifests\//.test(url)) return `manifest ${method}`;
  if (/\/blobs\//.test(url)) return `blob ${method}`;
  return `other ${method}`;
}

const agent = new http.Agent({ keepAlive: true });
const server = http.createServer((req, res) => {
  if (req.url === "/_counts") {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(counts));
    return;
  }
  const kind = kindOf(req.method, req.url ?? "");
  counts[kind] = (counts[kind] ?? 0) + 1;
  const upstream = http.request(
    { host, port: Number(port), method: req.method, path: req.url, headers: req.headers, agent },
    (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    },
  );
  upstream.on("error", (e) => {
    res.writeHead(502);
    res.end(String(e.message));
  });
  req.pipe(upstream);
});
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`${server.address().port}\n`);
});
