// Times lib.rs's wasm in Node (V8, as Chromium runs the worker): each of the LGG model's six
// 3x3 convolutions at batch 1 as a GEMM [out, in * 9] x [in * 9, h * w], median of 5 runs of 20.
import { readFileSync } from 'node:fs';

const { instance } = await WebAssembly.instantiate(readFileSync(process.argv[2]), {});
const layers = [[16, 9, 16384], [32, 144, 4096], [64, 288, 1024], [64, 576, 1024], [128, 576, 256], [128, 1152, 256]];
let totalMs = 0;
let totalMacs = 0;
for (const [m, k, n] of layers) {
  instance.exports.run(m, n, k, 3);
  const runs = [];
  for (let r = 0; r < 5; r++) {
    const start = performance.now();
    instance.exports.run(m, n, k, 20);
    runs.push((performance.now() - start) / 20);
  }
  const ms = runs.sort((a, b) => a - b)[2];
  totalMs += ms;
  totalMacs += m * n * k;
  console.log(`[${m}, ${k}] x [${k}, ${n}]: ${ms.toFixed(3)} ms, ${(2 * m * n * k / ms / 1e6).toFixed(1)} GFLOP/s`);
}
console.log(`the six together: ${totalMs.toFixed(2)} ms per image, ${(2 * totalMacs / totalMs / 1e6).toFixed(1)} GFLOP/s`);
