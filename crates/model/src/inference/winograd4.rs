//! 3x3 'same' convolutions by Winograd's F(4x4, 3x3) (Lavin & Gray 2016), for the page's
//! inference: each 4x4 block of outputs comes from the 6x6 patch of inputs around it, with 36
//! multiply-adds per channel pair per 16 outputs, against [`super::winograd`]'s F(2x2, 3x3)
//! 16 per 4 (1.78x fewer). The larger transforms spread rounding further, so this serves
//! inference only (CAM's forward pass and its gradient's layers; checked against burn's ops to
//! 1e-4), and training keeps F(2x2, 3x3). The structure is F(2x2)'s: transforms of four patches
//! side by side in SIMD lanes, then one [`tiled`] product per transformed point.

use super::tiled::{self, Store, COLS, F4};
use super::winograd::{chunk_patches, fits_channels, with_scratch, Epilogue, SKEW};

/// Transformed values per patch (6 x 6).
const POINTS: usize = 36;

/// Whether a convolution of `inputs` to `out` channels on `h` x `w` planes can take this path:
/// whole 4x4 blocks, rows of whole groups of four patches (16 pixels), whole panels of patches.
pub fn fits(inputs: usize, out: usize, h: usize, w: usize) -> bool {
    fits_channels(inputs, out) && h % 4 == 0 && w % 16 == 0 && (h / 4 * (w / 4)) % COLS == 0 && h * w > 0
}

/// Filters in the transformed domain, packed for [`tiled::product`]: [36][out / ROWS][inputs][ROWS].
pub struct Filters {
    packed: Vec<f32>,
    pub inputs: usize,
    pub out: usize,
}

/// G applied to three values: G = [[¼, 0, 0], [-⅙, -⅙, -⅙], [-⅙, ⅙, -⅙], [1/24, 1/12, ⅙],
/// [1/24, -1/12, ⅙], [0, 0, 1]].
fn filter_side(a: [f32; 3]) -> [f32; 6] {
    let [g0, g1, g2] = a;
    [
        g0 / 4.0,
        -(g0 + g1 + g2) / 6.0,
        -(g0 - g1 + g2) / 6.0,
        g0 / 24.0 + g1 / 12.0 + g2 / 6.0,
        g0 / 24.0 - g1 / 12.0 + g2 / 6.0,
        g2,
    ]
}

/// G g Gᵀ of a 3x3 filter `g` (row-major): point (r, c) at r * 6 + c.
fn filter_transform(g: &[f32]) -> [f32; POINTS] {
    let cols: [[f32; 6]; 3] = std::array::from_fn(|x| filter_side([g[x], g[3 + x], g[6 + x]]));
    let mut u = [0.0; POINTS];
    for r in 0..6 {
        u[r * 6..r * 6 + 6].copy_from_slice(&filter_side([cols[0][r], cols[1][r], cols[2][r]]));
    }
    u
}

impl Filters {
    /// From row-major weights [out][inputs * 9].
    pub fn new(weight: &[f32], inputs: usize, out: usize) -> Self {
        assert_eq!(weight.len(), out * inputs * 9, "winograd4::Filters::new: weight size");
        // Each filter's 36 values side by side, then gathered point by point: writing them
        // straight to [36][out][inputs] put every value in another cache line (twice the
        // time, and this runs before a model's first heatmap).
        let transformed: Vec<f32> = weight.chunks_exact(9).flat_map(filter_transform).collect();
        let (n, mut point) = (out * inputs, Vec::with_capacity(out * inputs));
        let mut packed = vec![0.0f32; POINTS * n];
        for (p, dst) in packed.chunks_exact_mut(n).enumerate() {
            point.clear();
            point.extend(transformed[p..].iter().step_by(POINTS));
            tiled::pack_into(&point, out, inputs, dst);
        }
        Self { packed, inputs, out }
    }

    fn point(&self, p: usize) -> &[f32] {
        &self.packed[p * self.out * self.inputs..][..self.out * self.inputs]
    }
}

/// Bᵀ applied to six values, lane by lane, with Bᵀ = [[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0],
/// [0, 4, -4, -1, 1, 0], [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]].
#[inline(always)]
fn input_side(d: [F4; 6]) -> [F4; 6] {
    let (four, five, two) = (F4::splat(4.0), F4::splat(5.0), F4::splat(2.0));
    let (a, b) = (d[4].sub(d[2]), d[3].sub(d[1]));
    let (c, e) = (d[4].sub(d[2].mul(four)), d[3].sub(d[1].mul(four)));
    [
        d[4].add(d[0].mul(four)).sub(d[2].mul(five)),
        c.add(e),
        c.sub(e),
        a.add(b.mul(two)),
        a.sub(b.mul(two)),
        d[5].add(d[1].mul(four)).sub(d[3].mul(five)),
    ]
}

/// Aᵀ applied to six values, lane by lane: Aᵀ m A turns 36 transformed products into a 4x4
/// block of outputs, with Aᵀ = [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0],
/// [0, 1, -1, 8, -8, 1]].
#[inline(always)]
fn output_side(m: [F4; 6]) -> [F4; 4] {
    let (s12, d12, s34, d34) = (m[1].add(m[2]), m[1].sub(m[2]), m[3].add(m[4]), m[3].sub(m[4]));
    [
        m[0].add(s12).add(s34),
        d12.add(d34.mul(F4::splat(2.0))),
        s12.add(s34.mul(F4::splat(4.0))),
        d12.add(d34.mul(F4::splat(8.0))).add(m[5]),
    ]
}

/// Bᵀ d B of four patches side by side, 0 outside the plane, their corners at (y0 - 1,
/// x0 - 1 + 4j) for lanes j = 0..3: point p of patch j in lane j of value p.
#[inline(always)]
fn input_quads(plane: &[f32], h: usize, w: usize, y0: usize, x0: usize) -> [F4; POINTS] {
    let row = |r: usize| -> [F4; 6] {
        let Some(y) = (y0 + r).checked_sub(1).filter(|&y| y < h) else {
            return [F4::splat(0.0); 6];
        };
        let line = &plane[y * w..][..w];
        let mut edge = [0.0f32; 20];
        let run = if x0 >= 1 && x0 + 19 <= w {
            &line[x0 - 1..x0 + 19]
        } else {
            for (i, v) in edge.iter_mut().enumerate() {
                if let Some(x) = (x0 + i).checked_sub(1).filter(|&x| x < w) {
                    *v = line[x];
                }
            }
            &edge[..]
        };
        // Column k of patch j is run[4j + k]: the transposes of run[0..16] and run[4..20].
        // SAFETY: `run` is 20 floats long; the reads cover 0..20.
        let (q, s) = unsafe {
            let at = run.as_ptr();
            let q = [F4::read(at), F4::read(at.add(4)), F4::read(at.add(8)), F4::read(at.add(12)), F4::read(at.add(16))];
            (F4::transpose(q[0], q[1], q[2], q[3]), F4::transpose(q[1], q[2], q[3], q[4]))
        };
        input_side([q[0], q[1], q[2], q[3], s[0], s[1]])
    };
    // Spelled out, as everywhere in these kernels: at the worker's opt-level "s" a loop over
    // an array of lanes keeps them in memory.
    let (r0, r1, r2, r3, r4, r5) = (row(0), row(1), row(2), row(3), row(4), row(5));
    let column = |c: usize| input_side([r0[c], r1[c], r2[c], r3[c], r4[c], r5[c]]);
    let (c0, c1, c2, c3, c4, c5) = (column(0), column(1), column(2), column(3), column(4), column(5));
    macro_rules! points {
        ($($r:literal)*) => { [$(c0[$r], c1[$r], c2[$r], c3[$r], c4[$r], c5[$r]),*] };
    }
    points!(0 1 2 3 4 5)
}

/// Aᵀ m A of four patches side by side: their 4x4 blocks as the plane holds them, one row of
/// 16 floats (patch 0's four, then patch 1's, ...) per output row.
#[inline(always)]
fn output_quads(m: &[F4; POINTS]) -> [[F4; 4]; 4] {
    let row = |r: usize| output_side([m[r * 6], m[r * 6 + 1], m[r * 6 + 2], m[r * 6 + 3], m[r * 6 + 4], m[r * 6 + 5]]);
    let (q0, q1, q2, q3, q4, q5) = (row(0), row(1), row(2), row(3), row(4), row(5));
    let column = |x: usize| output_side([q0[x], q1[x], q2[x], q3[x], q4[x], q5[x]]);
    let (x0, x1, x2, x3) = (column(0), column(1), column(2), column(3));
    // xN[y]: output (y, N), patch j in lane j; each output row's 16 floats are a transpose.
    [F4::transpose(x0[0], x1[0], x2[0], x3[0]), F4::transpose(x0[1], x1[1], x2[1], x3[1]), F4::transpose(x0[2], x1[2], x2[2], x3[2]), F4::transpose(x0[3], x1[3], x2[3], x3[3])]
}

/// Stores one output row of four patches (16 floats) at `to`, bias and ReLU first if asked.
#[inline(always)]
fn store_row(row: [F4; 4], bias: Option<F4>, to: &mut [f32]) {
    let [a, b, c, d] = match bias {
        Some(bias) => [row[0].bias_relu(bias), row[1].bias_relu(bias), row[2].bias_relu(bias), row[3].bias_relu(bias)],
        None => row,
    };
    a.store(&mut to[..4]);
    b.store(&mut to[4..8]);
    c.store(&mut to[8..12]);
    d.store(&mut to[12..16]);
}

/// One image's convolution: `image` [inputs][h * w] into `dst` [out][h * w], every value
/// written.
pub fn conv_image(filters: &Filters, image: &[f32], h: usize, w: usize, dst: &mut [f32], epilogue: Epilogue) {
    let (inputs, out, hw) = (filters.inputs, filters.out, h * w);
    assert!(fits(inputs, out, h, w) && image.len() == inputs * hw && dst.len() == out * hw, "winograd4::conv_image: shapes");
    let patches = h / 4 * (w / 4);
    let chunk = chunk_patches(POINTS, inputs, out, patches, COLS);
    with_scratch(POINTS * (chunk * (inputs + out) + 2 * SKEW), |scratch| conv_chunks(filters, image, h, w, dst, epilogue, chunk, scratch));
}

#[allow(clippy::too_many_arguments)]
fn conv_chunks(filters: &Filters, image: &[f32], h: usize, w: usize, dst: &mut [f32], epilogue: Epilogue, chunk: usize, scratch: &mut [f32]) {
    let (inputs, out, hw) = (filters.inputs, filters.out, h * w);
    let (across, patches) = (w / 4, h / 4 * (w / 4));
    let (in_stride, out_stride) = (chunk * inputs + SKEW, chunk * out + SKEW);
    let (transformed, products) = scratch.split_at_mut(POINTS * in_stride);
    for first in (0..patches).step_by(chunk) {
        let count = chunk.min(patches - first);
        // Bᵀ d B per patch and channel, as panels [count / COLS][inputs][COLS] per point.
        for (c, plane) in image.chunks_exact(hw).enumerate() {
            for t in (0..count).step_by(4) {
                let patch = first + t;
                let v = input_quads(plane, h, w, patch / across * 4, patch % across * 4);
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
                let patch = first + t;
                let (y0, x0) = (patch / across * 4, patch % across * 4);
                let [y_0, y_1, y_2, y_3] = output_quads(&m);
                store_row(y_0, bias, &mut plane[y0 * w + x0..][..16]);
                store_row(y_1, bias, &mut plane[(y0 + 1) * w + x0..][..16]);
                store_row(y_2, bias, &mut plane[(y0 + 2) * w + x0..][..16]);
                store_row(y_3, bias, &mut plane[(y0 + 3) * w + x0..][..16]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::winograd::tests::{direct, largest, values};
    use super::*;

    #[test]
    fn the_convolution_equals_the_direct_sum() {
        // 8x16: one row of four patches, twice; 32x32 with 64 and 128 channels: the shipped
        // models' layers, more than one chunk; a plane wider than tall, and one taller.
        for (inputs, out, h, w) in [(8, 4, 8, 16), (16, 8, 16, 16), (32, 12, 16, 32), (64, 128, 32, 32), (128, 128, 16, 16), (8, 8, 32, 16)] {
            assert!(fits(inputs, out, h, w));
            let (weight, x) = (values(out * inputs * 9, 1), values(inputs * h * w, 2));
            let want = direct(&weight, &x, inputs, out, h, w);
            let mut y = vec![f32::NAN; out * h * w];
            conv_image(&Filters::new(&weight, inputs, out), &x, h, w, &mut y, Epilogue::Set);
            eprintln!("ERR {inputs}->{out} {h}x{w}: {:e}", largest(&y, &want));
            assert!(largest(&y, &want) < 1e-4 * inputs as f64, "{inputs}->{out} at {h}x{w}: {}", largest(&y, &want));
            let bias = values(out, 3);
            conv_image(&Filters::new(&weight, inputs, out), &x, h, w, &mut y, Epilogue::BiasRelu(&bias));
            let relu: Vec<f64> = want.iter().enumerate().map(|(k, v)| (v + bias[k / (h * w)] as f64).max(0.0)).collect();
            assert!(largest(&y, &relu) < 1e-4 * inputs as f64);
        }
    }

    #[test]
    fn only_whole_groups_of_four_blocks_fit() {
        assert!(fits(16, 32, 64, 64) && fits(64, 128, 16, 16));
        assert!(!fits(16, 32, 8, 8), "8 px rows hold two 4x4 blocks, not four");
        assert!(!fits(16, 32, 18, 16) && !fits(4, 8, 16, 16) && !fits(16, 6, 16, 16));
    }
}
