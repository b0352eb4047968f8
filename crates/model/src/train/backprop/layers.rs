//! The training step's layers on plain slices, forward and backward: 3x3 'same' convolution
//! (im2col and one GEMM per image, the `gemm` crate), batch norm on batch statistics, ReLU, 2x2
//! max pooling. Activations are [images][channels][h * w], as burn lays them out.
//!
//! Natively the images run in parallel (rayon, burn's pool); sums over images are taken image
//! by image or in fixed parts, in order, so a seed gives the same model whatever the thread count.

use crate::inference::tiled::{self, Kernel, Store, F4};
use crate::inference::winograd::{self, Epilogue, Filters};

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
    /// Each thread's buffers for one image's columns and their relayouts, kept between calls.
    static BUFFERS: std::cell::RefCell<[Vec<f32>; 3]> = const { std::cell::RefCell::new([Vec::new(), Vec::new(), Vec::new()]) };
}

/// Runs `f` with this thread's three buffers, at least `len` long each.
fn with_buffers<T>(len: usize, f: impl FnOnce(&mut [f32], &mut [f32], &mut [f32]) -> T) -> T {
    let mut buffers = BUFFERS.take();
    buffers.iter_mut().for_each(|b| b.resize(b.len().max(len), 0.0));
    let [a, b, c] = &mut buffers;
    let out = f(&mut a[..len], &mut b[..len], &mut c[..len]);
    BUFFERS.set(buffers);
    out
}

/// A 3x3 'same' convolution without bias of `n` images `x` [n][inputs][h * w] by `weight`
/// [out][inputs * 9], into `y` [n][out][h * w] (every value written).
#[allow(clippy::too_many_arguments)]
pub fn conv(kernel: Kernel, weight: &[f32], inputs: usize, out: usize, x: &[f32], n: usize, h: usize, w: usize, y: &mut [f32]) {
    let (hw, k) = (h * w, inputs * 9);
    assert_eq!(y.len(), n * out * hw, "conv: output size");
    if kernel == Kernel::Winograd && winograd::fits(inputs, out, h, w) {
        let filters = Filters::new(weight, inputs, out);
        map_parts(y, out * hw, |i, dst| winograd::conv_image(&filters, &x[i * inputs * hw..][..inputs * hw], h, w, dst, Epilogue::Set));
        return;
    }
    let packed = (kernel.tiles() && tiled::fits(out, w)).then(|| tiled::pack_weights(weight, out, k));
    map_parts(y, out * hw, |i, dst| {
        with_buffers(k * hw, |columns, _, _| {
            let image = &x[i * inputs * hw..][..inputs * hw];
            match &packed {
                Some(packed) => {
                    tiled::im2col_panels(image, inputs, h, w, columns);
                    tiled::product(packed, out, k, columns, hw, dst, Store::Set);
                }
                None => {
                    crate::inference::im2col3x3(image, h, w, columns);
                    product(dst, false, weight, false, columns, false, out, hw, k);
                }
            }
        })
    });
}

/// The convolution's gradients from `dy` [n][out][h * w]: its weights' [out][inputs * 9],
/// returned, and where `dx` is given, its input's [n][inputs][h * w] (every value written).
#[allow(clippy::too_many_arguments)]
pub fn conv_backward(kernel: Kernel, weight: &[f32], inputs: usize, out: usize, x: &[f32], dy: &[f32], n: usize, h: usize, w: usize, dx: Option<&mut [f32]>) -> Vec<f32> {
    let (hw, k) = (h * w, inputs * 9);
    let input_grad = dx.is_some();
    let tiles = |m: usize, n: usize| kernel.tiles() && m % tiled::ROWS == 0 && n % tiled::COLS == 0 && n > 0;
    // dW [out, k] = dy [out, hw] x columns^T; dcol [k, hw] = weight^T x dy [out, hw]. On
    // `gemm`'s kernel dW is summed transposed, dW^T [k, out] = columns x dy^T, and turned once
    // per part: that shape ran the backward pass of the 64 px and 32 px layers 20-35% faster
    // (batch 32; the gradients came out equal to the bit on those shapes).
    // On the Winograd path each gradient takes it where its shapes fit: the input's is the
    // convolution of `dy` by the turned filters (`out` channels in, `inputs` out).
    let winograd_weights = kernel == Kernel::Winograd && winograd::fits_weight_gradient(inputs, out, h, w);
    let turned = (input_grad && kernel == Kernel::Winograd && winograd::fits(out, inputs, h, w)).then(|| Filters::turned(weight, inputs, out));
    let weights_tiled = tiles(out, k);
    let transposed = (input_grad && turned.is_none() && tiles(k, hw)).then(|| tiled::pack_transposed(weight, k, out));
    let part = |p: usize, dx: &mut [f32]| {
        let mut dw = vec![0.0f32; if winograd_weights { winograd::sums_len(inputs, out) } else { out * k }];
        with_buffers(k.max(out) * hw, |columns, relaid, packed| {
            let (columns, relaid) = (&mut columns[..k * hw], &mut relaid[..k.max(out) * hw]);
            for (j, i) in part_images(n, p).enumerate() {
                let (x_i, dy_i) = (&x[i * inputs * hw..][..inputs * hw], &dy[i * out * hw..][..out * hw]);
                if winograd_weights {
                    winograd::add_weight_gradient(x_i, dy_i, inputs, out, h, w, &mut dw);
                } else if weights_tiled {
                    crate::inference::im2col3x3(x_i, h, w, columns);
                    tiled::panels_of_transposed(columns, k, hw, &mut relaid[..k * hw]);
                    tiled::pack_into(dy_i, out, hw, &mut packed[..out * hw]);
                    tiled::product(&packed[..out * hw], out, hw, &relaid[..k * hw], k, &mut dw, Store::Add);
                } else {
                    crate::inference::im2col3x3(x_i, h, w, columns);
                    product(&mut dw, true, columns, false, dy_i, true, k, out, hw);
                }
                if !input_grad {
                    continue;
                }
                let dx_i = &mut dx[j * inputs * hw..][..inputs * hw];
                if let Some(turned) = &turned {
                    winograd::conv_image(turned, dy_i, h, w, dx_i, Epilogue::Set);
                    continue;
                }
                match &transposed {
                    Some(weight_t) => {
                        tiled::panels_of(dy_i, out, hw, &mut relaid[..out * hw]);
                        tiled::product(weight_t, k, out, &relaid[..out * hw], hw, columns, Store::Set);
                    }
                    None => product(columns, false, weight, true, dy_i, false, k, hw, out),
                }
                col2im3x3(columns, h, w, dx_i);
            }
        });
        if winograd_weights {
            winograd::weight_gradient(&dw, inputs, out)
        } else if weights_tiled {
            dw
        } else {
            (0..out * k).map(|i| dw[(i % k) * out + i / k]).collect()
        }
    };
    let parts_dw = match dx {
        Some(dx) => {
            assert_eq!(dx.len(), n * inputs * hw, "conv_backward: the input gradient's size");
            map_parts(dx, part_size(n) * inputs * hw, part)
        }
        None => map_indices(part_count(n), |p| part(p, &mut [])),
    };
    let mut dw = vec![0.0f32; out * k];
    for part in &parts_dw {
        dw.iter_mut().zip(part).for_each(|(a, b)| *a += b);
    }
    dw
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

/// Runs of this many values are summed in four f32 lanes, the runs in f64.
const RUN: usize = 256;

/// Σ (v - shift) and Σ (v - shift)² over `values`. The shift (a value of the same channel)
/// keeps the variance from cancelling; lanes spelled out with [`F4`] because the page's worker
/// is built at opt-level "s", which does not vectorise a sum.
fn shifted_sums(values: &[f32], shift: f32) -> (f64, f64) {
    let s = F4::splat(shift);
    let (mut sum, mut squares) = (0.0f64, 0.0f64);
    for run in values.chunks(RUN) {
        let quads = run.chunks_exact(4);
        let (mut a, mut b) = (F4::splat(0.0), F4::splat(0.0));
        let (mut ra, mut rb) = (0.0f32, 0.0f32);
        for &v in quads.remainder() {
            (ra, rb) = (ra + (v - shift), rb + (v - shift) * (v - shift));
        }
        for q in quads {
            // SAFETY: `q` is four floats.
            let v = unsafe { F4::read(q.as_ptr()) }.sub(s);
            (a, b) = (a.add(v), b.mul_add(v, v));
        }
        sum += (a.total() + ra) as f64;
        squares += (b.total() + rb) as f64;
    }
    (sum, squares)
}

/// One channel's batch norm as the forward pass applied it: x̂ = (y - mean) * inv_std, then
/// ReLU(gamma * x̂ + beta).
#[derive(Clone, Copy)]
struct Affine {
    mean: f32,
    inv_std: f32,
    gamma: f32,
    beta: f32,
}

impl Affine {
    fn normed(&self, y: f32) -> f32 {
        (y - self.mean) * self.inv_std
    }

    /// gamma * x̂ + beta for the normalised value `x`: ReLU's input.
    fn scaled(&self, x: f32) -> f32 {
        self.beta + self.gamma * x
    }
}

/// ReLU's mask on `d` in place (0 where the forward pass's output was 0), then Σ d and Σ d·x̂,
/// with x̂ and the output recomputed from `y` exactly as the forward pass computed them.
fn masked_sums(d: &mut [f32], y: &[f32], a: Affine) -> (f64, f64) {
    assert!(y.len() == d.len());
    let (mean, inv_std, gamma, beta) = (F4::splat(a.mean), F4::splat(a.inv_std), F4::splat(a.gamma), F4::splat(a.beta));
    let (mut sum, mut products) = (0.0f64, 0.0f64);
    for (d, y) in d.chunks_mut(RUN).zip(y.chunks(RUN)) {
        let whole = d.len() / 4 * 4;
        let (mut s, mut p) = (F4::splat(0.0), F4::splat(0.0));
        for i in (0..whole).step_by(4) {
            // SAFETY: i + 4 <= whole <= the length of both runs (checked equal above).
            let x = unsafe { F4::read(y.as_ptr().add(i)) }.sub(mean).mul(inv_std);
            // SAFETY: as above.
            let v = unsafe { F4::read(d.as_ptr().add(i)) }.masked(beta.mul_add(gamma, x));
            v.store(&mut d[i..i + 4]);
            (s, p) = (s.add(v), p.mul_add(v, x));
        }
        let (mut rs, mut rp) = (0.0f32, 0.0f32);
        for i in whole..d.len() {
            let x = a.normed(y[i]);
            d[i] = if a.scaled(x) > 0.0 { d[i] } else { 0.0 };
            (rs, rp) = (rs + d[i], rp + d[i] * x);
        }
        sum += (s.total() + rs) as f64;
        products += (p.total() + rp) as f64;
    }
    (sum, products)
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
    /// The convolution's output [n][channels][hw] before the norm. The backward pass recomputes
    /// x̂ = (y - mean) * inv_std from it rather than reading a stored copy: these passes are
    /// bound by memory traffic, not arithmetic.
    pub y: Vec<f32>,
    /// ReLU(gamma * x̂ + beta).
    pub output: Vec<f32>,
    pub mean: Vec<f32>,
    /// The biased variance, as burn's running average takes it.
    pub variance: Vec<f32>,
    pub inv_std: Vec<f32>,
}

/// Batch norm on the batch's statistics, then ReLU, into `output` (as long as `y`; what it
/// holds is overwritten).
#[allow(clippy::too_many_arguments)]
pub fn norm_relu(y: Vec<f32>, n: usize, channels: usize, hw: usize, gamma: &[f32], beta: &[f32], epsilon: f32, mut output: Vec<f32>) -> Normed {
    let (count, plane) = ((n * hw) as f64, channels * hw);
    assert!(y.len() == n * plane && output.len() == y.len(), "norm_relu: sizes");
    let shifts: Vec<f32> = (0..channels).map(|c| y[c * hw]).collect();
    let per_image: Vec<Vec<(f64, f64)>> = map_indices(n, |i| y[i * plane..][..plane].chunks_exact(hw).zip(&shifts).map(|(p, &s)| shifted_sums(p, s)).collect());
    let (sums, squares): (Vec<Vec<f64>>, Vec<Vec<f64>>) = per_image.into_iter().map(|image| image.into_iter().unzip()).unzip();
    let (sums, squares) = (totals(sums, channels), totals(squares, channels));
    let shifted_mean: Vec<f64> = sums.iter().map(|s| s / count).collect();
    let mean: Vec<f64> = shifted_mean.iter().zip(&shifts).map(|(m, &s)| m + s as f64).collect();
    let variance: Vec<f64> = squares.iter().zip(&shifted_mean).map(|(q, m)| (q / count - m * m).max(0.0)).collect();
    let inv_std: Vec<f32> = variance.iter().map(|&v| 1.0 / (v as f32 + epsilon).sqrt()).collect();
    map_parts(&mut output, plane, |i, out| {
        let image = &y[i * plane..][..plane];
        for c in 0..channels {
            let a = Affine { mean: mean[c] as f32, inv_std: inv_std[c], gamma: gamma[c], beta: beta[c] };
            for (&v, o) in image[c * hw..][..hw].iter().zip(&mut out[c * hw..][..hw]) {
                let z = a.scaled(a.normed(v));
                *o = if z > 0.0 { z } else { 0.0 };
            }
        }
    });
    Normed { y, output, mean: mean.iter().map(|&v| v as f32).collect(), variance: variance.iter().map(|&v| v as f32).collect(), inv_std }
}

/// Back through ReLU and batch norm: `d` (the output's gradient) becomes the convolution
/// output's; returns the gradients of gamma and beta.
#[allow(clippy::too_many_arguments)]
pub fn norm_relu_backward(d: &mut [f32], norm: &Normed, gamma: &[f32], beta: &[f32], n: usize, channels: usize, hw: usize) -> (Vec<f32>, Vec<f32>) {
    let plane = channels * hw;
    let affine = |c: usize| Affine { mean: norm.mean[c], inv_std: norm.inv_std[c], gamma: gamma[c], beta: beta[c] };
    // ReLU's mask, and per image the sums for beta and gamma.
    let per_image: Vec<(Vec<f64>, Vec<f64>)> = map_parts(d, plane, |i, image| {
        let y = &norm.y[i * plane..][..plane];
        image.chunks_exact_mut(hw).zip(y.chunks_exact(hw)).enumerate().map(|(c, (d, y))| masked_sums(d, y, affine(c))).unzip()
    });
    let (sums, products): (Vec<_>, Vec<_>) = per_image.into_iter().unzip();
    let (d_beta, d_gamma) = (totals(sums, channels), totals(products, channels));
    let count = (n * hw) as f64;
    map_parts(d, plane, |i, image| {
        for c in 0..channels {
            let a = affine(c);
            let scale = a.gamma * a.inv_std;
            let (mb, mg) = ((d_beta[c] / count) as f32, (d_gamma[c] / count) as f32);
            let y = &norm.y[(i * channels + c) * hw..][..hw];
            for (v, &y) in image[c * hw..][..hw].iter_mut().zip(y) {
                *v = scale * (*v - mb - a.normed(y) * mg);
            }
        }
    });
    (d_gamma.iter().map(|&v| v as f32).collect(), d_beta.iter().map(|&v| v as f32).collect())
}

pub(crate) use crate::inference::max_pool2_backward;

/// Buffers kept between training steps. A step takes and gives back the same sizes, so after
/// the first step no activation or gradient map is allocated or zeroed (memset and fresh pages
/// were 5% of a native step).
#[derive(Default)]
pub struct Spare(Vec<Vec<f32>>);

impl Spare {
    /// A buffer of `len` values holding what an earlier use left: the caller writes every value.
    pub fn take(&mut self, len: usize) -> Vec<f32> {
        let at = self.0.iter().position(|b| b.len() == len).or_else(|| (0..self.0.len()).max_by_key(|&i| self.0[i].capacity()));
        let mut buffer = at.map(|i| self.0.swap_remove(i)).unwrap_or_default();
        buffer.resize(len, 0.0);
        buffer
    }

    pub fn give(&mut self, buffer: Vec<f32>) {
        self.0.push(buffer);
    }
}

/// A copy of a network starts with no spare buffers of its own.
impl Clone for Spare {
    fn clone(&self) -> Self {
        Self::default()
    }
}

impl std::fmt::Debug for Spare {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Spare({} buffers)", self.0.len())
    }
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

    /// The page's kernels give the `gemm` crate's results, forward and backward: the tiled one
    /// and Winograd's around it, where the shapes fit them and where they do not (odd widths, 9
    /// or 36 weights per output, too few input channels for Winograd's weights' gradient).
    #[test]
    fn the_pages_kernels_agree_with_gemm() {
        let values = |len: usize, seed: usize| (0..len).map(|i| (((i * 7919 + seed * 104_729) % 2003) as f32 / 1001.0) - 1.0).collect::<Vec<f32>>();
        let shapes = [(1, 16, 16, 16), (4, 8, 8, 16), (16, 8, 8, 8), (3, 6, 5, 7), (8, 12, 4, 8), (12, 16, 8, 8), (32, 16, 16, 16)];
        for (kernel, (inputs, out, h, w)) in [Kernel::Tiled, Kernel::Winograd].into_iter().flat_map(|k| shapes.map(|s| (k, s))) {
            let n = 3;
            let (weight, x, dy) = (values(out * inputs * 9, 1), values(n * inputs * h * w, 2), values(n * out * h * w, 3));
            let largest = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0f32, |m, d| if d.is_nan() { f32::INFINITY } else { m.max(d) });
            // Outputs start as NaN: each kernel must write every value.
            let (mut y_gemm, mut y_page) = (vec![f32::NAN; n * out * h * w], vec![f32::NAN; n * out * h * w]);
            conv(Kernel::Gemm, &weight, inputs, out, &x, n, h, w, &mut y_gemm);
            conv(kernel, &weight, inputs, out, &x, n, h, w, &mut y_page);
            let bound = 1e-4 * (inputs as f32 / 8.0).max(1.0);
            assert!(largest(&y_gemm, &y_page) < bound, "{kernel:?} forward {inputs}->{out} at {h}x{w}: {}", largest(&y_gemm, &y_page));
            let (mut dx_gemm, mut dx_page) = (vec![f32::NAN; x.len()], vec![f32::NAN; x.len()]);
            let dw_gemm = conv_backward(Kernel::Gemm, &weight, inputs, out, &x, &dy, n, h, w, Some(&mut dx_gemm));
            let dw_page = conv_backward(kernel, &weight, inputs, out, &x, &dy, n, h, w, Some(&mut dx_page));
            assert!(largest(&dw_gemm, &dw_page) < 1e-3, "{kernel:?} weights' gradient {inputs}->{out} at {h}x{w}: {}", largest(&dw_gemm, &dw_page));
            assert!(largest(&dx_gemm, &dx_page) < bound, "{kernel:?} input's gradient {inputs}->{out} at {h}x{w}: {}", largest(&dx_gemm, &dx_page));
        }
    }

    #[test]
    fn parts_cover_the_batch_once() {
        for n in [1, 3, 8, 9, 32, 33] {
            let covered: Vec<usize> = (0..part_count(n)).flat_map(|p| part_images(n, p)).collect();
            assert_eq!(covered, (0..n).collect::<Vec<_>>(), "{n}");
        }
    }
}
