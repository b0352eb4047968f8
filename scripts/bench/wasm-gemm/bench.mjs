// Times lib.rs's wasm in Node (V8, as Chromium runs the worker): each of the LGG model's six
// 3x3 convolutions at batch 1 as a product [out, in * 9] x [in * 9, h * w], with the `gemm`
// crate and with the page's tiled kernel; median of 5 runs of 20.
import { readFileSync } from 'node:fs';

const { instance } = await WebAssembly.instantiate(readFileSync(process.argv[2]), {});
const layers = [[16, 9, 16384], [32, 144, 4096], [64, 288, 1024], [64, 576, 1024], [128, 576, 256], [128, 1152, 256]];

function median(call) {
  call(3);
  const runs = [];
  for (let r = 0; r < 5; r++) {
    const start = performance.now();
    call(20);
    runs.push((performance.now() - start) / 20);
  }
  return runs.sort((a, b) => a - b)[2];
}

const totals = { gemm: 0, tiled: 0, pack: 0 };
let totalMacs = 0;
let worst = 0;
for (const [m, k, n] of layers) {
  const gemm = median((iters) => instance.exports.run(m, n, k, iters));
  const tiled = median((iters) => { worst = Math.max(worst, instance.exports.run_tiled(m, n, k, iters)); });
  totals.pack += median((iters) => instance.exports.run_pack(m, k, iters));
  totals.gemm += gemm;
  totals.tiled += tiled;
  totalMacs += m * n * k;
  const rate = (ms) => (2 * m * n * k / ms / 1e6).toFixed(1);
  console.log(`[${m}, ${k}] x [${k}, ${n}]: gemm ${gemm.toFixed(3)} ms (${rate(gemm)} GFLOP/s), tiled ${tiled.toFixed(3)} ms (${rate(tiled)} GFLOP/s)`);
}
const rate = (ms) => (2 * totalMacs / ms / 1e6).toFixed(1);
console.log(`the six together: gemm ${totals.gemm.toFixed(2)} ms per image (${rate(totals.gemm)} GFLOP/s), tiled ${totals.tiled.toFixed(2)} ms (${rate(totals.tiled)} GFLOP/s)`);
console.log(`packing the six layers' weights for the tiled kernel: ${totals.pack.toFixed(3)} ms`);
console.log(`largest difference, tiled against ReLU(gemm): ${worst.toExponential(2)}`);
// im2col for the same six layers: [inputs, side] of the planes each product reads.
const inputs = [[1, 128], [16, 64], [32, 32], [64, 32], [64, 16], [128, 16]];
const im2col = inputs.reduce((sum, [c, h]) => sum + median((iters) => instance.exports.run_im2col(c, h, iters)), 0);
console.log(`im2col into the tiled kernel's panels, the six layers: ${im2col.toFixed(3)} ms per image`);
// The convolutions whole: the image's im2col then the products, against panel by panel.
const convs = [[1, 16, 128], [16, 32, 64], [32, 64, 32], [64, 64, 32], [64, 128, 16], [128, 128, 16]];
const conv = (fused) => convs.reduce((sum, [c, o, h]) => sum + median((iters) => instance.exports.run_conv(c, o, h, fused, iters)), 0);
const [whole, fused, whole2, fused2] = [conv(false), conv(true), conv(false), conv(true)];
console.log(`the six convolutions, im2col of the whole image then products: ${whole.toFixed(2)} / ${whole2.toFixed(2)} ms per image; panel by panel: ${fused.toFixed(2)} / ${fused2.toFixed(2)} ms`);
if (instance.exports.run_conv(64, 64, 32, true, 1) !== instance.exports.run_conv(64, 64, 32, false, 1)) throw new Error('panel by panel differs from the whole image');
