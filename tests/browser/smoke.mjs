// Development helper (not a test): opens the built page, waits for the first heatmap, prints
// what the page shows and saves a full-page screenshot. Usage: node smoke.mjs [cpu] [out.png]
import { chromium } from 'playwright-core';
import { serve } from './serve.mjs';
import path from 'node:path';

const cpu = process.argv[2] === 'cpu';
const out = process.argv[3] || '/tmp/smoke.png';
const server = await serve(path.resolve(import.meta.dirname, '../../dist'));
const flags = ['--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
if (!cpu) flags.push('--enable-unsafe-webgpu');
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: flags });
const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') console.log('console:', m.text().slice(0, 300)); });
const t0 = Date.now();
await page.goto(`http://127.0.0.1:${server.address().port}/`);
await page.waitForFunction(() => {
  const d = document.querySelector('[data-testid=dice]'); const e = document.querySelector('[data-testid=error]');
  return (d && d.textContent.trim() !== '') || (e && e.textContent.trim() !== '');
}, null, { timeout: 120000 });
console.log('first result after', Date.now() - t0, 'ms');
await page.waitForFunction(() => !document.querySelector('[data-testid=busy]'), null, { timeout: 120000 }).catch(() => console.log('still busy'));
for (const id of ['backend', 'model', 'probability', 'dice', 'iou', 'mean-dice', 'accuracy', 'status', 'first-heatmap-ms', 'error']) {
  console.log(id, '=', JSON.stringify((await page.textContent(`[data-testid=${id}]`).catch(() => null))?.trim()));
}
console.log('rows', await page.locator('[data-testid=batch-table] tbody tr').count());
await page.screenshot({ path: out, fullPage: true });
await browser.close();
server.close();
