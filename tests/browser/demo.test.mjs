// The first view is real MRI: the page opens on the 12 LGG FLAIR demo slices with their
// licence and attribution, on a tumour slice the model calls a tumour. A slice the model calls
// no-tumour shows its heatmap but no predicted mask unless asked; Dice is shown as cut and
// gated, with the false-mask rate on no-tumour slices; the phantoms are the second demo set.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openApp, settled, text, screenshot, outside, demoIndex, firstTumour } from './helpers.mjs';

const rows = (page) => page.locator('[data-testid=batch-table] tbody tr');

/// Pixels of the canvas in the predicted mask's green (render::PREDICTED).
const greenPixels = (page) => page.evaluate(() => {
  const c = document.querySelector('[data-testid=heatmap-canvas]');
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let i = 0; i < d.length; i += 4) if (d[i] === 0 && d[i + 1] === 255 && d[i + 2] === 64) n++;
  return n;
});

/// Shows the row of `file` and waits until the canvas has drawn it (with `checked` as the box).
async function show(page, file) {
  await rows(page).filter({ hasText: file }).click();
  await page.waitForFunction((f) => document.querySelector('[data-testid=heatmap-canvas]').dataset.drawn === f, file);
}

const maskPx = async (page) => Number(await page.getAttribute('[data-testid=heatmap-canvas]', 'data-mask-px'));

test('the page opens on the LGG slices, gates masks by the answer and scores Dice both ways', async () => {
  const app = await openApp({ gpu: false });
  try {
    const { page } = app;
    await settled(page);
    assert.equal(await text(page, 'error'), '');
    const index = demoIndex();
    assert.equal(index.length, 12);
    assert.equal(await rows(page).count(), 12);
    assert.equal(await page.locator('[data-testid=demo-set]').inputValue(), 'lgg');
    assert.equal(await page.getAttribute('[data-testid=demo-about]', 'data-demo'), 'lgg');
    const attribution = page.locator('[data-testid=demo-attribution] summary');
    assert.ok(await attribution.isVisible(), 'the attribution is on screen');
    assert.match(await attribution.textContent(), /LGG MRI segmentation.*Buda et al\. 2019.*TCGA-LGG.*CC BY-NC-SA 4\.0/);
    assert.match(await text(page, 'demo-about'), /12 built-in LGG FLAIR slices.*trained on/);

    // The first image shown: a tumour slice the model calls a tumour.
    const first = await page.locator('#image-view h2').textContent();
    assert.equal(first, firstTumour());
    assert.equal(index.find((r) => r.file === first).label, '1');
    assert.ok(Number(await text(page, 'probability')) > 0.5, `p on ${first}: ${await text(page, 'probability')}`);
    await page.waitForFunction((f) => document.querySelector('[data-testid=heatmap-canvas]').dataset.drawn === f, first);
    assert.ok(await maskPx(page) > 0 && await greenPixels(page) > 0, 'its mask is drawn');

    // Every slice as the page shows it (the report lists them).
    const seen = [];
    for (const r of index) {
      await show(page, r.file);
      seen.push({ file: r.file, patient: r.patient, label: r.label, tumor_px: Number(r.tumor_px), p: Number(await text(page, 'probability')),
        dice: await text(page, 'dice'), gated: await text(page, 'gated-dice'), mask_px: await maskPx(page) });
    }
    console.table(seen);

    // A no-tumour slice the model calls no-tumour: heatmap, no mask, unless the box is ticked.
    const negative = seen.find((r) => r.label === '0' && r.p < 0.5);
    assert.ok(negative, 'a no-tumour slice with p < 0.5');
    await show(page, negative.file);
    assert.equal(await page.locator('[data-testid=masks-on-negatives]').isChecked(), false, 'off by default');
    assert.equal(await maskPx(page), 0);
    assert.equal(await greenPixels(page), 0, 'no mask pixel on the canvas');
    assert.ok(await page.locator('[data-testid=mask-gated]').isVisible());
    await screenshot(page, 'demo-negative-gated');
    await page.locator('[data-testid=masks-on-negatives]').check();
    await page.waitForFunction(() => Number(document.querySelector('[data-testid=heatmap-canvas]').dataset.maskPx) > 0);
    assert.ok(await greenPixels(page) > 0, 'ticked: the mask is drawn');
    assert.equal(await page.locator('[data-testid=mask-gated]').count(), 0);
    await page.locator('[data-testid=masks-on-negatives]').uncheck();
    await page.waitForFunction(() => document.querySelector('[data-testid=heatmap-canvas]').dataset.maskPx === '0');

    // Gated Dice: per image and for the batch; a tumour the model misses scores 0 gated.
    for (const r of seen.filter((r) => r.label === '1')) {
      assert.equal(r.gated, r.p >= 0.5 ? r.dice : '0.0000', `${r.file}: gated Dice ${r.gated}, Dice ${r.dice}, p ${r.p}`);
    }
    const mean = Number(await text(page, 'mean-dice'));
    const gatedMean = Number(await text(page, 'mean-gated-dice'));
    assert.ok(Number.isFinite(gatedMean) && gatedMean <= mean + 1e-9, `mean Dice ${mean}, gated ${gatedMean}`);
    const tumours = seen.filter((r) => r.label === '1');
    const expected = tumours.reduce((a, r) => a + Number(r.gated), 0) / tumours.length;
    assert.ok(Math.abs(gatedMean - expected) <= 0.001, `gated mean ${gatedMean} vs the rows' ${expected}`);
    // False masks on the no-tumour slices: as cut and gated.
    const fm = await page.locator('[data-testid=false-masks]');
    const [negatives, ungated, gated] = await Promise.all(['data-negatives', 'data-ungated', 'data-gated'].map(async (a) => Number(await fm.getAttribute(a))));
    assert.equal(negatives, index.filter((r) => r.label === '0').length);
    assert.ok(ungated >= gated, `as cut ${ungated}, gated ${gated}`);
    assert.equal(gated, seen.filter((r) => r.label === '0' && r.p >= 0.5).length);
    console.log(`mean Dice ${mean} as cut, ${gatedMean} gated; false masks ${await text(page, 'false-mask-rate')} as cut, ${await text(page, 'false-mask-rate-gated')} gated`);
    await screenshot(page, 'demo-lgg');

    // The second demo set: the phantoms, with the phantom model.
    await page.selectOption('[data-testid=demo-set]', 'phantom');
    await page.waitForFunction(() => document.querySelector('[data-testid=demo-about]')?.dataset.demo === 'phantom');
    await settled(page);
    assert.equal(await text(page, 'error'), '');
    assert.equal(await rows(page).count(), 12);
    assert.equal(await page.locator('#image-view h2').textContent(), 'phantom_00001.png');
    assert.match(await text(page, 'model'), /phantom/i);
    assert.equal(await page.locator('[data-testid=demo-attribution]').count(), 0);
    assert.deepEqual(outside(app), [], 'requests left the origin');
  } finally {
    await app.close();
  }
});
