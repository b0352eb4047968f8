//! 3x3 'same' convolutions by Winograd's minimal filtering F(2x2, 3x3) (Lavin & Gray 2016), for
//! the page's wasm CPU path. Each 2x2 block of outputs comes from the 4x4 patch of inputs
//! around it: the patch and the filter are each transformed to 16 values, multiplied point by
//! point and summed over input channels, and transformed back. That is 16 multiply-adds per
//! channel pair per 2x2 outputs instead of im2col's 36, and the sums over channels are 16
//! independent products [out, inputs] x [inputs, patches] on [`tiled`]'s kernel; the transforms
//! are additions. The training step's three products all take it: forward, the input's
//! gradient (the same convolution with each filter turned half round and the channels swapped),
//! and the weights' gradient (the forward's adjoint, summed in the transformed domain and
//! turned back once per part of a batch).
//!
//! Burn-free, like [`super::planes`], so `scripts/bench/wasm-train` compiles it for V8.

use super::tiled::{self, Store, COLS, F4, ROWS};

/// Transformed values per patch (4 x 4).
const POINTS: usize = 16;

/// Floats a chunk of patches may take in the transformed inputs and products together, so that
/// they stay in the L2 cache between the transforms and the products (48 K floats made chunks
/// of 8 patches on the 128-channel layers, and those layers slower: `wasm-train.sh`).
const CHUNK_FLOATS: usize = 192 * 1024;

/// Fewest input channels taken. A layer of few inputs leaves each of the 16 products a short
/// sum, where im2col sums 9 x inputs; the shipped networks have 1 (the first layer, which keeps
/// im2col) or 16 and more, so no cut between was measured.
pub const MIN_INPUTS: usize = 8;

/// Whether a convolution of `inputs` to `out` channels on `h` x `w` planes can take this path:
/// whole 2x2 blocks, rows of whole groups of four patches, whole tiles of output channels and
/// of patches.
pub fn fits(inputs: usize, out: usize, h: usize, w: usize) -> bool {
    fits_channels(inputs, out) && h % 2 == 0 && w % 8 == 0 && (h / 2 * (w / 2)) % COLS == 0 && h * w > 0
}

/// Whether a convolution's channels fit, whatever the size of its planes.
pub fn fits_channels(inputs: usize, out: usize) -> bool {
    inputs >= MIN_INPUTS && out % ROWS == 0
}

/// Whether the weights' gradient can take this path too: its products run over the input
/// channels in panels.
pub fn fits_weight_gradient(inputs: usize, out: usize, h: usize, w: usize) -> bool {
    fits(inputs, out, h, w) && inputs % COLS == 0
}

/// Patches per chunk of patches of `points` transformed values each: a whole number of
/// panels, at least `least` (or all of them). [`super::winograd4`] chunks by it too.
pub(super) fn chunk_patches(points: usize, inputs: usize, out: usize, patches: usize, least: usize) -> usize {
    let fit = CHUNK_FLOATS / (points * (inputs + out)).max(1) / COLS * COLS;
    fit.max(least).clamp(COLS, patches.max(COLS))
}

/// Filters in the transformed domain, packed for [`tiled::product`]: [16][out / ROWS][inputs][ROWS].
pub struct Filters {
    packed: Vec<f32>,
    pub inputs: usize,
    pub out: usize,
}

/// G g Gᵀ of a 3x3 filter `g` (row-major), G = [[1, 0, 0], [½, ½, ½], [½, -½, ½], [0, 0, 1]].
fn filter_transform(g: &[f32]) -> [f32; POINTS] {
    let side = |a: [f32; 3]| [a[0], 0.5 * (a[0] + a[1] + a[2]), 0.5 * (a[0] - a[1] + a[2]), a[2]];
    let cols: [[f32; 4]; 3] = std::array::from_fn(|x| side([g[x], g[3 + x], g[6 + x]]));
    let mut u = [0.0; POINTS];
    for r in 0..4 {
        let row = side([cols[0][r], cols[1][r], cols[2][r]]);
        u[r * 4..r * 4 + 4].copy_from_slice(&row);
    }
    u
}

impl Filters {
    /// From row-major weights [out][inputs * 9].
    pub fn new(weight: &[f32], inputs: usize, out: usize) -> Self {
        assert_eq!(weight.len(), out * inputs * 9, "winograd::Filters::new: weight size");
        let mut u = vec![0.0f32; POINTS * out * inputs];
        for o in 0..out {
            for i in 0..inputs {
                let t = filter_transform(&weight[(o * inputs + i) * 9..][..9]);
                for (p, v) in t.into_iter().enumerate() {
                    u[(p * out + o) * inputs + i] = v;
                }
            }
        }
        let mut packed = vec![0.0f32; u.len()];
        for (point, dst) in u.chunks_exact(out * inputs).zip(packed.chunks_exact_mut(out * inputs)) {
            tiled::pack_into(point, out, inputs, dst);
        }
        Self { packed, inputs, out }
    }

    /// The filters of the input's gradient: filter (i, o) is filter (o, i) turned half round,
    /// so that convolving the output's gradient with them is the convolution's adjoint.
    pub fn turned(weight: &[f32], inputs: usize, out: usize) -> Self {
        Self::new(&super::planes::turn_filters(weight, inputs, out), out, inputs)
    }

    /// The products for transformed point `p` of a chunk.
    fn point(&self, p: usize) -> &[f32] {
        &self.packed[p * self.out * self.inputs..][..self.out * self.inputs]
    }
}

/// Bᵀ applied to four values (a row or a column of a patch), lane by lane: Bᵀ d B transforms
/// a 4x4 patch d, with Bᵀ = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]].
#[inline(always)]
fn input_side(a: F4, b: F4, c: F4, d: F4) -> [F4; 4] {
    [a.sub(c), b.add(c), c.sub(b), b.sub(d)]
}

/// Aᵀ applied to four values, lane by lane: Aᵀ m A turns 16 transformed products m into a
/// 2x2 block of outputs, with Aᵀ = [[1, 1, 1, 0], [0, 1, -1, -1]].
#[inline(always)]
fn output_side(a: F4, b: F4, c: F4, d: F4) -> [F4; 2] {
    [a.add(b).add(c), b.sub(c).sub(d)]
}

/// Bᵀ d B of four patches side by side, 0 outside the plane, their corners at (y0 - 1,
/// x0 - 1 + 2j) for lanes j = 0..3: point p of patch j in lane j of value p. Rows inside the plane are read
/// as vectors and split into even and odd columns.
#[inline(always)]
fn input_quads(plane: &[f32], h: usize, w: usize, y0: usize, x0: usize) -> [F4; POINTS] {
    let row = |r: usize| -> [F4; 4] {
        let Some(y) = (y0 + r).checked_sub(1).filter(|&y| y < h) else {
            return [F4::splat(0.0); 4];
        };
        let line = &plane[y * w..][..w];
        let mut edge = [0.0f32; 12];
        let run = if x0 >= 1 && x0 + 9 <= w {
            &line[x0 - 1..x0 + 9]
        } else {
            for (i, v) in edge[..10].iter_mut().enumerate() {
                if let Some(x) = (x0 + i).checked_sub(1).filter(|&x| x < w) {
                    *v = line[x];
                }
            }
            &edge[..10]
        };
        // SAFETY: `run` is 10 floats long; the reads cover 0..8 and 2..10.
        let ((a, b), (c, d)) = unsafe {
            let at = run.as_ptr();
            (F4::evens_odds(F4::read(at), F4::read(at.add(4))), F4::evens_odds(F4::read(at.add(2)), F4::read(at.add(6))))
        };
        input_side(a, b, c, d)
    };
    let (t0, t1, t2, t3) = (row(0), row(1), row(2), row(3));
    let c0 = input_side(t0[0], t1[0], t2[0], t3[0]);
    let c1 = input_side(t0[1], t1[1], t2[1], t3[1]);
    let c2 = input_side(t0[2], t1[2], t2[2], t3[2]);
    let c3 = input_side(t0[3], t1[3], t2[3], t3[3]);
    [
        c0[0], c1[0], c2[0], c3[0], c0[1], c1[1], c2[1], c3[1],
        c0[2], c1[2], c2[2], c3[2], c0[3], c1[3], c2[3], c3[3],
    ]
}

/// Aᵀ m A of four patches side by side: the rows of outputs y00 y01 / y10 y11
/// as the plane holds them, eight floats each ([top left, top right, bottom left, bottom right]
/// of patch 0, then patch 1, ...).
#[inline(always)]
fn output_quads(m: &[F4; POINTS]) -> [F4; 4] {
    let r0 = output_side(m[0], m[1], m[2], m[3]);
    let r1 = output_side(m[4], m[5], m[6], m[7]);
    let r2 = output_side(m[8], m[9], m[10], m[11]);
    let r3 = output_side(m[12], m[13], m[14], m[15]);
    let left = output_side(r0[0], r1[0], r2[0], r3[0]);
    let right = output_side(r0[1], r1[1], r2[1], r3[1]);
    let (top_a, top_b) = F4::interleave(left[0], right[0]);
    let (bottom_a, bottom_b) = F4::interleave(left[1], right[1]);
    [top_a, top_b, bottom_a, bottom_b]
}

/// A dy Aᵀ, the adjoint of the output transform, of four patches side by side: their 2x2 blocks
/// of output gradients as the plane holds them (rows `top` and `bottom`, eight floats each) to
/// the products' 16 values, patch j in lane j.
#[inline(always)]
fn adjoint_quads(top: (F4, F4), bottom: (F4, F4)) -> [F4; POINTS] {
    let side = |a: F4, b: F4| [a, a.add(b), a.sub(b), b.neg()];
    let ((d00, d01), (d10, d11)) = (F4::evens_odds(top.0, top.1), F4::evens_odds(bottom.0, bottom.1));
    let (left, right) = (side(d00, d10), side(d01, d11));
    let (r0, r1, r2, r3) = (side(left[0], right[0]), side(left[1], right[1]), side(left[2], right[2]), side(left[3], right[3]));
    [
        r0[0], r0[1], r0[2], r0[3], r1[0], r1[1], r1[2], r1[3],
        r2[0], r2[1], r2[2], r2[3], r3[0], r3[1], r3[2], r3[3],
    ]
}

/// What the forward pass does with each output.
#[derive(Clone, Copy)]
pub enum Epilogue<'a> {
    /// ReLU(output + the channel's bias): inference, batch norm folded in.
    BiasRelu(&'a [f32]),
    /// The output as it is.
    Set,
}

std::thread_local! {
    /// Each thread's buffer for a chunk's transforms and products, kept between calls.
    static SCRATCH: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Runs `f` with this thread's scratch buffer, at least `len` long (contents arbitrary). Taken,
/// not borrowed: a thread waiting in rayon may run another image's call.
pub(super) fn with_scratch<T>(len: usize, f: impl FnOnce(&mut [f32]) -> T) -> T {
    let mut scratch = SCRATCH.take();
    if scratch.len() < len {
        scratch.resize(len, 0.0);
    }
    let out = f(&mut scratch[..len]);
    SCRATCH.set(scratch);
    out
}

/// One image's convolution: `image` [inputs][h * w] into `dst` [out][h * w], every value
/// written.
pub fn conv_image(filters: &Filters, image: &[f32], h: usize, w: usize, dst: &mut [f32], epilogue: Epilogue) {
    let (inputs, out, hw) = (filters.inputs, filters.out, h * w);
    assert!(fits(inputs, out, h, w) && image.len() == inputs * hw && dst.len() == out * hw, "winograd::conv_image: shapes");
    let patches = h / 2 * (w / 2);
    let chunk = chunk_patches(POINTS, inputs, out, patches, COLS);
    with_scratch(POINTS * (chunk * (inputs + out) + 2 * SKEW), |scratch| conv_chunks(filters, image, h, w, dst, epilogue, chunk, scratch));
}

/// Floats between consecutive points' blocks in a chunk's buffers beyond the block itself: a
/// cache line, so that the 16 blocks (often a multiple of 4 KB apart) do not share L1 sets.
pub(super) const SKEW: usize = 16;

#[allow(clippy::too_many_arguments)]
fn conv_chunks(filters: &Filters, image: &[f32], h: usize, w: usize, dst: &mut [f32], epilogue: Epilogue, chunk: usize, scratch: &mut [f32]) {
    let (inputs, out, hw) = (filters.inputs, filters.out, h * w);
    let (across, patches) = (w / 2, h / 2 * (w / 2));
    let (in_stride, out_stride) = (chunk * inputs + SKEW, chunk * out + SKEW);
    let (transformed, products) = scratch.split_at_mut(POINTS * in_stride);
    for first in (0..patches).step_by(chunk) {
        let count = chunk.min(patches - first);
        // Bᵀ d B per patch and channel, as panels [count / COLS][inputs][COLS] per point; four
        // patches side by side fill one half of a panel's row.
        for (c, plane) in image.chunks_exact(hw).enumerate() {
            for t in (0..count).step_by(4) {
                let patch = first + t;
                let v = input_quads(plane, h, w, patch / across * 2, patch % across * 2);
                let at = (t / COLS) * inputs * COLS + c * COLS + t % COLS;
                for (p, value) in v.into_iter().enumerate() {
                    value.store(&mut transformed[p * in_stride + at..][..4]);
                }
            }
        }
        for p in 0..POINTS {
            let panels = &transformed[p * in_stride..][..count * inputs];
            tiled::product(filters.point(p), out, inputs, panels, count, &mut products[p * out_stride..][..out * count], Store::Set);
        }
        for o in 0..out {
            let plane = &mut dst[o * hw..][..hw];
            let bias = match epilogue {
                Epilogue::BiasRelu(bias) => Some(F4::splat(bias[o])),
                Epilogue::Set => None,
            };
            for t in (0..count).step_by(4) {
                // SAFETY: point p's products for channel o lie at p * out_stride + o * count,
                // count long; t + 4 <= count.
                let m: [F4; POINTS] = std::array::from_fn(|p| unsafe { F4::read(products.as_ptr().add(p * out_stride + o * count + t)) });
                let mut y = output_quads(&m);
                if let Some(b) = bias {
                    y = [y[0].bias_relu(b), y[1].bias_relu(b), y[2].bias_relu(b), y[3].bias_relu(b)];
                }
                let patch = first + t;
                let (y0, x0) = (patch / across * 2, patch % across * 2);
                y[0].store(&mut plane[y0 * w + x0..][..4]);
                y[1].store(&mut plane[y0 * w + x0 + 4..][..4]);
                y[2].store(&mut plane[(y0 + 1) * w + x0..][..4]);
                y[3].store(&mut plane[(y0 + 1) * w + x0 + 4..][..4]);
            }
        }
    }
}

/// Adds one image's share of the weights' gradient, in the transformed domain, to `sums`
/// [16][out][inputs]: for each point, Σ over patches of (A dy Aᵀ) ⊗ (Bᵀ x B). `x` [inputs][h * w]
/// is the convolution's input, `dy` [out][h * w] its output's gradient. [`weight_gradient`]
/// turns the sums into the weights' gradient.
#[allow(clippy::too_many_arguments)]
pub fn add_weight_gradient(x: &[f32], dy: &[f32], inputs: usize, out: usize, h: usize, w: usize, sums: &mut [f32]) {
    let hw = h * w;
    assert!(fits_weight_gradient(inputs, out, h, w) && x.len() == inputs * hw && dy.len() == out * hw && sums.len() == POINTS * out * inputs, "winograd::add_weight_gradient: shapes");
    // The products sum over the chunk's patches into [out][inputs] per point: at least 64, or
    // reading and writing those sums outweighs the sums themselves for wide layers.
    let chunk = chunk_patches(POINTS, inputs, out, h / 2 * (w / 2), 64);
    with_scratch(POINTS * (chunk * (inputs + out) + 2 * SKEW), |scratch| add_chunks(x, dy, inputs, out, h, w, sums, chunk, scratch));
}

#[allow(clippy::too_many_arguments)]
fn add_chunks(x: &[f32], dy: &[f32], inputs: usize, out: usize, h: usize, w: usize, sums: &mut [f32], chunk: usize, scratch: &mut [f32]) {
    let hw = h * w;
    let (across, patches) = (w / 2, h / 2 * (w / 2));
    let (in_stride, out_stride) = (chunk * inputs + SKEW, chunk * out + SKEW);
    let (transformed, grads) = scratch.split_at_mut(POINTS * in_stride);
    let corner = |patch: usize| (patch / across * 2, patch % across * 2);
    for first in (0..patches).step_by(chunk) {
        let count = chunk.min(patches - first);
        // The inputs' transforms as panels over channels, [inputs / COLS][count][COLS] per
        // point: four channels of four patches at a time, turned so each patch's four channels
        // are one vector.
        for c in (0..inputs).step_by(4) {
            let planes: [&[f32]; 4] = std::array::from_fn(|k| &x[(c + k) * hw..][..hw]);
            for t in (0..count).step_by(4) {
                let (y0, x0) = corner(first + t);
                let v = [input_quads(planes[0], h, w, y0, x0), input_quads(planes[1], h, w, y0, x0), input_quads(planes[2], h, w, y0, x0), input_quads(planes[3], h, w, y0, x0)];
                let at = (c / COLS) * count * COLS + t * COLS + c % COLS;
                for p in 0..POINTS {
                    let rows = F4::transpose(v[0][p], v[1][p], v[2][p], v[3][p]);
                    for (j, row) in rows.into_iter().enumerate() {
                        row.store(&mut transformed[p * in_stride + at + j * COLS..][..4]);
                    }
                }
            }
        }
        // The output gradients' adjoint transforms packed as weights, [out / ROWS][count][ROWS].
        for o in (0..out).step_by(ROWS) {
            let planes: [&[f32]; 4] = std::array::from_fn(|k| &dy[(o + k) * hw..][..hw]);
            for t in (0..count).step_by(4) {
                let (y0, x0) = corner(first + t);
                let quads = |plane: &[f32]| {
                    // SAFETY: rows y0 and y0 + 1 hold x0..x0 + 8 (`fits`: w % 8 == 0, x0 % 8 == 0).
                    let read = |y: usize| unsafe { (F4::read(plane.as_ptr().add(y * w + x0)), F4::read(plane.as_ptr().add(y * w + x0 + 4))) };
                    adjoint_quads(read(y0), read(y0 + 1))
                };
                let g = [quads(planes[0]), quads(planes[1]), quads(planes[2]), quads(planes[3])];
                let at = (o / ROWS) * count * ROWS + t * ROWS;
                for p in 0..POINTS {
                    let rows = F4::transpose(g[0][p], g[1][p], g[2][p], g[3][p]);
                    for (j, row) in rows.into_iter().enumerate() {
                        row.store(&mut grads[p * out_stride + at + j * ROWS..][..4]);
                    }
                }
            }
        }
        for p in 0..POINTS {
            let (left, right) = (&grads[p * out_stride..][..count * out], &transformed[p * in_stride..][..count * inputs]);
            tiled::product(left, out, count, right, inputs, &mut sums[p * out * inputs..][..out * inputs], Store::Add);
        }
    }
}

/// The weights' gradient [out][inputs * 9] from [`add_weight_gradient`]'s sums: Gᵀ s G per
/// channel pair, the adjoint of [`Filters::new`]'s transform.
pub fn weight_gradient(sums: &[f32], inputs: usize, out: usize) -> Vec<f32> {
    assert_eq!(sums.len(), POINTS * out * inputs, "winograd::weight_gradient: size");
    // Gᵀ a for a column of four: [a0 + ½(a1 + a2), ½(a1 - a2), ½(a1 + a2) + a3].
    let side = |a: [f32; 4]| [a[0] + 0.5 * (a[1] + a[2]), 0.5 * (a[1] - a[2]), 0.5 * (a[1] + a[2]) + a[3]];
    let mut dw = vec![0.0f32; out * inputs * 9];
    for o in 0..out {
        for i in 0..inputs {
            let s: [f32; POINTS] = std::array::from_fn(|p| sums[(p * out + o) * inputs + i]);
            let rows: [[f32; 3]; 4] = std::array::from_fn(|r| side([s[r * 4], s[r * 4 + 1], s[r * 4 + 2], s[r * 4 + 3]]));
            let g = &mut dw[(o * inputs + i) * 9..][..9];
            for c in 0..3 {
                let col = side([rows[0][c], rows[1][c], rows[2][c], rows[3][c]]);
                for r in 0..3 {
                    g[r * 3 + c] = col[r];
                }
            }
        }
    }
    dw
}

/// Floats of transformed sums [`add_weight_gradient`] takes.
pub fn sums_len(inputs: usize, out: usize) -> usize {
    POINTS * out * inputs
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// Test values in [-1, 1], spread by `seed` (also [`super::super::winograd4`]'s tests).
    pub(in crate::inference) fn values(len: usize, seed: usize) -> Vec<f32> {
        (0..len).map(|i| (((i * 7919 + seed * 104_729) % 2003) as f32 / 1001.0) - 1.0).collect()
    }

    /// The direct sum of a 3x3 'same' convolution, in f64.
    pub(in crate::inference) fn direct(weight: &[f32], x: &[f32], inputs: usize, out: usize, h: usize, w: usize) -> Vec<f64> {
        let mut y = vec![0.0f64; out * h * w];
        for o in 0..out {
            for i in 0..inputs {
                for yy in 0..h {
                    for xx in 0..w {
                        for k in 0..9 {
                            let (sy, sx) = ((yy + k / 3).wrapping_sub(1), (xx + k % 3).wrapping_sub(1));
                            if sy < h && sx < w {
                                y[(o * h + yy) * w + xx] += weight[(o * inputs + i) * 9 + k] as f64 * x[(i * h + sy) * w + sx] as f64;
                            }
                        }
                    }
                }
            }
        }
        y
    }

    pub(in crate::inference) fn largest(a: &[f32], b: &[f64]) -> f64 {
        a.iter().zip(b).map(|(&x, &y)| if x.is_nan() { f64::INFINITY } else { (x as f64 - y).abs() }).fold(0.0, f64::max)
    }

    #[test]
    fn the_convolution_equals_the_direct_sum() {
        // 8x16 planes: chunks of several panels; 16x16 with 32 inputs: more than one chunk.
        for (inputs, out, h, w) in [(8, 4, 8, 16), (16, 8, 16, 16), (32, 12, 16, 16), (64, 64, 16, 16)] {
            assert!(fits(inputs, out, h, w));
            let (weight, x) = (values(out * inputs * 9, 1), values(inputs * h * w, 2));
            let want = direct(&weight, &x, inputs, out, h, w);
            let mut y = vec![f32::NAN; out * h * w];
            conv_image(&Filters::new(&weight, inputs, out), &x, h, w, &mut y, Epilogue::Set);
            assert!(largest(&y, &want) < 1e-4 * inputs as f64, "{inputs}->{out} at {h}x{w}: {}", largest(&y, &want));
            let bias = values(out, 3);
            conv_image(&Filters::new(&weight, inputs, out), &x, h, w, &mut y, Epilogue::BiasRelu(&bias));
            let relu: Vec<f64> = want.iter().enumerate().map(|(k, v)| (v + bias[k / (h * w)] as f64).max(0.0)).collect();
            assert!(largest(&y, &relu) < 1e-4 * inputs as f64);
        }
    }

    /// <conv(x), dy> = <x, conv_turned(dy)> = <w, dW(x, dy)>: both gradients are adjoints.
    #[test]
    fn the_gradients_are_the_adjoints() {
        for (inputs, out, h, w) in [(8, 8, 8, 16), (16, 32, 16, 16), (64, 64, 16, 16)] {
            let (weight, x, dy) = (values(out * inputs * 9, 4), values(inputs * h * w, 5), values(out * h * w, 6));
            let y = direct(&weight, &x, inputs, out, h, w);
            let forward: f64 = y.iter().zip(&dy).map(|(a, &b)| a * b as f64).sum();
            let mut dx = vec![f32::NAN; x.len()];
            conv_image(&Filters::turned(&weight, inputs, out), &dy, h, w, &mut dx, Epilogue::Set);
            let through_input: f64 = dx.iter().zip(&x).map(|(&a, &b)| a as f64 * b as f64).sum();
            let mut sums = vec![0.0; sums_len(inputs, out)];
            add_weight_gradient(&x, &dy, inputs, out, h, w, &mut sums);
            let dw = weight_gradient(&sums, inputs, out);
            let through_weights: f64 = dw.iter().zip(&weight).map(|(&a, &b)| a as f64 * b as f64).sum();
            let scale = forward.abs().max(1.0);
            assert!((through_input - forward).abs() < 1e-4 * scale, "{inputs}->{out}: input {through_input} vs {forward}");
            assert!((through_weights - forward).abs() < 1e-4 * scale, "{inputs}->{out}: weights {through_weights} vs {forward}");
            // And each weight's gradient is the direct sum Σ dy · shifted x.
            for (o, i, k) in [(0, 0, 0), (out - 1, inputs - 1, 8), (out / 2, inputs / 3, 4)] {
                let mut want = 0.0f64;
                for yy in 0..h {
                    for xx in 0..w {
                        let (sy, sx) = ((yy + k / 3).wrapping_sub(1), (xx + k % 3).wrapping_sub(1));
                        if sy < h && sx < w {
                            want += dy[(o * h + yy) * w + xx] as f64 * x[(i * h + sy) * w + sx] as f64;
                        }
                    }
                }
                let got = dw[(o * inputs + i) * 9 + k] as f64;
                assert!((got - want).abs() < 1e-3, "dW[{o}][{i}][{k}]: {got} vs {want}");
            }
        }
    }
}
