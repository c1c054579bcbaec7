#!/usr/bin/env node
// A tiny static server for the dashboard (node >= 20, no npm packages of its own),
// bound to 127.0.0.1 only:
//
//   node examples/web/serve.mjs [--port 8080] [--pkg DIR]
//
// Serves this directory with the right MIME types (the wasm as application/wasm, so
// the browser can compile it while it streams in) and the dashboard's
// Content-Security-Policy on every response (workers take their policy from the
// header, not from the page's <meta>). `--port 0` picks a free port. The first line
// on stdout is always `serving http://127.0.0.1:PORT/`. `--pkg DIR` serves /pkg/ from
// DIR instead of ./pkg (e.g. web/pkg, what scripts/build-web makes by default).
// /vendor/ serves the browser bundles of the npm packages the page imports (VENDOR
// below, installed by `npm ci` in this directory, which scripts/web runs); nothing else
// under node_modules is served. Only GET and HEAD; paths that leave the served
// directories are refused.
import { createServer } from "node:http";
import { createReadStream } from "node:fs";
import { realpath, stat } from "node:fs/promises";
import { dirname, extname, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

export const CSP = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self' ws://127.0.0.1:* ws://localhost:*",
  "worker-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

/**
 * URL path → file under the root: the one browser build of each npm package the page
 * loads (package.json here; `npm ci` installs them, they are not committed). MQTT.js
 * ships dist/mqtt.esm.js, an ES module with its dependencies bundled in.
 */
export const VENDOR = {
  "/vendor/mqtt.esm.js": "node_modules/mqtt/dist/mqtt.esm.js",
};

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".wasm": "application/wasm",
  ".ts": "text/plain; charset=utf-8",
  ".md": "text/markdown; charset=utf-8",
  ".txt": "text/plain; charset=utf-8",
  ".png": "image/png",
  ".svg": "image/svg+xml",
  ".ico": "image/x-icon",
};

const HEADERS = {
  "Content-Security-Policy": CSP,
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cache-Control": "no-cache",
};

function parseArgs(argv) {
  const here = dirname(fileURLToPath(import.meta.url));
  const opts = { port: 8080, root: here, pkg: join(here, "pkg") };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === "--port") {
      const p = Number(next());
      if (!Number.isInteger(p) || p < 0 || p > 65535) throw new Error(`--port: not a port number`);
      opts.port = p;
    } else if (a === "--pkg") opts.pkg = resolve(next());
    else if (a === "--root") opts.root = resolve(next());
    else if (a === "-h" || a === "--help") {
      console.log("usage: node serve.mjs [--port N (0: any free)] [--pkg DIR] [--root DIR]");
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  return opts;
}

/** The file a URL path names, or null when it leaves `base` (also through symlinks). */
async function within(base, rel) {
  const full = resolve(base, "." + sep + rel);
  if (full !== base && !full.startsWith(base + sep)) return null;
  try {
    const real = await realpath(full);
    const realBase = await realpath(base);
    if (real !== realBase && !real.startsWith(realBase + sep)) return null;
    return real;
  } catch {
    return undefined; // does not exist
  }
}

function send(res, status, text, extra = {}) {
  res.writeHead(status, { ...HEADERS, "Content-Type": "text/plain; charset=utf-8", ...extra });
  res.end(text + "\n");
}

export function makeServer({ root, pkg }) {
  return createServer(async (req, res) => {
    try {
      if (req.method !== "GET" && req.method !== "HEAD") {
        return send(res, 405, "method not allowed", { Allow: "GET, HEAD" });
      }
      // The path as sent (not normalised by URL parsing, so `..` is seen and refused).
      const raw = req.url.split(/[?#]/)[0];
      let path;
      try {
        path = decodeURIComponent(raw);
      } catch {
        return send(res, 400, "bad request");
      }
      if (!path.startsWith("/")) return send(res, 400, "bad request");
      // Refuse rather than normalise: no `..` segment, backslash or NUL is ever needed.
      if (path.includes("\0") || path.includes("\\") || path.split("/").includes("..")) {
        return send(res, 403, "forbidden");
      }
      if (path.endsWith("/")) path += "index.html";
      // Of node_modules, only the files VENDOR names, under /vendor/.
      if (path.startsWith("/node_modules/")) return send(res, 404, `not found: ${path}`);
      const vendored = Object.hasOwn(VENDOR, path) ? VENDOR[path] : null;
      if (path.startsWith("/vendor/") && !vendored) return send(res, 404, `not found: ${path}`);
      const [base, rel] = vendored ? [root, vendored]
        : path.startsWith("/pkg/") ? [pkg, path.slice(5)] : [root, path.slice(1)];
      let file = await within(base, rel);
      if (file === null) return send(res, 403, "forbidden");
      let info = file && (await stat(file));
      if (info && info.isDirectory()) {
        res.writeHead(301, { ...HEADERS, Location: path + "/" });
        return res.end();
      }
      if (!info || !info.isFile()) {
        const hint = vendored ? ` (${vendored} is missing: run \`npm ci\` in ${root})` : "";
        return send(res, 404, `not found: ${path}${hint}`);
      }
      res.writeHead(200, {
        ...HEADERS,
        "Content-Type": TYPES[extname(file).toLowerCase()] ?? "application/octet-stream",
        "Content-Length": info.size,
      });
      if (req.method === "HEAD") return res.end();
      createReadStream(file)
        .on("error", () => res.destroy())
        .pipe(res);
    } catch (e) {
      if (!res.headersSent) send(res, 500, "internal error");
      else res.destroy();
      console.error(`serve: ${req.url}: ${e.message}`);
    }
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error(`serve: ${e.message}`);
    process.exit(2);
  }
  const server = makeServer(opts);
  server.on("error", (e) => {
    console.error(`serve: ${e.message}`);
    process.exit(1);
  });
  server.listen(opts.port, "127.0.0.1", () => {
    console.log(`serving http://127.0.0.1:${server.address().port}/`);
    console.log(`  root ${opts.root}, /pkg/ from ${opts.pkg}; Ctrl-C stops`);
  });
  for (const s of ["SIGINT", "SIGTERM"]) process.on(s, () => process.exit(0));
}
