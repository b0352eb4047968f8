// "How the heatmap is made": the worker takes the heatmap on screen apart (the block's feature
// maps, their weights, the weighted sum, the ReLU, the upsampling and the cut), the page draws
// each step, and picking a channel (mouse or keyboard) shows its map times its weight.
// Occlusion, which needs no block, is a method beside the CAMs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openApp, settled, text, outside, axeViolations } from './helpers.mjs';

/// Whether a canvas holds drawn pixels (an untouched canvas is transparent).
const drawn = (page, selector) => page.$$eval(selector, (cs) => cs.map((c) => c.getContext('2d').getImageData(0, 0, 1, 1).data[3] === 255));

test('the steps of the heatmap on screen, channel by channel', async () => {
  const app = await openApp({ gpu: false });
  const { page } = app;
  try {
    await settled(page);
    await page.selectOption('[data-testid=method]', 'gradcam');
    await settled(page);
    const started = Date.now();
    await page.click('[data-testid=steps-ask]');
    await page.waitForSelector('[data-testid=steps-summary]', { timeout: 60_000 });
    console.log(`steps of one heatmap in ${Date.now() - started} ms (CPU path)`);
    assert.match(await text(page, 'steps-summary'), /Grad-CAM at block \d+ .* \d+ feature maps of \d+ × \d+/);
    const channels = page.locator('[data-testid=steps-channel]');
    const n = await channels.count();
    assert.ok(n >= 1 && n <= 12, `${n} channels shown`);
    assert.ok((await drawn(page, '[data-testid=steps-panel] canvas')).every(Boolean), 'every step is drawn');
    assert.match(await text(page, 'steps-cut'), /mask: \d+ pixels/);
    assert.equal(await page.locator('[data-testid=steps-detail]').count(), 0);
    // Picking a channel by keyboard: its activation, weight and part.
    await channels.first().focus();
    await page.keyboard.press('Enter');
    await page.waitForSelector('[data-testid=steps-detail]');
    assert.equal(await channels.first().getAttribute('aria-pressed'), 'true');
    assert.deepEqual(await drawn(page, '[data-testid=steps-detail] canvas'), [true, true, true]);
    assert.match(await text(page, 'steps-detail'), /channel #\d+.*weight [+-]\d/);
    await channels.first().click();
    await page.waitForSelector('[data-testid=steps-detail]', { state: 'detached' });
    // A composite method shows the plain CAM it starts from, and says what follows.
    await page.selectOption('[data-testid=method]', 'layercam-walk');
    await settled(page);
    await page.click('[data-testid=steps-ask]');
    await page.waitForFunction(() => /random walk/.test(document.querySelector('[data-testid=steps-summary]')?.textContent ?? ''), null, { timeout: 60_000 });
    assert.match(await text(page, 'steps-summary'), /^LayerCAM at block/);
    // The intensity rule and occlusion make no map from a block: nothing to take apart, no
    // layer to choose. Occlusion still gives every image a heatmap and a Dice.
    await page.selectOption('[data-testid=method]', 'intensity');
    assert.ok(await page.locator('[data-testid=steps-ask]').isDisabled());
    const before = Date.now();
    await page.selectOption('[data-testid=method]', 'occlusion');
    await settled(page);
    console.log(`occlusion maps of the demo set in ${Date.now() - before} ms (CPU path)`);
    assert.ok(await page.locator('[data-testid=steps-ask]').isDisabled());
    assert.ok(await page.locator('[data-testid=layer]').isDisabled());
    const dice = await text(page, 'dice');
    assert.ok(Number.isFinite(Number(dice)), `the occlusion map is cut and scored: ${dice}`);
    const serious = (await axeViolations(page)).filter((v) => v.impact === 'serious' || v.impact === 'critical');
    assert.deepEqual(serious.map((v) => v.id), []);
    assert.equal(await text(page, 'error'), '');
    assert.deepEqual(outside(app), []);
  } finally {
    await app.close();
  }
});
