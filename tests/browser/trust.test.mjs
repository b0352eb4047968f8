// The Trust panel: every check of the heatmap on screen runs in the worker and comes back as
// the randomisation strip (one map per step, with its rank correlation and SSIM), the
// deletion, ROAD and insertion curves with their areas, and the pointing game (n/a without a
// lesion mask), while the page stays responsive.
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
    assert.equal(await text(page, 'error'), '');
    assert.deepEqual(outside(app), []);
  } finally {
    await app.close();
  }
});
