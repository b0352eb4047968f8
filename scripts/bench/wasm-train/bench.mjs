// Times lib.rs's wasm in Node (V8, as Chromium runs the worker): the training step of the LGG
// network at 128 px, layer by layer, for a batch of 8, the convolutions with the page's tiled
// kernel and with the `gemm` crate's in turn (this machine's speed drifts: side by side in one
// run); prints ms per image of each part and the images/s the layers allow. Median of 3 runs.
import { readFileSync } from 'node:fs';

const { instance } = await WebAssembly.instantiate(readFileSync(process.argv[2]), {});
const x = instance.exports;
const n = 8;
for (const [c, h, w] of [[3, 8, 8], [2, 6, 18], [1, 7, 5], [4, 32, 34]]) {
  const off = x.pool_disagreement(c, h, w);
  if (off !== 0) throw new Error(`max pooling in SIMD lanes differs from the plain comparisons by ${off} on ${c} x ${h} x ${w}`);
}
// [inputs, out, h, pooled before]
const layers = [[1, 16, 128, false], [16, 32, 64, true], [32, 64, 32, true], [64, 64, 32, false], [64, 128, 16, true], [128, 128, 16, false]];

function perImage(call) {
  call(1);
  const runs = [];
  for (let r = 0; r < 3; r++) {
    const start = performance.now();
    call(2);
    runs.push((performance.now() - start) / 2 / n);
  }
  return runs.sort((a, b) => a - b)[1];
}

const totals = { tiled: 0, gemm: 0, tiledBackward: 0, gemmBackward: 0, norm: 0, pool: 0 };
for (const [inputs, out, h, pooled] of layers) {
  const f = {
    tiled: perImage((iters) => x.conv(true, inputs, out, h, n, iters)),
    gemm: perImage((iters) => x.conv(false, inputs, out, h, n, iters)),
    tiledBackward: perImage((iters) => x.conv_backward(true, inputs, out, h, n, inputs > 1, iters)),
    gemmBackward: perImage((iters) => x.conv_backward(false, inputs, out, h, n, inputs > 1, iters)),
    norm: perImage((iters) => x.norm(out, h, n, iters)),
    pool: pooled ? perImage((iters) => x.pool(inputs, 2 * h, n, iters)) : 0,
  };
  Object.entries(f).forEach(([k, v]) => { totals[k] += v; });
  console.log(`${inputs} -> ${out} at ${h} px, ms per image: conv ${f.tiled.toFixed(2)} tiled / ${f.gemm.toFixed(2)} gemm, backward ${f.tiledBackward.toFixed(2)} / ${f.gemmBackward.toFixed(2)}, norm + ReLU both ways ${f.norm.toFixed(2)}, pool both ways ${f.pool.toFixed(2)}`);
}
const rest = totals.norm + totals.pool;
const all = (kernel) => totals[kernel] + totals[`${kernel}Backward`] + rest;
console.log(`per image: conv ${totals.tiled.toFixed(1)} ms tiled / ${totals.gemm.toFixed(1)} gemm, conv backward ${totals.tiledBackward.toFixed(1)} / ${totals.gemmBackward.toFixed(1)}, norm ${totals.norm.toFixed(1)}, pool ${totals.pool.toFixed(1)}`);
console.log(`the layers alone allow ${(1000 / all('tiled')).toFixed(1)} images/s with the tiled kernel, ${(1000 / all('gemm')).toFixed(1)} with gemm's`);
