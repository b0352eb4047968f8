// The page's speed, as a person meets it: first heatmap, a 50-image batch with masks, the
// longest main-thread task during the batch and during a fine-tune, the slider's answer during
// a batch, a fine-tune epoch, and both wasm sizes. Prints figures; asserts nothing.
//   node tests/bench/page.mjs [--data ../shared/data/lgg] [--rounds 3] [--workers 1,2,4] [--first-only]
// With --workers, the rounds are the CPU path with each pool size (`?workers=N`) instead. With
// --first-only, each round is a cold load (a new browser) timed to its first heatmap, no more.
// Needs a release build in dist/ (`trunk build --release`). With --data, the batch is 50 real
// 256 px slices with masks from that folder (read, never copied); otherwise LGG-style TIFFs.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { openApp, settled, text, upload, lggStyleTiffPair, stageDrop, drop, DIST } from '../browser/helpers.mjs';

const arg = (name, fallback) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : fallback; };
const data = arg('--data', null);
const rounds = Number(arg('--rounds', 3));
const pools = arg('--workers', null)?.split(',').map(Number);
const firstOnly = process.argv.includes('--first-only');

function batchFiles() {
  if (data && fs.existsSync(path.join(data, 'index.csv'))) {
    const lines = fs.readFileSync(path.join(data, 'index.csv'), 'utf8').trim().split('\n').slice(1);
    const tumour = lines.filter((l) => l.split(',')[4] === '1').slice(0, 25);
    const clear = lines.filter((l) => l.split(',')[4] === '0' && Number(l.split(',')[6]) > 20000).slice(0, 25);
    return { source: `${data} (25 tumour + 25 no-tumour slices)`, files: [...tumour, ...clear].flatMap((l) => {
      const f = l.split(',')[0];
      return [upload(f, fs.readFileSync(path.join(data, 'images', f)), 'image/png'), upload(f.replace('.png', '_mask.png'), fs.readFileSync(path.join(data, 'masks', f)), 'image/png')];
    }) };
  }
  return { source: 'LGG-style 256 px TIFFs made here', files: Array.from({ length: 50 }, (_, k) => {
    const p = lggStyleTiffPair(256, [0.35 + 0.3 * ((k * 7) % 10) / 10, 0.3 + 0.4 * ((k * 3) % 10) / 10, 0.06 + 0.01 * (k % 5)]);
    return [upload(`s${k}.tif`, p.image, 'image/tiff'), upload(`s${k}_mask.tif`, p.mask, 'image/tiff')];
  }).flat() };
}

const watchLongTasks = (page) => page.evaluate(() => {
  window.__longest = 0;
  new PerformanceObserver((list) => { for (const e of list.getEntries()) window.__longest = Math.max(window.__longest, e.duration); }).observe({ type: 'longtask' });
});
const longest = (page) => page.evaluate(() => { const v = window.__longest; window.__longest = 0; return v; });

/// Where the first heatmap's time goes, in ms from navigation: the page's marks
/// (`camseg:*`, set as the page hears each step), its own resources, and the main worker's
/// resources (its wasm is fetched inside the worker, on the worker's clock).
async function startup(page) {
  const pageSide = await page.evaluate(() => {
    const firstMark = (name) => performance.getEntriesByName(`camseg:${name}`, 'mark')[0]?.startTime;
    const resource = (re) => performance.getEntriesByType('resource').find((r) => re.test(r.name));
    const nav = performance.getEntriesByType('navigation')[0];
    return {
      origin: performance.timeOrigin,
      html: nav?.responseEnd,
      page_wasm_fetched: resource(/camseg-web-.*\.wasm/)?.responseEnd,
      page_started: firstMark('page-started'),
      model_fetched: resource(/models\/.*\.bpk/)?.responseEnd,
      build_settled: firstMark('cpu-build-kept') ?? firstMark('webgpu-build-chosen'),
      worker_ready: firstMark('worker-ready'),
      backend_chosen: firstMark('backend-chosen'),
      model_ready: firstMark('model-ready'),
      demo_decoded: firstMark('demo-decoded'),
      first_heatmap: firstMark('first-heatmap'),
    };
  });
  const worker = page.workers().find((w) => w.url().includes('camseg-worker'));
  const workerSide = worker ? await worker.evaluate(() => ({
    origin: performance.timeOrigin,
    wasm: performance.getEntriesByType('resource').find((r) => /camseg-worker(-webgpu)?_bg\.wasm/.test(r.name))?.responseEnd,
  })) : {};
  const { origin, ...marks } = pageSide;
  if (workerSide.wasm !== undefined) marks.worker_wasm_fetched = workerSide.wasm + workerSide.origin - origin;
  return Object.fromEntries(Object.entries(marks).filter(([, v]) => v !== undefined).sort((a, b) => a[1] - b[1]));
}

async function round(label, options, batch) {
  const app = await openApp(options);
  const { page } = app;
  const out = { label };
  try {
    await settled(page);
    out.backend = await text(page, 'backend');
    out.first_heatmap_ms = Number(await text(page, 'first-heatmap-ms'));
    out.startup = await startup(page);
    if (firstOnly) return out;
    // Staged, then dropped: Playwright's own file injection would block the page by itself.
    await stageDrop(page, batch.files);
    await watchLongTasks(page);
    await drop(page);
    await page.waitForSelector('[data-testid=busy]');
    await page.waitForFunction(() => document.querySelector('[data-testid=dice]').textContent.trim() !== '');
    out.slider_ms = await page.evaluate(() => new Promise((resolve) => {
      const slider = document.querySelector('[data-testid=threshold]');
      const t0 = performance.now();
      slider.value = '0.35';
      slider.dispatchEvent(new Event('input', { bubbles: true }));
      const check = () => (document.querySelector('[data-testid=threshold-value]').textContent === '0.35' ? resolve(performance.now() - t0) : requestAnimationFrame(check));
      check();
    }));
    await page.waitForFunction(() => /analysed 50 images/.test(document.querySelector('[data-testid=status]').textContent), null, { timeout: 600_000 });
    out.batch_ms = Number((await text(page, 'status')).match(/in (\d+) ms/)[1]);
    out.per_image_ms = out.batch_ms / 50;
    out.longest_task_batch_ms = await longest(page);
    await page.reload();
    await settled(page);
    await watchLongTasks(page);
    await page.fill('[data-testid=finetune-epochs]', '3');
    await page.locator('[data-testid=finetune-epochs]').dispatchEvent('change');
    await page.click('[data-testid=finetune-start]');
    await page.waitForFunction(() => /fine-tuned in/.test(document.querySelector('[data-testid=status]').textContent), null, { timeout: 600_000 });
    out.finetune_epoch_s = Number((await text(page, 'status')).match(/in ([\d.]+) s/)[1]) / 3;
    out.longest_task_finetune_ms = await longest(page);
  } finally {
    await app.close();
  }
  return out;
}

const batch = batchFiles();
console.log(`batch: ${batch.source}; ${rounds} rounds per backend`);
const wasm = fs.readdirSync(DIST).filter((f) => f.endsWith('.wasm')).map((f) => {
  const bytes = fs.readFileSync(path.join(DIST, f));
  return `${f}: ${bytes.length} bytes, ${zlib.gzipSync(bytes, { level: 9 }).length} gzipped`;
});
const runs = [];
for (let r = 0; r < rounds; r++) {
  if (pools) {
    for (const n of pools) runs.push(await round(`CPU, ${n} worker${n === 1 ? '' : 's'}`, { gpu: true, query: `?backend=cpu&workers=${n}` }, batch));
    continue;
  }
  runs.push(await round('default (no flag; WebGPU present)', { gpu: true }, batch));
  if (!firstOnly) runs.push(await round('forced WebGPU (software adapter)', { gpu: true, query: '?backend=webgpu' }, batch));
}
const keys = ['backend', 'first_heatmap_ms', 'batch_ms', 'per_image_ms', 'longest_task_batch_ms', 'slider_ms', 'finetune_epoch_s', 'longest_task_finetune_ms'];
const median = (v) => { const s = [...v].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
console.log(`| figure | ${[...new Set(runs.map((r) => r.label))].join(' | ')} |`);
console.log(`|---|${[...new Set(runs.map((r) => r.label))].map(() => '---').join('|')}|`);
for (const k of keys) {
  const cells = [...new Set(runs.map((r) => r.label))].map((label) => {
    const v = runs.filter((r) => r.label === label).map((r) => r[k]);
    if (v[0] === undefined) return '';
    return typeof v[0] === 'number' ? `${median(v).toFixed(k.endsWith('_s') ? 2 : 0)} (${v.map((x) => x.toFixed(k.endsWith('_s') ? 2 : 0)).join(', ')})` : v[0];
  });
  console.log(`| ${k} | ${cells.join(' | ')} |`);
}
for (const w of wasm) console.log(`wasm ${w}`);
console.log('\nthe first heatmap, step by step (ms from navigation, each round):');
for (const r of runs) console.log(`  ${r.label}: ${Object.entries(r.startup).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', ')}`);
