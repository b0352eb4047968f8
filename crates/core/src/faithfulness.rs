//! Can a heatmap be trusted? The maths of the checks, free of any model: each check asks a
//! caller-supplied `probability` function (a batch of images in, p(lesion) out) and compares
//! maps.
//!
//! - [`spearman`] and [`ssim`]: how alike two maps are (Adebayo et al. 2018 compare a method's
//!   map before and after the model's weights are randomised; a map that stays alike does not
//!   depend on what the model learnt).
//! - [`deletion_steps`] / [`insertion_steps`] (Petsiuk et al. 2018, RISE): the hottest pixels
//!   removed first, or inserted first into a blurred image, in 5% steps; p is tracked and the
//!   area under its curve ([`curve_area`]) scores the map. ROAD (Rong et al. 2022) removes
//!   them by noisy linear imputation ([`impute`]) instead of blanking, so that the removal
//!   itself leaves no shape for the classifier to see.

use crate::plane::Plane;
use serde::{Deserialize, Serialize};

mod road;
pub use road::{impute, ROAD_NOISE};

/// Fractions of pixels removed or inserted: 0, 5%, ..., 100%.
pub const STEPS: usize = 20;

/// Spearman's rank correlation of two maps of the same size (ties take their mean rank); NaN
/// when either map is constant.
pub fn spearman(a: &Plane, b: &Plane) -> f64 {
    assert_eq!(a.data.len(), b.data.len(), "maps of different sizes");
    pearson(&ranks(&a.data), &ranks(&b.data))
}

/// [`spearman`] over the pixels where `keep` is true only: the field of view, so that a
/// background both maps leave at 0 does not pass for agreement.
pub fn spearman_within(a: &Plane, b: &Plane, keep: &[bool]) -> f64 {
    assert_eq!(a.data.len(), keep.len(), "maps of different sizes");
    let pick = |p: &Plane| p.data.iter().zip(keep).filter(|(_, k)| **k).map(|(&v, _)| v).collect::<Vec<f32>>();
    pearson(&ranks(&pick(a)), &ranks(&pick(b)))
}

fn ranks(values: &[f32]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&i, &j| values[i].total_cmp(&values[j]));
    let mut rank = vec![0.0; values.len()];
    let mut k = 0;
    while k < order.len() {
        let mut end = k;
        while end + 1 < order.len() && values[order[end + 1]] == values[order[k]] {
            end += 1;
        }
        let mean = (k + end) as f64 / 2.0;
        order[k..=end].iter().for_each(|&i| rank[i] = mean);
        k = end + 1;
    }
    rank
}

fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        sab += (x - ma) * (y - mb);
        saa += (x - ma) * (x - ma);
        sbb += (y - mb) * (y - mb);
    }
    if saa == 0.0 || sbb == 0.0 {
        f64::NAN
    } else {
        sab / (saa * sbb).sqrt()
    }
}

/// Mean structural similarity of two maps in [0, 1] over 7x7 windows (Wang et al. 2004, with
/// their constants for a data range of 1), as Adebayo et al. use it.
pub fn ssim(a: &Plane, b: &Plane) -> f64 {
    assert_eq!((a.width, a.height), (b.width, b.height), "maps of different sizes");
    let (w, h) = (a.width, a.height);
    let r = 3usize.min(w.saturating_sub(1) / 2).min(h.saturating_sub(1) / 2);
    let (c1, c2) = (0.01f64.powi(2), 0.03f64.powi(2));
    // Window sums from summed-area tables of a, b, a², b² and ab: O(1) per window.
    let table = |f: &dyn Fn(f64, f64) -> f64| {
        let mut t = vec![0.0f64; (w + 1) * (h + 1)];
        for y in 0..h {
            let mut row = 0.0;
            for x in 0..w {
                let i = y * w + x;
                row += f(a.data[i] as f64, b.data[i] as f64);
                t[(y + 1) * (w + 1) + x + 1] = t[y * (w + 1) + x + 1] + row;
            }
        }
        t
    };
    let tables = [table(&|p, _| p), table(&|_, q| q), table(&|p, _| p * p), table(&|_, q| q * q), table(&|p, q| p * q)];
    let n = ((2 * r + 1) * (2 * r + 1)) as f64;
    let mut total = 0.0;
    let mut count = 0;
    for y in r..h - r {
        for x in r..w - r {
            let (top, bottom, left, right) = (y - r, y + r + 1, x - r, x + r + 1);
            let [sa, sb, saa, sbb, sab] = tables.each_ref().map(|t| t[bottom * (w + 1) + right] - t[top * (w + 1) + right] - t[bottom * (w + 1) + left] + t[top * (w + 1) + left]);
            let (ma, mb) = (sa / n, sb / n);
            let (va, vb, cov) = (saa / n - ma * ma, sbb / n - mb * mb, sab / n - ma * mb);
            total += ((2.0 * ma * mb + c1) * (2.0 * cov + c2)) / ((ma * ma + mb * mb + c1) * (va + vb + c2));
            count += 1;
        }
    }
    total / count.max(1) as f64
}

/// Pixel indices from the hottest down (ties: the lower index first).
pub fn hottest_first(heat: &Plane) -> Vec<usize> {
    let mut order: Vec<usize> = (0..heat.data.len()).collect();
    let key = |v: f32| if v.is_finite() { v } else { f32::NEG_INFINITY };
    order.sort_by(|&i, &j| key(heat.data[j]).total_cmp(&key(heat.data[i])).then(i.cmp(&j)));
    order
}

/// How removed pixels are filled.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Removal {
    /// Set to the given value (RISE's deletion: 0, black).
    Constant(f32),
    /// ROAD's noisy linear imputation: each removed pixel becomes the mean of its neighbours,
    /// solved over all removed pixels together, plus a little seeded noise.
    Road { seed: u64 },
}

/// What insertion puts pixels back into: the image blurred (a box of `blur_radius`, twice),
/// so that what is not put back keeps its coarse context and loses its detail.
pub fn insertion_base(image: &Plane, blur_radius: usize) -> Plane {
    crate::cam::refine::box_blurred(&crate::cam::refine::box_blurred(image, blur_radius), blur_radius)
}

/// Insertion's blur radius at an input of `size` px: 8 px at 256.
pub fn insertion_blur_radius(size: usize) -> usize {
    (8 * size).div_ceil(256)
}

/// The image with the first `k` of `order` removed, for k at 0, 5%, ..., 100%: STEPS + 1 images.
pub fn deletion_steps(image: &Plane, heat: &Plane, removal: Removal) -> Vec<Plane> {
    let order = hottest_first(heat);
    (0..=STEPS)
        .map(|s| {
            let k = order.len() * s / STEPS;
            let mut removed = vec![false; order.len()];
            order[..k].iter().for_each(|&i| removed[i] = true);
            match removal {
                Removal::Constant(v) => Plane::new(image.width, image.height, image.data.iter().zip(&removed).map(|(&p, &r)| if r { v } else { p }).collect()),
                Removal::Road { seed } => impute(image, &removed, seed.wrapping_add(s as u64)),
            }
        })
        .collect()
}

/// The blurred image with the first `k` of `order` put back from the image, for k at 0, 5%,
/// ..., 100%: STEPS + 1 images (RISE's insertion).
pub fn insertion_steps(image: &Plane, heat: &Plane, blur_radius: usize) -> Vec<Plane> {
    let blurred = insertion_base(image, blur_radius);
    let order = hottest_first(heat);
    (0..=STEPS)
        .map(|s| {
            let k = order.len() * s / STEPS;
            let mut out = blurred.clone();
            order[..k].iter().for_each(|&i| out.data[i] = image.data[i]);
            out
        })
        .collect()
}

/// The area under a curve of STEPS + 1 values sampled evenly on [0, 1] (trapezoids).
pub fn curve_area(values: &[f64]) -> f64 {
    assert!(values.len() >= 2, "a curve needs two points");
    let dx = 1.0 / (values.len() - 1) as f64;
    values.windows(2).map(|p| (p[0] + p[1]) / 2.0 * dx).sum()
}

/// Occlusion sensitivity (Zeiler and Fergus, 2014): a `patch` px square slides over the image
/// (stride `stride`) and is set to `fill`; a pixel's heat is the drop in p, clipped at 0,
/// averaged over the patches that cover it. Model-agnostic: it needs only p, many times.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Occlusion {
    pub patch: usize,
    pub stride: usize,
    pub fill: f32,
}

impl Occlusion {
    /// The page's and the CLI's setting for a model input: an eighth of its side, moved by half
    /// a patch (15 x 15 places), filled with the input's mean so that the patch is neither a
    /// dark lesion nor a bright one.
    pub fn for_input(image: &Plane) -> Occlusion {
        let side = image.width.min(image.height);
        let patch = (side / 8).max(1);
        Occlusion { patch, stride: (patch / 2).max(1), fill: image.data.iter().sum::<f32>() / image.data.len().max(1) as f32 }
    }

    /// The top-left corners of every patch on a `w` x `h` image (the last row and column
    /// reach the border).
    pub fn places(&self, w: usize, h: usize) -> Vec<(usize, usize)> {
        let patch = self.patch.clamp(1, w.min(h));
        let starts = |len: usize| {
            let mut s: Vec<usize> = (0..=len - patch).step_by(self.stride.max(1)).collect();
            if *s.last().unwrap() != len - patch {
                s.push(len - patch);
            }
            s
        };
        starts(h).into_iter().flat_map(|y| starts(w).into_iter().map(move |x| (x, y))).collect()
    }

    /// `image` with the patch at `(x0, y0)` filled.
    pub fn occluded(&self, image: &Plane, (x0, y0): (usize, usize)) -> Plane {
        let patch = self.patch.clamp(1, image.width.min(image.height));
        let mut p = image.clone();
        for y in y0..y0 + patch {
            p.data[y * image.width + x0..y * image.width + x0 + patch].iter_mut().for_each(|v| *v = self.fill);
        }
        p
    }

    /// The map from p of the image (`base`) and p with each patch of `places` filled, in [0, 1].
    pub fn map(&self, w: usize, h: usize, places: &[(usize, usize)], base: f32, probs: &[f32]) -> Plane {
        let patch = self.patch.clamp(1, w.min(h));
        let (mut heat, mut cover) = (vec![0.0f32; w * h], vec![0u32; w * h]);
        for (&(x0, y0), &p) in places.iter().zip(probs) {
            for y in y0..y0 + patch {
                for x in x0..x0 + patch {
                    heat[y * w + x] += (base - p).max(0.0);
                    cover[y * w + x] += 1;
                }
            }
        }
        let data = heat.iter().zip(&cover).map(|(&s, &c)| if c > 0 { s / c as f32 } else { 0.0 }).collect();
        Plane::new(w, h, data).normalised()
    }
}

/// A map whose rank correlation with the original stays above this once the head and every
/// block from the explained one up are random shows the image, not what the model learnt.
pub const RANDOMISATION_CUT: f64 = 0.5;

/// One step of the cascade for one image: the map again, and how like the original it is.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RandomisedMap {
    pub randomised: String,
    pub spearman: f64,
    pub ssim: f64,
    pub map: Plane,
}

/// Every check on one image for one method.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImageTrust {
    pub method: crate::cam::CamMethod,
    pub block: usize,
    pub probability: f32,
    pub map: Plane,
    pub randomisation: Vec<RandomisedMap>,
    /// p(lesion) as 0%, 5%, …, 100% of the pixels go hottest first (blanked), are imputed
    /// from their neighbours (ROAD), or come back into a blurred image (insertion).
    pub deletion: Vec<f64>,
    pub road: Vec<f64>,
    pub insertion: Vec<f64>,
    pub deletion_auc: f64,
    pub road_auc: f64,
    pub insertion_auc: f64,
    /// Whether the map's peak falls inside the true mask; `None` without a lesion mask.
    pub pointing_hit: Option<bool>,
    pub fails_randomisation: bool,
}

/// One image's figures without its maps and curves: what a check of every image keeps.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrustFigures {
    pub deletion_auc: f64,
    pub road_auc: f64,
    pub insertion_auc: f64,
    pub pointing_hit: Option<bool>,
    pub fails_randomisation: bool,
}

impl From<&ImageTrust> for TrustFigures {
    fn from(t: &ImageTrust) -> Self {
        TrustFigures { deletion_auc: t.deletion_auc, road_auc: t.road_auc, insertion_auc: t.insertion_auc, pointing_hit: t.pointing_hit, fails_randomisation: t.fails_randomisation }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(w: usize, h: usize) -> Plane {
        Plane::new(w, h, (0..w * h).map(|i| i as f32 / (w * h) as f32).collect())
    }

    #[test]
    fn rank_correlation_and_ssim_see_a_map_and_its_reverse() {
        let a = ramp(16, 16);
        let reversed = Plane::new(16, 16, a.data.iter().rev().copied().collect());
        let squared = Plane::new(16, 16, a.data.iter().map(|v| v * v).collect());
        assert!((spearman(&a, &a) - 1.0).abs() < 1e-12);
        assert!((spearman(&a, &squared) - 1.0).abs() < 1e-12, "ranks only");
        assert!((spearman(&a, &reversed) + 1.0).abs() < 1e-12);
        assert!(spearman(&a, &Plane::zeros(16, 16)).is_nan());
        // A shared blank background inflates agreement; inside the field of view it does not.
        let (mut c, mut d) = (Plane::zeros(16, 16), Plane::zeros(16, 16));
        let keep: Vec<bool> = (0..256).map(|i| i < 32).collect();
        (0..32).for_each(|i| {
            c.data[i] = i as f32;
            d.data[i] = 31.0 - i as f32;
        });
        assert!(spearman(&c, &d) > 0.5);
        assert!((spearman_within(&c, &d, &keep) + 1.0).abs() < 1e-12);
        assert!((ssim(&a, &a) - 1.0).abs() < 1e-9);
        assert!(ssim(&a, &reversed) < 0.5);
        // Ties share their mean rank.
        assert_eq!(ranks(&[0.5, 0.1, 0.5]), vec![1.5, 0.0, 1.5]);
    }

    #[test]
    fn ssim_from_summed_tables_equals_the_windowed_sums() {
        // The definition, window by window, against the summed-area tables.
        let (w, h, r) = (23, 17, 3);
        let a = Plane::new(w, h, (0..w * h).map(|i| (i * 37 % 101) as f32 / 100.0).collect());
        let b = Plane::new(w, h, (0..w * h).map(|i| ((i * 53 % 89) as f32 / 88.0).powi(2)).collect());
        let (c1, c2, n) = (1e-4, 9e-4, 49.0);
        let mut total = 0.0;
        for y in r..h - r {
            for x in r..w - r {
                let window = || (y - r..=y + r).flat_map(move |yy| (x - r..=x + r).map(move |xx| yy * w + xx));
                let sum = |f: &dyn Fn(f64, f64) -> f64| window().map(|i| f(a.data[i] as f64, b.data[i] as f64)).sum::<f64>() / n;
                let (ma, mb) = (sum(&|p, _| p), sum(&|_, q| q));
                let (va, vb, cov) = (sum(&|p, _| p * p) - ma * ma, sum(&|_, q| q * q) - mb * mb, sum(&|p, q| p * q) - ma * mb);
                total += ((2.0 * ma * mb + c1) * (2.0 * cov + c2)) / ((ma * ma + mb * mb + c1) * (va + vb + c2));
            }
        }
        let want = total / ((w - 2 * r) * (h - 2 * r)) as f64;
        assert!((ssim(&a, &b) - want).abs() < 1e-12, "{} vs {want}", ssim(&a, &b));
    }

    #[test]
    fn deletion_removes_the_hottest_first_and_insertion_puts_them_back() {
        let image = Plane::new(4, 1, vec![0.2, 0.4, 0.6, 0.8]);
        let heat = Plane::new(4, 1, vec![0.0, 0.1, 1.0, 0.5]);
        let del = deletion_steps(&image, &heat, Removal::Constant(0.0));
        assert_eq!(del.len(), STEPS + 1);
        assert_eq!(del[0], image);
        assert_eq!(del[STEPS / 4].data, vec![0.2, 0.4, 0.0, 0.8], "25%: the hottest pixel");
        assert_eq!(del[STEPS / 2].data, vec![0.2, 0.4, 0.0, 0.0]);
        assert!(del[STEPS].data.iter().all(|&v| v == 0.0));
        let ins = insertion_steps(&image, &heat, 1);
        assert_eq!(ins[STEPS], image);
        assert_eq!(ins[STEPS / 4].data[2], 0.6);
        assert_ne!(ins[0].data[2], 0.6, "blurred before");
        assert!((curve_area(&[1.0; STEPS + 1]) - 1.0).abs() < 1e-12);
        assert!((curve_area(&(0..=STEPS).map(|k| k as f64 / STEPS as f64).collect::<Vec<_>>()) - 0.5).abs() < 1e-12);
    }

    #[test]
    fn road_fills_a_hole_from_its_surround_not_with_black() {
        // A flat 0.5 image with a hole: imputation brings it back near 0.5.
        let image = Plane::new(8, 8, vec![0.5; 64]);
        let mut removed = vec![false; 64];
        removed[27] = true;
        removed[28] = true;
        let filled = impute(&image, &removed, 1);
        assert!((filled.data[27] - 0.5).abs() < 0.05 && (filled.data[28] - 0.5).abs() < 0.05, "{:?}", &filled.data[26..30]);
        assert_eq!(filled.data[0], 0.5, "kept pixels are untouched");
    }

    #[test]
    fn road_solves_its_system_a_ramp_comes_back_under_a_large_hole() {
        // A linear ramp is its own weighted neighbour mean wherever all 8 neighbours exist, so
        // the exact solution of ROAD's system is the ramp itself, even far from any kept pixel.
        let (w, h) = (40, 40);
        let image = Plane::new(w, h, (0..w * h).map(|i| (i % w) as f32 / w as f32 + 0.5 * (i / w) as f32 / h as f32).collect());
        let removed: Vec<bool> = (0..w * h).map(|i| (5..35).contains(&(i % w)) && (5..35).contains(&(i / w))).collect();
        let filled = impute(&image, &removed, 3);
        let errors: Vec<f32> = (0..w * h).filter(|&i| removed[i]).map(|i| filled.data[i] - image.data[i]).collect();
        let mean = errors.iter().sum::<f32>() / errors.len() as f32;
        let sd = (errors.iter().map(|e| (e - mean).powi(2)).sum::<f32>() / errors.len() as f32).sqrt();
        assert!(mean.abs() < 2e-3, "the solve is off by {mean} on average");
        assert!((sd - ROAD_NOISE).abs() < 2e-3, "what is left is the noise: sd {sd}");
        // Nothing kept: nothing to solve from.
        let all = impute(&image, &vec![true; w * h], 3);
        assert!(all.data.iter().all(|v| v.abs() < 0.1));
    }

    #[test]
    fn occlusion_heats_where_covering_lowers_p() {
        // p is the mean brightness of the top-left quarter: covering it lowers p, nothing else does.
        let image = Plane::new(8, 8, vec![1.0; 64]);
        let p = |im: &Plane| (0..4).flat_map(|y| (0..4).map(move |x| y * 8 + x)).map(|i| im.data[i]).sum::<f32>() / 16.0;
        let occlusion = Occlusion { patch: 4, stride: 2, fill: 0.0 };
        let places = occlusion.places(8, 8);
        assert_eq!(places.len(), 9, "starts 0, 2, 4 on each side");
        let probs: Vec<f32> = places.iter().map(|&at| p(&occlusion.occluded(&image, at))).collect();
        let heat = occlusion.map(8, 8, &places, p(&image), &probs);
        assert_eq!(heat.data[0], 1.0);
        assert_eq!(heat.data[63], 0.0);
        assert!(heat.data[2] < heat.data[0] && heat.data[2] > 0.0, "covered by a patch that lowers p and one that does not");
        // The last patch reaches the border whatever the stride.
        assert_eq!(Occlusion { patch: 3, stride: 4, fill: 0.0 }.places(8, 1), vec![(0, 0), (4, 0), (7, 0)], "a patch taller than the image shrinks to it");
        assert_eq!(Occlusion { patch: 3, stride: 4, fill: 0.0 }.places(8, 8).iter().map(|p| p.0).max(), Some(5));
        let setting = Occlusion::for_input(&Plane::new(128, 128, vec![0.25; 128 * 128]));
        assert_eq!((setting.patch, setting.stride, setting.fill), (16, 8, 0.25));
    }
}
