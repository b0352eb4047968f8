// WebGPU failing under the worker (software adapter, forced with ?backend=webgpu): a buffer map
// that rejects, a buffer that cannot be created, the device destroyed in the middle of an
// analysis. Each fault is put into the worker's own WebGPU prototypes (the wasm calls through
// them) once the demo is analysed on WebGPU. Each time the page goes on on the CPU with every
// image and right results, and fine-tuning still runs to its end.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openApp, settled, text, cli, diceOf, upload, lggStyleTiffPair, writeTemp, outside } from './helpers.mjs';

const rows = (page) => page.locator('[data-testid=batch-table] tbody tr');
const near = (a, b, what) => assert.ok(Math.abs(a - b) <= 0.01, `${what}: ${a} vs ${b}`);
/// Every row has its probability and nothing is under way (`settled` stops at an error shown,
/// and here the page shows one: what failed).
const allAnalysed = (page) => page.waitForFunction(() => {
  const cells = [...document.querySelectorAll('[data-testid=batch-table] tbody tr td:nth-child(2)')];
  return cells.length > 0 && cells.every((td) => td.textContent !== '…') && !document.querySelector('[data-testid=busy]');
}, null, { timeout: 180_000 });

/// Run inside the worker: one fault, counted in `self.__fault`.
const FAULTS = {
  // Every map after the first rejects (reading a result back fails).
  map: () => {
    const map = GPUBuffer.prototype.mapAsync;
    self.__fault = { calls: 0, fired: 0 };
    GPUBuffer.prototype.mapAsync = function (...args) {
      if (++self.__fault.calls > 1) {
        self.__fault.fired++;
        return Promise.reject(new DOMException('injected: mapAsync failed', 'OperationError'));
      }
      return map.apply(this, args);
    };
  },
  // Every buffer after the first cannot be created. An analysis reuses pooled buffers, so this
  // fires in a fine-tune, which allocates new ones.
  create: () => {
    const create = GPUDevice.prototype.createBuffer;
    self.__fault = { calls: 0, fired: 0 };
    GPUDevice.prototype.createBuffer = function (...args) {
      if (++self.__fault.calls > 1) {
        self.__fault.fired++;
        throw new DOMException('injected: createBuffer failed', 'OperationError');
      }
      return create.apply(this, args);
    };
  },
  // The device is destroyed as the third command encoder is made.
  destroy: () => {
    const encoder = GPUDevice.prototype.createCommandEncoder;
    self.__fault = { calls: 0, fired: 0 };
    GPUDevice.prototype.createCommandEncoder = function (...args) {
      if (++self.__fault.calls === 3) {
        self.__fault.fired++;
        this.destroy();
      }
      return encoder.apply(this, args);
    };
  },
};

/// Six slices with a lesion and three without (fine-tuning needs both).
const slices = Array.from({ length: 9 }, (_, k) => ({ name: `lost_${k}`, tumour: k < 6, ...lggStyleTiffPair(256, k < 6 ? [0.35 + 0.06 * k, 0.3 + 0.07 * k, 0.06 + 0.01 * (k % 3)] : [-1, -1, 0.1]) }));
const files = slices.flatMap((s) => [upload(`${s.name}.tif`, s.image, 'image/tiff'), upload(`${s.name}_mask.tif`, s.mask, 'image/tiff')]);

async function onWebGpuWith(fault, body) {
  const app = await openApp({ gpu: true, query: '?backend=webgpu' });
  try {
    const { page } = app;
    await settled(page);
    assert.equal(await text(page, 'backend'), 'WebGPU');
    const [worker] = page.workers();
    await worker.evaluate(FAULTS[fault]);
    await body(page, worker);
    // Whatever happened, the page is on the CPU, has every image analysed, and fine-tunes.
    await page.waitForFunction(() => document.querySelector('[data-testid=backend]').textContent === 'CPU', null, { timeout: 180_000 });
    await allAnalysed(page);
    assert.equal(await page.locator('[data-testid=finetune-start]').isDisabled(), false, 'the fine-tune panel is usable');
    await page.fill('[data-testid=finetune-epochs]', '1');
    await page.locator('[data-testid=finetune-epochs]').dispatchEvent('change');
    await page.click('[data-testid=finetune-start]');
    await page.waitForFunction(() => !document.querySelector('[data-testid=finetune-keep]').disabled, null, { timeout: 240_000 });
    assert.notEqual(await text(page, 'finetune-accuracy-after'), '–');
    assert.equal(await text(page, 'backend'), 'CPU');
    assert.deepEqual(outside(app), [], 'requests left the origin');
  } finally {
    await app.close();
  }
}

/// Slices uploaded on the failing device end up analysed on the CPU, each with its own results.
async function slicesSurvive(page, worker, name) {
  await page.setInputFiles('[data-testid=file-input]', files);
  await page.waitForFunction(() => document.querySelector('[data-testid=backend]').textContent === 'CPU', null, { timeout: 180_000 });
  const fault = await worker.evaluate(() => self.__fault);
  assert.ok(fault.fired >= 1, `the fault fired: ${JSON.stringify(fault)}`);
  const error = await text(page, 'error');
  console.log(`${name}: ${JSON.stringify(fault)}; the page says: ${error.replace(/\s+/g, ' ').slice(0, 300)}`);
  assert.match(error, /WebGPU failed.*Continuing on the CPU; your images are kept and re-analysed/s);
  await allAnalysed(page);
  assert.equal(await rows(page).count(), slices.length);
  for (const s of slices) {
    await rows(page).filter({ hasText: `${s.name}.tif` }).click();
    const ref = cli(writeTemp(`${s.name}.tif`, s.image), writeTemp(`${s.name}_mask.tif`, s.mask));
    near(Number(await text(page, 'probability')), ref.probability, `${s.name} probability`);
    if (s.tumour) near(await diceOf(page), ref.dice, `${s.name} Dice`);
  }
}

test('WebGPU buffer maps start failing during an analysis: the page goes on on the CPU', async () => {
  await onWebGpuWith('map', (page, worker) => slicesSurvive(page, worker, 'mapAsync rejects'));
});

test('the WebGPU device is destroyed during an analysis: the page goes on on the CPU', async () => {
  await onWebGpuWith('destroy', (page, worker) => slicesSurvive(page, worker, 'device.destroy()'));
});

test('WebGPU buffers cannot be created during a fine-tune: a new worker on the CPU keeps the images', async () => {
  await onWebGpuWith('create', async (page) => {
    const before = await text(page, 'mean-dice');
    await page.fill('[data-testid=finetune-epochs]', '1');
    await page.locator('[data-testid=finetune-epochs]').dispatchEvent('change');
    await page.click('[data-testid=finetune-start]');
    // wgpu unwraps createBuffer's error: a panic, so the worker dies and is replaced.
    await page.waitForFunction(() => document.querySelector('[data-testid=backend]').textContent === 'CPU', null, { timeout: 180_000 });
    const error = await text(page, 'error');
    console.log(`createBuffer throws: the page says: ${error.replace(/\s+/g, ' ').slice(0, 300)}`);
    assert.match(error, /worker stopped.*restarted on the CPU/s);
    assert.match(await page.locator('.finetune .note').textContent(), /cancelled/);
    await allAnalysed(page);
    assert.equal(await rows(page).count(), 12);
    near(Number(await text(page, 'mean-dice')), Number(before), 'mean Dice after the restart vs before');
  });
});

test('the WebGPU device is destroyed during a fine-tune: the page goes on on the CPU', async () => {
  await onWebGpuWith('destroy', async (page, worker) => {
    const before = await text(page, 'mean-dice');
    await page.fill('[data-testid=finetune-epochs]', '1');
    await page.locator('[data-testid=finetune-epochs]').dispatchEvent('change');
    // The demo is analysed, so the fine-tune makes the next command encoders: the device dies
    // in its first steps.
    await page.click('[data-testid=finetune-start]');
    await page.waitForFunction(() => document.querySelector('[data-testid=backend]').textContent === 'CPU', null, { timeout: 180_000 });
    const fault = await worker.evaluate(() => self.__fault).catch(() => ({ fired: 'the worker was replaced' }));
    const error = await text(page, 'error');
    console.log(`device.destroy() mid-fine-tune: ${JSON.stringify(fault)}; the page says: ${error.replace(/\s+/g, ' ').slice(0, 300)}`);
    assert.match(error, /WebGPU failed|worker stopped/);
    assert.doesNotMatch(await page.locator('.finetune .note').textContent(), /step \d+\//, 'the panel is not left running');
    await allAnalysed(page);
    assert.equal(await rows(page).count(), 12);
    near(Number(await text(page, 'mean-dice')), Number(before), 'mean Dice on the CPU vs on WebGPU');
  });
});
