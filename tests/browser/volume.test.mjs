// Volumes in the page: a NIfTI volume with its label volume dropped on the page, and a DICOM
// series opened as a folder with its label volume beside it. Each is cut into axial slices,
// analysed, and its 3D Dice must equal the native CLI's on the same files; the slider and the
// arrow keys step through slices; another view and another window re-cut it; the predicted mask
// saved as NIfTI carries the scan's affine; no patient tag written into the DICOM files shows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { openApp, settled, text, screenshot, outside, upload, stageDrop, drop, ROOT } from './helpers.mjs';

const CAMSEG = process.env.CAMSEG_BIN || path.join(ROOT, 'target/debug/camseg');
const MODEL = path.join(ROOT, 'static/models/lgg.json');
const SLICES = 12;

/// Phantom volumes written by the CLI itself (no test data is committed).
function phantom(format) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `camseg-${format}-`));
  execFileSync(CAMSEG, ['phantom', '--volume', format, '--out', dir, '--count', String(SLICES), '--size', '96']);
  return dir;
}

/// The CLI's report on a volume and its labels: the reference the page must agree with.
function cliReport(scan, labels) {
  return JSON.parse(execFileSync(CAMSEG, ['eval', '--model', MODEL, '--volume', scan, '--mask', labels, '--json']).toString());
}

/// The sform rows and voxel count of ones of a gzipped NIfTI-1 file.
function niftiFacts(bytes) {
  const raw = zlib.gunzipSync(bytes);
  const srow = [280, 296, 312].map((at) => [0, 1, 2, 3].map((k) => raw.readFloatLE(at + 4 * k)));
  const dims = [1, 2, 3].map((k) => raw.readInt16LE(40 + 2 * k));
  const offset = raw.readFloatLE(108);
  let ones = 0;
  for (let i = offset; i < raw.length; i++) ones += raw[i] > 0 ? 1 : 0;
  return { srow, dims, ones };
}

/// The page's 3D Dice once every slice of the volume, cut as `cut` says, is analysed.
async function volumeDice(page, cut = 'axial:0:255') {
  await page.waitForSelector(`[data-testid=volume-panel][data-cut="${cut}"] [data-testid=volume-dice][data-dice]`, { timeout: 240_000 });
  const el = page.locator('[data-testid=volume-dice]');
  return { dice: Number(await el.getAttribute('data-dice')), gated: Number(await el.getAttribute('data-gated-dice')) };
}

// The page's wasm and the native CLI round floats alike but not always identically: a voxel
// or two may fall the other side of a cut (1e-3 of Dice is about 2 voxels here).
/// Drops a folder as Chromium gives one: a DataTransfer item whose entry is a directory tree
/// (FileSystemDirectoryEntry and friends). A synthetic drop has no entries, so the tree is made
/// here from the folder's files, with the same fields and callback-style methods.
async function dropFolder(page, dir) {
  const root = path.basename(dir);
  const walk = (d) => fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : [path.join(d, e.name)]));
  const list = walk(dir).map((f) => ({ path: path.join(root, path.relative(dir, f)), b64: fs.readFileSync(f).toString('base64') }));
  await page.evaluate(({ root, list }) => {
    const folder = (fullPath) => {
      const children = [];
      return { isDirectory: true, isFile: false, fullPath, children, createReader() {
        let given = false;
        return { readEntries(ok) { setTimeout(() => { ok(given ? [] : children); given = true; }); } };
      } };
    };
    const top = folder('/' + root);
    const folders = { [root]: top };
    for (const f of list) {
      const parts = f.path.split('/');
      let at = root;
      let node = top;
      for (const part of parts.slice(1, -1)) {
        at += '/' + part;
        if (!folders[at]) node.children.push((folders[at] = folder('/' + at)));
        node = folders[at];
      }
      const file = new File([Uint8Array.from(atob(f.b64), (c) => c.charCodeAt(0))], parts.at(-1));
      node.children.push({ isDirectory: false, isFile: true, fullPath: '/' + f.path, file(ok) { setTimeout(() => ok(file)); } });
    }
    const dt = new DataTransfer();
    dt.items.add(new File([], root));
    const real = DataTransferItem.prototype.webkitGetAsEntry;
    DataTransferItem.prototype.webkitGetAsEntry = () => top;
    document.querySelector('.drop').dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    DataTransferItem.prototype.webkitGetAsEntry = real;
  }, { root, list });
}

const close = (a, b, what) => assert.ok(Math.abs(a - b) <= 1e-3, `${what}: page ${a} vs CLI ${b}`);

test('a NIfTI volume with its labels: slices, 3D Dice as the CLI, views, window and the mask saved on its grid', async () => {
  const dir = phantom('nifti');
  const scan = path.join(dir, 'phantom.nii.gz');
  const labels = path.join(dir, 'phantom_mask.nii.gz');
  const reference = cliReport(scan, labels);
  const app = await openApp({ gpu: false });
  const { page } = app;
  try {
    await settled(page);
    await stageDrop(page, [upload('phantom.nii.gz', fs.readFileSync(scan)), upload('phantom_mask.nii.gz', fs.readFileSync(labels))]);
    await drop(page);
    await page.waitForSelector('[data-testid=volume-panel]');
    assert.match(await text(page, 'volume-info'), /phantom\.nii\.gz: NIfTI-1, uint8, 96 x 96 x 12 voxels of 0\.90 x 0\.90 x 3\.00 mm/);
    assert.equal(await page.locator('[data-testid=batch-table] tbody tr').count(), SLICES, 'the demo is replaced by the slices');
    const got = await volumeDice(page);
    close(got.dice, reference.dice_3d.dice, '3D Dice');
    close(got.gated, reference.dice_3d.gated_dice, 'gated 3D Dice');
    assert.equal(await text(page, 'error'), '');

    // Slider and arrow keys.
    assert.equal(await text(page, 'slice-label'), `1 / ${SLICES}`);
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowRight');
    assert.equal(await text(page, 'slice-label'), `3 / ${SLICES}`);
    await page.keyboard.press('ArrowLeft');
    assert.equal(await text(page, 'slice-label'), `2 / ${SLICES}`);
    await page.locator('[data-testid=slice-slider]').fill('7');
    assert.equal(await text(page, 'slice-label'), `7 / ${SLICES}`);
    const probability = Number(await text(page, 'probability'));
    assert.ok(Math.abs(probability - reference.slices[6].probability) < 1e-4, `slice 7 p: page ${probability} vs CLI ${reference.slices[6].probability}`);
    await screenshot(page, 'volume-nifti');

    // The predicted mask, as NIfTI on the scan's grid: its voxels are the CLI's mask voxels.
    await page.uncheck('[data-testid=export-gated]');
    const [d] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=export-mask]')]);
    assert.equal(d.suggestedFilename(), 'phantom_camseg_mask.nii.gz');
    const saved = niftiFacts(fs.readFileSync(await d.path()));
    const input = niftiFacts(fs.readFileSync(scan));
    assert.deepEqual(saved.dims, input.dims);
    assert.deepEqual(saved.srow, input.srow, 'the mask carries the scan\'s affine');
    assert.ok(Math.abs(saved.ones - reference.dice_3d.predicted_voxels) <= 0.002 * reference.dice_3d.predicted_voxels + 2, `mask voxels: page ${saved.ones} vs CLI ${reference.dice_3d.predicted_voxels}`);

    // Another view and another window re-cut the volume; the CLI agrees on each.
    await page.selectOption('[data-testid=volume-view]', 'coronal');
    const coronal = JSON.parse(execFileSync(CAMSEG, ['eval', '--model', MODEL, '--volume', scan, '--mask', labels, '--axis', 'coronal', '--json']).toString());
    close((await volumeDice(page, 'coronal:0:255')).dice, coronal.dice_3d.dice, 'coronal 3D Dice');
    assert.match(await text(page, 'slice-label'), /\/ 96$/);
    await page.fill('[data-testid=window-level]', '100');
    await page.fill('[data-testid=window-width]', '120');
    await page.click('[data-testid=window-apply]');
    const windowed = JSON.parse(execFileSync(CAMSEG, ['eval', '--model', MODEL, '--volume', scan, '--mask', labels, '--axis', 'coronal', '--window', '40:160', '--json']).toString());
    close((await volumeDice(page, 'coronal:40:160')).dice, windowed.dice_3d.dice, 'windowed 3D Dice');

    // A cut-short file is named with its problem; what is loaded stays.
    const cut = fs.readFileSync(scan).subarray(0, 2000);
    await stageDrop(page, [upload('cut.nii.gz', cut)]);
    await drop(page);
    await page.waitForFunction(() => document.querySelector('[data-testid=error]').textContent.includes('cut.nii.gz'));
    assert.match(await text(page, 'error'), /cut\.nii\.gz: is a damaged or cut-short gzip file/);
    assert.equal(await page.locator('[data-testid=batch-table] tbody tr').count(), 96, 'the volume\'s slices stay');
    assert.deepEqual(outside(app), [], 'requests left the origin');
  } finally {
    await app.close();
  }
});

test('a DICOM series opened as a folder: sorted by position, 3D Dice as the CLI, no patient tag shown, bad files named', async () => {
  const dir = phantom('dicom');
  const reference = cliReport(path.join(dir, 'phantom'), path.join(dir, 'phantom_mask.nii.gz'));
  // A file with no pixels and a series slice of the wrong size, beside the good ones.
  const junk = path.join(dir, 'phantom', 'notes.dcm');
  fs.writeFileSync(junk, Buffer.from('not DICOM at all'));
  const app = await openApp({ gpu: false });
  const { page } = app;
  try {
    await settled(page);
    await page.setInputFiles('[data-testid=folder-input]', dir);
    await page.waitForSelector('[data-testid=volume-panel]');
    assert.match(await text(page, 'volume-info'), /DICOM, Explicit VR Little Endian, 96 x 96 x 12 voxels/);
    const got = await volumeDice(page, 'axial:0:1000');
    close(got.dice, reference.dice_3d.dice, 'DICOM 3D Dice');
    close(got.gated, reference.dice_3d.gated_dice, 'DICOM gated 3D Dice');
    assert.match(await text(page, 'error'), /notes\.dcm: not a readable DICOM file/);
    const everything = await page.evaluate(() => document.body.innerText);
    for (const tag of ['Doe', 'Jane', 'PID-99731']) assert.ok(!everything.includes(tag), `the page shows the patient tag ${tag}`);
    const [d] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=export-mask]')]);
    const bytes = zlib.gunzipSync(fs.readFileSync(await d.path()));
    for (const tag of ['Doe', 'Jane', 'PID-99731']) assert.ok(!bytes.includes(Buffer.from(tag)), `the exported mask carries ${tag}`);
    await screenshot(page, 'volume-dicom');

    // The same study dropped as a folder: walked, grouped and scored the same.
    await page.click('text=Clear');
    await page.click('[data-testid=error] + button');
    await dropFolder(page, dir);
    await page.waitForSelector('[data-testid=volume-panel]');
    close((await volumeDice(page, 'axial:0:1000')).dice, reference.dice_3d.dice, 'dropped folder 3D Dice');
    assert.deepEqual(outside(app), [], 'requests left the origin');
  } finally {
    await app.close();
  }
});
