// Every flow of the page, with WebGPU (software adapter) and without: threshold, Otsu, method
// and layer; the batch table, sorting and CSV; exports; uploads (files, a zip, an LGG-style TIFF
// pair) and each kind of bad input; a 50-image batch; filter-and-fine-tune with cancel, keep,
// download and loading the downloaded model back; the switch to the CPU keeping the images.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { openApp, settled, text, screenshot, outside, cli, diceOf, phantomFile, upload, zip, tiff, lggStyleTiffPair, writeTemp, stageDrop, drop, DEMO, ROOT, firstTumour, SHIPPED } from './helpers.mjs';

const BACKENDS = [['webgpu', true], ['cpu', false]];
const near = (a, b, what) => assert.ok(Math.abs(a - b) <= 0.01, `${what}: page ${a} vs CLI ${b}`);
const rows = (page) => page.locator('[data-testid=batch-table] tbody tr');

async function download(page, testid) {
  const [d] = await Promise.all([page.waitForEvent('download'), page.click(`[data-testid=${testid}]`)]);
  const file = await d.path();
  return { name: d.suggestedFilename(), bytes: fs.readFileSync(file) };
}

/// All downloads one click starts (the model button saves two files).
async function downloads(page, testid, count) {
  const got = [];
  const listener = (d) => got.push(d);
  page.on('download', listener);
  await page.click(`[data-testid=${testid}]`);
  for (let waited = 0; got.length < count && waited < 30_000; waited += 100) await new Promise((r) => setTimeout(r, 100));
  page.off('download', listener);
  assert.equal(got.length, count, `${testid} saved ${got.length} files`);
  return Promise.all(got.map(async (d) => ({ name: d.suggestedFilename(), bytes: fs.readFileSync(await d.path()) })));
}

async function withApp(gpu, body) {
  // WebGPU is forced: on this machine's software adapter the page would choose the CPU.
  const app = await openApp({ gpu, query: gpu ? '?backend=webgpu' : '' });
  try {
    await settled(app.page);
    await body(app.page, app);
    assert.deepEqual(outside(app), [], 'requests left the origin');
  } finally {
    await app.close();
  }
}

for (const [name, gpu] of BACKENDS) {
  test(`${name}: threshold, Otsu, method, table, CSV and exports`, async () => {
    await withApp(gpu, async (page) => {
      const image = path.join(DEMO, 'images', firstTumour());
      const mask = path.join(DEMO, 'masks', firstTumour());
      const meanBefore = await text(page, 'mean-dice');
      await page.locator('[data-testid=threshold]').fill('0.8');
      await page.waitForFunction(() => document.querySelector('[data-testid=threshold-value]').textContent === '0.80');
      near(await diceOf(page), cli(image, mask, ['--threshold', '0.8']).dice, 'Dice at 0.8');
      assert.notEqual(await text(page, 'mean-dice'), meanBefore, 'the batch mean follows the threshold');
      await page.click('[data-testid=otsu]');
      assert.equal(await text(page, 'threshold-value'), 'Otsu');
      near(await diceOf(page), cli(image, mask, ['--threshold', 'otsu']).dice, 'Dice with Otsu');
      // A method picked takes its own block and cut from the card (chosen on val).
      await page.selectOption('[data-testid=method]', 'gradcam');
      const own = JSON.parse(fs.readFileSync(path.join(ROOT, 'static/models/lgg.json'))).cam.per_method.find((d) => d.method === 'gradcam');
      assert.equal(await text(page, 'threshold-value'), own.threshold.fixed.toFixed(2), 'the card\'s Grad-CAM cut');
      assert.equal(await page.locator('[data-testid=layer]').inputValue(), String(own.block), 'the card\'s Grad-CAM block');
      await page.click('[data-testid=otsu]');
      await page.selectOption('[data-testid=layer]', '2');
      await settled(page);
      near(await diceOf(page), cli(image, mask, ['--threshold', 'otsu', '--method', 'gradcam', '--block', '2']).dice, 'Grad-CAM block 2 Dice');
      await screenshot(page, `image-view-gradcam-${name}`);

      // Sorting by Dice, a row click, and the CSV holding what the table shows.
      await page.click('[data-testid=batch-table] th:has-text("Dice")');
      const dice = (await page.locator('[data-testid=batch-table] tbody td:nth-child(5)').allTextContents()).map(Number).filter(Number.isFinite);
      assert.deepEqual(dice, [...dice].sort((a, b) => a - b), 'sorted by Dice');
      await rows(page).nth(11).click();
      assert.equal(await page.locator('#image-view h2').textContent(), await rows(page).nth(11).locator('td').first().textContent());
      const csv = await download(page, 'export-csv');
      const lines = csv.bytes.toString().trim().split('\n');
      assert.equal(lines[0], 'file,probability,predicted,truth,dice,iou,gated_dice,method,block,threshold');
      assert.equal(lines.length, 13);
      const csvDice = lines.slice(1).map((l) => l.split(',')[4]).filter((v) => v !== '').map(Number);
      near(csvDice.reduce((a, b) => a + b, 0) / csvDice.length, Number(await text(page, 'mean-dice')), 'CSV mean Dice vs mean-dice');
      assert.ok(lines.slice(1).every((l) => l.endsWith(',gradcam,2,otsu')));
      for (const what of ['heatmap', 'mask', 'overlay']) {
        const png = await download(page, `export-${what}`);
        assert.match(png.name, new RegExp(`_${what}\\.png$`));
        assert.equal(png.bytes.subarray(1, 4).toString(), 'PNG');
      }
      assert.ok(await page.locator('[data-testid=dice-curve] svg').count() === 1, 'the Dice-vs-threshold chart is drawn');
      await screenshot(page, `batch-sorted-${name}`);

      // The classifier-only random walk: the card's block and cut for it, the CLI's Dice.
      await rows(page).filter({ hasText: firstTumour() }).click();
      await page.selectOption('[data-testid=method]', 'layercam-walk');
      assert.equal(await text(page, 'threshold-value'), '0.70');
      assert.equal(await page.locator('[data-testid=layer]').inputValue(), '2');
      await settled(page);
      near(await diceOf(page), cli(image, mask, ['--method', 'layercam-walk']).dice, 'random-walk Dice');
    });
  });

  test(`${name}: uploads pair masks, read zips and LGG TIFFs, and name every bad file`, async () => {
    await withApp(gpu, async (page) => {
      const lgg = lggStyleTiffPair();
      await page.setInputFiles('[data-testid=file-input]', [
        upload('mine.png', phantomFile('images', 'phantom_00003.png'), 'image/png'),
        upload('mine_mask.png', phantomFile('masks', 'phantom_00003.png'), 'image/png'),
        upload('unpaired.png', phantomFile('images', 'phantom_00005.png'), 'image/png'),
        upload('set.zip', zip([['set/images/z7.png', phantomFile('images', 'phantom_00007.png')], ['set/masks/z7.png', phantomFile('masks', 'phantom_00007.png')],
          ['set/images/z8.png', phantomFile('images', 'phantom_00008.png')], ['set/masks/z8.png', phantomFile('masks', 'phantom_00008.png')], ['set/index.csv', Buffer.from('file\n')]]), 'application/zip'),
        upload('TCGA_XX_0001_19990101_12.tif', lgg.image, 'image/tiff'),
        upload('TCGA_XX_0001_19990101_12_mask.tif', lgg.mask, 'image/tiff'),
      ]);
      await page.waitForFunction(() => document.querySelectorAll('[data-testid=batch-table] tbody tr').length === 5);
      await settled(page);
      assert.equal(await text(page, 'error'), '');
      const table = await page.locator('[data-testid=batch-table] tbody').textContent();
      for (const f of ['mine.png', 'unpaired.png', 'z7.png', 'z8.png', 'TCGA_XX_0001_19990101_12.tif']) assert.ok(table.includes(f), `${f} in the table`);
      await rows(page).filter({ hasText: 'TCGA_XX' }).click();
      const tif = cli(writeTemp('x.tif', lgg.image), writeTemp('x_mask.tif', lgg.mask));
      near(await diceOf(page), tif.dice, 'LGG-style TIFF Dice');
      near(Number(await text(page, 'probability')), tif.probability, 'LGG-style TIFF probability');
      await rows(page).filter({ hasText: 'unpaired.png' }).click();
      assert.equal(await text(page, 'dice'), 'no mask');
      await screenshot(page, `uploaded-${name}`);

      // Bad files: each named with its reason; the good ones stay.
      const grey = new Uint8Array(128 * 128).map((_, i) => i % 256);
      await page.setInputFiles('[data-testid=file-input]', [
        upload('corrupt.png', Buffer.concat([phantomFile('images', 'phantom_00002.png').subarray(0, 60)]), 'image/png'),
        upload('notes.txt', Buffer.from('not an image'), 'text/plain'),
        upload('odd.png', phantomFile('images', 'phantom_00002.png'), 'image/png'),
        upload('odd_mask.tif', tiff(32, 32, 1, new Uint8Array(32 * 32)), 'image/tiff'),
        upload('grey.png', phantomFile('images', 'phantom_00004.png'), 'image/png'),
        upload('grey_mask.tif', tiff(128, 128, 1, grey), 'image/tiff'),
        upload('empty.zip', zip([['readme.txt', Buffer.from('nothing here')]]), 'application/zip'),
      ]);
      await page.waitForFunction(() => document.querySelector('[data-testid=error]').textContent.includes('empty.zip'));
      const error = await text(page, 'error');
      for (const expected of ['corrupt.png', 'notes.txt: not an image', 'odd_mask.tif', 'is 32x32 but its image is 128x128', 'grey_mask.tif', 'not binary', 'empty.zip: the zip holds no']) {
        assert.ok(error.includes(expected), `error names "${expected}": ${error}`);
      }
      await settled(page);
      assert.equal(await rows(page).count(), 7, 'odd.png and grey.png load without their bad masks');
      await screenshot(page, `bad-files-${name}`);
      await page.setInputFiles('[data-testid=model-files]', [
        upload('lgg.json', fs.readFileSync(path.join(ROOT, 'static/models/lgg.json')), 'application/json'),
        upload('lgg.bpk', Buffer.from('definitely not weights'), 'application/octet-stream'),
      ]);
      await page.waitForFunction(() => document.querySelector('[data-testid=error]').textContent.includes('lgg.bpk'));
      assert.match(await text(page, 'error'), /not a burnpack weights file/);
      assert.equal(await page.locator('[data-testid=model-picker] option').count(), SHIPPED, 'a wrong weights file adds no model');
    });
  });

  test(`${name}: a batch of 50 images`, async () => {
    await withApp(gpu, async (page) => {
      const files = [];
      for (let i = 0; i < 50; i++) {
        const src = `phantom_${String(i % 12).padStart(5, '0')}.png`;
        files.push(upload(`b${String(i).padStart(2, '0')}.png`, phantomFile('images', src), 'image/png'));
        files.push(upload(`b${String(i).padStart(2, '0')}_mask.png`, phantomFile('masks', src), 'image/png'));
      }
      // How long the page is blocked at a stretch while it works (responsiveness), from the
      // drop on (staged first: Playwright's own file injection blocks the page by itself).
      await stageDrop(page, files);
      await page.evaluate(() => {
        window.__longest = 0;
        new PerformanceObserver((list) => { for (const e of list.getEntries()) window.__longest = Math.max(window.__longest, e.duration); }).observe({ type: 'longtask' });
      });
      await drop(page);
      await page.waitForFunction(() => /analysed 50 images/.test(document.querySelector('[data-testid=status]').textContent), null, { timeout: 300_000 });
      const longest = Math.round(await page.evaluate(() => window.__longest));
      console.log(`${name}: ${await text(page, 'status')}; longest main-thread task ${longest} ms`);
      // The work runs in the worker; 200 ms allows for a noisy machine (the benchmark prints the real figure).
      assert.ok(longest <= 200, `the page was blocked for ${longest} ms`);
      assert.equal(await rows(page).count(), 50);
      assert.ok(Number(await text(page, 'mean-dice')) > 0.5);
    });
  });

  test(`${name}: filter and fine-tune, cancel, keep, download and load back`, async () => {
    await withApp(gpu, async (page, app) => {
      // Every image's probability, at full precision: the model's output before and after.
      const probabilities = async () => (await download(page, 'export-csv')).bytes.toString().trim().split('\n').slice(1).map((l) => l.split(',')[1]);
      const untuned = await probabilities();
      await page.selectOption('[data-testid=finetune-filter]', 'remove-hot');
      await page.fill('[data-testid=finetune-epochs]', '4');
      await page.locator('[data-testid=finetune-epochs]').dispatchEvent('change');
      await page.click('[data-testid=finetune-start]');
      await page.waitForFunction(() => document.querySelector('[data-testid=finetune-accuracy-after]').textContent !== '–' || document.querySelector('[data-testid=error]').textContent, null, { timeout: 300_000 });
      assert.equal(await text(page, 'error'), '');
      const before = Number(await text(page, 'finetune-accuracy-before'));
      const after = Number(await text(page, 'finetune-accuracy-after'));
      console.log(`${name}: remove-hot fine-tune, held-out accuracy ${before} -> ${after}; ${await text(page, 'status')}`);
      // Held-out accuracy on 4 images moves in steps of 0.25 and may not move at all: it is
      // reported, and the model itself must have changed (checked once it is kept, below).
      assert.ok(before >= 0 && before <= 1 && after >= 0 && after <= 1);
      const progress = page.locator('[data-testid=finetune-progress]');
      assert.equal(await progress.getAttribute('value'), await progress.getAttribute('max'));
      assert.equal(await page.locator('[data-testid=finetune-curves] svg').count(), 1);
      await screenshot(page, `finetuned-${name}`);

      await page.click('[data-testid=finetune-keep]');
      await page.waitForFunction((n) => document.querySelectorAll('[data-testid=model-picker] option').length === n + 1, SHIPPED);
      assert.match(await text(page, 'model'), /fine-tuned, remove-hot/);
      await settled(page);
      const tuned = await probabilities();
      assert.equal(tuned.length, untuned.length);
      assert.ok(tuned.filter((p, i) => p !== untuned[i]).length >= untuned.length / 2, `fine-tuning changed the model's outputs: ${untuned} -> ${tuned}`);
      // The two files may arrive in either order on a loaded machine.
      const saved = await downloads(page, 'download-model', 2);
      const weights = saved.find((f) => f.name.endsWith('.bpk'));
      const card = saved.find((f) => f.name.endsWith('.json'));
      const cardBytes = card.bytes;
      assert.match(weights.name, /fine-tuned-remove-hot\.bpk$/);
      assert.equal(JSON.parse(cardBytes).format, 'camseg-model-card/2');
      await page.setInputFiles('[data-testid=model-files]', [upload('mine.bpk', weights.bytes), upload('mine.json', cardBytes, 'application/json')]);
      await page.waitForFunction((n) => document.querySelectorAll('[data-testid=model-picker] option').length === n + 2, SHIPPED);
      await settled(page);
      assert.equal(await text(page, 'error'), '');
      assert.deepEqual(app.requests.filter((u) => /mine\.(bpk|json)/.test(u)), [], 'a user\'s model is never fetched by its file name');

      // Cancel in the middle of a long run: the model stays as it was.
      await page.fill('[data-testid=finetune-epochs]', '40');
      await page.locator('[data-testid=finetune-epochs]').dispatchEvent('change');
      await page.click('[data-testid=finetune-start]');
      await page.waitForFunction(() => Number(document.querySelector('[data-testid=finetune-progress]').getAttribute('value')) >= 2, null, { timeout: 120_000 });
      await page.click('[data-testid=finetune-cancel]');
      await page.waitForFunction(() => /cancelled/.test(document.querySelector('[data-testid=status]').textContent));
      assert.ok(Number(await page.locator('[data-testid=finetune-progress]').getAttribute('value')) < 40 * 1);
      assert.equal(await page.locator('[data-testid=finetune-keep]').isDisabled(), true);
    });
  });
}

test('switching to the CPU keeps the images and results', async () => {
  await withApp(true, async (page) => {
    assert.equal(await text(page, 'backend'), 'WebGPU');
    const before = await text(page, 'mean-dice');
    await page.click('[data-testid=use-cpu]');
    // The worker switches and answers; the page says so when it has.
    await page.waitForFunction(() => document.querySelector('[data-testid=backend]').textContent === 'CPU');
    await settled(page);
    assert.equal(await rows(page).count(), 12);
    near(Number(await text(page, 'mean-dice')), Number(before), 'mean Dice after the switch');
  });
});
