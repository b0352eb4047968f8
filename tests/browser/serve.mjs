// A static file server for dist/ on 127.0.0.1 (what the tests open), with the MIME types
// wasm needs and the headers that forbid framing. Used by the tests and usable by hand: `node tests/browser/serve.mjs dist 8080`.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';

/// Sent with every response: no other page may frame this one (a <meta> CSP cannot say so).
export const HEADERS = { 'Content-Security-Policy': "frame-ancestors 'none'", 'X-Frame-Options': 'DENY' };
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.css': 'text/css', '.json': 'application/json', '.png': 'image/png', '.csv': 'text/csv', '.bpk': 'application/octet-stream' };

export function serve(root, port = 0) {
  const server = http.createServer((req, res) => {
    const url = decodeURIComponent(new URL(req.url, 'http://127.0.0.1').pathname);
    let file = path.join(root, url.endsWith('/') ? url + 'index.html' : url);
    if (!file.startsWith(path.resolve(root)) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) {
      res.writeHead(404, HEADERS).end('not found');
      return;
    }
    res.writeHead(200, { ...HEADERS, 'Content-Type': TYPES[path.extname(file)] || 'application/octet-stream' });
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const root = path.resolve(process.argv[2] || 'dist');
  const server = await serve(root, Number(process.argv[3] || 8080));
  console.log(`serving ${root} on http://127.0.0.1:${server.address().port}`);
}
