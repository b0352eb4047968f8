// Times lib.rs's wasm in Node (V8, as Chromium runs the worker): the training step of the LGG
// network at 128 px, layer by layer, for a batch of 32 (as the page trains), the convolutions with the `gemm` crate's
// kernel, the page's tiled one and Winograd's around it in turn (this machine's speed drifts: side by side in one
// run); prints ms per image of each part and the images/s the layers allow. Median of 3 runs.
import { readFileSync } from 'node:fs';

const { instance } = await WebAssembly.instantiate(readFileSync(process.argv[2]), {});
const x = instance.exports;
const n = 32;
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

const kernels = { gemm: 0, tiled: 1, winograd: 2 };
const totals = { norm: 0, pool: 0 };
for (const k of Object.keys(kernels)) { totals[k] = 0; totals[`${k}Backward`] = 0; }
for (const [inputs, out, h, pooled] of layers) {
  const f = {
    norm: perImage((iters) => x.norm(out, h, n, iters)),
    pool: pooled ? perImage((iters) => x.pool(inputs, 2 * h, n, iters)) : 0,
  };
  for (const [k, which] of Object.entries(kernels)) {
    f[k] = perImage((iters) => x.conv(which, inputs, out, h, n, iters));
    f[`${k}Backward`] = perImage((iters) => x.conv_backward(which, inputs, out, h, n, inputs > 1, iters));
  }
  Object.entries(f).forEach(([k, v]) => { totals[k] += v; });
  const each = (suffix) => Object.keys(kernels).map((k) => f[k + suffix].toFixed(2)).join(' / ');
  console.log(`${inputs} -> ${out} at ${h} px, ms per image (gemm / tiled / winograd): conv ${each('')}, backward ${each('Backward')}, norm + ReLU both ways ${f.norm.toFixed(2)}, pool both ways ${f.pool.toFixed(2)}`);
}
const rest = totals.norm + totals.pool;
const all = (kernel) => totals[kernel] + totals[`${kernel}Backward`] + rest;
const sum = (suffix) => Object.keys(kernels).map((k) => totals[k + suffix].toFixed(1)).join(' / ');
console.log(`per image (gemm / tiled / winograd): conv ${sum('')} ms, conv backward ${sum('Backward')}, norm ${totals.norm.toFixed(1)}, pool ${totals.pool.toFixed(1)}`);
console.log(`the layers alone allow ${Object.keys(kernels).map((k) => `${(1000 / all(k)).toFixed(1)} images/s with ${k}`).join(', ')}`);

// Inference (the page's CAM forward pass, one image at a time): F(2x2, 3x3) against F(4x4, 3x3)
// on the layers Winograd takes (8 or more input channels).
const inference = { two: 0, four: 0 };
for (const [inputs, out, h] of layers.filter(([inputs]) => inputs >= 8)) {
  const off = x.inference_disagreement(inputs, out, h);
  const two = perImage((iters) => x.conv_inference(false, inputs, out, h, n, iters));
  const four = perImage((iters) => x.conv_inference(true, inputs, out, h, n, iters));
  inference.two += two; inference.four += four;
  console.log(`inference ${inputs} -> ${out} at ${h} px, ms per image: F(2x2) ${two.toFixed(3)}, F(4x4) ${four.toFixed(3)} (largest difference ${off.toExponential(1)})`);
}
console.log(`inference, the five Winograd layers, ms per image: F(2x2) ${inference.two.toFixed(2)}, F(4x4) ${inference.four.toFixed(2)}`);
