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
