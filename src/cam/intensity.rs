//! What the scan alone says, with no classifier: where FLAIR is bright, and where the head is.
//!
//! On FLAIR, a lower-grade glioma is hyperintense relative to the rest of the head, so a
//! brightness rule is a strong baseline on its own. It is kept apart from the CAM code so that
//! every figure can say which part came from the scan and which from the classifier.

use super::refine::neighbours;
use crate::plane::Plane;
use std::collections::VecDeque;

/// Pixels above this (in [0,1]) count as head when taking the head's mean intensity.
pub const HEAD_LEVEL: f32 = 20.0 / 255.0;
/// Intensity ratios to the head mean where the prior goes from 0 to 1.
pub const LO: f32 = 1.0;
pub const HI: f32 = 1.35;
/// Width in pixels (at 256 px) of the band inside the head's outline that the shape step
/// ignores: scalp fat is bright on FLAIR and hugs the outline.
pub const RIM_PX: usize = 8;

/// The hyperintensity prior of a scan, in [0,1] per pixel: 0 at or below the head's mean
/// intensity, 1 at `HI` x the mean, smoothstep between.
pub fn prior(image: &Plane) -> Plane {
    let head: Vec<f32> = image.data.iter().copied().filter(|&v| v > HEAD_LEVEL).collect();
    if head.is_empty() {
        return Plane::new(image.width, image.height, vec![0.0; image.data.len()]);
    }
    let mean = head.iter().sum::<f32>() / head.len() as f32;
    let data = image
        .data
        .iter()
        .map(|&v| {
            let t = ((v / mean - LO) / (HI - LO)).clamp(0.0, 1.0);
            t * t * (3.0 - 2.0 * t)
        })
        .collect();
    Plane::new(image.width, image.height, data)
}

/// The head, its holes filled, less a band of `band` pixels (at a 256 px image; scaled with
/// the image) inside its outline: true where a lesion may be. The band is measured in
/// 8-connected steps from the nearest pixel outside the head or the frame.
pub fn head_interior(image: &Plane, band: usize) -> Vec<bool> {
    let (w, h) = (image.width, image.height);
    let band = (band * w.max(h)).div_ceil(256);
    // Outside = background reachable from the frame through background (4-connected), so dark
    // ventricles inside the head stay inside.
    let background: Vec<bool> = image.data.iter().map(|&v| !(v > HEAD_LEVEL)).collect();
    let mut steps = vec![usize::MAX; w * h];
    let mut queue = VecDeque::new();
    for i in (0..w * h).filter(|&i| background[i] && (i % w == 0 || i % w == w - 1 || i / w == 0 || i / w == h - 1)) {
        steps[i] = 0;
        queue.push_back(i);
    }
    while let Some(i) = queue.pop_front() {
        for n in neighbours(w, h, i, false) {
            if background[n] && steps[n] == usize::MAX {
                steps[n] = 0;
                queue.push_back(n);
            }
        }
    }
    // Then the distance of every head pixel from that outside (or from the frame's edge).
    let mut queue: VecDeque<usize> = (0..w * h).filter(|&i| steps[i] == 0).collect();
    let edge: Vec<usize> = (0..w * h).filter(|&i| steps[i] != 0 && (i % w == 0 || i % w == w - 1 || i / w == 0 || i / w == h - 1)).collect();
    for i in edge {
        steps[i] = 1;
        queue.push_back(i);
    }
    while let Some(i) = queue.pop_front() {
        for n in neighbours(w, h, i, true) {
            if steps[n] == usize::MAX {
                steps[n] = steps[i] + 1;
                queue.push_back(n);
            }
        }
    }
    steps.iter().map(|&s| s > band).collect()
}

/// `map` with everything outside `keep` set to 0.
pub fn restricted(map: &Plane, keep: &[bool]) -> Plane {
    let data = map.data.iter().zip(keep).map(|(&v, &k)| if k { v } else { 0.0 }).collect();
    Plane::new(map.width, map.height, data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prior_keeps_bright_lesions_and_drops_dark_tissue() {
        // Background 0, tissue 0.4, a lesion at 0.8.
        let prior = prior(&Plane::new(4, 1, vec![0.0, 0.4, 0.4, 0.8]));
        assert_eq!((prior.data[0], prior.data[1], prior.data[3]), (0.0, 0.0, 1.0));
    }

    #[test]
    fn the_interior_drops_a_band_inside_the_outline_but_not_around_dark_holes() {
        // A 256 px frame holding a 200 px square head with a dark 20 px hole in its middle.
        let mut data = vec![0.0; 256 * 256];
        for y in 28..228 {
            for x in 28..228 {
                data[y * 256 + x] = if (118..138).contains(&x) && (118..138).contains(&y) { 0.0 } else { 0.5 };
            }
        }
        let inside = head_interior(&Plane::new(256, 256, data), 8);
        let at = |x: usize, y: usize| inside[y * 256 + x];
        assert!(!at(10, 10) && !at(28, 128) && !at(35, 128), "outside and the band are dropped");
        assert!(at(36, 128) && at(117, 128) && at(128, 128), "the interior and the dark hole stay");
        assert!(!at(220, 128) && at(219, 128));
    }
}
