// Memory over repeated rounds (issue 12): fine-tune + keep, switching models, and uploading 50
// images then clearing them, 20 rounds each (CAMSEG_MEMORY_ROUNDS to change). After round 3 the
// page's and every worker's wasm memory (the main worker and its helpers) and the page's JS heap
// (after a garbage collection) must stop growing, beyond about 1.1 MB per kept model (its
// weights are held by the page and by each worker). Prints every figure.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { openApp, settled, text, upload, DEMO, demoIndex } from './helpers.mjs';

const ROUNDS = Number(process.env.CAMSEG_MEMORY_ROUNDS || 20);
const MB = 1 << 20;
/// What may still move after round 3: allocator slack, caches filling (in MB).
const SLACK = 8;

/// Every worker of the pool (the main one first, then its helpers), the page, its JS heap.
async function memory(page, cdp) {
  await cdp.send('HeapProfiler.collectGarbage');
  const workers = page.workers().filter((w) => w.url().includes('camseg-worker'));
  const figures = {
    page: (await page.evaluate(() => window.wasmBindings.wasm_memory_bytes())) / MB,
    heap: (await cdp.send('Runtime.getHeapUsage')).usedSize / MB,
  };
  for (const [k, w] of workers.entries()) figures[`worker ${k}`] = (await w.evaluate(() => wasm_bindgen.wasm_memory_bytes())) / MB;
  return figures;
}

/// Runs `round` ROUNDS times; checks growth after round 3 against `allowance` MB per round.
async function rounds(name, page, cdp, allowance, round) {
  const seen = [];
  for (let r = 1; r <= ROUNDS; r++) {
    await round(r);
    seen.push(await memory(page, cdp));
  }
  const third = seen[Math.min(2, seen.length - 1)];
  const last = seen[seen.length - 1];
  const keys = Object.keys(last);
  assert.deepEqual(Object.keys(third), keys, `${name}: the pool kept its workers`);
  const fmt = (k) => seen.map((m) => m[k].toFixed(1)).join(' ');
  console.log(`${name}, ${ROUNDS} rounds (MB):\n${keys.map((k) => `  ${k.padEnd(9)} ${fmt(k)}`).join('\n')}`);
  const allowed = SLACK + allowance * (seen.length - 3);
  // Each worker holds each kept model's weights once; the page holds them once too.
  for (const k of keys) {
    assert.ok(last[k] - third[k] <= allowed, `${name}: ${k} grew by ${(last[k] - third[k]).toFixed(1)} MB after round 3 (allowed ${allowed.toFixed(1)})`);
  }
}

test(`memory stops growing over ${ROUNDS} rounds of fine-tune + keep, model switches, and upload + clear`, { timeout: 1_200_000 }, async () => {
  // Two workers (this 2-core machine's default is one): the helper's memory is watched too.
  const app = await openApp({ gpu: false, query: '?workers=2' });
  const { page } = app;
  const cdp = await page.context().newCDPSession(page);
  try {
    await settled(page);
    const options = () => page.locator('[data-testid=model-picker] option').count();
    const start = await options();

    // Fine-tune (1 epoch) and keep: each kept model joins the picker (about 1.1 MB of weights).
    await page.fill('[data-testid=finetune-epochs]', '1');
    await page.locator('[data-testid=finetune-epochs]').dispatchEvent('change');
    await rounds('fine-tune + keep', page, cdp, 1.2, async (r) => {
      await page.locator('[data-testid=model-picker]').selectOption({ index: 0 });
      await settled(page);
      await page.click('[data-testid=finetune-start]');
      await page.waitForSelector('[data-testid=finetune-keep]:not([disabled])', { timeout: 300_000 });
      await page.click('[data-testid=finetune-keep]');
      await page.waitForFunction((n) => document.querySelectorAll('[data-testid=model-picker] option').length === n, start + r);
      await settled(page);
      assert.equal(await text(page, 'error'), '');
    });

    // Switch between the two shipped models: every switch re-analyses the 12 slices.
    await rounds('model switch', page, cdp, 0, async (r) => {
      await page.locator('[data-testid=model-picker]').selectOption({ index: r % 2 });
      await settled(page);
    });

    // Upload 50 slices, then Clear.
    const slices = demoIndex().map((r) => r.file);
    const batch = Array.from({ length: 50 }, (_, k) => upload(`u${k}.png`, fs.readFileSync(path.join(DEMO, 'images', slices[k % slices.length])), 'image/png'));
    await rounds('upload 50 + clear', page, cdp, 0, async () => {
      await page.setInputFiles('[data-testid=file-input]', batch);
      await page.waitForFunction(() => document.querySelectorAll('[data-testid=batch-table] tbody tr').length === 50);
      await page.getByRole('button', { name: 'Clear' }).click();
      await page.waitForFunction(() => document.querySelectorAll('[data-testid=batch-table] tbody tr').length === 0);
    });
    assert.equal(await text(page, 'error'), '');
  } finally {
    await app.close();
  }
});
