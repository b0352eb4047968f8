//! What the scan alone says, with no classifier: where lesion-like brightness is, and where
//! the field of view is.
//!
//! On FLAIR, a lower-grade glioma is hyperintense relative to the rest of the head, so a
//! brightness rule is a strong baseline on its own; on ultrasound most masses are darker than
//! the tissue round them. The card's [`ScanSettings`] say which. This is kept apart from the
//! CAM code so that every figure can say which part came from the scan and which from the
//! classifier.

use super::refine::neighbours;
use crate::data::{Polarity, ScanSettings};
use crate::plane::Plane;
use std::collections::VecDeque;

/// The brightness prior of a scan, in [0,1] per pixel. Bright polarity: 0 at or below the
/// field of view's mean intensity, 1 at `lesion_contrast` x the mean, smoothstep between.
/// Dark polarity: 0 at or above the mean, 1 at the mean / `lesion_contrast`, and 0 outside the
/// field of view (whose black surround would otherwise be the "darkest lesion").
pub fn prior(image: &Plane, scan: &ScanSettings) -> Plane {
    let level = scan.field_of_view_level;
    let fov: Vec<f32> = image.data.iter().copied().filter(|&v| v > level).collect();
    if fov.is_empty() {
        return Plane::new(image.width, image.height, vec![0.0; image.data.len()]);
    }
    let mean = fov.iter().sum::<f32>() / fov.len() as f32;
    let c = scan.lesion_contrast;
    let smooth = |t: f32| {
        let t = t.clamp(0.0, 1.0);
        t * t * (3.0 - 2.0 * t)
    };
    let data = match scan.lesion_polarity {
        Polarity::Bright => image.data.iter().map(|&v| smooth((v / mean - 1.0) / (c - 1.0))).collect(),
        Polarity::Dark => {
            // Inside = the field of view with its holes filled: an anechoic cyst darker than
            // the level is still inside the sector.
            let inside = interior(image, level, 0);
            image.data.iter().zip(&inside).map(|(&v, &k)| if k { smooth((1.0 - v / mean) / (1.0 - 1.0 / c)) } else { 0.0 }).collect()
        }
    };
    Plane::new(image.width, image.height, data)
}

/// The field of view (pixels above `level`), its holes filled, less a band of `band` pixels
/// (at a 256 px image; scaled with the image) inside its outline: true where a lesion may be.
/// The band is measured in 8-connected steps from the nearest pixel outside the field of view
/// or the frame.
pub fn interior(image: &Plane, level: f32, band: usize) -> Vec<bool> {
    let (w, h) = (image.width, image.height);
    let band = (band * w.max(h)).div_ceil(256);
    // Outside = background reachable from the frame through background (4-connected), so dark
    // ventricles (or cysts) inside the field of view stay inside.
    let background: Vec<bool> = image.data.iter().map(|&v| !(v > level)).collect();
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
    // Then the distance of every inside pixel from that outside (or from the frame's edge).
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

/// The scan's [`interior`] with its own level and rim band.
pub fn scan_interior(image: &Plane, scan: &ScanSettings) -> Vec<bool> {
    interior(image, scan.field_of_view_level, scan.rim_band_px)
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
        let prior = prior(&Plane::new(4, 1, vec![0.0, 0.4, 0.4, 0.8]), &ScanSettings::default());
        assert_eq!((prior.data[0], prior.data[1], prior.data[3]), (0.0, 0.0, 1.0));
    }

    #[test]
    fn dark_polarity_keeps_dark_lesions_but_not_the_black_surround() {
        // A 5x5 frame: black border, tissue 0.6, a dark lesion (0.2, still in view) at the centre.
        let mut data = vec![0.0; 25];
        for y in 1..4 {
            for x in 1..4 {
                data[y * 5 + x] = if (x, y) == (2, 2) { 0.2 } else { 0.6 };
            }
        }
        let dark = ScanSettings { lesion_polarity: Polarity::Dark, rim_band_px: 0, ..ScanSettings::default() };
        let p = prior(&Plane::new(5, 5, data.clone()), &dark);
        assert_eq!(p.data[12], 1.0, "the dark lesion");
        assert_eq!((p.data[0], p.data[6]), (0.0, 0.0), "the surround and the tissue");
        // The bright rule sees nothing there.
        assert!(prior(&Plane::new(5, 5, data), &ScanSettings::default()).data[12] == 0.0);
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
        let inside = interior(&Plane::new(256, 256, data), 20.0 / 255.0, 8);
        let at = |x: usize, y: usize| inside[y * 256 + x];
        assert!(!at(10, 10) && !at(28, 128) && !at(35, 128), "outside and the band are dropped");
        assert!(at(36, 128) && at(117, 128) && at(128, 128), "the interior and the dark hole stay");
        assert!(!at(220, 128) && at(219, 128));
        // Without a band (the ultrasound card) the whole field of view is kept.
        let whole = interior(&Plane::new(256, 256, vec![0.5; 256 * 256]), 20.0 / 255.0, 0);
        assert!(whole.iter().all(|&k| k));
    }
}
