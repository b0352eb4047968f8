//! `run(m, n, k, iters)`: `iters` row-major products [m, k] x [k, n] -> [m, n] with the `gemm`
//! crate, one thread, as the CLI's inference path calls it; `run_tiled`: the page's kernel. Timed from JavaScript.

#[no_mangle]
pub extern "C" fn run(m: usize, n: usize, k: usize, iters: usize) -> f32 {
    let lhs = vec![0.5f32; m * k];
    let rhs = vec![0.25f32; k * n];
    let mut dst = vec![0.0f32; m * n];
    for _ in 0..iters {
        // SAFETY: the three buffers are exactly [m, k], [k, n] and [m, n], row-major.
        unsafe {
            gemm::gemm(
                m, n, k,
                dst.as_mut_ptr(), 1, n as isize, false,
                lhs.as_ptr(), 1, k as isize,
                rhs.as_ptr(), 1, n as isize,
                0.0, 1.0, false, false, false, gemm::Parallelism::None,
            );
        }
    }
    dst[0]
}

/// The page's own kernel (`crates/model/src/inference/tiled.rs`), compiled here as it is there.
#[path = "../../../crates/model/src/inference/tiled.rs"]
#[allow(dead_code)]
mod tiled;

fn test_values(len: usize, seed: u32) -> Vec<f32> {
    (0..len as u32).map(|i| ((i.wrapping_mul(2_654_435_761).wrapping_add(seed) >> 16) % 1000) as f32 / 500.0 - 1.0).collect()
}

/// `iters` products [m, k] x [k, n] with the page's tiled kernel (bias 0, ReLU), the columns
/// already in its panels; returns the largest difference from ReLU of the `gemm` crate's result.
#[no_mangle]
pub extern "C" fn run_tiled(m: usize, n: usize, k: usize, iters: usize) -> f32 {
    let (lhs, rhs) = (test_values(m * k, 1), test_values(k * n, 2));
    let mut want = vec![0.0f32; m * n];
    // SAFETY: as in `run`.
    unsafe {
        gemm::gemm(m, n, k, want.as_mut_ptr(), 1, n as isize, false, lhs.as_ptr(), 1, k as isize, rhs.as_ptr(), 1, n as isize, 0.0, 1.0, false, false, false, gemm::Parallelism::None);
    }
    // Row-major [k, n] as the panels im2col writes: [n / COLS][k][COLS].
    let mut panels = vec![0.0f32; k * n];
    for (j, panel) in panels.chunks_exact_mut(k * tiled::COLS).enumerate() {
        for (kk, dst) in panel.chunks_exact_mut(tiled::COLS).enumerate() {
            dst.copy_from_slice(&rhs[kk * n + j * tiled::COLS..][..tiled::COLS]);
        }
    }
    let packed = tiled::pack_weights(&lhs, m, k);
    let bias = vec![0.0f32; m];
    let mut dst = vec![0.0f32; m * n];
    for _ in 0..iters {
        tiled::product(&packed, m, k, &panels, n, &mut dst, tiled::Store::BiasRelu(&bias));
    }
    dst.iter().zip(&want).map(|(a, b)| (a - b.max(0.0)).abs()).fold(0.0, f32::max)
}

/// `iters` packings of an [m, k] weight matrix for the tiled kernel: what folding the weights
/// per call, rather than once per model, costs (the fold itself is one multiply per weight more).
#[no_mangle]
pub extern "C" fn run_pack(m: usize, k: usize, iters: usize) -> f32 {
    let weights = test_values(m * k, 3);
    let mut last = 0.0;
    for _ in 0..iters {
        last += tiled::pack_weights(&weights, m, k)[k];
    }
    last
}

/// `iters` im2col passes of one image of `inputs` planes of `h` x `h` into the tiled kernel's
/// panels, as the worker makes them before each product.
#[no_mangle]
pub extern "C" fn run_im2col(inputs: usize, h: usize, iters: usize) -> f32 {
    let image = test_values(inputs * h * h, 3);
    let mut panels = vec![0.0f32; inputs * 9 * h * h];
    let mut total = 0.0;
    for _ in 0..iters {
        tiled::im2col_panels(&image, inputs, h, h, &mut panels);
        total += panels[panels.len() / 2];
    }
    total
}

/// `iters` convolutions of one image (`inputs` -> `out` channels, `h` x `h`) as the worker runs
/// them: im2col of the whole image then the products (`fused` false), or panel by panel.
#[no_mangle]
pub extern "C" fn run_conv(inputs: usize, out: usize, h: usize, fused: bool, iters: usize) -> f32 {
    let (image, weights) = (test_values(inputs * h * h, 4), test_values(out * inputs * 9, 5));
    let (packed, bias) = (tiled::pack_weights(&weights, out, inputs * 9), test_values(out, 6));
    let mut dst = vec![0.0f32; out * h * h];
    let mut columns = vec![0.0f32; inputs * 9 * h * h];
    let mut panel = Vec::new();
    let mut total = 0.0;
    for _ in 0..iters {
        if fused {
            tiled::conv_panels(&packed, out, &image, inputs, h, h, &mut panel, &mut dst, tiled::Store::BiasRelu(&bias));
        } else {
            tiled::im2col_panels(&image, inputs, h, h, &mut columns);
            tiled::product(&packed, out, inputs * 9, &columns, h * h, &mut dst, tiled::Store::BiasRelu(&bias));
        }
        total += dst[dst.len() / 2];
    }
    total
}
