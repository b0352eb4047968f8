// The odd-input corpus in the page: the 75 bad or odd files that `cargo test --test corpus`
// makes and checks natively (tests/corpus/inputs.rs) are dropped on the page, a few cases at a
// time. Each must give the message the native run gives, naming the file, in under a second per
// input; the page's and its worker's wasm memory must stay bounded, and the page must still
// analyse the next good file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { openApp, settled, text, upload, ROOT, DEMO, firstTumour } from './helpers.mjs';

const CORPUS = path.join(ROOT, 'target/tmp/corpus');
const MB = 1 << 20;

const rows = (page) => page.locator('[data-testid=batch-table] tbody tr').count();
const dismiss = async (page) => {
  const button = page.locator('[aria-label="dismiss the message"]');
  if (await button.count()) await button.click();
};
const workerMemory = async (page) => {
  const worker = page.workers().find((w) => w.url().includes('camseg-worker'));
  return worker.evaluate(() => wasm_bindgen.wasm_memory_bytes());
};
const pageMemory = (page) => page.evaluate(() => window.wasmBindings.wasm_memory_bytes());

test('every odd input in the page: named, quick, bounded, and the page goes on', { timeout: 600_000 }, async () => {
  assert.ok(fs.existsSync(path.join(CORPUS, 'manifest.json')), 'run `cargo test --test corpus` first: it writes target/tmp/corpus');
  const cases = JSON.parse(fs.readFileSync(path.join(CORPUS, 'manifest.json'), 'utf8'));
  assert.ok(cases.length >= 60, `${cases.length} inputs`);
  const file = (name) => upload(name, fs.readFileSync(path.join(CORPUS, name)));
  const app = await openApp({ gpu: false });
  const { page } = app;
  try {
    await settled(page);
    const before = { worker: await workerMemory(page), page: await pageMemory(page) };
    const uploads = cases.filter((c) => c.kind === 'upload');
    // Every mismatch is collected, so one run shows all of them.
    const failures = [];
    // The first drop replaces the demo; later ones add to it.
    let shown = 0;
    let slowest = 0;
    for (let at = 0; at < uploads.length; at += 8) {
      const batch = uploads.slice(at, at + 8);
      const ids = batch.map((c) => c.id).join(',');
      await dismiss(page);
      const started = Date.now();
      await page.setInputFiles('[data-testid=file-input]', batch.flatMap((c) => c.files.map(file)));
      shown += batch.reduce((n, c) => n + c.loads, 0);
      const says = batch.flatMap((c) => c.says);
      const arrived = await page.waitForFunction(([n, says]) => {
        const error = document.querySelector('[data-testid=error]').textContent;
        return document.querySelectorAll('[data-testid=batch-table] tbody tr').length === n && says.every(([f, s]) => error.includes(f) && error.includes(s));
      }, [shown, says], { timeout: 30_000 }).then(() => true, () => false);
      const perInput = (Date.now() - started) / batch.length;
      // Every message of the batch is one the corpus expects: none unexplained.
      const lead = /^(Nothing usable was loaded|Some files were not used)\.$/;
      const lines = (await text(page, 'error')).split('\n').filter((l) => l.trim() && !lead.test(l.trim()));
      if (!arrived || lines.length !== says.length) {
        failures.push(`batch ${ids}: ${await rows(page)} rows (expected ${shown}); expected ${JSON.stringify(says)}; the page says: ${lines.join(' | ')}`);
        shown = await rows(page);
        continue;
      }
      slowest = Math.max(slowest, perInput);
      if (perInput >= 1000) failures.push(`batch ${ids}: ${perInput} ms per input`);
    }
    for (const c of cases.filter((c) => c.kind === 'model')) {
      await dismiss(page);
      const options = await page.locator('[data-testid=model-picker] option').count();
      await page.setInputFiles('[data-testid=model-files]', c.files.map(file));
      if (c.says.length) {
        const [[f, s]] = c.says;
        const named = await page.waitForFunction(([f, s]) => { const e = document.querySelector('[data-testid=error]').textContent; return e.includes(f) && e.includes(s); }, [f, s], { timeout: 30_000 }).then(() => true, () => false);
        if (!named) failures.push(`${c.id} (${c.what}): the page says ${await text(page, 'error')}`);
        if (await page.locator('[data-testid=model-picker] option').count() !== options) failures.push(`${c.id}: a refused model joined the picker`);
      } else {
        const added = await page.waitForFunction((n) => document.querySelectorAll('[data-testid=model-picker] option').length === n + 1, options, { timeout: 30_000 }).then(() => true, () => false);
        if (!added) failures.push(`${c.id} (${c.what}): not added; the page says ${await text(page, 'error')}`);
      }
    }
    assert.deepEqual(failures, []);
    await settled(page);
    const after = { worker: await workerMemory(page), page: await pageMemory(page) };
    console.log(`${cases.length} inputs; slowest batch ${slowest.toFixed(0)} ms per input; wasm memory: worker ${(before.worker / MB).toFixed(1)} -> ${(after.worker / MB).toFixed(1)} MB, page ${(before.page / MB).toFixed(1)} -> ${(after.page / MB).toFixed(1)} MB`);
    assert.ok(after.worker - before.worker < 256 * MB, 'the worker grew by less than 256 MB');
    assert.ok(after.page - before.page < 256 * MB, 'the page grew by less than 256 MB');
    // The page is still usable: a good slice, analysed, with no message.
    await dismiss(page);
    await page.locator('[data-testid=model-picker]').selectOption({ index: 0 });
    const good = firstTumour();
    await page.setInputFiles('[data-testid=file-input]', [upload('after.png', fs.readFileSync(path.join(DEMO, 'images', good)), 'image/png'), upload('after_mask.png', fs.readFileSync(path.join(DEMO, 'masks', good)), 'image/png')]);
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid=batch-table] tbody tr').length === n, shown + 1);
    await settled(page);
    assert.equal(await text(page, 'error'), '');
    await page.locator('[data-testid=batch-table] tbody tr').filter({ hasText: 'after.png' }).click();
    assert.ok(Number(await text(page, 'probability')) >= 0, 'the good slice has an answer');
    assert.deepEqual(app.consoleErrors.filter((e) => /panicked|unreachable|RuntimeError/.test(e)), []);
  } finally {
    await app.close();
  }
});
