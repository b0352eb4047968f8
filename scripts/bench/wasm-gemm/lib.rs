//! `run(m, n, k, iters)`: `iters` row-major products [m, k] x [k, n] -> [m, n] with the `gemm`
//! crate, one thread, as `src/inference.rs` calls it. Timed from JavaScript.

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

/// A hand-written wasm SIMD128 kernel for the same products, to choose by measurement (issue
/// 27): the weights packed once as [m / MR][k][MR], the columns as im2col would write them
/// straight into panels [n / 8][k][8]; an MR x 8 register tile (MR accumulators pairs), a splat
/// of each weight, separate multiply and add (wasm SIMD has no fused multiply-add).
#[cfg(target_arch = "wasm32")]
mod tiled {
    use core::arch::wasm32::*;

    /// dst [m, n] (row-major) = packed weights x packed columns, MR rows at a time.
    #[inline(never)]
    pub fn product<const MR: usize>(m: usize, n: usize, k: usize, weights: &[f32], columns: &[f32], dst: &mut [f32]) {
        for jb in 0..n / 8 {
            let panel = &columns[jb * k * 8..][..k * 8];
            for ib in 0..m / MR {
                let rows = &weights[ib * k * MR..][..k * MR];
                let mut acc = [[f32x4_splat(0.0); 2]; MR];
                for kk in 0..k {
                    // SAFETY: kk * 8 + 8 <= k * 8 = panel.len(); kk * MR + MR <= rows.len().
                    unsafe {
                        let b0 = v128_load(panel.as_ptr().add(kk * 8) as *const v128);
                        let b1 = v128_load(panel.as_ptr().add(kk * 8 + 4) as *const v128);
                        for r in 0..MR {
                            let a = v128_load32_splat(rows.as_ptr().add(kk * MR + r) as *const u32);
                            acc[r][0] = f32x4_add(acc[r][0], f32x4_mul(a, b0));
                            acc[r][1] = f32x4_add(acc[r][1], f32x4_mul(a, b1));
                        }
                    }
                }
                for r in 0..MR {
                    let out = &mut dst[(ib * MR + r) * n + jb * 8..][..8];
                    // SAFETY: out holds 8 values.
                    unsafe {
                        v128_store(out.as_mut_ptr() as *mut v128, acc[r][0]);
                        v128_store(out.as_mut_ptr().add(4) as *mut v128, acc[r][1]);
                    }
                }
            }
        }
    }

    /// Row-major [m, k] as [m / MR][k][MR].
    pub fn pack_weights<const MR: usize>(m: usize, k: usize, w: &[f32]) -> Vec<f32> {
        let mut out = vec![0.0; m * k];
        for ib in 0..m / MR {
            for kk in 0..k {
                for r in 0..MR {
                    out[(ib * k + kk) * MR + r] = w[(ib * MR + r) * k + kk];
                }
            }
        }
        out
    }

    /// Row-major [k, n] as [n / 8][k][8].
    pub fn pack_columns(k: usize, n: usize, c: &[f32]) -> Vec<f32> {
        let mut out = vec![0.0; k * n];
        for jb in 0..n / 8 {
            for kk in 0..k {
                out[(jb * k + kk) * 8..][..8].copy_from_slice(&c[kk * n + jb * 8..][..8]);
            }
        }
        out
    }
}

fn test_values(len: usize, seed: u32) -> Vec<f32> {
    (0..len as u32).map(|i| ((i.wrapping_mul(2_654_435_761).wrapping_add(seed) >> 16) % 1000) as f32 / 500.0 - 1.0).collect()
}

/// `iters` products with the hand-written kernel (MR = `rows`: 4 or 6... only 4 and 8 are
/// built), timed from JavaScript; returns the largest difference from the `gemm` crate's result.
#[cfg(target_arch = "wasm32")]
#[no_mangle]
pub extern "C" fn run_tiled(m: usize, n: usize, k: usize, iters: usize, rows: usize) -> f32 {
    let (lhs, rhs) = (test_values(m * k, 1), test_values(k * n, 2));
    let mut want = vec![0.0f32; m * n];
    // SAFETY: as in `run`.
    unsafe {
        gemm::gemm(m, n, k, want.as_mut_ptr(), 1, n as isize, false, lhs.as_ptr(), 1, k as isize, rhs.as_ptr(), 1, n as isize, 0.0, 1.0, false, false, false, gemm::Parallelism::None);
    }
    let columns = tiled::pack_columns(k, n, &rhs);
    let mut dst = vec![0.0f32; m * n];
    match rows {
        8 => {
            let weights = tiled::pack_weights::<8>(m, k, &lhs);
            for _ in 0..iters {
                tiled::product::<8>(m, n, k, &weights, &columns, &mut dst);
            }
        }
        _ => {
            let weights = tiled::pack_weights::<4>(m, k, &lhs);
            for _ in 0..iters {
                tiled::product::<4>(m, n, k, &weights, &columns, &mut dst);
            }
        }
    }
    dst.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max)
}
