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
}

impl Filter {
    pub const ALL: [Filter; 4] = [Filter::KeepHot, Filter::RemoveHot, Filter::KeepRandom, Filter::RemoveRandom];

    pub fn name(self) -> &'static str {
        match self {
            Filter::KeepHot => "keep-hot",
            Filter::RemoveHot => "remove-hot",
            Filter::KeepRandom => "keep-random",
            Filter::RemoveRandom => "remove-random",
        }
    }

    pub fn parse(text: &str) -> Option<Filter> {
        Filter::ALL.into_iter().find(|f| f.name() == text)
    }

    /// Filters `image` with its heatmap mask `hot`; `seed` places the random baseline mask.
    pub fn apply(self, image: &Plane, hot: &Mask, seed: u64) -> Plane {
        match self {
            Filter::KeepHot => multiply(image, hot),
            Filter::RemoveHot => multiply(image, &hot.inverted()),
            Filter::KeepRandom => multiply(image, &random_same_area(hot, seed)),
            Filter::RemoveRandom => multiply(image, &random_same_area(hot, seed).inverted()),
        }
    }
}

/// Pixel-wise image x mask.
pub fn multiply(image: &Plane, mask: &Mask) -> Plane {
    assert_eq!((image.width, image.height), (mask.width, mask.height), "mask and image differ in size");
    let data = image.data.iter().zip(&mask.bits).map(|(&v, &on)| if on { v } else { 0.0 }).collect();
    Plane::new(image.width, image.height, data)
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
        let keep = Filter::KeepHot.apply(&image, &hot, 0);
        let remove = Filter::RemoveHot.apply(&image, &hot, 0);
        for i in 0..256 {
            assert_eq!(keep.data[i] + remove.data[i], image.data[i]);
            assert_eq!(keep.data[i] != 0.0, hot.bits[i]);
        }
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
