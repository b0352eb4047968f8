// The Trunk-built page in headless Debian Chromium: with WebGPU (software adapter) and without
// (CPU fallback). Asserts backend, probability, Dice (equal to the native CLI's for the same
// image and model), and that no request leaves 127.0.0.1. Screenshots go to artifacts/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { serve } from './serve.mjs';

const ROOT = path.resolve(import.meta.dirname, '../..');
const DIST = path.join(ROOT, 'dist');
const ARTIFACTS = path.join(import.meta.dirname, 'artifacts');
const CAMSEG = process.env.CAMSEG_BIN || path.join(ROOT, 'target/debug/camseg');
const BASE_FLAGS = ['--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

// What the native CLI says of the page's demo image, with the page's default model.
function nativeResult() {
  const out = execFileSync(CAMSEG, [
    'cam', '--model', path.join(ROOT, 'static/models/phantom.json'),
    '--image', path.join(ROOT, 'static/demo/images/phantom_00001.png'),
    '--mask', path.join(ROOT, 'static/demo/masks/phantom_00001.png'),
    '--out', path.join(fs.mkdtempSync('/tmp/camseg-'), 'heat.png'), '--json',
  ]);
  return JSON.parse(out.toString());
}

async function openPage(flags, name) {
  const server = await serve(DIST);
  const origin = `http://127.0.0.1:${server.address().port}`;
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: [...BASE_FLAGS, ...flags] });
  const page = await browser.newPage();
  const requests = [];
  page.on('request', (r) => requests.push(r.url()));
  const consoleErrors = [];
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  const started = Date.now();
  await page.goto(origin + '/');
  await page.waitForFunction(() => {
    const dice = document.querySelector('[data-testid=dice]');
    const error = document.querySelector('[data-testid=error]');
    return (dice && dice.textContent.trim() !== '') || (error && error.textContent.trim() !== '');
  }, null, { timeout: 180_000 });
  const wallMs = Date.now() - started;
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, `first-page-${name}.png`), fullPage: true });
  const text = async (id) => (await page.textContent(`[data-testid=${id}]`)).trim();
  const result = {
    backend: await text('backend'), probability: await text('probability'), dice: await text('dice'),
    error: await text('error'), firstHeatmapMs: await text('first-heatmap-ms'), wallMs, requests, origin, consoleErrors,
  };
  // The canvas holds a drawn picture, not a blank rectangle.
  result.canvasColours = await page.evaluate(() => {
    const c = document.querySelector('[data-testid=heatmap-canvas]');
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    const seen = new Set();
    for (let i = 0; i < d.length; i += 4) seen.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
    return seen.size;
  });
  await browser.close();
  server.close();
  return result;
}

function check(result, backend) {
  console.log(`${backend}: first heatmap ${result.firstHeatmapMs} ms after page start (${result.wallMs} ms wall incl. load), probability ${result.probability}, dice ${result.dice}`);
  assert.equal(result.error, '', `page error: ${result.error}; console: ${result.consoleErrors.join(' | ')}`);
  assert.equal(result.backend, backend);
  const p = Number(result.probability);
  const d = Number(result.dice);
  assert.ok(p >= 0 && p <= 1, `probability ${result.probability}`);
  assert.ok(d >= 0 && d <= 1, `dice ${result.dice}`);
  const native = nativeResult();
  assert.ok(Math.abs(d - native.dice) <= 0.01, `page Dice ${d} vs native CLI ${native.dice}`);
  assert.ok(Math.abs(p - native.probability) <= 0.01, `page probability ${p} vs native CLI ${native.probability}`);
  assert.ok(result.canvasColours > 50, `canvas has only ${result.canvasColours} colours`);
  const outside = result.requests.filter((u) => !u.startsWith(result.origin + '/') && !u.startsWith('data:') && !u.startsWith('blob:'));
  assert.deepEqual(outside, [], 'requests left 127.0.0.1');
}

test('first page on WebGPU (software adapter)', async () => {
  check(await openPage(['--enable-unsafe-webgpu'], 'webgpu'), 'WebGPU');
});

test('first page falls back to CPU without WebGPU', async () => {
  check(await openPage([], 'cpu'), 'CPU');
});
