//! A 3x3 convolution's product as a register-tiled kernel, for the page's wasm CPU path.
//!
//! Built as the worker is (`opt-level = "s"`), the `gemm` crate's wasm SIMD kernel ran the LGG
//! network's six products at 13.5-14.3 ms per image in V8 and this one at 10.8-11.2
//! (`bash scripts/bench/wasm-gemm.sh`, same shapes, results within 6.1e-5). The layout does the
//! work: the weights are packed as [out / ROWS][k][ROWS] and im2col writes the columns straight
//! into panels [hw / COLS][k][COLS], so the inner loop reads two vectors of pixels and splats
//! one weight per output row, with ROWS x COLS sums held in registers; bias and ReLU are
//! applied as the tile is stored. wasm SIMD has no fused multiply-add, so each step is a
//! multiply and an add.
//!
//! Natively the same loops run on four-float arrays, so the tests check this code against
//! burn's convolution; the CLI keeps the `gemm` crate, whose x86 kernels use FMA.

/// Output channels per tile ([`product`] spells out this many).
pub const ROWS: usize = 4;
/// Pixels per tile (two vectors).
pub const COLS: usize = 8;

/// Which kernel multiplies, in inference and in training.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kernel {
    /// The `gemm` crate's (FMA on x86).
    Gemm,
    /// The page's register-tiled wasm SIMD kernel (this module's), where a product's shapes fit its
    /// tiles (else `gemm`'s): at the worker's opt-level "s" it outruns `gemm`'s wasm kernel.
    Tiled,
    /// [`super::winograd`]'s transforms around this module's kernel, where a convolution's
    /// shapes fit them (else as [`Kernel::Tiled`]).
    Winograd,
}

impl Kernel {
    /// Whether products run on this module's kernel (where their shapes fit it).
    pub fn tiles(self) -> bool {
        self != Kernel::Gemm
    }
}

/// The kernel of this build: Winograd's around the tiled one in the page, `gemm`'s natively.
pub const KERNEL: Kernel = if cfg!(target_arch = "wasm32") { Kernel::Winograd } else { Kernel::Gemm };

/// Whether a layer fits the tiles: whole tiles of channels, and image rows of whole panels
/// (each panel lies in one row, so im2col copies runs of pixels).
pub fn fits(out: usize, w: usize) -> bool {
    out % ROWS == 0 && w % COLS == 0 && w > 0
}

#[cfg(target_arch = "wasm32")]
mod lanes {
    use core::arch::wasm32::*;

    /// Four floats in one wasm SIMD register.
    #[derive(Clone, Copy)]
    pub struct F4(v128);

    impl F4 {
        #[inline(always)]
        pub fn splat(v: f32) -> Self {
            F4(f32x4_splat(v))
        }
        /// # Safety
        /// Four floats must be readable at `at`.
        #[inline(always)]
        pub unsafe fn read(at: *const f32) -> Self {
            // SAFETY: the caller's promise; wasm loads need no alignment.
            F4(unsafe { v128_load(at as *const v128) })
        }
        #[inline(always)]
        pub fn mul_add(self, a: F4, b: F4) -> Self {
            F4(f32x4_add(self.0, f32x4_mul(a.0, b.0)))
        }
        /// self + a * b in one instruction: fused where the hardware has FMA (relaxed SIMD
        /// leaves it to the engine). Only inside functions that enable relaxed SIMD.
        #[cfg(feature = "relaxed")]
        #[inline(always)]
        pub fn fused_mul_add(self, a: F4, b: F4) -> Self {
            F4(f32x4_relaxed_madd(a.0, b.0, self.0))
        }
        /// max(self + bias, 0), with NaN going to 0 as the plain path's comparison does.
        #[inline(always)]
        pub fn bias_relu(self, bias: F4) -> Self {
            F4(f32x4_pmax(f32x4_splat(0.0), f32x4_add(self.0, bias.0)))
        }
        #[inline(always)]
        pub fn add(self, other: F4) -> Self {
            F4(f32x4_add(self.0, other.0))
        }
        #[inline(always)]
        pub fn sub(self, other: F4) -> Self {
            F4(f32x4_sub(self.0, other.0))
        }
        #[inline(always)]
        pub fn mul(self, other: F4) -> Self {
            F4(f32x4_mul(self.0, other.0))
        }
        /// The lanes where `by` is above 0, the others 0 (ReLU's mask).
        #[inline(always)]
        pub fn masked(self, by: F4) -> Self {
            F4(v128_and(self.0, f32x4_gt(by.0, f32x4_splat(0.0))))
        }
        /// Lane by lane, `self` where it is above `other`, else `other` (`planes::larger`).
        #[inline(always)]
        pub fn larger(self, other: F4) -> Self {
            F4(f32x4_pmax(other.0, self.0))
        }
        /// Of eight consecutive floats `a ++ b`, those at even places and those at odd ones.
        #[inline(always)]
        pub fn evens_odds(a: F4, b: F4) -> (F4, F4) {
            (F4(i32x4_shuffle::<0, 2, 4, 6>(a.0, b.0)), F4(i32x4_shuffle::<1, 3, 5, 7>(a.0, b.0)))
        }
        /// The inverse of [`F4::evens_odds`]: `a` at even places and `b` at odd ones, eight floats.
        #[inline(always)]
        pub fn interleave(a: F4, b: F4) -> (F4, F4) {
            (F4(i32x4_shuffle::<0, 4, 1, 5>(a.0, b.0)), F4(i32x4_shuffle::<2, 6, 3, 7>(a.0, b.0)))
        }
        /// The rows of the 4x4 matrix whose columns are `a`, `b`, `c`, `d`.
        #[inline(always)]
        pub fn transpose(a: F4, b: F4, c: F4, d: F4) -> [F4; 4] {
            let (ab_low, ab_high) = Self::interleave(a, b);
            let (cd_low, cd_high) = Self::interleave(c, d);
            [
                F4(i32x4_shuffle::<0, 1, 4, 5>(ab_low.0, cd_low.0)),
                F4(i32x4_shuffle::<2, 3, 6, 7>(ab_low.0, cd_low.0)),
                F4(i32x4_shuffle::<0, 1, 4, 5>(ab_high.0, cd_high.0)),
                F4(i32x4_shuffle::<2, 3, 6, 7>(ab_high.0, cd_high.0)),
            ]
        }
        /// The negation of every lane.
        #[inline(always)]
        pub fn neg(self) -> Self {
            F4(f32x4_neg(self.0))
        }
        /// The sum of the four lanes.
        #[inline(always)]
        pub fn total(self) -> f32 {
            f32x4_extract_lane::<0>(self.0) + f32x4_extract_lane::<1>(self.0) + f32x4_extract_lane::<2>(self.0) + f32x4_extract_lane::<3>(self.0)
        }
        #[inline(always)]
        pub fn store(self, to: &mut [f32]) {
            assert!(to.len() >= 4);
            // SAFETY: as in `load`.
            unsafe { v128_store(to.as_mut_ptr() as *mut v128, self.0) }
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod lanes {
    /// Four floats, so that native tests run the kernel's own loops.
    #[derive(Clone, Copy)]
    pub struct F4([f32; 4]);

    impl F4 {
        pub fn splat(v: f32) -> Self {
            F4([v; 4])
        }
        /// # Safety
        /// Four floats must be readable at `at`.
        pub unsafe fn read(at: *const f32) -> Self {
            // SAFETY: the caller's promise.
            F4(unsafe { std::ptr::read_unaligned(at as *const [f32; 4]) })
        }
        pub fn mul_add(self, a: F4, b: F4) -> Self {
            F4(std::array::from_fn(|i| self.0[i] + a.0[i] * b.0[i]))
        }
        pub fn bias_relu(self, bias: F4) -> Self {
            F4(std::array::from_fn(|i| {
                let v = self.0[i] + bias.0[i];
                if 0.0 < v { v } else { 0.0 }
            }))
        }
        pub fn add(self, other: F4) -> Self {
            F4(std::array::from_fn(|i| self.0[i] + other.0[i]))
        }
        pub fn sub(self, other: F4) -> Self {
            F4(std::array::from_fn(|i| self.0[i] - other.0[i]))
        }
        pub fn mul(self, other: F4) -> Self {
            F4(std::array::from_fn(|i| self.0[i] * other.0[i]))
        }
        pub fn masked(self, by: F4) -> Self {
            F4(std::array::from_fn(|i| if by.0[i] > 0.0 { self.0[i] } else { 0.0 }))
        }
        pub fn larger(self, other: F4) -> Self {
            F4(std::array::from_fn(|i| if self.0[i] > other.0[i] { self.0[i] } else { other.0[i] }))
        }
        pub fn evens_odds(a: F4, b: F4) -> (F4, F4) {
            let at = |k: usize| if k < 4 { a.0[k] } else { b.0[k - 4] };
            (F4(std::array::from_fn(|i| at(2 * i))), F4(std::array::from_fn(|i| at(2 * i + 1))))
        }
        pub fn interleave(a: F4, b: F4) -> (F4, F4) {
            let at = |k: usize| if k % 2 == 0 { a.0[k / 2] } else { b.0[k / 2] };
            (F4(std::array::from_fn(at)), F4(std::array::from_fn(|i| at(i + 4))))
        }
        pub fn transpose(a: F4, b: F4, c: F4, d: F4) -> [F4; 4] {
            std::array::from_fn(|i| F4([a.0[i], b.0[i], c.0[i], d.0[i]]))
        }
        pub fn neg(self) -> Self {
            F4(self.0.map(|v| -v))
        }
        pub fn total(self) -> f32 {
            self.0[0] + self.0[1] + self.0[2] + self.0[3]
        }
        pub fn store(self, to: &mut [f32]) {
            to[..4].copy_from_slice(&self.0);
        }
    }
}

pub use lanes::F4;

/// Row-major weights [out, k] as [out / ROWS][k][ROWS].
pub fn pack_weights(weight: &[f32], out: usize, k: usize) -> Vec<f32> {
    let mut packed = vec![0.0; out * k];
    pack_into(weight, out, k, &mut packed);
    packed
}

/// [`pack_weights`] into `packed` (out * k long).
pub fn pack_into(weight: &[f32], out: usize, k: usize, packed: &mut [f32]) {
    for (block, tile) in packed[..out * k].chunks_exact_mut(k * ROWS).enumerate() {
        for (kk, step) in tile.chunks_exact_mut(ROWS).enumerate() {
            for (r, v) in step.iter_mut().enumerate() {
                *v = weight[(block * ROWS + r) * k + kk];
            }
        }
    }
}

/// The transpose of row-major `weight` [k, out] (stored so), packed as [`pack_weights`] packs
/// an [out, k] matrix.
pub fn pack_transposed(weight: &[f32], out: usize, k: usize) -> Vec<f32> {
    let mut packed = vec![0.0; out * k];
    for (block, tile) in packed.chunks_exact_mut(k * ROWS).enumerate() {
        for (kk, step) in tile.chunks_exact_mut(ROWS).enumerate() {
            step.copy_from_slice(&weight[kk * out + block * ROWS..][..ROWS]);
        }
    }
    packed
}

/// Row-major `rows` [k, n] as panels [n / COLS][k][COLS].
pub fn panels_of(rows: &[f32], k: usize, n: usize, panels: &mut [f32]) {
    for (j, panel) in panels.chunks_exact_mut(k * COLS).enumerate() {
        for (kk, dst) in panel.chunks_exact_mut(COLS).enumerate() {
            dst.copy_from_slice(&rows[kk * n + j * COLS..][..COLS]);
        }
    }
}

/// The transpose of row-major `rows` [n, k] (a [k, n] matrix stored transposed) as panels
/// [n / COLS][k][COLS].
pub fn panels_of_transposed(rows: &[f32], n: usize, k: usize, panels: &mut [f32]) {
    for (j, panel) in panels[..n * k].chunks_exact_mut(k * COLS).enumerate() {
        for t in 0..COLS {
            for (kk, &v) in rows[(j * COLS + t) * k..][..k].iter().enumerate() {
                panel[kk * COLS + t] = v;
            }
        }
    }
}

/// im2col of one image's `inputs` planes of `h` x `w` for a 3x3 'same' convolution, written as
/// panels [hw / COLS][inputs * 9][COLS]: panel j holds pixels j * COLS.. of one row, and its
/// row (c, ky, kx) their neighbours at (ky - 1, kx - 1) in plane c, 0 outside the plane.
pub fn im2col_panels(image: &[f32], inputs: usize, h: usize, w: usize, panels: &mut [f32]) {
    for (j, panel) in panels.chunks_exact_mut(inputs * 9 * COLS).enumerate() {
        im2col_panel(image, h, w, j, panel);
    }
}

/// Panel `j` alone ([`im2col_panels`]'s layout): [inputs * 9][COLS].
pub fn im2col_panel(image: &[f32], h: usize, w: usize, j: usize, panel: &mut [f32]) {
    let per_row = w / COLS;
    let (y, x0) = (j / per_row, (j % per_row) * COLS);
    for (kk, dst) in panel.chunks_exact_mut(COLS).enumerate() {
        let (c, ky, kx) = (kk / 9, kk % 9 / 3, kk % 3);
        let Some(sy) = (y + ky).checked_sub(1).filter(|&sy| sy < h) else {
            dst.fill(0.0);
            continue;
        };
        let row = &image[(c * h + sy) * w..][..w];
        // Pixels x0 + t + kx - 1 for t in 0..COLS; inside the row but at its two ends.
        if x0 + kx >= 1 && x0 + COLS + kx - 1 <= w {
            dst.copy_from_slice(&row[x0 + kx - 1..][..COLS]);
        } else {
            for (t, v) in dst.iter_mut().enumerate() {
                *v = (x0 + t + kx).checked_sub(1).filter(|&sx| sx < w).map_or(0.0, |sx| row[sx]);
            }
        }
    }
}

/// What a tile's sums become in `dst`.
#[derive(Clone, Copy)]
pub enum Store<'a> {
    /// ReLU(sums + the row's bias): inference, with batch norm folded into the weights.
    BiasRelu(&'a [f32]),
    /// The sums themselves.
    Set,
    /// The sums added to what `dst` holds.
    Add,
}

/// dst [out, hw] from packed weights x panels, tile by tile, as `store` says. The tile's eight sums
/// are spelled out and the inner loop walks raw pointers: the worker is built at
/// `opt-level = "s"`, which neither unrolls a loop over an array of sums (they then live in
/// memory) nor lifts slice bounds checks out of the loop (four branches a step); either one
/// cost a third to a half of the speed (`wasm-gemm.sh` built at "s").
pub fn product(packed: &[f32], out: usize, k: usize, panels: &[f32], hw: usize, dst: &mut [f32], store: Store) {
    for j in 0..hw / COLS {
        product_panel(packed, out, k, &panels[j * k * COLS..][..k * COLS], hw, j, dst, store);
    }
}

/// A 3x3 'same' convolution stored as `store` says, im2col made panel by panel into a buffer
/// of one panel (k * COLS floats, L1-sized) just before its products: the whole image's im2col
/// (k * h * w floats, megabytes) is never written and read back.
#[allow(clippy::too_many_arguments)]
pub fn conv_panels(packed: &[f32], out: usize, image: &[f32], inputs: usize, h: usize, w: usize, panel: &mut Vec<f32>, dst: &mut [f32], store: Store) {
    let (k, hw) = (inputs * 9, h * w);
    panel.resize(k * COLS, 0.0);
    for j in 0..hw / COLS {
        im2col_panel(image, h, w, j, panel);
        product_panel(packed, out, k, panel, hw, j, dst, store);
    }
}

/// acc + a * b in the products' inner loop: fused in the relaxed SIMD build.
macro_rules! madd {
    ($acc:expr, $a:expr, $b:expr) => {{
        #[cfg(all(feature = "relaxed", target_arch = "wasm32"))]
        let sum = $acc.fused_mul_add($a, $b);
        #[cfg(not(all(feature = "relaxed", target_arch = "wasm32")))]
        let sum = $acc.mul_add($a, $b);
        sum
    }};
}

/// The products of panel `j` (pixels j * COLS..) for every output channel: each step a
/// multiply and an add, or one fused multiply-add in the relaxed SIMD build.
#[allow(clippy::too_many_arguments)]
#[cfg_attr(all(feature = "relaxed", target_arch = "wasm32"), target_feature(enable = "relaxed-simd"))]
fn product_panel(packed: &[f32], out: usize, k: usize, panel: &[f32], hw: usize, j: usize, dst: &mut [f32], store: Store) {
    let panel = &panel[..k * COLS];
    for block in 0..out / ROWS {
        let rows = &packed[block * k * ROWS..][..k * ROWS];
        let zero = F4::splat(0.0);
        let (mut l0, mut r0, mut l1, mut r1, mut l2, mut r2, mut l3, mut r3) = (zero, zero, zero, zero, zero, zero, zero, zero);
        let (mut pixels, mut weights) = (panel.as_ptr(), rows.as_ptr());
        for _ in 0..k {
            // SAFETY: step kk reads panel[kk * COLS..][..COLS] and rows[kk * ROWS..][..ROWS],
            // inside the slices above (k * COLS and k * ROWS long) for kk < k.
            unsafe {
                let (left, right) = (F4::read(pixels), F4::read(pixels.add(4)));
                let a = F4::splat(*weights);
                (l0, r0) = (madd!(l0, a, left), madd!(r0, a, right));
                let a = F4::splat(*weights.add(1));
                (l1, r1) = (madd!(l1, a, left), madd!(r1, a, right));
                let a = F4::splat(*weights.add(2));
                (l2, r2) = (madd!(l2, a, left), madd!(r2, a, right));
                let a = F4::splat(*weights.add(3));
                (l3, r3) = (madd!(l3, a, left), madd!(r3, a, right));
                (pixels, weights) = (pixels.add(COLS), weights.add(ROWS));
            }
        }
        for (r, (left, right)) in [(l0, r0), (l1, r1), (l2, r2), (l3, r3)].into_iter().enumerate() {
            let channel = block * ROWS + r;
            let to = &mut dst[channel * hw + j * COLS..][..COLS];
            match store {
                Store::BiasRelu(bias) => {
                    let b = F4::splat(bias[channel]);
                    left.bias_relu(b).store(&mut to[..4]);
                    right.bias_relu(b).store(&mut to[4..]);
                }
                Store::Set => {
                    left.store(&mut to[..4]);
                    right.store(&mut to[4..]);
                }
                Store::Add => {
                    // SAFETY: `to` is COLS = 8 floats long.
                    let (was_left, was_right) = unsafe { (F4::read(to.as_ptr()), F4::read(to.as_ptr().add(4))) };
                    left.add(was_left).store(&mut to[..4]);
                    right.add(was_right).store(&mut to[4..]);
                }
            }
        }
    }
}
