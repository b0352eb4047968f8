// The first page, as a visitor gets it with no click: WebGPU (software adapter) and the CPU
// fallback, the built-in LGG model on the built-in LGG slices, numbers equal to the native CLI's,
// a drawn canvas, no request off the origin, a CSP that blocks one, offline use, and a service-worker
// update that prunes what older builds cached.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { openApp, settled, text, screenshot, outside, cli, DEMO, DIST, firstTumour } from './helpers.mjs';

/// The builds of the page's live workers (the one with WebGPU or the one without).
/// The CPU build Chromium gets: it runs wasm relaxed SIMD, so the page starts the build with
/// fused multiply-adds (`?simd=plain` asks for the plain one).
const CPU_BUILD = 'camseg-worker-relaxed';
const builds = (page) => [...new Set(page.workers().map((w) => w.url().match(/(camseg-worker[a-z-]*)_loader\.js/)?.[1]).filter(Boolean))];

async function firstPage(gpu, name, query = '') {
  const app = await openApp({ gpu, query });
  try {
    const { page } = app;
    await settled(page);
    const wallMs = Date.now() - app.started;
    await screenshot(page, `first-page-${name}`);
    const r = {
      backend: await text(page, 'backend'), probability: Number(await text(page, 'probability')), dice: Number(await text(page, 'dice')),
      error: await text(page, 'error'), firstMs: Number(await text(page, 'first-heatmap-ms')), status: await text(page, 'status'),
      rows: await page.locator('[data-testid=batch-table] tbody tr').count(), title: await page.locator('h2').first().textContent(),
    };
    console.log(`${name}: first heatmap ${r.firstMs} ms after navigation (${wallMs} ms until all 12 done); ${r.status}`);
    assert.equal(r.error, '', `page error; console: ${app.consoleErrors.join(' | ')}`);
    assert.equal(r.backend, query.includes('webgpu') ? 'WebGPU' : 'CPU');
    const build = query.includes('webgpu') ? 'camseg-worker-webgpu' : query.includes('simd=plain') ? 'camseg-worker' : CPU_BUILD;
    assert.deepEqual(builds(page), [build], 'the worker build that the backend and the browser need');
    assert.equal(r.rows, 12);
    assert.equal(r.title, firstTumour(), 'the page opens on a tumour image');
    assert.ok(r.probability > 0.5, `the model calls the first tumour slice a tumour: p ${r.probability}`);
    const native = cli(path.join(DEMO, 'images', firstTumour()), path.join(DEMO, 'masks', firstTumour()));
    assert.ok(Math.abs(r.probability - native.probability) <= 0.01, `page probability ${r.probability} vs CLI ${native.probability}`);
    assert.ok(Math.abs(r.dice - native.dice) <= 0.01, `page Dice ${r.dice} vs CLI ${native.dice}`);
    const colours = await page.evaluate(() => {
      const c = document.querySelector('[data-testid=heatmap-canvas]');
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      const seen = new Set();
      for (let i = 0; i < d.length; i += 4) seen.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
      return seen.size;
    });
    assert.ok(colours > 50, `the canvas has only ${colours} colours`);
    // The CSP forbids any other origin, even if code tried.
    const blocked = await page.evaluate(() => fetch('https://example.com/x').then(() => 'sent', (e) => 'blocked: ' + e.message));
    assert.match(blocked, /^blocked/);
    // Scripts: Trunk's loader is allowed by its hash; any other inline script is refused.
    const csp = await page.evaluate(() => document.querySelector('meta[http-equiv=Content-Security-Policy]').content);
    assert.match(csp, /script-src 'self' 'wasm-unsafe-eval' 'sha256-[A-Za-z0-9+/=]+'/);
    assert.doesNotMatch(csp.match(/script-src[^;]*/)[0], /unsafe-inline/);
    const ran = await page.evaluate(() => {
      const s = document.createElement('script');
      s.textContent = 'window.__injected = true';
      document.head.appendChild(s);
      return window.__injected === true;
    });
    assert.equal(ran, false, 'an injected inline script ran');
    // The service worker's requests are watched too: its install fetched the app's files.
    await page.evaluate(() => navigator.serviceWorker.ready);
    await page.waitForFunction(() => caches.has('camseg-v1'), null, { timeout: 60_000 });
    assert.ok(app.swRequests.includes(`${app.origin}/models/index.json`), `service-worker requests seen: ${app.swRequests.length}`);
    assert.deepEqual(outside(app), [], 'requests left the origin');
    // And one it sent to another origin (localhost, the same server) would be caught.
    const [sw] = app.context.serviceWorkers();
    const probe = `${app.origin.replace('127.0.0.1', 'localhost')}/egress-probe`;
    await sw.evaluate((url) => fetch(url).catch(() => null), probe);
    assert.deepEqual(outside(app), [probe], 'a service-worker request to another origin is seen');
    return r;
  } finally {
    await app.close();
  }
}

test('first page on WebGPU (software adapter, forced with ?backend=webgpu)', async () => {
  await firstPage(true, 'webgpu', '?backend=webgpu');
});

test('on a software WebGPU adapter the page chooses the CPU and says why', async () => {
  const app = await openApp({ gpu: true });
  try {
    await settled(app.page);
    assert.equal(await text(app.page, 'backend'), 'CPU');
    assert.match(await app.page.locator('.models .note').first().textContent(), /software renderer.*backend=webgpu/);
    assert.equal(await text(app.page, 'error'), '');
    // The page probed the adapter itself and kept the build without WebGPU; the page and its
    // workers never fetched the other (the service worker's install may, for offline use).
    assert.deepEqual(builds(app.page), [CPU_BUILD]);
    const fetched = (list) => list.filter((u) => u.includes('camseg-worker-webgpu')).length;
    assert.equal(fetched(app.requests) - fetched(app.swRequests), 0, 'the WebGPU build was fetched outside the service worker');
  } finally {
    await app.close();
  }
});

test('?backend=measure times both backends on the first images, keeps the faster, and the next visit remembers it', async () => {
  const app = await openApp({ gpu: true, query: '?backend=measure' });
  try {
    const { page } = app;
    await settled(page);
    const note = await text(page, 'backend-note');
    const m = note.match(/measured on (.*): WebGPU ([\d.]+) ms, CPU ([\d.]+) ms per image over (\d+) images; (CPU|WebGPU) is faster/);
    assert.ok(m, note);
    const [webgpu, cpu] = [Number(m[2]), Number(m[3])];
    assert.ok(webgpu > 0 && cpu > 0 && Number(m[4]) >= 3, note);
    const faster = webgpu < cpu ? 'WebGPU' : 'CPU';
    assert.equal(m[5], faster);
    assert.equal(await text(page, 'backend'), faster);
    console.log(`measured on the software adapter (${m[1]}): WebGPU ${webgpu} ms, CPU ${cpu} ms per image`);
    const dice = Number(await text(page, 'mean-dice'));
    assert.equal(await text(page, 'error'), '');
    // Next visit, nothing forced: the same adapter starts on the faster without timing again.
    await page.goto(`${app.origin}/`);
    await settled(page);
    assert.equal(await text(page, 'backend'), faster);
    assert.deepEqual(builds(page), [faster === 'CPU' ? CPU_BUILD : 'camseg-worker-webgpu'], 'the remembered verdict picks the build');
    assert.match(await text(page, 'backend-note'), /remembered from an earlier visit, measured on .*WebGPU [\d.]+ ms, CPU [\d.]+ ms/);
    assert.ok(Math.abs(Number(await text(page, 'mean-dice')) - dice) <= 0.01, 'the same figures on either backend');
  } finally {
    await app.close();
  }
});

test('first page falls back to the CPU without WebGPU', async () => {
  await firstPage(false, 'cpu');
});

test('?simd=plain starts the CPU build without relaxed SIMD, which agrees with the CLI too', async () => {
  await firstPage(false, 'cpu-plain-simd', '?simd=plain');
});

test('after the first load the page works offline', async () => {
  const app = await openApp({ gpu: false });
  try {
    const { page, context } = app;
    await settled(page);
    const online = await text(page, 'mean-dice');
    await page.evaluate(() => navigator.serviceWorker.ready);
    await page.waitForFunction(() => caches.has('camseg-v1'), null, { timeout: 60_000 });
    await context.setOffline(true);
    await page.reload();
    await settled(page);
    assert.equal(await text(page, 'error'), '');
    assert.equal(await page.locator('[data-testid=batch-table] tbody tr').count(), 12);
    assert.ok(Number(online) > 0, `mean Dice ${online}`);
    assert.equal(await text(page, 'mean-dice'), online, 'offline, the same results');
    // The second demo set was cached too.
    await page.selectOption('[data-testid=demo-set]', 'phantom');
    await page.waitForFunction(() => document.querySelector('[data-testid=demo-about]')?.dataset.demo === 'phantom');
    await settled(page);
    assert.equal(await text(page, 'error'), '');
    assert.equal(await page.locator('[data-testid=batch-table] tbody tr').count(), 12);
  } finally {
    await app.close();
  }
});

test('a service-worker update drops what older builds cached and keeps the app offline', async () => {
  const app = await openApp({ gpu: false });
  try {
    const { page, context } = app;
    await settled(page);
    await page.evaluate(() => navigator.serviceWorker.ready);
    await page.waitForFunction(() => caches.has('camseg-v1'), null, { timeout: 60_000 });
    // What an older build would have left: a hashed file no longer served, an older cache.
    await page.evaluate(async () => {
      await (await caches.open('camseg-v1')).put('/camseg-web-0000000000000000_bg.wasm', new Response('stale'));
      await (await caches.open('camseg-v0')).put('/index.html', new Response('old'));
    });
    // A new service worker script (another URL for the same scope) installs and activates.
    await page.evaluate(async () => {
      const reg = await navigator.serviceWorker.register('sw.js?update=1');
      await new Promise((resolve) => {
        const done = () => reg.active?.scriptURL.endsWith('?update=1') && reg.active.state === 'activated';
        const poll = () => (done() ? resolve() : setTimeout(poll, 100));
        poll();
      });
    });
    const cached = await page.evaluate(async () => ({
      names: await caches.keys(),
      urls: (await (await caches.open('camseg-v1')).keys()).map((r) => new URL(r.url).pathname),
    }));
    assert.deepEqual(cached.names, ['camseg-v1'], 'the older cache is deleted');
    assert.ok(!cached.urls.includes('/camseg-web-0000000000000000_bg.wasm'), 'the stale file is deleted');
    const built = fs.readdirSync(DIST).filter((f) => f !== 'sw.js' && fs.statSync(path.join(DIST, f)).isFile());
    for (const f of [...built, 'models/index.json', 'demo/lgg/index.csv', 'demo/phantom/index.csv']) {
      assert.ok(cached.urls.includes('/' + f), `${f} is still cached: ${cached.urls.join(' ')}`);
    }
    // And the page still opens offline from what was kept.
    await context.setOffline(true);
    await page.reload();
    await settled(page);
    assert.equal(await text(page, 'error'), '');
    assert.equal(await page.locator('[data-testid=batch-table] tbody tr').count(), 12);
  } finally {
    await app.close();
  }
});

test('a page of another origin cannot frame the app', async () => {
  const app = await openApp({ gpu: false });
  let other;
  try {
    // Another origin (another port; on the same machine, so that Chromium's local-network
    // checks do not block the frame first): a page that frames the app.
    other = http.createServer((_, res) => res.writeHead(200, { 'Content-Type': 'text/html' }).end(`<iframe src="${app.origin}/"></iframe>`));
    await new Promise((resolve) => other.listen(0, '127.0.0.1', resolve));
    const framer = await app.context.newPage();
    const framed = framer.waitForResponse(`${app.origin}/`);
    await framer.goto(`http://127.0.0.1:${other.address().port}/`);
    const headers = (await framed).headers();
    assert.equal(headers['content-security-policy'], "frame-ancestors 'none'");
    assert.equal(headers['x-frame-options'], 'DENY');
    // The browser refused it: the frame holds Chromium's error page, not the app.
    await framer.waitForTimeout(1000);
    const frame = framer.frames().find((f) => f !== framer.mainFrame());
    assert.ok(!frame.url().startsWith(app.origin), `the frame shows ${frame.url()}`);
    assert.equal(await frame.locator('[data-testid=batch-table]').count(), 0, 'the app runs in the frame');
    // The app itself, opened directly, is unaffected.
    await settled(app.page);
    assert.equal(await text(app.page, 'error'), '');
  } finally {
    other?.close();
    await app.close();
  }
});
