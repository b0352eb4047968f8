//! Controls for what a classifier looks at, made from the true masks (never used by any
//! method): the lesion-removed image, whose lesion is filled with the texture round it. A
//! classifier that finds lesions should lose its confidence there; one that learnt burnt-in
//! calipers or text placed beside the lesion keeps it.

use crate::masks::Mask;
use crate::plane::Plane;
use rand::{RngExt, SeedableRng};
use std::collections::VecDeque;

/// Width (at a 256 px image) of the ring round the lesion whose pixels fill it.
pub const RING_PX: usize = 12;

/// The pixels outside `mask` within `radius` 8-connected steps of it.
pub fn ring(mask: &Mask, radius: usize) -> Mask {
    let (w, h) = (mask.width, mask.height);
    let mut steps = vec![usize::MAX; w * h];
    let mut queue: VecDeque<usize> = (0..w * h).filter(|&i| mask.bits[i]).collect();
    queue.iter().for_each(|&i| steps[i] = 0);
    while let Some(i) = queue.pop_front() {
        if steps[i] == radius {
            continue;
        }
        for n in crate::cam::refine::neighbours(w, h, i, true) {
            if steps[n] == usize::MAX {
                steps[n] = steps[i] + 1;
                queue.push_back(n);
            }
        }
    }
    Mask::new(w, h, steps.iter().map(|&s| s != usize::MAX && s > 0).collect())
}

/// `image` with every pixel of `lesion` replaced by a pixel drawn (seeded) from the ring of
/// [`RING_PX`] round it, then smoothed over 3x3 inside the lesion so that the fill has the
/// grain of speckle rather than of salt and pepper. The image is unchanged where the mask is
/// empty or has no ring (it fills the frame).
pub fn lesion_removed(image: &Plane, lesion: &Mask, seed: u64) -> Plane {
    assert_eq!((image.width, image.height), (lesion.width, lesion.height), "mask and image differ in size");
    let (w, h) = (image.width, image.height);
    let radius = (RING_PX * w.max(h)).div_ceil(256);
    let around: Vec<f32> = ring(lesion, radius).bits.iter().zip(&image.data).filter(|(r, _)| **r).map(|(_, &v)| v).collect();
    if around.is_empty() || lesion.is_empty() {
        return image.clone();
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut out = image.clone();
    for i in (0..w * h).filter(|&i| lesion.bits[i]) {
        out.data[i] = around[rng.random_range(0..around.len())];
    }
    let drawn = out.clone();
    for i in (0..w * h).filter(|&i| lesion.bits[i]) {
        let (x, y) = ((i % w) as isize, (i / w) as isize);
        let (mut sum, mut n) = (0.0, 0);
        for dy in -1..=1 {
            for dx in -1..=1 {
                let (nx, ny) = (x + dx, y + dy);
                if nx >= 0 && ny >= 0 && (nx as usize) < w && (ny as usize) < h {
                    sum += drawn.data[ny as usize * w + nx as usize];
                    n += 1;
                }
            }
        }
        out.data[i] = sum / n as f32;
    }
    out
}

/// The share of a heatmap's mass that lies inside `region` (0 for a map with no mass).
pub fn heat_share(heat: &Plane, region: &Mask) -> f64 {
    let total: f64 = heat.data.iter().filter(|v| v.is_finite()).map(|&v| v.max(0.0) as f64).sum();
    if total <= 0.0 {
        return 0.0;
    }
    let inside: f64 = heat.data.iter().zip(&region.bits).filter(|(v, r)| **r && v.is_finite()).map(|(&v, _)| v.max(0.0) as f64).sum();
    inside / total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dark_lesion_is_filled_with_the_texture_round_it() {
        // Tissue 0.6 with a dark 8x8 lesion (0.1) in a 32 px frame.
        let mut data = vec![0.6; 32 * 32];
        let lesion = Mask::new(32, 32, (0..32 * 32).map(|i| (12..20).contains(&(i % 32)) && (12..20).contains(&(i / 32))).collect());
        lesion.bits.iter().zip(data.iter_mut()).filter(|(m, _)| **m).for_each(|(_, v)| *v = 0.1);
        let image = Plane::new(32, 32, data);
        let filled = lesion_removed(&image, &lesion, 1);
        assert!(filled.data.iter().all(|&v| (v - 0.6).abs() < 1e-6), "the lesion takes the surround's value");
        assert_eq!(lesion_removed(&image, &Mask::empty(32, 32), 1), image, "no lesion, nothing to fill");
        // The ring is outside the lesion and within its reach.
        let r = ring(&lesion, 2);
        assert_eq!(r.area(), 12 * 12 - 64);
        assert!(r.bits.iter().zip(&lesion.bits).all(|(a, b)| !(*a && *b)));
        // Heat inside and outside.
        let heat = Plane::new(32, 32, lesion.bits.iter().map(|&b| if b { 3.0 } else { 0.0 }).collect());
        assert_eq!(heat_share(&heat, &lesion), 1.0);
        assert_eq!(heat_share(&Plane::zeros(32, 32), &lesion), 0.0);
    }
}
