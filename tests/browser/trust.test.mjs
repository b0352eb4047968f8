// The Trust panel: every check of the heatmap on screen runs in the worker and comes back as
// the randomisation strip (one map per step, with its rank correlation and SSIM), the
// deletion, ROAD and insertion curves with their areas, and the pointing game (n/a without a
// lesion mask), while the page stays responsive; then every lesion image's figures, averaged
// beside the batch's Dice.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openApp, settled, text, outside, demoIndex } from './helpers.mjs';

test('the Trust panel checks the heatmap on screen', async () => {
  const app = await openApp({ gpu: false });
  const { page } = app;
  try {
    await settled(page);
    const started = Date.now();
    await page.click('[data-testid=trust-check]');
    assert.match(await text(page, 'trust-status'), /checking/);
    await page.waitForSelector('[data-testid=trust-verdict]', { timeout: 60_000 });
    console.log(`trust panel for one image in ${Date.now() - started} ms (CPU path)`);
    assert.match(await text(page, 'trust-verdict'), /(passes|fails) the randomisation check/);
    assert.equal(await page.locator('[data-testid=trust-step]').count(), 5, 'the head, then each of the 4 blocks');
    for (const id of ['trust-deletion', 'trust-road', 'trust-insertion']) {
      const v = Number(await text(page, id));
      assert.ok(v >= 0 && v <= 1, `${id} ${v}`);
    }
    assert.ok(await page.locator('[data-testid=trust-curves] svg').count() === 1);
    // The strip's canvases were drawn (not left blank).
    const drawn = await page.$$eval('[data-testid=trust-strip] canvas', (cs) => cs.map((c) => c.width));
    assert.ok(drawn.every((w) => w > 96), JSON.stringify(drawn));
    assert.match(await text(page, 'trust-pointing'), /a hit|a miss/, 'the first image has a lesion mask');
    // An image with no lesion (an empty mask): the pointing game says n/a.
    const clear = demoIndex().find((r) => r.label === '0').file;
    await page.locator('[data-testid=batch-table] tbody tr', { hasText: clear }).click();
    await page.click('[data-testid=trust-check]');
    await page.waitForFunction(() => !/checking/.test(document.querySelector('[data-testid=trust-status]').textContent) && document.querySelector('[data-testid=trust-verdict]'), null, { timeout: 60_000 });
    assert.match(await text(page, 'trust-pointing'), /n\/a/);
    // Every lesion image, averaged beside the batch's Dice.
    const lesions = demoIndex().filter((r) => r.label === '1').length;
    const all = Date.now();
    await page.click('[data-testid=trust-all]');
    await page.waitForSelector('[data-testid=trust-all-progress]');
    await page.waitForSelector('[data-testid=trust-all-cancel]', { state: 'detached', timeout: 240_000 });
    console.log(`trust checks of ${lesions} lesion images in ${Date.now() - all} ms (CPU path)`);
    assert.equal(await page.getAttribute('[data-testid=trust-averages]', 'data-images'), String(lesions));
    for (const id of ['trust-mean-deletion', 'trust-mean-road', 'trust-mean-insertion']) {
      const v = Number(await text(page, id));
      assert.ok(v >= 0 && v <= 1, `${id} ${v}`);
    }
    assert.match(await text(page, 'trust-pointing-rate'), new RegExp(`^\\d+ of ${lesions}$`));
    assert.match(await text(page, 'trust-failing'), new RegExp(`^\\d+ of ${lesions}$`));
    // Another method: the averages were for the old one and are not shown as this one's.
    await page.selectOption('[data-testid=method]', 'hirescam');
    await page.waitForSelector('[data-testid=trust-averages]', { state: 'detached' });
    assert.equal(await text(page, 'error'), '');
    assert.deepEqual(outside(app), []);
  } finally {
    await app.close();
  }
});
