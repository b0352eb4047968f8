//! The paper's evaluation of a heatmap: filter each image with its own heatmap mask and retrain.
//! "Keep hot" keeps only the marked region, "remove hot" blanks it. A random mask of the same
//! area and shape, placed elsewhere, is the baseline every result is compared with (ROAR,
//! Hooker et al. 2019): a heatmap is informative only if it beats it.

use crate::masks::Mask;
use crate::plane::Plane;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

/// Which filter to apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Filter {
    /// image x mask: only the hot region survives.
    KeepHot,
    /// image x (1 - mask): the hot region is blanked.
    RemoveHot,
    /// image x random mask of the same area.
    KeepRandom,
    /// image x (1 - random mask of the same area).
    RemoveRandom,
    /// The mask alone, as a binary image: what a classifier can learn from where and how large
    /// the mask is, without the scan (the leak that ROAR warns of).
    MaskOnly,
}

impl Filter {
    pub const ALL: [Filter; 5] = [Filter::KeepHot, Filter::RemoveHot, Filter::KeepRandom, Filter::RemoveRandom, Filter::MaskOnly];

    pub fn name(self) -> &'static str {
        match self {
            Filter::KeepHot => "keep-hot",
            Filter::RemoveHot => "remove-hot",
            Filter::KeepRandom => "keep-random",
            Filter::RemoveRandom => "remove-random",
            Filter::MaskOnly => "mask-only",
        }
    }

    pub fn parse(text: &str) -> Option<Filter> {
        Filter::ALL.into_iter().find(|f| f.name() == text)
    }

    /// Filters `image` with its heatmap mask `hot`; `seed` places the random baseline mask
    /// inside the field of view (pixels above `field_of_view_level`, the card's), where a
    /// heatmap's region would be.
    pub fn apply(self, image: &Plane, hot: &Mask, seed: u64, field_of_view_level: f32) -> Plane {
        let head = || Mask::new(image.width, image.height, image.data.iter().map(|&v| v > field_of_view_level).collect());
        match self {
            Filter::KeepHot => multiply(image, hot),
            Filter::RemoveHot => multiply(image, &hot.inverted()),
            Filter::KeepRandom => multiply(image, &random_inside(hot, &head(), seed)),
            Filter::RemoveRandom => multiply(image, &random_inside(hot, &head(), seed).inverted()),
            Filter::MaskOnly => hot.to_plane(),
        }
    }
}

/// Pixel-wise image x mask.
pub fn multiply(image: &Plane, mask: &Mask) -> Plane {
    assert_eq!((image.width, image.height), (mask.width, mask.height), "mask and image differ in size");
    let data = image.data.iter().zip(&mask.bits).map(|(&v, &on)| if on { v } else { 0.0 }).collect();
    Plane::new(image.width, image.height, data)
}

/// The same mask moved to a random place inside `head`: the first of up to 200 random shifts
/// (without wrapping) that keeps the whole mask in the frame and at least 95% of it on the
/// head, else the shift with the most of it on the head. A random region in the black
/// background would make the baseline too easy to beat.
pub fn random_inside(mask: &Mask, head: &Mask, seed: u64) -> Mask {
    let (w, h) = (mask.width, mask.height);
    let on: Vec<(usize, usize)> = (0..w * h).filter(|&i| mask.bits[i]).map(|i| (i % w, i / w)).collect();
    if on.is_empty() {
        return mask.clone();
    }
    let (x0, x1) = (on.iter().map(|p| p.0).min().unwrap(), on.iter().map(|p| p.0).max().unwrap());
    let (y0, y1) = (on.iter().map(|p| p.1).min().unwrap(), on.iter().map(|p| p.1).max().unwrap());
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut best: Option<(usize, (usize, usize))> = None;
    for _ in 0..200 {
        // The bounding box's new top-left corner, anywhere it fits.
        let (nx, ny) = (rng.random_range(0..=w - 1 - (x1 - x0)), rng.random_range(0..=h - 1 - (y1 - y0)));
        let inside = on.iter().filter(|&&(x, y)| head.bits[(y - y0 + ny) * w + (x - x0 + nx)]).count();
        if best.is_none_or(|(b, _)| inside > b) {
            best = Some((inside, (nx, ny)));
        }
        if inside * 20 >= on.len() * 19 {
            break;
        }
    }
    let (_, (nx, ny)) = best.expect("at least one shift was tried");
    let mut bits = vec![false; w * h];
    for &(x, y) in &on {
        bits[(y - y0 + ny) * w + (x - x0 + nx)] = true;
    }
    Mask::new(w, h, bits)
}

/// The same mask moved by a random cyclic shift: exactly the same area and shape, at a place
/// chosen without looking at the image.
pub fn random_same_area(mask: &Mask, seed: u64) -> Mask {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let (w, h) = (mask.width, mask.height);
    let dx = rng.random_range(0..w.max(1));
    let dy = rng.random_range(0..h.max(1));
    let mut bits = vec![false; w * h];
    for y in 0..h {
        for x in 0..w {
            if mask.bits[y * w + x] {
                bits[((y + dy) % h) * w + (x + dx) % w] = true;
            }
        }
    }
    Mask::new(w, h, bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square_mask() -> Mask {
        let mut m = Mask::empty(16, 16);
        for y in 2..6 {
            for x in 3..8 {
                m.bits[y * 16 + x] = true;
            }
        }
        m
    }

    #[test]
    fn keep_and_remove_partition_the_image() {
        let image = Plane::new(16, 16, (0..256).map(|i| i as f32 + 1.0).collect());
        let hot = square_mask();
        let keep = Filter::KeepHot.apply(&image, &hot, 0, 0.1);
        let remove = Filter::RemoveHot.apply(&image, &hot, 0, 0.1);
        for i in 0..256 {
            assert_eq!(keep.data[i] + remove.data[i], image.data[i]);
            assert_eq!(keep.data[i] != 0.0, hot.bits[i]);
        }
    }

    #[test]
    fn random_masks_land_inside_the_head_and_mask_only_is_the_mask() {
        let hot = square_mask();
        // A head in the lower-right quarter of the frame only.
        let head = Mask::new(16, 16, (0..256).map(|i| i % 16 >= 8 && i / 16 >= 8).collect());
        for seed in 0..20 {
            let m = random_inside(&hot, &head, seed);
            assert_eq!(m.area(), hot.area());
            assert!(m.bits.iter().zip(&head.bits).all(|(a, b)| !a || *b), "seed {seed}: a pixel left the head");
        }
        let image = Plane::new(16, 16, vec![0.5; 256]);
        assert_eq!(Filter::MaskOnly.apply(&image, &hot, 0, 0.1), hot.to_plane());
    }

    #[test]
    fn random_baseline_keeps_area_and_depends_on_seed() {
        let hot = square_mask();
        let a = random_same_area(&hot, 1);
        let b = random_same_area(&hot, 2);
        assert_eq!(a.area(), hot.area());
        assert_eq!(b.area(), hot.area());
        assert_ne!(a, b);
        assert_eq!(a, random_same_area(&hot, 1));
    }
}
