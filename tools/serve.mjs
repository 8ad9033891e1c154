// A tiny static server for the demo and the browser tests: serves the repository root on
// localhost and, with --data DIR, that folder under /data/ (the tutorial files laid out as
// upstream, so the page can use ?data=/data/). Nothing else is reachable.
//
// usage: node tools/serve.mjs [--port 8080] [--data ../shared/data/bsubtilis/upstream]

import { createServer } from 'node:http';
import { createReadStream, statSync } from 'node:fs';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const types = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript',
  '.css': 'text/css', '.wasm': 'application/wasm', '.json': 'application/json', '.png': 'image/png',
  '.tif': 'image/tiff', '.npy': 'application/octet-stream', '.svg': 'image/svg+xml',
  '.webmanifest': 'application/manifest+json',
};

// The page's Content-Security-Policy, sent with every file (a module worker takes its policy
// from its own script's response, not from the page's meta tag). index.html carries the same
// policy in a meta tag for static hosts that send no headers.
const DIRECTIVES = {
  'default-src': "'self'",
  'script-src': "'self' 'wasm-unsafe-eval'", // the wasm module, compiled in the worker
  'connect-src': "'self' https://raw.githubusercontent.com", // the tutorial files, when asked for
  'img-src': "'self' data: blob:",
  'style-src': "'self'",
  'worker-src': "'self'",
  'object-src': "'none'",
  'base-uri': "'none'",
  'form-action': "'none'",
};
const policy = (changes = {}) => Object.entries({ ...DIRECTIVES, ...changes }).map((d) => d.join(' ')).join('; ');
export const CSP = policy();
// The worker's own policy adds blob: workers: wasm-bindgen-rayon starts the CPU's thread
// workers from a blob of its (same-origin) helper script. Only the page's scripts can make
// blob URLs, and nothing else may start workers from them.
const WORKER_CSP = policy({ 'worker-src': "'self' blob:" });
// TF.js's threaded wasm (the bench's peer, bench.html only) starts its threads from blob
// workers that import its script again from a blob.
const PEER_CSP = policy({ 'worker-src': "'self' blob:", 'script-src': "'self' 'wasm-unsafe-eval' blob:" });

function policyFor(file) {
  if (file === join(root, 'www', 'worker.js')) return WORKER_CSP;
  if (file === join(root, 'www', 'peers', 'tfjs-worker.js')) return PEER_CSP;
  return CSP;
}

export function serve({ port = 8080, data = null, host = '127.0.0.1' } = {}) {
  const dataDir = data ? resolve(data) : null;
  const server = createServer((req, res) => {
    let path;
    try {
      path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    } catch {
      return send(res, 400, 'bad path');
    }
    let base = root;
    let rel = path;
    if (path.startsWith('/data/')) {
      if (!dataDir) return send(res, 404, 'no data folder is served');
      base = dataDir;
      rel = path.slice('/data'.length);
    }
    const file = normalize(join(base, rel.endsWith('/') ? `${rel}index.html` : rel));
    if (file !== base && !file.startsWith(base + sep)) return send(res, 403, 'forbidden');
    let stat;
    try {
      stat = statSync(file);
    } catch {
      return send(res, 404, 'not found');
    }
    if (!stat.isFile()) return send(res, 404, 'not found');
    res.writeHead(200, {
      'content-type': types[extname(file)] || 'application/octet-stream',
      'content-length': stat.size,
      'cache-control': 'no-cache',
      'content-security-policy': policyFor(file),
      // cross-origin isolation: lets the page share memory with workers (the CPU package's
      // threads); everything the page loads is its own, and the tutorial host answers CORS
      'cross-origin-opener-policy': 'same-origin',
      'cross-origin-embedder-policy': 'require-corp',
    });
    createReadStream(file).pipe(res);
  });
  return new Promise((ok) => server.listen(port, host, () => ok(server)));
}

function send(res, status, text) {
  res.writeHead(status, { 'content-type': 'text/plain' });
  res.end(text);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const arg = (name) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const port = Number(arg('--port') || 8080);
  const data = arg('--data');
  const server = await serve({ port, data });
  const { port: bound } = server.address();
  const query = data ? '?data=/data/' : '';
  console.log(`cellseg demo: http://localhost:${bound}/${query}`);
}
