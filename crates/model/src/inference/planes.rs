//! Plain-slice steps shared by inference and training, free of burn (so that
//! `scripts/bench/wasm-train` can compile them for V8 as the worker does): im2col for a 3x3
//! 'same' convolution and 2x2 max pooling, on planes [channels][h * w].

/// 2x2 max pooling of consecutive `h` x `w` planes (odd edges dropped, as burn does).
pub fn max_pool2_planes(values: &[f32], h: usize, w: usize) -> Vec<f32> {
    let (oh, ow) = (h / 2, w / 2);
    let mut out = Vec::with_capacity(values.len() / (h * w).max(1) * oh * ow);
    for plane in values.chunks_exact(h * w) {
        for y in 0..oh {
            let top = &plane[2 * y * w..][..2 * ow];
            let bottom = &plane[(2 * y + 1) * w..][..2 * ow];
            out.extend(top.chunks_exact(2).zip(bottom.chunks_exact(2)).map(|(t, b)| larger(larger(t[0], t[1]), larger(b[0], b[1]))));
        }
    }
    out
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
