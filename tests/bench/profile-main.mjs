// Where the page's main thread spends a 50-image batch: Chromium's sampling profiler on the
// page while a pool of workers analyses the batch, self time summed by function over the
// samples inside long tasks (over 50 ms) and over the whole batch.
//
//   node tests/bench/profile-main.mjs [DIST] [--data ../shared/data/lgg] [--workers 2]
//
// DIST as in profile-worker.mjs, with the page's wasm (camseg-web) keeping its name section:
//   cp -r dist /tmp/distprof && wasm-bindgen --target web --no-typescript --out-dir /tmp/distprof
//   --out-name camseg-web-HASH target/wasm32-unknown-unknown/web/camseg-web.wasm
// (HASH as in dist/'s file name).
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { serve } from '../browser/serve.mjs';
import { upload } from '../browser/helpers.mjs';

const arg = (name, fallback) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : fallback; };
const DIST = path.resolve(process.argv[2] && !process.argv[2].startsWith('--') ? process.argv[2] : 'dist');
const data = arg('--data', '../shared/data/lgg');
const workers = Number(arg('--workers', 2));

const lines = fs.readFileSync(path.join(data, 'index.csv'), 'utf8').trim().split('\n').slice(1);
const chosen = [...lines.filter((l) => l.split(',')[4] === '1').slice(0, 25), ...lines.filter((l) => l.split(',')[4] === '0' && Number(l.split(',')[6]) > 20000).slice(0, 25)];
const files = chosen.flatMap((l) => {
  const f = l.split(',')[0];
  return [upload(f, fs.readFileSync(path.join(data, 'images', f)), 'image/png'), upload(f.replace('.png', '_mask.png'), fs.readFileSync(path.join(data, 'masks', f)), 'image/png')];
});

const server = await serve(DIST);
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-quic', '--no-first-run'] });
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  await page.goto(`http://127.0.0.1:${server.address().port}/?backend=cpu&workers=${workers}`);
  await page.waitForFunction(() => /^analysed \d+ images in \d+ ms/.test(document.querySelector('[data-testid=status]')?.textContent ?? '') && !document.querySelector('[data-testid=busy]'), null, { timeout: 300_000 });
  await page.evaluate((list) => {
    window.__drop = list.map(({ name, mimeType, b64 }) => new File([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], name, { type: mimeType }));
    window.__tasks = [];
    new PerformanceObserver((l) => { for (const e of l.getEntries()) window.__tasks.push([e.startTime, e.duration]); }).observe({ type: 'longtask' });
  }, files.map((f) => ({ name: f.name, mimeType: f.mimeType, b64: f.buffer.toString('base64') })));
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 100 });
  await cdp.send('Profiler.start');
  const t0 = await page.evaluate(() => performance.now());
  await page.evaluate(() => {
    const dt = new DataTransfer();
    for (const f of window.__drop) dt.items.add(f);
    document.querySelector('.drop').dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  });
  await page.waitForFunction(() => /analysed 50 images/.test(document.querySelector('[data-testid=status]').textContent), null, { timeout: 600_000 });
  const { profile } = await cdp.send('Profiler.stop');
  const status = await page.textContent('[data-testid=status]');
  const tasks = await page.evaluate(() => window.__tasks);
  const over = tasks.filter(([, d]) => d > 50);
  console.log(`${status.trim()}; long tasks (ms from the drop, duration): ${tasks.map(([s, d]) => `${(s - t0).toFixed(0)}+${d.toFixed(0)}`).join(', ') || 'none'}`);
  // Samples to times: profile.startTime (us) plus the deltas; the page's clock is performance.now().
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const summed = (inside) => {
    const self = new Map();
    let t = profile.startTime;
    let total = 0;
    profile.samples.forEach((id, i) => {
      t += profile.timeDeltas[i];
      const ms = t0 + (t - profile.startTime) / 1000; // the profiler's clock, from its start
      if (!inside(ms)) return;
      const n = nodes.get(id);
      const name = `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.split('/').pop()}`;
      self.set(name, (self.get(name) ?? 0) + 1);
      total += 1;
    });
    return [total, [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 25)];
  };
  for (const [label, inside] of [['in long tasks', (ms) => over.some(([s, d]) => ms >= s && ms <= s + d)], ['whole batch', () => true]]) {
    const [total, top] = summed(inside);
    console.log(`\n${label}: ${total} samples`);
    for (const [name, n] of top) console.log(`  ${(100 * n / Math.max(total, 1)).toFixed(1).padStart(5)}%  ${name}`);
  }
} finally {
  await browser.close();
  server.close();
}
