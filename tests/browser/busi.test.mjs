// Breast ultrasound in the page: the demo picker offers LGG, BUSI and the phantoms; each
// shipped model opens on its own demo; the BUSI card's scan settings (dark lesions, no rim
// band) reach the worker, so the page's Dice is the CLI's; the image is fitted to its panel;
// the batch table works by keyboard; axe-core finds no serious violation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { openApp, settled, text, screenshot, outside, demoIndex, cli, axeViolations, BUSI } from './helpers.mjs';

const rows = (page) => page.locator('[data-testid=batch-table] tbody tr');
const shown = (page) => page.locator('#image-view h2').textContent();

test('the BUSI model opens on its own demo, fitted, by keyboard, and agrees with the CLI', async () => {
  const app = await openApp({ gpu: false });
  try {
    const { page } = app;
    await settled(page);
    assert.equal(await text(page, 'error'), '');
    const sets = await page.locator('[data-testid=demo-set] option').evaluateAll((os) => os.map((o) => o.value));
    assert.deepEqual(sets, ['lgg', 'busi', 'phantom']);

    // The first page: the whole image is in its panel (no scrolling needed), and axe-core finds
    // no serious or critical violation.
    const fit = await page.evaluate(() => {
      const box = document.querySelector('.canvas-box');
      const c = box.querySelector('canvas').getBoundingClientRect();
      return { canvas: c.width, box: box.clientWidth, scroll: box.scrollWidth, tall: box.scrollHeight - box.clientHeight };
    });
    assert.ok(fit.canvas > 200 && fit.canvas <= fit.box + 1 && fit.scroll <= fit.box + 1 && fit.tall <= 1, JSON.stringify(fit));
    assert.equal(await text(page, 'zoom-value'), 'fit');
    const violations = await axeViolations(page);
    assert.deepEqual(violations, [], JSON.stringify(violations, null, 1));

    // Picking the BUSI model brings its own demo, with its attribution.
    const busi = await page.locator('[data-testid=model-picker] option', { hasText: /BUSI/ }).getAttribute('value');
    await page.selectOption('[data-testid=model-picker]', busi);
    await page.waitForFunction(() => document.querySelector('[data-testid=demo-about]')?.dataset.demo === 'busi');
    await settled(page);
    assert.equal(await text(page, 'error'), '');
    assert.equal(await rows(page).count(), 12);
    assert.match(await text(page, 'model'), /BUSI/);
    assert.match(await page.locator('[data-testid=demo-attribution] summary').textContent(), /BUSI.*Al-Dhabyani.*CC BY 4\.0/);
    assert.match(await text(page, 'card-scan'), /^dark lesions.*no rim band/);
    // The default method is one the classifier drives.
    assert.notEqual(await page.locator('[data-testid=method]').inputValue(), 'intensity');

    // The keyboard: Tab reaches a row, Enter shows it.
    const index = demoIndex(BUSI);
    const third = await rows(page).nth(2).locator('td').first().textContent();
    await rows(page).nth(2).focus();
    await page.keyboard.press('Enter');
    await page.waitForFunction((f) => document.querySelector('#image-view h2').textContent === f, third);
    assert.equal(await shown(page), third);
    await page.waitForFunction((f) => document.querySelector('[data-testid=heatmap-canvas]').dataset.drawn === f, third);

    // The page's figures are the CLI's on the same image with the card's defaults.
    const lesion = index.find((r) => r.file === third && r.label === '1') ?? index.find((r) => r.label === '1');
    if (lesion.file !== third) {
      await rows(page).filter({ hasText: lesion.file }).click();
      await page.waitForFunction((f) => document.querySelector('[data-testid=heatmap-canvas]').dataset.drawn === f, lesion.file);
    }
    const native = cli(path.join(BUSI, 'images', lesion.file), path.join(BUSI, 'masks', lesion.file), [], 'busi');
    const p = Number(await text(page, 'probability'));
    const dice = Number(await page.getAttribute('[data-testid=dice]', 'data-dice'));
    assert.ok(Math.abs(p - native.probability) < 1e-3, `p ${p} vs CLI ${native.probability}`);
    assert.ok(Math.abs(dice - native.dice) < 0.01, `Dice ${dice} vs CLI ${native.dice}`);
    await screenshot(page, 'demo-busi');
    assert.deepEqual(outside(app), [], 'requests left the origin');
  } finally {
    await app.close();
  }
});
