// camseg's service worker: keeps the app's own files so the page works offline after its first
// load. Network first (a new build is used at once), the cache when there is no network. It
// touches only this origin's GET requests; the page makes no others (see the CSP).
// An update prunes: a new build's install drops the cache's entries that are not among its own
// files (old hashed files), and its activation deletes older 'camseg-' caches.
const CACHE = 'camseg-v1';

// Everything the first page needs, found from the page itself (Trunk names its files by hash).
async function appFiles() {
  const html = await (await fetch('./')).text();
  // The worker's files (all three builds) are named by the binary, not by hash, and not linked from
  // the page.
  const files = ['./', './index.html', 'models/index.json'];
  for (const build of ['camseg-worker', 'camseg-worker-relaxed', 'camseg-worker-webgpu']) files.push(`${build}_loader.js`, `${build}.js`, `${build}_bg.wasm`);
  for (const m of html.matchAll(/(?:href|src)="([^"#]+)"/g)) {
    if (!m[1].startsWith('http') && !m[1].startsWith('data:')) files.push(m[1]);
  }
  const models = await (await fetch('models/index.json')).json();
  for (const name of models) files.push(`models/${name}.json`, `models/${name}.bpk`);
  // The demo sets (the page's picker offers each), with the licences beside the real images.
  files.push('demo/lgg/LICENCE.md', 'demo/busi/LICENCE.md');
  for (const set of ['lgg', 'busi', 'phantom']) {
    const index = await (await fetch(`demo/${set}/index.csv`)).text();
    files.push(`demo/${set}/index.csv`);
    for (const line of index.trim().split('\n').slice(1)) {
      const file = line.split(',')[0];
      files.push(`demo/${set}/images/${file}`, `demo/${set}/masks/${file}`);
    }
  }
  return files;
}

/// Caches this build's files, then deletes every other entry (what older builds left behind).
async function install() {
  const files = await appFiles();
  const cache = await caches.open(CACHE);
  await cache.addAll(files);
  const keep = new Set(files.map((f) => new URL(f, self.location.href).href));
  for (const request of await cache.keys()) {
    if (!keep.has(request.url)) await cache.delete(request);
  }
}

/// Deletes the caches of older versions of this service worker.
async function activate() {
  for (const name of await caches.keys()) {
    if (name.startsWith('camseg-') && name !== CACHE) await caches.delete(name);
  }
  await self.clients.claim();
}

self.addEventListener('install', (event) => event.waitUntil(install().then(() => self.skipWaiting())));

self.addEventListener('activate', (event) => event.waitUntil(activate()));

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET' || new URL(request.url).origin !== self.location.origin) return;
  event.respondWith(
    fetch(request)
      .then((response) => {
        if (response.ok) {
          const copy = response.clone();
          caches.open(CACHE).then((c) => c.put(request, copy));
        }
        return response;
      })
      .catch(() => caches.match(request, { ignoreSearch: true }).then((hit) => hit || Response.error())),
  );
});
