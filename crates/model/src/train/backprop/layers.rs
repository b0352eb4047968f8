//! The training step's layers on plain slices, forward and backward: 3x3 'same' convolution
//! (im2col and one GEMM per image, the `gemm` crate), batch norm on batch statistics, ReLU, 2x2
//! max pooling. Activations are [images][channels][h * w], as burn lays them out.
//!
//! Natively the images run in parallel (rayon, burn's pool); sums over images are taken image
//! by image or in fixed parts, in order, so a seed gives the same model whatever the thread count.

/// Images per part where the weight gradients are summed over the batch: fixed, so the order of
/// the sum does not depend on the machine.
const PARTS: usize = 8;

/// `f(part, dst_part)` for each `size`-long part of `dst`, in parallel natively; the results in
/// order.
fn map_parts<T: Send>(dst: &mut [f32], size: usize, f: impl Fn(usize, &mut [f32]) -> T + Sync + Send) -> Vec<T> {
    #[cfg(not(target_arch = "wasm32"))]
    {
        use rayon::prelude::*;
        dst.par_chunks_mut(size.max(1)).enumerate().map(|(i, part)| f(i, part)).collect()
    }
    #[cfg(target_arch = "wasm32")]
    dst.chunks_mut(size.max(1)).enumerate().map(|(i, part)| f(i, part)).collect()
}

/// `f(i)` for `i` in `0..count`, in parallel natively; the results in order.
fn map_indices<T: Send>(count: usize, f: impl Fn(usize) -> T + Sync + Send) -> Vec<T> {
    #[cfg(not(target_arch = "wasm32"))]
    {
        use rayon::prelude::*;
        (0..count).into_par_iter().map(f).collect()
    }
    #[cfg(target_arch = "wasm32")]
    (0..count).map(f).collect()
}

/// Images per part when `n` images are cut into at most [`PARTS`] parts.
fn part_size(n: usize) -> usize {
    n.div_ceil(PARTS.min(n).max(1)).max(1)
}

/// The images part `part` covers.
fn part_images(n: usize, part: usize) -> std::ops::Range<usize> {
    let size = part_size(n);
    (part * size).min(n)..((part + 1) * size).min(n)
}

fn part_count(n: usize) -> usize {
    n.div_ceil(part_size(n))
}

/// `dst [m][n] (+)= a [m][k] x b [k][n]`, where `a_t` / `b_t` say that the operand is stored
/// transposed (`a` as [k][m], `b` as [n][k]); row-major throughout.
#[allow(clippy::too_many_arguments)]
fn product(dst: &mut [f32], accumulate: bool, a: &[f32], a_t: bool, b: &[f32], b_t: bool, m: usize, n: usize, k: usize) {
    assert!(dst.len() >= m * n && a.len() >= m * k && b.len() >= k * n, "product: operands too short");
    let (a_cs, a_rs) = if a_t { (m, 1) } else { (1, k) };
    let (b_cs, b_rs) = if b_t { (k, 1) } else { (1, n) };
    // SAFETY: the lengths are checked above for these strides; `dst` does not alias `a` or `b`
    // (a mutable borrow).
    unsafe {
        gemm::gemm(
            m, n, k,
            dst.as_mut_ptr(), 1, n as isize, accumulate,
            a.as_ptr(), a_cs as isize, a_rs as isize,
            b.as_ptr(), b_cs as isize, b_rs as isize,
            1.0, 1.0, false, false, false, gemm::Parallelism::None,
        );
    }
}

std::thread_local! {
    /// Each thread's im2col buffer and its gradient, kept between calls.
    static COLUMNS: std::cell::RefCell<(Vec<f32>, Vec<f32>)> = const { std::cell::RefCell::new((Vec::new(), Vec::new())) };
}

/// Runs `f` with this thread's two column buffers, at least `len` long each.
fn with_columns<T>(len: usize, f: impl FnOnce(&mut [f32], &mut [f32]) -> T) -> T {
    let (mut columns, mut grads) = COLUMNS.take();
    columns.resize(columns.len().max(len), 0.0);
    grads.resize(grads.len().max(len), 0.0);
    let out = f(&mut columns[..len], &mut grads[..len]);
    COLUMNS.set((columns, grads));
    out
}

/// A 3x3 'same' convolution without bias of `n` images `x` [n][inputs][h * w] by `weight`
/// [out][inputs * 9].
pub fn conv(weight: &[f32], inputs: usize, out: usize, x: &[f32], n: usize, h: usize, w: usize) -> Vec<f32> {
    let (hw, k) = (h * w, inputs * 9);
    let mut y = vec![0.0f32; n * out * hw];
    map_parts(&mut y, out * hw, |i, dst| {
        with_columns(k * hw, |columns, _| {
            crate::inference::im2col3x3(&x[i * inputs * hw..][..inputs * hw], h, w, columns);
            product(dst, false, weight, false, columns, false, out, hw, k);
        })
    });
    y
}

/// The convolution's gradients from `dy` [n][out][h * w]: its weights' [out][inputs * 9], and
/// with `input_grad`, its input's [n][inputs][h * w].
#[allow(clippy::too_many_arguments)]
pub fn conv_backward(weight: &[f32], inputs: usize, out: usize, x: &[f32], dy: &[f32], n: usize, h: usize, w: usize, input_grad: bool) -> (Vec<f32>, Option<Vec<f32>>) {
    let (hw, k) = (h * w, inputs * 9);
    let part = |p: usize, dx: &mut [f32]| {
        let mut dw = vec![0.0f32; out * k];
        with_columns(k * hw, |columns, column_grads| {
            for (j, i) in part_images(n, p).enumerate() {
                let dy_i = &dy[i * out * hw..][..out * hw];
                crate::inference::im2col3x3(&x[i * inputs * hw..][..inputs * hw], h, w, columns);
                product(&mut dw, true, dy_i, false, columns, true, out, k, hw);
                if input_grad {
                    product(column_grads, false, weight, true, dy_i, false, k, hw, out);
                    col2im3x3(column_grads, h, w, &mut dx[j * inputs * hw..][..inputs * hw]);
                }
            }
        });
        dw
    };
    let parts = part_count(n);
    let (parts_dw, dx) = if input_grad {
        let mut dx = vec![0.0f32; n * inputs * hw];
        (map_parts(&mut dx, part_size(n) * inputs * hw, part), Some(dx))
    } else {
        (map_indices(parts, |p| part(p, &mut [])), None)
    };
    let mut dw = vec![0.0f32; out * k];
    for part in &parts_dw {
        dw.iter_mut().zip(part).for_each(|(a, b)| *a += b);
    }
    (dw, dx)
}

/// The adjoint of [`crate::inference::im2col3x3`]: each column row added back into the plane
/// it was shifted from. `image` [inputs][h * w] is overwritten.
fn col2im3x3(columns: &[f32], h: usize, w: usize, image: &mut [f32]) {
    let hw = h * w;
    image.fill(0.0);
    for (c, plane) in image.chunks_exact_mut(hw).enumerate() {
        for ky in 0..3 {
            for kx in 0..3 {
                let row = &columns[(c * 9 + ky * 3 + kx) * hw..][..hw];
                for y in 0..h {
                    let Some(sy) = (y + ky).checked_sub(1).filter(|&sy| sy < h) else { continue };
                    let src = &row[y * w..][..w];
                    let dst = &mut plane[sy * w..][..w];
                    let (dst, src) = match kx {
                        0 => (&mut dst[..w - 1], &src[1..]),
                        1 => (dst, src),
                        _ => (&mut dst[1..], &src[..w - 1]),
                    };
                    dst.iter_mut().zip(src).for_each(|(d, s)| *d += s);
                }
            }
        }
    }
}

/// `f(i, a_part, b_part)` for each image's parts of `a` and `b` (`size` values each), in
/// parallel natively; the results in order.
fn map_pairs<T: Send>(a: &mut [f32], b: &mut [f32], size: usize, f: impl Fn(usize, &mut [f32], &mut [f32]) -> T + Sync + Send) -> Vec<T> {
    #[cfg(not(target_arch = "wasm32"))]
    {
        use rayon::prelude::*;
        a.par_chunks_mut(size).zip(b.par_chunks_mut(size)).enumerate().map(|(i, (a, b))| f(i, a, b)).collect()
    }
    #[cfg(target_arch = "wasm32")]
    a.chunks_mut(size).zip(b.chunks_mut(size)).enumerate().map(|(i, (a, b))| f(i, a, b)).collect()
}

/// Runs of this many values are summed in eight f32 lanes (which vectorise), the runs in f64.
const RUN: usize = 256;

/// The sum of `f(a, b)` over two runs of values of one length, as [`RUN`] describes.
fn sum_pairs(a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f32) -> f64 {
    assert_eq!(a.len(), b.len());
    let mut total = 0.0f64;
    for (a, b) in a.chunks(RUN).zip(b.chunks(RUN)) {
        let mut lanes = [0.0f32; 8];
        let (a8, b8) = (a.chunks_exact(8), b.chunks_exact(8));
        let rest: f32 = a8.remainder().iter().zip(b8.remainder()).map(|(&x, &y)| f(x, y)).sum();
        for (x, y) in a8.zip(b8) {
            for l in 0..8 {
                lanes[l] += f(x[l], y[l]);
            }
        }
        total += (lanes.iter().sum::<f32>() + rest) as f64;
    }
    total
}

/// The sum of `f(v)` over a run of values.
fn sum_by(values: &[f32], f: impl Fn(f32) -> f32) -> f64 {
    sum_pairs(values, values, |v, _| f(v))
}

/// Per-channel totals of per-image figures [n][channels], in image order.
fn totals(per_image: Vec<Vec<f64>>, channels: usize) -> Vec<f64> {
    let mut sums = vec![0.0f64; channels];
    for image in per_image {
        sums.iter_mut().zip(image).for_each(|(a, b)| *a += b);
    }
    sums
}

/// Batch norm on the batch's own statistics, then ReLU.
pub struct Normed {
    /// (y - mean) / sqrt(var + eps), [n][channels][hw].
    pub normed: Vec<f32>,
    /// ReLU(gamma * normed + beta).
    pub output: Vec<f32>,
    pub mean: Vec<f32>,
    /// The biased variance, as burn's running average takes it.
    pub variance: Vec<f32>,
    pub inv_std: Vec<f32>,
}

pub fn norm_relu(mut y: Vec<f32>, n: usize, channels: usize, hw: usize, gamma: &[f32], beta: &[f32], epsilon: f32) -> Normed {
    let (count, plane) = ((n * hw) as f64, channels * hw);
    let per_image = map_parts(&mut y, plane, |_, image| image.chunks_exact(hw).map(|p| sum_by(p, |v| v)).collect());
    let mean: Vec<f64> = totals(per_image, channels).into_iter().map(|s| s / count).collect();
    let per_image = map_parts(&mut y, plane, |_, image| {
        image.chunks_exact(hw).zip(&mean).map(|(p, &m)| sum_by(p, |v| (v - m as f32) * (v - m as f32))).collect()
    });
    let variance: Vec<f64> = totals(per_image, channels).into_iter().map(|s| s / count).collect();
    let inv_std: Vec<f32> = variance.iter().map(|&v| 1.0 / (v as f32 + epsilon).sqrt()).collect();
    let mut output = vec![0.0f32; y.len()];
    map_pairs(&mut y, &mut output, plane, |_, image, out| {
        for c in 0..channels {
            let (m, s, g, b) = (mean[c] as f32, inv_std[c], gamma[c], beta[c]);
            for (v, o) in image[c * hw..][..hw].iter_mut().zip(&mut out[c * hw..][..hw]) {
                *v = (*v - m) * s;
                let z = g * *v + b;
                *o = if z > 0.0 { z } else { 0.0 };
            }
        }
    });
    Normed { normed: y, output, mean: mean.iter().map(|&v| v as f32).collect(), variance: variance.iter().map(|&v| v as f32).collect(), inv_std }
}

/// Back through ReLU and batch norm: `d` (the output's gradient) becomes the convolution
/// output's; returns the gradients of gamma and beta.
pub fn norm_relu_backward(d: &mut [f32], norm: &Normed, gamma: &[f32], n: usize, channels: usize, hw: usize) -> (Vec<f32>, Vec<f32>) {
    let plane = channels * hw;
    // ReLU's mask, and per image the sums for beta and gamma.
    let per_image: Vec<(Vec<f64>, Vec<f64>)> = map_parts(d, plane, |i, image| {
        let (output, normed) = (&norm.output[i * plane..][..plane], &norm.normed[i * plane..][..plane]);
        image.iter_mut().zip(output).for_each(|(v, &o)| *v = if o > 0.0 { *v } else { 0.0 });
        let sums = image.chunks_exact(hw).map(|p| sum_by(p, |v| v)).collect();
        let products = image.chunks_exact(hw).zip(normed.chunks_exact(hw)).map(|(p, x)| sum_pairs(p, x, |v, x| v * x)).collect();
        (sums, products)
    });
    let (sums, products): (Vec<_>, Vec<_>) = per_image.into_iter().unzip();
    let (d_beta, d_gamma) = (totals(sums, channels), totals(products, channels));
    let count = (n * hw) as f64;
    map_parts(d, plane, |i, image| {
        for c in 0..channels {
            let scale = gamma[c] * norm.inv_std[c];
            let (mb, mg) = ((d_beta[c] / count) as f32, (d_gamma[c] / count) as f32);
            let normed = &norm.normed[(i * channels + c) * hw..][..hw];
            for (v, &x) in image[c * hw..][..hw].iter_mut().zip(normed) {
                *v = scale * (*v - mb - x * mg);
            }
        }
    });
    (d_gamma.iter().map(|&v| v as f32).collect(), d_beta.iter().map(|&v| v as f32).collect())
}

/// The gradient of 2x2 max pooling (stride 2): each window's gradient goes to the value the
/// forward pass kept ([`crate::inference::max_pool2_planes`]'s choice), the rest get 0.
pub fn max_pool2_backward(d: &[f32], before: &[f32], planes: usize, h: usize, w: usize) -> Vec<f32> {
    let (oh, ow) = (h / 2, w / 2);
    let mut out = vec![0.0f32; planes * h * w];
    map_parts(&mut out, h * w, |p, dst| {
        let src = &before[p * h * w..][..h * w];
        let grads = &d[p * oh * ow..][..oh * ow];
        for y in 0..oh {
            for x in 0..ow {
                let at = |dy: usize, dx: usize| (2 * y + dy) * w + 2 * x + dx;
                let top = if src[at(0, 0)] > src[at(0, 1)] { at(0, 0) } else { at(0, 1) };
                let bottom = if src[at(1, 0)] > src[at(1, 1)] { at(1, 0) } else { at(1, 1) };
                let kept = if src[top] > src[bottom] { top } else { bottom };
                dst[kept] = grads[y * ow + x];
            }
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// im2col and col2im are adjoint: <im2col(x), c> = <x, col2im(c)>.
    #[test]
    fn col2im_is_the_adjoint_of_im2col() {
        let (inputs, h, w) = (2, 5, 7);
        let x: Vec<f32> = (0..inputs * h * w).map(|i| ((i * 37 % 11) as f32 - 5.0) / 3.0).collect();
        let c: Vec<f32> = (0..inputs * 9 * h * w).map(|i| ((i * 13 % 7) as f32 - 3.0) / 2.0).collect();
        let mut columns = vec![0.0; c.len()];
        crate::inference::im2col3x3(&x, h, w, &mut columns);
        let mut back = vec![0.0; x.len()];
        col2im3x3(&c, h, w, &mut back);
        let left: f64 = columns.iter().zip(&c).map(|(a, b)| (a * b) as f64).sum();
        let right: f64 = x.iter().zip(&back).map(|(a, b)| (a * b) as f64).sum();
        assert!((left - right).abs() < 1e-3, "{left} vs {right}");
    }

    #[test]
    fn parts_cover_the_batch_once() {
        for n in [1, 3, 8, 9, 32, 33] {
            let covered: Vec<usize> = (0..part_count(n)).flat_map(|p| part_images(n, p)).collect();
            assert_eq!(covered, (0..n).collect::<Vec<_>>(), "{n}");
        }
    }
}
