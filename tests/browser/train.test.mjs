// "Train a model" in the page: a class-folder zip made here (phantoms from the CLI), its
// summary, a refusal, a run from scratch with live figures, the model in the picker giving
// heatmaps; after a reload it is still there, and it can be renamed and deleted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openApp, settled, text, outside, upload, zip, ROOT, SHIPPED } from './helpers.mjs';

const CAMSEG = process.env.CAMSEG_BIN || path.join(ROOT, 'target/debug/camseg');

/// Phantoms in class folders under `mine/`, masks beside the tumours; `only` keeps one class.
function phantomZip(only) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'camseg-train-'));
  execFileSync(CAMSEG, ['phantom', '--out', dir, '--count', '60', '--size', '64', '--seed', '9']);
  const rows = fs.readFileSync(path.join(dir, 'index.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(','));
  const entries = [];
  for (const [file, , , , label] of rows) {
    const cls = label === '1' ? 'tumour' : 'normal';
    if (only && cls !== only) continue;
    entries.push([`mine/${cls}/${file}`, fs.readFileSync(path.join(dir, 'images', file))]);
    if (cls === 'tumour') entries.push([`mine/${cls}/${file.replace('.png', '_mask.png')}`, fs.readFileSync(path.join(dir, 'masks', file))]);
  }
  return zip(entries);
}

const pickerNames = (page) => page.$$eval('[data-testid=model-picker] option', (os) => os.map((o) => o.textContent));

test('train a model from a class-folder zip, use it, and find it again after a reload', async () => {
  const app = await openApp({ gpu: false });
  const { page } = app;
  try {
    await settled(page);
    // One class: refused, with the class named.
    await page.setInputFiles('[data-testid=train-files]', [upload('one.zip', phantomZip('tumour'), 'application/zip')]);
    await page.waitForSelector('[data-testid=train-problem]', { timeout: 60_000 });
    assert.match(await text(page, 'train-problem'), /only one class.*`tumour`/);
    assert.ok(await page.isDisabled('[data-testid=train-start]'));

    // Dropped on the panel, as a person dragging the zip would.
    await page.evaluate((b64) => {
      const dt = new DataTransfer();
      dt.items.add(new File([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], 'mine.zip', { type: 'application/zip' }));
      document.querySelector('[data-testid=train-drop]').dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    }, phantomZip().toString('base64'));
    await page.waitForSelector('[data-testid=train-summary]', { timeout: 60_000 });
    const summary = await text(page, 'train-summary');
    assert.match(summary, /class folders, 30 images with masks/);
    const classes = await page.$$eval('[data-testid=train-class]', (rs) => rs.map((r) => [...r.children].map((td) => td.textContent)));
    assert.deepEqual(classes, [['normal', 'no lesion', '24', '6', '0'], ['tumour', 'lesion', '24', '6', '0']]);

    await page.fill('[data-testid=train-epochs]', '2');
    await page.dispatchEvent('[data-testid=train-epochs]', 'change');
    // From scratch, the kind of scan sets the card's scan settings (a start model brings its own).
    assert.equal(await page.locator('[data-testid=train-scan] option').count(), 4);
    await page.selectOption('[data-testid=train-scan]', 'bright-lesion');
    // The gate balanced on val, as `camseg train --balance-gate`.
    await page.check('[data-testid=train-balance-gate]');
    const started = Date.now();
    await page.click('[data-testid=train-start]');
    // The page stays live while the worker trains: the phase line moves.
    await page.waitForFunction(() => /step \d+\/\d+/.test(document.querySelector('[data-testid=train-phase]').textContent), null, { timeout: 120_000 });
    await page.waitForFunction(() => document.querySelector('[data-testid=train-phase]').textContent.startsWith('done'), null, { timeout: 300_000 });
    console.log(`trained 48 images x 2 epochs in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const auc = Number(await text(page, 'train-best-auc'));
    assert.ok(auc >= 0 && auc <= 1, `val AUC ${auc}`);
    assert.equal(await page.locator('[data-testid=train-epochs-table] tbody tr').count(), 2);
    // The result is the current model, and it draws heatmaps on the images shown.
    assert.equal(await text(page, 'model'), 'mine (trained here)');
    assert.match(await text(page, 'card-description'), /Gate balanced on val: p \d\.\d+ reads 0\.5 \(logit shift [+-]\d\.\d+\)/);
    await settled(page);
    assert.notEqual(await text(page, 'dice'), '');
    assert.equal(await text(page, 'error'), '');

    // A reload finds it in the browser's storage, once the page says it is kept there.
    await page.waitForFunction(() => document.querySelector('[data-testid=stored-state]')?.textContent.includes('kept in its storage'), null, { timeout: 60_000 });
    await page.reload();
    await settled(page);
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid=model-picker] option').length > n, SHIPPED, { timeout: 60_000 });
    assert.ok((await pickerNames(page)).includes('mine (trained here)'));
    const value = await page.$eval('[data-testid=model-picker]', (s) => [...s.options].find((o) => o.textContent === 'mine (trained here)').value);
    await page.selectOption('[data-testid=model-picker]', value);
    await settled(page);
    assert.equal(await text(page, 'error'), '');
    await page.fill('[data-testid=model-rename]', 'phantom finder');
    await page.dispatchEvent('[data-testid=model-rename]', 'change');
    await page.waitForFunction(() => document.querySelector('[data-testid=model]').textContent === 'phantom finder');
    await page.waitForFunction(() => document.querySelector('[data-testid=stored-state]')?.textContent.includes('kept in its storage'), null, { timeout: 60_000 });
    await page.reload();
    await settled(page);
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid=model-picker] option').length > n, SHIPPED, { timeout: 60_000 });
    assert.ok((await pickerNames(page)).includes('phantom finder'), 'the new name was kept');
    const renamed = await page.$eval('[data-testid=model-picker]', (s) => [...s.options].find((o) => o.textContent === 'phantom finder').value);
    await page.selectOption('[data-testid=model-picker]', renamed);
    await page.click('[data-testid=model-delete]');
    // It leaves the picker once storage has let it go.
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid=model-picker] option').length === n, SHIPPED, { timeout: 60_000 });
    await page.reload();
    await settled(page);
    await page.waitForTimeout(1000);
    assert.equal((await pickerNames(page)).length, SHIPPED, 'deleted for good');
    assert.deepEqual(outside(app), [], 'requests left the origin');
  } finally {
    await app.close();
  }
});

test('volumes in a class-folder zip train as their slices, each scan on one side of the split', async () => {
  // Two NIfTI phantoms a class (12 slices each, different seeds), label volumes beside the tumour ones.
  const entries = [];
  for (const [cls, seeds] of [['tumour', [3, 4]], ['normal', [5, 6]]]) {
    for (const seed of seeds) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'camseg-vol-'));
      execFileSync(CAMSEG, ['phantom', '--volume', 'nifti', '--out', dir, '--count', '12', '--size', '48', '--seed', String(seed)]);
      entries.push([`scans/${cls}/s${seed}.nii.gz`, fs.readFileSync(path.join(dir, 'phantom.nii.gz'))]);
      if (cls === 'tumour') entries.push([`scans/${cls}/s${seed}_mask.nii.gz`, fs.readFileSync(path.join(dir, 'phantom_mask.nii.gz'))]);
    }
  }
  const app = await openApp({ gpu: false });
  const { page } = app;
  try {
    await settled(page);
    await page.setInputFiles('[data-testid=train-files]', [upload('scans.zip', zip(entries), 'application/zip')]);
    await page.waitForSelector('[data-testid=train-summary]', { timeout: 60_000 });
    assert.match(await text(page, 'train-summary'), /class folders, 24 images with masks/);
    const classes = await page.$$eval('[data-testid=train-class]', (rs) => rs.map((r) => [...r.children].map((td) => td.textContent)));
    assert.deepEqual(classes, [['normal', 'no lesion', '12', '12', '0'], ['tumour', 'lesion', '12', '12', '0']], 'one whole scan of two held out per class');
    await page.fill('[data-testid=train-epochs]', '1');
    await page.dispatchEvent('[data-testid=train-epochs]', 'change');
    await page.click('[data-testid=train-start]');
    await page.waitForFunction(() => document.querySelector('[data-testid=train-phase]').textContent.startsWith('done'), null, { timeout: 300_000 });
    assert.equal(await text(page, 'model'), 'scans (trained here)');
    await settled(page);
    assert.equal(await text(page, 'error'), '');
  } finally {
    await app.close();
  }
});

/// A run from scratch on a pool of `workers` (`?workers=N`); `kill` ends helper 1 once the run
/// is under way. Returns the epochs table and what the train panel said of the workers.
async function pooledRun(workers, kill) {
  const app = await openApp({ gpu: false, query: `?workers=${workers}` });
  const { page } = app;
  try {
    await settled(page);
    await page.waitForFunction((n) => new RegExp(`^· ${n} workers?`).test(document.querySelector('[data-testid=workers]')?.textContent.trim() ?? ''), workers);
    await page.setInputFiles('[data-testid=train-files]', [upload('mine.zip', phantomZip(), 'application/zip')]);
    await page.waitForSelector('[data-testid=train-summary]', { timeout: 60_000 });
    await page.fill('[data-testid=train-epochs]', '8');
    await page.dispatchEvent('[data-testid=train-epochs]', 'change');
    await page.click('[data-testid=train-start]');
    await page.waitForFunction(() => /step [1-9]\d*\/\d+/.test(document.querySelector('[data-testid=train-phase]').textContent), null, { timeout: 120_000 });
    const phase = await text(page, 'train-phase');
    if (kill) {
      const helper = page.workers().filter((w) => w.url().includes('camseg-worker'))[1];
      await helper.evaluate(() => setTimeout(() => { throw new Error('simulated helper crash'); }));
      const heard = await page.waitForFunction(() => /helper worker \d stopped/.test(document.querySelector('[data-testid=status]').textContent) && document.querySelector('[data-testid=train-phase]').textContent, null, { timeout: 60_000 });
      assert.match(await heard.jsonValue(), /^step/, 'the helper died while the run was under way');
    }
    await page.waitForFunction(() => /^(done|cancel)/.test(document.querySelector('[data-testid=train-phase]').textContent) || document.querySelector('[data-testid=train-problem]'), null, { timeout: 300_000 });
    assert.equal(await text(page, 'error'), '');
    assert.match(await text(page, 'train-phase'), /^done/);
    const table = await page.$$eval('[data-testid=train-epochs-table] tbody tr', (rs) => rs.map((r) => [...r.children].map((td) => td.textContent)));
    return { table, phase };
  } finally {
    await app.close();
  }
}

test('a run shared by two workers says so, and ends the same when its helper dies mid-run', async () => {
  const shared = await pooledRun(2, false);
  assert.match(shared.phase, /2 workers/, 'the panel says the run is shared');
  assert.equal(shared.table.length, 8);
  // The main worker computes a dead helper's shard from then on: the same bits, so the same figures.
  const survived = await pooledRun(2, true);
  assert.deepEqual(survived.table, shared.table);
});
