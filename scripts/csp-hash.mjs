// Trunk post-build hook: the page's Content-Security-Policy allows its one inline script (the
// loader Trunk writes) by hash instead of 'unsafe-inline', so no other inline script can run.
// Runs on the staged index.html (TRUNK_STAGING_DIR), before Trunk moves it to dist/.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const file = path.join(process.env.TRUNK_STAGING_DIR || 'dist', 'index.html');
let html = fs.readFileSync(file, 'utf8');
const hashes = [...html.matchAll(/<script(?![^>]*\bsrc=)[^>]*>([\s\S]*?)<\/script>/g)]
  .map((m) => `'sha256-${crypto.createHash('sha256').update(m[1], 'utf8').digest('base64')}'`);
const before = html;
html = html.replace(/(script-src[^;"]*?)\s*'unsafe-inline'/, (_, head) => `${head} ${hashes.join(' ')}`.trimEnd());
if (html === before) {
  console.error(`csp-hash: no 'unsafe-inline' in script-src of ${file}; nothing changed`);
} else {
  fs.writeFileSync(file, html);
  console.error(`csp-hash: script-src allows ${hashes.length} inline script(s) by hash`);
}
