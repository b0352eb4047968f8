// Where the page's worker spends an analysis: Chromium's sampling profiler on the worker while
// the page re-runs Grad-CAM at the last block over the demo set, self time summed by function.
//
//   node tests/bench/profile-worker.mjs [DIST] [--rounds 3] [--method gradcam]
//
// DIST must hold a build whose worker wasm keeps its name section (trunk's release build strips
// it). Either run wasm-bindgen again over a copy of dist/ after `trunk build --release` (a minute):
//   cp -r dist /tmp/distprof && wasm-bindgen --target no-modules --no-typescript --out-dir
//   /tmp/distprof --out-name camseg-worker target/wasm32-unknown-unknown/web/camseg-worker.wasm
// or build without wasm-opt: sed -i '/camseg-worker/s/data-wasm-opt="z"/data-wasm-opt="0"/'
// index.html && trunk build --release --dist /tmp/distprof && git checkout index.html
import path from 'node:path';
import { chromium } from 'playwright-core';
import { serve } from '../browser/serve.mjs';

const arg = (name, fallback) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : fallback; };
const DIST = path.resolve(process.argv[2] && !process.argv[2].startsWith('--') ? process.argv[2] : 'dist');
const ROUNDS = Number(arg('--rounds', 3));
const METHOD = arg('--method', 'gradcam');
const LAST_BLOCK = 3;

const server = await serve(DIST);
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-quic', '--no-first-run'] });
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  await page.goto(`http://127.0.0.1:${server.address().port}/?backend=cpu&workers=1`);
  const analysed = async () => {
    const h = await page.waitForFunction(() => {
      const s = document.querySelector('[data-testid=status]')?.textContent ?? '';
      return !document.querySelector('[data-testid=busy]') && /^analysed \d+ images in \d+ ms/.test(s) ? s : null;
    }, null, { timeout: 300_000 });
    return h.jsonValue();
  };
  await analysed();
  const rerun = async () => {
    await page.evaluate(() => { window.__status = document.querySelector('[data-testid=status]').textContent; });
    await page.evaluate((last) => {
      const layer = document.querySelector('[data-testid=layer]');
      for (const v of [String(last - 1), String(last)]) { layer.value = v; layer.dispatchEvent(new Event('change', { bubbles: true })); }
    }, LAST_BLOCK);
    await page.waitForFunction(() => document.querySelector('[data-testid=busy]') || document.querySelector('[data-testid=status]').textContent !== window.__status, null, { timeout: 60_000 }).catch(() => {});
    return analysed();
  };
  await page.selectOption('[data-testid=method]', METHOD);
  await page.selectOption('[data-testid=layer]', String(LAST_BLOCK));
  console.log('warm-up:', await rerun());

  // The worker's own DevTools session, through the browser's target domain.
  const cdp = await browser.newBrowserCDPSession();
  const { targetInfos } = await cdp.send('Target.getTargets');
  const workers = targetInfos.filter((t) => t.type === 'worker');
  if (!workers.length) throw new Error(`no worker target among ${targetInfos.map((t) => t.type).join(', ')}`);
  const { sessionId } = await cdp.send('Target.attachToTarget', { targetId: workers[0].targetId, flatten: false });
  let next = 1;
  const pending = new Map();
  cdp.on('Target.receivedMessageFromTarget', (e) => {
    const m = JSON.parse(e.message);
    if (m.id && pending.has(m.id)) { pending.get(m.id)(m); pending.delete(m.id); }
  });
  const send = (method, params = {}) => new Promise((resolve, reject) => {
    const id = next++;
    pending.set(id, (m) => (m.error ? reject(new Error(`${method}: ${m.error.message}`)) : resolve(m.result)));
    cdp.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id, method, params }) });
  });
  await send('Profiler.enable');
  await send('Profiler.setSamplingInterval', { interval: 100 });
  await send('Profiler.start');
  for (let r = 0; r < ROUNDS; r++) console.log(`round ${r + 1}:`, await rerun());
  const { profile } = await send('Profiler.stop');

  // Self time per function: samples x mean interval.
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const counts = new Map();
  for (const id of profile.samples) counts.set(id, (counts.get(id) || 0) + 1);
  const span = (profile.endTime - profile.startTime) / 1000;
  const per = span / profile.samples.length;
  const self = new Map();
  for (const [id, c] of counts) {
    const f = byId.get(id).callFrame;
    const name = f.functionName || `(${f.url.split('/').pop() || 'program'})`;
    self.set(name, (self.get(name) || 0) + c * per);
  }
  const rows = [...self].sort((a, b) => b[1] - a[1]);
  const total = rows.reduce((s, [, v]) => s + v, 0);
  console.log(`profiled ${span.toFixed(0)} ms in ${profile.samples.length} samples; self time by function:`);
  for (const [name, ms] of rows.slice(0, Number(arg('--top', 40)))) console.log(`${ms.toFixed(1).padStart(8)} ms ${(100 * ms / total).toFixed(1).padStart(5)}%  ${name.slice(0, 150)}`);
} finally {
  await browser.close();
  server.close();
}
