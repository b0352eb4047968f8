// Shared by the browser tests: serving dist/, launching Debian Chromium with or without
// WebGPU, reading the page, asking the native CLI for reference numbers, and making test files
// (zips and LGG-style TIFFs) with no dependency beyond Node itself.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { serve } from './serve.mjs';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const DIST = path.join(ROOT, 'dist');
/// The demo set the page opens on (LGG FLAIR slices), and the second one (phantoms).
export const DEMO = path.join(ROOT, 'static/demo/lgg');
export const PHANTOMS = path.join(ROOT, 'static/demo/phantom');
export const BUSI = path.join(ROOT, 'static/demo/busi');
/// How many models the page ships (its picker's first entries).
export const SHIPPED = JSON.parse(fs.readFileSync(path.join(ROOT, 'static/models/index.json'), 'utf8')).length;
export const ARTIFACTS = path.join(import.meta.dirname, 'artifacts');
const CAMSEG = process.env.CAMSEG_BIN || path.join(ROOT, 'target/debug/camseg');
const BASE_FLAGS = ['--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/// Opens the app. `gpu`: with Chromium's WebGPU (software adapter) or without any.
export async function openApp({ gpu = true, query = '' } = {}) {
  const server = await serve(DIST);
  const origin = `http://127.0.0.1:${server.address().port}`;
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: [...BASE_FLAGS, ...(gpu ? ['--enable-unsafe-webgpu'] : [])] });
  const context = await browser.newContext({ viewport: { width: 1280, height: 1000 }, acceptDownloads: true });
  const page = await context.newPage();
  const app = { server, origin, browser, context, page, requests: [], swRequests: [], consoleErrors: [] };
  // The context's requests: the page's, its worker's and the service worker's (page.on sees
  // no service-worker request, and a service worker is not bound by the page's <meta> CSP).
  context.on('request', (r) => {
    app.requests.push(r.url());
    if (r.serviceWorker()) app.swRequests.push(r.url());
  });
  page.on('console', (m) => { if (m.type() === 'error') app.consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => app.consoleErrors.push(String(e)));
  app.started = Date.now();
  await page.goto(`${origin}/${query}`);
  app.close = async () => { await browser.close(); server.close(); };
  return app;
}

export const text = async (page, id) => ((await page.textContent(`[data-testid=${id}]`)) ?? '').trim();

/// Waits until every loaded image is analysed (or the page reports an error).
export async function settled(page, timeout = 240_000) {
  await page.waitForFunction(() => {
    const error = document.querySelector('[data-testid=error]')?.textContent.trim();
    const rows = document.querySelectorAll('[data-testid=batch-table] tbody tr').length;
    const pending = [...document.querySelectorAll('[data-testid=batch-table] tbody tr td:nth-child(2)')].some((td) => td.textContent === '…');
    return error || (rows > 0 && !pending && !document.querySelector('[data-testid=busy]') && document.querySelector('[data-testid=dice]').textContent.trim() !== '');
  }, null, { timeout });
}

export async function screenshot(page, name) {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/// Requests (the page's, its workers', its service worker's) that went anywhere but the app's own origin.
export const outside = (app) => app.requests.filter((u) => !u.startsWith(app.origin + '/') && !u.startsWith('data:') && !u.startsWith('blob:'));

/// What the native CLI says of one image: the reference the page must agree with.
export function cli(image, mask, extra = [], model = 'lgg') {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'camseg-')), 'heat.png');
  const args = ['cam', '--model', path.join(ROOT, `static/models/${model}.json`), '--image', image, '--out', out, '--json', ...extra];
  if (mask) args.push('--mask', mask);
  return JSON.parse(execFileSync(CAMSEG, args).toString());
}

/// Dice of the shown image: a number, or NaN for "no mask" and the like.
export const diceOf = async (page) => Number(await text(page, 'dice'));

// ---------- test files ----------

export const phantomFile = (folder, name) => fs.readFileSync(path.join(PHANTOMS, folder, name));

/// The rows of a demo set's index.csv, as objects (file, patient, label, tumor_px, ...).
export function demoIndex(dir = DEMO) {
  const [head, ...lines] = fs.readFileSync(path.join(dir, 'index.csv'), 'utf8').trim().split('\n');
  const keys = head.split(',');
  return lines.map((l) => Object.fromEntries(l.split(',').map((v, k) => [keys[k], v])));
}

/// axe-core's serious and critical accessibility violations on the page as it stands (axe is
/// evaluated through the DevTools protocol, which the page's CSP does not govern).
export async function axeViolations(page) {
  await page.evaluate(fs.readFileSync(path.join(import.meta.dirname, 'node_modules/axe-core/axe.min.js'), 'utf8'));
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length, help: v.help }));
}

/// The image the page opens on: the demo's first tumour slice.
export const firstTumour = () => demoIndex().find((r) => r.label === '1').file;
export const upload = (name, buffer, mimeType = 'application/octet-stream') => ({ name, mimeType, buffer });

/// A zip (stored, no compression) of [name, Buffer] entries.
export function zip(entries) {
  const locals = [];
  const centrals = [];
  let offset = 0;
  for (const [name, data] of entries) {
    const n = Buffer.from(name);
    const crc = zlib.crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0); local.writeUInt16LE(20, 4); local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18); local.writeUInt32LE(data.length, 22); local.writeUInt16LE(n.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0); central.writeUInt16LE(20, 4); central.writeUInt16LE(20, 6); central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20); central.writeUInt32LE(data.length, 24); central.writeUInt16LE(n.length, 28); central.writeUInt32LE(offset, 42);
    locals.push(local, n, data);
    centrals.push(central, n);
    offset += 30 + n.length + data.length;
  }
  const dir = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0); end.writeUInt16LE(entries.length, 8); end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(dir.length, 12); end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, dir, end]);
}

/// An uncompressed 8-bit TIFF, `channels` 1 (gray) or 3 (RGB), pixels row-major interleaved.
export function tiff(width, height, channels, pixels) {
  const entries = [
    [256, 3, 1, width], [257, 3, 1, height], [258, 3, channels, channels === 1 ? 8 : 0], [259, 3, 1, 1],
    [262, 3, 1, channels === 1 ? 1 : 2], [273, 4, 1, 0], [277, 3, 1, channels], [278, 3, 1, height],
    [279, 4, 1, pixels.length], [284, 3, 1, 1],
  ];
  const ifdSize = 2 + entries.length * 12 + 4;
  const bitsAt = 8 + ifdSize;
  const dataAt = bitsAt + (channels === 3 ? 6 : 0);
  const out = Buffer.alloc(dataAt + pixels.length);
  out.write('II', 0); out.writeUInt16LE(42, 2); out.writeUInt32LE(8, 4); out.writeUInt16LE(entries.length, 8);
  entries.forEach(([tag, type, count, value], i) => {
    const at = 10 + i * 12;
    if (tag === 258 && channels === 3) value = bitsAt;
    if (tag === 273) value = dataAt;
    out.writeUInt16LE(tag, at); out.writeUInt16LE(type, at + 2); out.writeUInt32LE(count, at + 4);
    if (type === 3 && count === 1) out.writeUInt16LE(value, at + 8); else out.writeUInt32LE(value, at + 8);
  });
  if (channels === 3) for (let k = 0; k < 3; k++) out.writeUInt16LE(8, bitsAt + 2 * k);
  Buffer.from(pixels).copy(out, dataAt);
  return out;
}

/// An LGG-style slice: 3 channels (pre-contrast, FLAIR, post-contrast), a bright FLAIR lesion
/// in a head-like ellipse, and its mask, both as TIFF.
export function lggStyleTiffPair(size = 96, [lx, ly, lr] = [0.62, 0.4, 0.11]) {
  const rgb = new Uint8Array(size * size * 3);
  const mask = new Uint8Array(size * size);
  const c = size / 2;
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) {
    const head = ((x - c) / (0.38 * size)) ** 2 + ((y - c) / (0.45 * size)) ** 2 <= 1;
    const lesion = (x - lx * size) ** 2 + (y - ly * size) ** 2 <= (lr * size) ** 2;
    const i = y * size + x;
    rgb[3 * i] = head ? 60 : 0;
    rgb[3 * i + 1] = lesion ? 220 : head ? 95 + ((x * 7 + y * 13) % 17) : 0;
    rgb[3 * i + 2] = head ? 70 : 0;
    mask[i] = lesion ? 255 : 0;
  }
  return { image: tiff(size, size, 3, rgb), mask: tiff(size, size, 1, mask) };
}

export function writeTemp(name, buffer) {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'camseg-')), name);
  fs.writeFileSync(file, buffer);
  return file;
}

/// Puts `files` into the page as File objects, ready for `drop`. Playwright's own file
/// injection (setInputFiles) blocks the page's main thread for hundreds of milliseconds with
/// a few MB of files, even on an input with no handler; staging first keeps that out of
/// responsiveness measurements.
export async function stageDrop(page, files) {
  await page.evaluate((list) => {
    window.__drop = list.map(({ name, mimeType, b64 }) => new File([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], name, { type: mimeType }));
  }, files.map((f) => ({ name: f.name, mimeType: f.mimeType, b64: f.buffer.toString('base64') })));
}

/// Drops the staged files on the page's drop zone, as a person dragging them would.
export async function drop(page) {
  await page.evaluate(() => {
    const dt = new DataTransfer();
    for (const f of window.__drop) dt.items.add(f);
    document.querySelector('.drop').dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  });
}

// ---------- batches of LGG-style slices, checked row by row against the CLI ----------

export const rows = (page) => page.locator('[data-testid=batch-table] tbody tr');
export const rowCount = (page, n) => page.waitForFunction((n) => document.querySelectorAll('[data-testid=batch-table] tbody tr').length === n, n, { timeout: 120_000 });
/// Every row has its probability and nothing is under way (an error on screen does not count).
export const allAnalysed = (page) => page.waitForFunction(() => {
  const cells = [...document.querySelectorAll('[data-testid=batch-table] tbody tr td:nth-child(2)')];
  return cells.length > 0 && cells.every((td) => td.textContent !== '…') && !document.querySelector('[data-testid=busy]');
}, null, { timeout: 180_000 });
export const near = (a, b, what) => assert.ok(Math.abs(a - b) <= 0.01, `${what}: page ${a} vs CLI ${b}`);

/// `n` LGG-style 256 px TIFF slices with masks, each lesion somewhere else, named `prefix_k`.
export function slices(prefix, n) {
  return Array.from({ length: n }, (_, k) => {
    const pair = lggStyleTiffPair(256, [0.35 + 0.3 * ((k * 7) % 10) / 10, 0.3 + 0.4 * ((k * 3) % 10) / 10, 0.06 + 0.01 * (k % 5)]);
    return { name: `${prefix}_${k}`, ...pair };
  });
}
export const files = (set) => set.flatMap((s) => [upload(`${s.name}.tif`, s.image, 'image/tiff'), upload(`${s.name}_mask.tif`, s.mask, 'image/tiff')]);

/// Every row's probability and Dice equal what the CLI says of that very file.
export async function eachRowIsItsOwn(page, set) {
  assert.equal(await rows(page).count(), set.length);
  for (const s of set) {
    await rows(page).filter({ hasText: `${s.name}.tif` }).click();
    const ref = cli(writeTemp(`${s.name}.tif`, s.image), writeTemp(`${s.name}_mask.tif`, s.mask));
    near(Number(await text(page, 'probability')), ref.probability, `${s.name} probability`);
    near(await diceOf(page), ref.dice, `${s.name} Dice`);
  }
}

/// Uploads `set`, waits for exactly its rows, all analysed, no error, each row its own.
export async function loadAndCheck(page, set) {
  await page.setInputFiles('[data-testid=file-input]', files(set));
  await rowCount(page, set.length);
  await settled(page, 180_000);
  assert.equal(await text(page, 'error'), '');
  await eachRowIsItsOwn(page, set);
}
