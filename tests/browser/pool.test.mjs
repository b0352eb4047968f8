// The pool of workers: on the CPU, helpers share each analysis with the main worker. Whatever
// the page does meanwhile (Clear, a model switch, a helper that dies), every row gets its own
// result (the CLI's, for that very file) and nothing is lost. `?workers=3` asks for three
// workers on this 2-core machine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openApp, settled, text, outside, cli, writeTemp, rows, rowCount, allAnalysed, near, slices, files, loadAndCheck } from './helpers.mjs';

const workers = (page) => page.workers().filter((w) => w.url().includes('camseg-worker'));

async function withPool(body) {
  const app = await openApp({ gpu: false, query: '?workers=3' });
  try {
    await app.page.waitForFunction(() => /^· 3 workers: as the address asks/.test(document.querySelector('[data-testid=workers]')?.textContent.trim() ?? ''));
    assert.equal(workers(app.page).length, 3);
    await settled(app.page);
    await body(app.page);
    assert.deepEqual(outside(app), [], 'requests left the origin');
  } finally {
    await app.close();
  }
}

/// Some rows (named `prefix_k`) have results and some do not yet: the pool is mid-batch.
const midBatch = (page, prefix) => page.waitForFunction((prefix) => {
  const named = [...document.querySelectorAll('[data-testid=batch-table] tbody tr')].filter((tr) => tr.textContent.includes(`${prefix}_`));
  return named.some((tr) => !tr.textContent.includes('…')) && named.some((tr) => tr.textContent.includes('…'));
}, prefix, { timeout: 120_000 });

/// The shown rows named in `set` (every third) against the CLI with `model`.
async function agreesWithCli(page, set, model) {
  for (const s of set.filter((_, k) => k % 3 === 0)) {
    await rows(page).filter({ hasText: `${s.name}.tif` }).click();
    const ref = cli(writeTemp(`${s.name}.tif`, s.image), writeTemp(`${s.name}_mask.tif`, s.mask), [], model);
    near(Number(await text(page, 'probability')), ref.probability, `${s.name} probability (${model})`);
  }
}

test('a pool of three: Clear and a model switch mid-batch leave every row its own result', async () => {
  await withPool(async (page) => {
    await loadAndCheck(page, slices('first', 8));

    // Clear while the three analyse, then other images: only those, each its own.
    await page.setInputFiles('[data-testid=file-input]', files(slices('cleared', 24)));
    await rowCount(page, 32);
    await midBatch(page, 'cleared');
    await page.click('button:has-text("Clear")');
    await loadAndCheck(page, slices('after', 5));

    // Another model while the pool works: every result is the new model's.
    const set = slices('switched', 18);
    await page.setInputFiles('[data-testid=file-input]', files(set));
    await rowCount(page, 23);
    await midBatch(page, 'switched');
    const phantom = await page.locator('[data-testid=model-picker] option', { hasText: /phantom/i }).getAttribute('value');
    await page.selectOption('[data-testid=model-picker]', phantom);
    await allAnalysed(page);
    assert.equal(await text(page, 'error'), '');
    await agreesWithCli(page, set, 'phantom');
  });
});

test('a helper that dies mid-batch is replaced, and its images are analysed all the same', async () => {
  await withPool(async (page) => {
    const set = slices('batch', 30);
    await page.setInputFiles('[data-testid=file-input]', files(set));
    await rowCount(page, 30);
    await midBatch(page, 'batch');
    await workers(page)[1].evaluate(() => setTimeout(() => { throw new Error('simulated helper crash'); }));
    await page.waitForFunction(() => /helper worker \d stopped.*simulated helper crash/.test(document.querySelector('[data-testid=status]').textContent), null, { timeout: 60_000 });
    await allAnalysed(page);
    assert.equal(await rows(page).count(), 30);
    assert.equal(await text(page, 'error'), '');
    await page.waitForFunction(() => /^· 3 workers/.test(document.querySelector('[data-testid=workers]').textContent.trim()));
    await agreesWithCli(page, set, 'lgg');
  });
});
