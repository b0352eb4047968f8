// Training in the page, as a person meets it: a labelled zip (labels CSV with groups and the
// dataset's own train/val split) handed to "Train a model", trained from scratch with the
// default recipe. Prints the page's training images/s and each epoch's val AUC; with --cli,
// trains `camseg train` on the same folder, recipe and seed and prints its val AUC beside.
// Asserts nothing. With --workers, one run per pool size (`?workers=N`): a run on the CPU
// shares each step's mini-batch across the pool.
//   node tests/bench/train.mjs --data ../shared/data/busi [--epochs 10] [--workers 1,2] [--simd plain,relaxed] [--cli target/release/camseg]
// Needs a release build in dist/. The data is read, never copied into the repository.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { openApp, settled, text, upload, zip } from '../browser/helpers.mjs';

const arg = (name, fallback) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : fallback; };
const data = arg('--data', '../shared/data/busi');
const epochs = Number(arg('--epochs', 10));
const cliBin = arg('--cli', null);
const pools = arg('--workers', null)?.split(',').map(Number) ?? [null];
// Each pool size with each of these address settings (`--simd plain,relaxed`: the worker build
// without and with relaxed SIMD's fused multiply-add; the browser's own choice otherwise).
const simds = arg('--simd', null)?.split(',') ?? [null];

const rows = fs.readFileSync(path.join(data, 'index.csv'), 'utf8').trim().split('\n');
const header = rows[0].split(',');
const col = (name) => header.indexOf(name);
const kept = rows.slice(1).map((l) => l.split(',')).filter((c) => c[col('split')] === 'train' || c[col('split')] === 'val');
const csv = ['file,label,group,split', ...kept.map((c) => `images/${c[col('file')]},${c[col('label')] === '1' ? 'lesion' : 'normal'},${c[col('patient')]},${c[col('split')]}`)].join('\n') + '\n';
const entries = [['labels.csv', Buffer.from(csv)], ...kept.map((c) => [`images/${c[col('file')]}`, fs.readFileSync(path.join(data, 'images', c[col('file')]))])];
const train = kept.filter((c) => c[col('split')] === 'train').length;
console.log(`${data}: ${train} train + ${kept.length - train} val images as a labels CSV; ${epochs} epochs from scratch`);

for (const workers of pools) for (const simd of simds) {
  const query = [workers && `workers=${workers}`, simd === 'plain' && 'simd=plain'].filter(Boolean).join('&');
  const app = await openApp({ gpu: false, query: query ? `?${query}` : '' });
  const { page } = app;
  const label = [workers ? `page, ${workers} worker${workers === 1 ? '' : 's'}` : 'page', simd && `${simd} SIMD`].filter(Boolean).join(', ');
  try {
    await settled(page);
    await page.setInputFiles('[data-testid=train-files]', [upload('labelled.zip', zip(entries), 'application/zip')]);
    await page.waitForSelector('[data-testid=train-summary], [data-testid=train-problem]', { timeout: 120_000 });
    if (await page.$('[data-testid=train-problem]')) throw new Error(await text(page, 'train-problem'));
    await page.fill('[data-testid=train-epochs]', String(epochs));
    await page.dispatchEvent('[data-testid=train-epochs]', 'change');
    await page.evaluate(() => {
      window.__longest = 0;
      new PerformanceObserver((list) => { for (const e of list.getEntries()) window.__longest = Math.max(window.__longest, e.duration); }).observe({ type: 'longtask' });
    });
    await page.click('[data-testid=train-start]');
    await page.waitForFunction(() => /step [1-9]\d*\//.test(document.querySelector('[data-testid=train-phase]').textContent), null, { timeout: 600_000 });
    const first = Date.now();
    const firstStep = await page.evaluate(() => Number(/step (\d+)/.exec(document.querySelector('[data-testid=train-phase]').textContent)[1]));
    await page.waitForFunction(() => /^(done|cancel)/.test(document.querySelector('[data-testid=train-phase]').textContent) || document.querySelector('[data-testid=train-problem]'), null, { timeout: 3_600_000 });
    const seconds = (Date.now() - first) / 1000;
    const table = await page.$$eval('[data-testid=train-epochs-table] tbody tr', (rs) => rs.map((r) => [...r.children].map((td) => td.textContent)));
    // Images trained after the first step was seen (the first steps are full batches of 32;
    // each epoch's last batch holds what is left).
    const images = train * epochs - firstStep * 32;
    for (const [epoch, loss, auc] of table) console.log(`${label} epoch ${epoch}: train loss ${loss}, val auc ${auc}`);
    const longest = await page.evaluate(() => window.__longest);
    console.log(`${label}: ${(images / seconds).toFixed(1)} training images/s (CPU path, batch 32, val checks included), ${seconds.toFixed(0)} s; best val AUC ${await text(page, 'train-best-auc')}; ${await text(page, 'workers')}; longest main-thread task ${longest.toFixed(0)} ms`);
  } finally {
    await app.close();
  }
}

if (cliBin) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'camseg-train-bench-'));
  for (const [name, bytes] of entries) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), bytes);
  }
  const started = Date.now();
  execFileSync(cliBin, ['train', '--data', dir, '--out', path.join(dir, 'model'), '--epochs', String(epochs)], { stdio: ['ignore', 'ignore', 'inherit'] });
  const card = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
  console.log(`cli: val auc ${card.metrics.val_auc.toFixed(3)} in ${((Date.now() - started) / 1000).toFixed(0)} s (same folder, recipe and seed)`);
}
