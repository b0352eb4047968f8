// CPU profile of camseg's worker during one Grad-CAM analysis of the 12 demo slices at the
// last block (?backend=cpu), from the DevTools protocol: self time by function, top 30.
// Build the worker without wasm-opt, so that its wasm keeps its function names, into a folder
// of its own (then undo the edit):
//   sed -i '/camseg-worker/s/data-wasm-opt="z"/data-wasm-opt="0"/' index.html
//   trunk build --release --dist /tmp/distprof && git checkout index.html
//   node tests/bench/profile-worker.mjs /tmp/distprof
// Needs tests/bench's packages (npm install there). Samples every 100 us; the first request
// (block index 2) is replaced by the second (block 3) but may run a step, as in the page.
import { chromium } from 'playwright-core';
import { serve } from '../browser/serve.mjs';

const DIST = process.argv[2] || 'dist';
const server = await serve(DIST);
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
const page = await browser.newPage();
const cdp = await page.context().newCDPSession(page);
let worker = null;
let next = 1;
const pending = new Map();
cdp.on('Target.attachedToTarget', ({ sessionId, targetInfo }) => { if (targetInfo.type === 'worker') worker = sessionId; });
cdp.on('Target.receivedMessageFromTarget', ({ message }) => {
  const m = JSON.parse(message);
  if (m.id && pending.has(m.id)) { pending.get(m.id)(m.result); pending.delete(m.id); }
});
const toWorker = (method, params = {}) => new Promise((resolve) => {
  const id = next++;
  pending.set(id, resolve);
  cdp.send('Target.sendMessageToTarget', { sessionId: worker, message: JSON.stringify({ id, method, params }) });
});
await cdp.send('Target.setAutoAttach', { autoAttach: true, waitForDebuggerOnStart: false, flatten: false });
await page.goto(`http://127.0.0.1:${server.address().port}/?backend=cpu`);
const analysed = () => page.waitForFunction(() => /^analysed \d+ images in \d+ ms/.test(document.querySelector('[data-testid=status]')?.textContent ?? '') && !document.querySelector('[data-testid=busy]'), null, { timeout: 300_000 });
await analysed();
await page.selectOption('[data-testid=method]', 'gradcam');
await page.selectOption('[data-testid=layer]', '3');
await page.waitForTimeout(500);
await analysed();
console.log('warm:', await page.textContent('[data-testid=status]'));
await toWorker('Profiler.enable');
await toWorker('Profiler.setSamplingInterval', { interval: 100 });
await toWorker('Profiler.start');
await page.selectOption('[data-testid=layer]', '2');
await page.waitForTimeout(300);
await analysed();
await page.selectOption('[data-testid=layer]', '3');
await page.waitForTimeout(300);
await analysed();
console.log('profiled:', await page.textContent('[data-testid=status]'));
const { profile } = await toWorker('Profiler.stop');
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map();
const dt = profile.timeDeltas;
profile.samples.forEach((id, i) => {
  const name = byId.get(id).callFrame.functionName || '(anonymous)';
  self.set(name, (self.get(name) ?? 0) + (dt[i] ?? 0));
});
const total = [...self.values()].reduce((a, b) => a + b, 0);
for (const [name, us] of [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 30)) {
  console.log(`${(100 * us / total).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(1).padStart(7)} ms  ${name.slice(0, 140)}`);
}
await browser.close();
server.close();
