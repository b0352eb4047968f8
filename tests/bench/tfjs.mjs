// camseg's page next to TensorFlow.js, in headless Debian Chromium, on the same network with
// the same weights (the shipped LGG model, exported by `camseg export`):
//   - TF.js 4.22 (@tensorflow/tfjs's bundle, whose webgl backend is tfjs-backend-webgl, plus
//     the tfjs-backend-wasm and tfjs-backend-webgpu bundles) on wasm (SIMD), webgl and
//     webgpu: ms per image, batch 1, of the forward pass (image to probabilities) and of
//     Grad-CAM at the last block (the tumour logit's gradient at the output of block index 3,
//     channel weights = mean gradient, ReLU of the weighted sum, enlarged bilinearly to the
//     128 px input), each result read back with data();
//   - camseg's page on ?backend=cpu and ?backend=webgpu, Grad-CAM at the last block over the
//     12 demo slices: the page's own "analysed N images in X ms" divided by N (that time also
//     holds preparing the input, enlarging the maps to 256 px and scoring the masks).
// Before timing, each TF.js backend's logits and Grad-CAM maps on camseg's 12 prepared demo
// inputs are compared with camseg's own (the run stops if the logits differ by more than 1e-3).
// Prints a table; asserts nothing else.
//
//   cd tests/bench && npm install && cd ../..
//   node tests/bench/tfjs.mjs [--rounds 3] [--images 12] [--only tfjs|camseg] [--cpu]
//
// --cpu times only TF.js's wasm backend and camseg's CPU path: the per-image target, in a
// minute rather than several. camseg's CPU path runs twice: as the browser gets it (the worker
// build with relaxed SIMD's fused multiply-add where the browser validates it) and with
// ?simd=plain (the build without).
//
// Needs a release build in dist/ and the debug CLI (CAMSEG_BIN, or target/debug/camseg).
// Everything is served from 127.0.0.1: the TF.js bundles and .wasm files are copied from
// tests/bench/node_modules into a temporary folder; no CDN.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { serve } from '../browser/serve.mjs';

const arg = (name, fallback) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : fallback; };
const ROUNDS = Number(arg('--rounds', 3));
const IMAGES = Number(arg('--images', 12));
const ONLY = arg('--only', null);
const ROOT = path.resolve(import.meta.dirname, '../..');
const DIST = path.join(ROOT, 'dist');
const CAMSEG = process.env.CAMSEG_BIN || path.join(ROOT, 'target/debug/camseg');
const TFJS = path.join(import.meta.dirname, 'node_modules/@tensorflow');
const CPU_ONLY = process.argv.includes('--cpu');
const TFJS_BACKENDS = CPU_ONLY ? ['wasm'] : ['wasm', 'webgl', 'webgpu'];
const CAMSEG_BACKENDS = CPU_ONLY ? ['cpu', 'cpu&simd=plain'] : ['cpu', 'cpu&simd=plain', 'webgpu'];
const LAST_BLOCK = 3;
// As tests/browser/helpers.mjs, plus WebGPU and WebGL on the software renderers.
const FLAGS = ['--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--enable-unsafe-webgpu', '--use-angle=swiftshader', '--enable-unsafe-swiftshader'];

// ---------- the weights, in Node ----------

/// camseg's weights under PyTorch's names, and its reference tensors, as a safetensors file.
function exportWeights(dir) {
  const out = path.join(dir, 'camseg.safetensors');
  execFileSync(CAMSEG, ['export', '--model', path.join(ROOT, 'static/models/lgg'), '--images', path.join(ROOT, 'static/demo/lgg/images'), '--out', out], { stdio: 'pipe' });
  return out;
}

/// safetensors: an 8-byte little-endian header length, a JSON header, then raw little-endian data.
function readSafetensors(file) {
  const bytes = fs.readFileSync(file);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8'));
  const tensors = new Map();
  for (const [name, { dtype, shape, data_offsets: [begin, end] }] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    if (dtype !== 'F32') throw new Error(`${name}: ${dtype}, expected F32`);
    const raw = bytes.subarray(8 + headerLength + begin, 8 + headerLength + end);
    tensors.set(name, { shape, data: new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length)) });
  }
  return tensors;
}

/// PyTorch's conv weight [out, in, kh, kw] as TF.js's filter [kh, kw, in, out].
function convFilter({ shape: [o, i, kh, kw], data }) {
  const out = new Float32Array(data.length);
  for (let a = 0; a < o; a++) for (let b = 0; b < i; b++) for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) {
    out[((y * kw + x) * i + b) * o + a] = data[((a * i + b) * kh + y) * kw + x];
  }
  return { shape: [kh, kw, i, o], data: out };
}

/// nn.Linear's weight [out, in] as the matrix [in, out] that x (a row per image) multiplies.
function transposed({ shape: [o, i], data }) {
  const out = new Float32Array(data.length);
  for (let a = 0; a < o; a++) for (let b = 0; b < i; b++) out[b * o + a] = data[a * i + b];
  return { shape: [i, o], data: out };
}

/// The network in TF.js's layouts, named by block and conv, with camseg's references: the
/// architecture is the card's (a max-pool before every block but the first; per conv: 3x3
/// without bias, batch norm, ReLU), the names are those `camseg export` gives (PyTorch's
/// nn.Sequential indices: the pool takes index 0 of blocks after the first).
function tfjsNetwork(tensors, { widths, convs }) {
  const net = { blocks: widths.length, convs, eps: 1e-5, tensors: {} };
  const put = (name, t) => { net.tensors[name] = t; };
  widths.forEach((_, k) => {
    const first = k > 0 ? 1 : 0;
    for (let i = 0; i < convs[k]; i++) {
      const conv = `features.${k}.${first + 3 * i}`;
      const bn = `features.${k}.${first + 3 * i + 1}`;
      put(`b${k}c${i}.filter`, convFilter(tensors.get(`${conv}.weight`)));
      for (const p of ['weight', 'bias', 'running_mean', 'running_var']) put(`b${k}c${i}.${p}`, tensors.get(`${bn}.${p}`));
    }
  });
  put('head.weight', transposed(tensors.get('head.weight')));
  put('head.bias', tensors.get('head.bias'));
  // [n, 1, h, w] is also [n, h, w, 1]: one channel.
  const inputs = tensors.get('reference.inputs');
  const [n, , h, w] = inputs.shape;
  put('reference.inputs', { shape: [n, h, w, 1], data: inputs.data });
  put('reference.logits', tensors.get('reference.logits'));
  put('reference.gradcam', tensors.get(`reference.gradcam.block${LAST_BLOCK}`));
  return net;
}

/// A folder for the TF.js pages: a page per backend, the wasm binaries, and the network as
/// net.json (shapes, offsets) + net.bin (float32). Every page loads @tensorflow/tfjs's bundle
/// (core with its gradients, which tfjs-core's own bundle leaves out, and the webgl backend),
/// then the wasm or webgpu backend's bundle.
function stageSite(dir, net) {
  const copy = (pkg, file) => fs.copyFileSync(path.join(TFJS, pkg, 'dist', file), path.join(dir, file));
  copy('tfjs', 'tf.min.js');
  for (const b of ['wasm', 'webgpu']) copy(`tfjs-backend-${b}`, `tf-backend-${b}.min.js`);
  for (const f of fs.readdirSync(path.join(TFJS, 'tfjs-backend-wasm/dist')).filter((f) => f.endsWith('.wasm'))) copy('tfjs-backend-wasm', f);
  const meta = { ...net, tensors: {} };
  const chunks = [];
  let offset = 0;
  for (const [name, { shape, data }] of Object.entries(net.tensors)) {
    meta.tensors[name] = { shape, offset, length: data.length };
    chunks.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    offset += data.length;
  }
  fs.writeFileSync(path.join(dir, 'net.bin'), Buffer.concat(chunks));
  fs.writeFileSync(path.join(dir, 'net.json'), JSON.stringify(meta));
  for (const b of TFJS_BACKENDS) {
    fs.writeFileSync(path.join(dir, `${b}.html`), `<!doctype html><meta charset="utf-8"><title>TF.js ${b}</title>
<link rel="icon" href="data:,"><script src="tf.min.js"></script>${b === 'webgl' ? '' : `<script src="tf-backend-${b}.min.js"></script>`}`);
  }
}

// ---------- TF.js, in the page ----------

/// Runs in the page (serialised by Playwright, so self-contained): defines window.bench.
function installBench() {
  const tf = window.tf;
  let net;

  async function load() {
    const meta = await (await fetch('net.json')).json();
    const all = new Float32Array(await (await fetch('net.bin')).arrayBuffer());
    const raw = {};
    for (const [name, { shape, offset, length }] of Object.entries(meta.tensors)) raw[name] = { shape, data: all.subarray(offset, offset + length) };
    return { ...meta, raw };
  }

  /// Why a backend would not start, where the browser can say.
  async function obstacle(backend) {
    if (backend === 'webgpu') {
      if (!navigator.gpu) return 'navigator.gpu is missing';
      if (!(await navigator.gpu.requestAdapter())) return 'no WebGPU adapter';
    }
    if (backend === 'webgl' && !document.createElement('canvas').getContext('webgl2')) return 'no WebGL2 context';
    return null;
  }

  /// The device under the backend, in words.
  async function device(backend) {
    if (backend === 'wasm') {
      const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
      const threads = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
      return `SIMD ${simd}, threads ${threads}`;
    }
    if (backend === 'webgl') {
      const gl = document.createElement('canvas').getContext('webgl2');
      const ext = gl.getExtension('WEBGL_debug_renderer_info');
      return `${ext ? gl.getParameter(ext.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER)}; float32 render ${tf.env().getBool('WEBGL_RENDER_FLOAT32_ENABLED')}`;
    }
    const info = (await navigator.gpu.requestAdapter()).info ?? {};
    return [info.vendor, info.architecture, info.description].filter(Boolean).join(' ');
  }

  async function start(backend) {
    const why = await obstacle(backend);
    if (why) return { error: why };
    if (backend === 'wasm') tf.wasm.setWasmPaths(location.origin + '/');
    let ok;
    try {
      ok = await tf.setBackend(backend);
    } catch (e) {
      return { error: String(e) };
    }
    if (!ok || tf.getBackend() !== backend) return { error: `tf.setBackend('${backend}') failed` };
    await tf.ready();
    const { raw, ...meta } = await load();
    const t = (name) => tf.tensor(raw[name].data, raw[name].shape);
    net = { ...meta, raw, w: {} };
    for (const name of Object.keys(raw)) if (!name.startsWith('reference.')) net.w[name] = t(name);
    return { device: await device(backend) };
  }

  /// Block `last`'s output: per block a 2x2 max-pool (not before the first), then per conv
  /// a 3x3 'same' convolution without bias, batch norm and ReLU.
  function features(x, last) {
    const w = net.w;
    for (let k = 0; k <= last; k++) {
      if (k > 0) x = tf.maxPool(x, 2, 2, 'valid');
      for (let i = 0; i < net.convs[k]; i++) {
        const p = `b${k}c${i}`;
        x = tf.relu(tf.batchNorm(tf.conv2d(x, w[`${p}.filter`], 1, 'same'), w[`${p}.running_mean`], w[`${p}.running_var`], w[`${p}.bias`], w[`${p}.weight`], net.eps));
      }
    }
    return x;
  }

  /// The rest of the network from the last block's output: global average pool, linear head.
  const head = (a) => tf.add(tf.matMul(tf.mean(a, [1, 2]), net.w['head.weight']), net.w['head.bias']);

  const forward = (x) => [tf.softmax(head(features(x, net.blocks - 1)))];

  /// Grad-CAM at the last block: the tumour logit's gradient at its output, averaged per
  /// channel, weighs the channels; ReLU of the sum. Raw ([n, h, w]) or enlarged to the input.
  function gradcam(x, enlarge = true) {
    const a = features(x, net.blocks - 1);
    const g = tf.grad((act) => tf.sum(tf.slice(head(act), [0, 1], [-1, 1])))(a);
    const weights = tf.mean(g, [1, 2], true);
    const map = tf.relu(tf.sum(tf.mul(a, weights), 3, true));
    const [, h, w] = x.shape;
    const cam = enlarge ? tf.image.resizeBilinear(map, [h, w], false, true) : tf.squeeze(map, [3]);
    return [cam, tf.softmax(head(a))];
  }

  /// Min-max to [0, 1] per map (a flat map becomes 0), as agreement.py compares maps.
  function scaled(values, size) {
    const out = new Float32Array(values.length);
    for (let s = 0; s < values.length; s += size) {
      const m = values.subarray(s, s + size);
      const lo = Math.min(...m), hi = Math.max(...m);
      for (let j = 0; j < size; j++) out[s + j] = hi - lo > 1e-12 ? (m[j] - lo) / (hi - lo) : 0;
    }
    return out;
  }

  const maxAbsDiff = (a, b) => a.reduce((m, v, j) => Math.max(m, Math.abs(v - b[j])), 0);

  /// TF.js's logits and raw Grad-CAM maps against camseg's, on camseg's 12 prepared inputs.
  async function check() {
    const ref = net.raw;
    const x = tf.tensor(ref['reference.inputs'].data, ref['reference.inputs'].shape);
    const logits = tf.tidy(() => head(features(x, net.blocks - 1)));
    const maps = tf.tidy(() => gradcam(x, false));
    const cam = maps[0];
    const size = ref['reference.gradcam'].shape[1] * ref['reference.gradcam'].shape[2];
    const out = {
      logits_max_abs_diff: maxAbsDiff(await logits.data(), ref['reference.logits'].data),
      gradcam_max_abs_diff: maxAbsDiff(scaled(await cam.data(), size), scaled(ref['reference.gradcam'].data, size)),
    };
    tf.dispose([x, logits, ...maps]);
    return out;
  }

  /// One image, batch 1: from its pixels to every output read back, in ms.
  async function once(f, i) {
    const input = net.raw['reference.inputs'];
    const [, h, w, c] = input.shape;
    const n = h * w * c;
    const t0 = performance.now();
    const outs = tf.tidy(() => f(tf.tensor(input.data.subarray(i * n, (i + 1) * n), [1, h, w, c])));
    for (const o of outs) await o.data();
    const ms = performance.now() - t0;
    tf.dispose(outs);
    return ms;
  }

  const task = (what) => (what === 'forward' ? forward : gradcam);
  const count = () => net.raw['reference.inputs'].shape[0];

  /// Each of the 12 images once, untimed: kernels compiled, memory allocated.
  async function warm(what) {
    for (let i = 0; i < count(); i++) await once(task(what), i);
  }

  /// Mean ms per image over `images` images, one at a time (cycling through the 12).
  async function time(what, images) {
    let total = 0;
    for (let i = 0; i < images; i++) total += await once(task(what), i % count());
    return total / images;
  }

  window.bench = { start, check, warm, time };
}

/// One TF.js backend in its own page: start, check against camseg, time.
async function timeTfjs(browser, origin, backend) {
  const page = await browser.newPage();
  const log = [];
  page.on('console', (m) => { if (m.type() === 'warning' || m.type() === 'error') log.push(m.text()); });
  page.on('pageerror', (e) => log.push(String(e)));
  page.on('response', (r) => { if (r.status() >= 400) log.push(`${r.status()} ${r.url()}`); });
  try {
    await page.goto(`${origin}/${backend}.html`);
    await page.evaluate(installBench);
    const started = await page.evaluate((b) => window.bench.start(b), backend);
    if (started.error) return { error: [started.error, ...log.slice(-1)].join('; ') };
    const check = await page.evaluate(() => window.bench.check());
    console.log(`TF.js ${backend} (${started.device}): logits max abs diff ${check.logits_max_abs_diff.toExponential(2)}, Grad-CAM (min-max scaled) ${check.gradcam_max_abs_diff.toExponential(2)}`);
    if (!(check.logits_max_abs_diff <= 1e-3)) {
      throw new Error(`TF.js ${backend}'s logits differ from camseg's by ${check.logits_max_abs_diff}: the network is not the same`);
    }
    await page.evaluate(async () => { await window.bench.warm('forward'); await window.bench.warm('gradcam'); });
    const forward = [];
    const gradcam = [];
    // Alternating, a round at a time, so that a slow spell of the machine hits both.
    for (let r = 0; r < ROUNDS; r++) {
      forward.push(await page.evaluate((n) => window.bench.time('forward', n), IMAGES));
      gradcam.push(await page.evaluate((n) => window.bench.time('gradcam', n), IMAGES));
    }
    return { device: started.device, check, forward, gradcam };
  } catch (e) {
    if (/not the same/.test(e.message)) throw e;
    return { error: [e.message.split('\n')[0], ...log.slice(-1)].join('; ') };
  } finally {
    await page.close();
  }
}

// ---------- camseg's page ----------

/// Waits for dist/ (the other engineer may be rebuilding it).
async function waitForDist(minutes = 10) {
  for (let t = 0; t < minutes * 12; t++) {
    if (fs.existsSync(path.join(DIST, 'index.html')) && fs.readdirSync(DIST).some((f) => f.endsWith('.wasm'))) return;
    await new Promise((r) => setTimeout(r, 5000));
  }
  throw new Error('dist/ holds no release build (trunk build --release)');
}

/// Counts the busy indicator's appearances (window.__busy) from now on: an analysis shows it
/// after its first image, and the status may read the same before and after.
const watchBusy = (page) => page.evaluate(() => {
  window.__busy = 0;
  let shown = !!document.querySelector('[data-testid=busy]');
  new MutationObserver(() => {
    const now = !!document.querySelector('[data-testid=busy]');
    if (now && !shown) window.__busy++;
    shown = now;
  }).observe(document.body, { childList: true, subtree: true });
});

/// Waits for the end of an analysis begun after the busy count was `mark` (-1: any, the
/// page's first): the page's "analysed N images in X ms on B".
async function nextAnalysis(page, mark) {
  const handle = await page.waitForFunction((m) => {
    const error = document.querySelector('[data-testid=error]')?.textContent.trim();
    if (error) return { error };
    const status = document.querySelector('[data-testid=status]')?.textContent ?? '';
    const idle = (window.__busy ?? 0) > m && !document.querySelector('[data-testid=busy]');
    return idle && /^analysed \d+ images in \d+ ms/.test(status) ? { status } : null;
  }, mark, { timeout: 600_000 });
  const { error, status } = await handle.jsonValue();
  if (error) throw new Error(error);
  const [, images, ms, backend] = status.match(/^analysed (\d+) images in (\d+) ms on (.+)$/);
  return { images: Number(images), ms: Number(ms), backend };
}

/// Settles on the page's default analysis of the demo set, then times Grad-CAM at the last
/// block: once as warm-up, then once per round (the layer picker set to the block before the
/// last and back in one go; the worker drops the first request for the second).
async function timeCamseg(browser, origin, backend) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
  const page = await context.newPage();
  const log = [];
  page.on('pageerror', (e) => log.push(String(e)));
  try {
    await page.goto(`${origin}/?backend=${backend}`);
    await nextAnalysis(page, -1);
    await watchBusy(page);
    let mark = 0;
    await page.selectOption('[data-testid=method]', 'gradcam');
    await page.selectOption('[data-testid=layer]', String(LAST_BLOCK));
    const warm = await nextAnalysis(page, mark);
    console.log(`camseg ${backend}: page says ${warm.backend}; warm-up analysis ${warm.ms} ms for ${warm.images} images`);
    const perImage = [];
    for (let r = 0; r < ROUNDS; r++) {
      mark = await page.evaluate(() => window.__busy);
      await page.evaluate((last) => {
        const layer = document.querySelector('[data-testid=layer]');
        for (const v of [String(last - 1), String(last)]) {
          layer.value = v;
          layer.dispatchEvent(new Event('change', { bubbles: true }));
        }
      }, LAST_BLOCK);
      const run = await nextAnalysis(page, mark);
      if (run.images !== warm.images) throw new Error(`a round analysed ${run.images} images, not ${warm.images}`);
      perImage.push(run.ms / run.images);
    }
    const shown = await page.evaluate(() => [document.querySelector('[data-testid=method]').value, document.querySelector('[data-testid=layer]').value]);
    if (shown.join() !== `gradcam,${LAST_BLOCK}`) throw new Error(`the page shows ${shown.join(', block ')}, not Grad-CAM at block ${LAST_BLOCK}`);
    return { device: warm.backend, images: warm.images, gradcam: perImage };
  } catch (e) {
    return { error: [e.message.split('\n')[0], ...log.slice(-1)].join('; ') };
  } finally {
    await context.close();
  }
}

// ---------- the table ----------

const median = (v) => { const s = [...v].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const ms = (v) => `${median(v).toFixed(1)} (${v.map((x) => x.toFixed(1)).join(', ')})`;

/// Rows: TF.js forward and Grad-CAM per backend, camseg's Grad-CAM per backend. Ratios: the
/// row's median over TF.js's best median for the same task, and (camseg's rows) over TF.js's
/// Grad-CAM on the same kind of device (CPU: wasm; WebGPU: webgpu). Above 1: slower.
function table(tfjs, camseg) {
  const good = (r) => r && !r.error;
  const best = (task) => Math.min(...Object.values(tfjs).filter(good).map((r) => median(r[task])));
  const ratio = (v, b) => (Number.isFinite(b) ? (median(v) / b).toFixed(2) : '–');
  const rows = [];
  const row = (label, r, task, peer) => {
    if (r.error) return rows.push(`| ${label} | not available: ${r.error} | | | |`);
    const same = peer === undefined ? '' : good(peer) ? ratio(r[task], median(peer[task])) : '–';
    rows.push(`| ${label} | ${ms(r[task])} | ${ratio(r[task], best(task))} | ${same} | ${r.device} |`);
  };
  for (const task of ['forward', 'gradcam']) for (const [b, r] of Object.entries(tfjs)) row(`TF.js ${b}, ${task === 'forward' ? 'forward' : 'Grad-CAM'}`, r, task);
  for (const [b, r] of Object.entries(camseg)) row(`camseg ${b.startsWith('cpu') ? 'CPU' : 'WebGPU'} (?backend=${b}), Grad-CAM`, r, 'gradcam', tfjs[b.startsWith('cpu') ? 'wasm' : 'webgpu'] ?? null);
  return [
    `| | ms per image: median (each round) | ratio to TF.js's best, same task | ratio to TF.js on the same kind of device | device |`,
    '|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}

// ---------- main ----------

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'camseg-tfjs-'));
const tensors = readSafetensors(exportWeights(tmp));
const card = JSON.parse(fs.readFileSync(path.join(ROOT, 'static/models/lgg.json'), 'utf8'));
const site = path.join(tmp, 'site');
fs.mkdirSync(site);
stageSite(site, tfjsNetwork(tensors, card.architecture));
await waitForDist();
const [tfjsServer, distServer] = await Promise.all([serve(site), serve(DIST)]);
const at = (server) => `http://127.0.0.1:${server.address().port}`;
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: FLAGS });
try {
  console.log(`Chromium ${browser.version()}; TF.js ${JSON.parse(fs.readFileSync(path.join(TFJS, 'tfjs/package.json'))).version}; ${ROUNDS} rounds of ${IMAGES} images, batch 1`);
  const tfjs = {};
  if (ONLY !== 'camseg') for (const b of TFJS_BACKENDS) tfjs[b] = await timeTfjs(browser, at(tfjsServer), b);
  const camseg = {};
  if (ONLY !== 'tfjs') for (const b of CAMSEG_BACKENDS) camseg[b] = await timeCamseg(browser, at(distServer), b);
  console.log(`camseg's page: Grad-CAM at block index ${LAST_BLOCK} (the last) over ${camseg.cpu?.images ?? camseg.webgpu?.images ?? '?'} demo slices per round (its time includes preparing the input, enlarging to 256 px and scoring the masks)`);
  console.log(table(tfjs, camseg));
} finally {
  await browser.close();
  tfjsServer.close();
  distServer.close();
  fs.rmSync(tmp, { recursive: true, force: true });
}
