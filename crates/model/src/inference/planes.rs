//! Plain-slice steps shared by inference and training, free of burn (so that
//! `scripts/bench/wasm-train` can compile them for V8 as the worker does): im2col for a 3x3
//! 'same' convolution, its filters turned for the input's gradient, and 2x2 max pooling both
//! ways, on planes [channels][h * w].

use super::tiled::F4;

/// 2x2 max pooling of consecutive `h` x `w` planes (odd edges dropped, as burn does).
/// Four outputs at a time in SIMD lanes (the worker's loop at opt-level "s" was 6% of an
/// analysis), the same comparisons in the same order as the scalar tail, so the same result.
pub fn max_pool2_planes(values: &[f32], h: usize, w: usize) -> Vec<f32> {
    let mut out = vec![0.0; values.len() / (h * w).max(1) * (h / 2) * (w / 2)];
    max_pool2_planes_into(values, h, w, &mut out);
    out
}

/// [`max_pool2_planes`] into `out` (every value written), for a caller that keeps its buffers.
pub fn max_pool2_planes_into(values: &[f32], h: usize, w: usize, out: &mut [f32]) {
    let (oh, ow) = (h / 2, w / 2);
    assert_eq!(out.len(), values.len() / (h * w).max(1) * oh * ow, "max_pool2_planes_into: output size");
    if oh * ow == 0 {
        return;
    }
    for (plane, pooled) in values.chunks_exact(h * w).zip(out.chunks_exact_mut(oh * ow)) {
        for (y, row) in pooled.chunks_exact_mut(ow).enumerate() {
            let top = &plane[2 * y * w..][..2 * ow];
            let bottom = &plane[(2 * y + 1) * w..][..2 * ow];
            let lanes = ow / 4 * 4;
            for x in (0..lanes).step_by(4) {
                // SAFETY: 2x + 8 <= 2 * ow, the length of `top` and `bottom`.
                let pair = |row: &[f32]| unsafe { F4::evens_odds(F4::read(row.as_ptr().add(2 * x)), F4::read(row.as_ptr().add(2 * x + 4))) };
                let ((te, to), (be, bo)) = (pair(top), pair(bottom));
                te.larger(to).larger(be.larger(bo)).store(&mut row[x..]);
            }
            for x in lanes..ow {
                row[x] = larger(larger(top[2 * x], top[2 * x + 1]), larger(bottom[2 * x], bottom[2 * x + 1]));
            }
        }
    }
}

/// The larger of two values as a comparison, not `f32::max`: in wasm `max`'s NaN rules become a
/// call to libm's `fmaxf` per value (5% of the worker's time in the page's profile), where a
/// comparison is one instruction and vectorises.
#[inline]
pub fn larger(a: f32, b: f32) -> f32 {
    if a > b { a } else { b }
}

/// Rows (c, ky, kx) of the im2col matrix [in * 9, h * w] for one image: plane `c` shifted by
/// (ky - 1, kx - 1), zeros where the shift leaves the plane ('same' padding).
pub fn im2col3x3(image: &[f32], h: usize, w: usize, columns: &mut [f32]) {
    let hw = h * w;
    for (c, plane) in image.chunks_exact(hw).enumerate() {
        for ky in 0..3 {
            for kx in 0..3 {
                let row = &mut columns[(c * 9 + ky * 3 + kx) * hw..][..hw];
                for y in 0..h {
                    let dst = &mut row[y * w..][..w];
                    let Some(sy) = (y + ky).checked_sub(1).filter(|&sy| sy < h) else {
                        dst.fill(0.0);
                        continue;
                    };
                    let src = &plane[sy * w..][..w];
                    match kx {
                        0 => {
                            dst[0] = 0.0;
                            dst[1..].copy_from_slice(&src[..w - 1]);
                        }
                        1 => dst.copy_from_slice(src),
                        _ => {
                            dst[..w - 1].copy_from_slice(&src[1..]);
                            dst[w - 1] = 0.0;
                        }
                    }
                }
            }
        }
    }
}

/// The gradient of 2x2 max pooling (stride 2) into `out` [planes][h * w], every value written:
/// each window's gradient goes to its first largest value in reading order, as burn's does (a
/// window of equal values, zeros after ReLU, otherwise puts a block's output gradient
/// elsewhere than burn's autodiff), the rest get 0. Branch-free: which value a window kept is a
/// coin toss to the branch predictor.
pub fn max_pool2_backward(d: &[f32], before: &[f32], planes: usize, h: usize, w: usize, out: &mut [f32]) {
    let (oh, ow) = (h / 2, w / 2);
    assert!(out.len() == planes * h * w && before.len() == out.len() && d.len() == planes * oh * ow, "max_pool2_backward: sizes");
    let plane = |(p, dst): (usize, &mut [f32])| {
        let src = &before[p * h * w..][..h * w];
        let grads = &d[p * oh * ow..][..oh * ow];
        for y in 0..oh {
            let (top, bottom) = (&src[2 * y * w..][..2 * ow], &src[(2 * y + 1) * w..][..2 * ow]);
            let (upper, lower) = dst[2 * y * w..][..2 * w].split_at_mut(w);
            let windows = top.chunks_exact(2).zip(bottom.chunks_exact(2)).zip(&grads[y * ow..][..ow]);
            for (((t, b), &g), (u, l)) in windows.zip(upper.chunks_exact_mut(2).zip(lower.chunks_exact_mut(2))) {
                let (left_top, left_bottom) = (t[0] >= t[1], b[0] >= b[1]);
                let from_top = (if left_top { t[0] } else { t[1] }) >= (if left_bottom { b[0] } else { b[1] });
                // A bit mask, not an `if`: the compiler turned the `if` back into branches.
                let kept = |chosen: bool| f32::from_bits(g.to_bits() & u32::from(chosen).wrapping_neg());
                (u[0], u[1]) = (kept(from_top && left_top), kept(from_top && !left_top));
                (l[0], l[1]) = (kept(!from_top && left_bottom), kept(!from_top && !left_bottom));
            }
            if w % 2 == 1 {
                (upper[w - 1], lower[w - 1]) = (0.0, 0.0);
            }
        }
        dst[2 * oh * w..].fill(0.0);
    };
    #[cfg(not(target_arch = "wasm32"))]
    {
        use rayon::prelude::*;
        out.par_chunks_mut((h * w).max(1)).enumerate().for_each(plane);
    }
    #[cfg(target_arch = "wasm32")]
    out.chunks_mut((h * w).max(1)).enumerate().for_each(plane);
}

/// The filters of a 3x3 'same' convolution's input gradient, [inputs][out * 9] from `weight`
/// [out][inputs * 9]: filter (i, o) is filter (o, i) turned half round, so that convolving the
/// output's gradient with them is the convolution's adjoint.
pub fn turn_filters(weight: &[f32], inputs: usize, out: usize) -> Vec<f32> {
    assert_eq!(weight.len(), out * inputs * 9, "turn_filters: weight size");
    let mut turned = vec![0.0f32; weight.len()];
    for o in 0..out {
        for i in 0..inputs {
            for k in 0..9 {
                turned[(i * out + o) * 9 + k] = weight[(o * inputs + i) * 9 + 8 - k];
            }
        }
    }
    turned
}
