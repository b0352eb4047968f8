//! Shape refinement of a heatmap, done on the map itself so that every threshold (the page's
//! slider, the CLI's sweep, Otsu) gets the refined mask without knowing about it.
//!
//! Both are grey-level morphological reconstructions, computed by a priority flood (on a
//! radix heap: levels leave it in one direction only):
//! - [`fill_holes`]: `{fill_holes(h) >= t}` is `{h >= t}` with its holes filled. A lesion's
//!   darker core (a cyst, a low-CAM gap between two layers' maps) otherwise punches holes in
//!   the mask.
//! - [`peak_component`]: `{peak_component(h) >= t}` is the connected part of `{h >= t}` that
//!   holds the map's peak. A lower-grade glioma is one lesion per slice; other bright islands
//!   (scalp fat, ventricle rims on FLAIR) are where the intensity prior lets CAM spill.

use crate::plane::Plane;
use radix_heap::RadixHeapMap;
use std::cmp::Reverse;

/// `v`'s place in `f32::total_cmp`'s order as a u32, the floods' queue key: a flood pops
/// levels in one direction only, so a radix heap on these keys serves it (pushes in O(1),
/// where a binary heap's were a third of the page's fusion analysis).
fn ordered(v: f32) -> u32 {
    let bits = v.to_bits();
    if bits >> 31 == 1 { !bits } else { bits | 1 << 31 }
}

/// The neighbours of pixel `i`: 4-connected, or 8-connected with `diagonal`.
pub(crate) fn neighbours(width: usize, height: usize, i: usize, diagonal: bool) -> impl Iterator<Item = usize> {
    let (x, y) = ((i % width) as isize, (i / width) as isize);
    const STEPS: [(isize, isize); 8] = [(1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (1, -1), (-1, 1), (-1, -1)];
    STEPS[..if diagonal { 8 } else { 4 }].iter().filter_map(move |&(dx, dy)| {
        let (nx, ny) = (x + dx, y + dy);
        (nx >= 0 && ny >= 0 && (nx as usize) < width && (ny as usize) < height).then(|| ny as usize * width + nx as usize)
    })
}

/// The map with NaN and infinities as 0 (no evidence): the floods below mark unvisited pixels
/// with NaN and order the queue by value, so neither may come from the input.
fn finite(heat: &Plane) -> Plane {
    Plane::new(heat.width, heat.height, heat.data.iter().map(|&v| if v.is_finite() { v } else { 0.0 }).collect())
}

/// Fills the holes of every level set: a pixel takes the lowest level at which it can still
/// be reached from the image border without crossing a higher value (4-connected paths, so
/// an 8-connected ring of foreground closes a hole).
pub fn fill_holes(heat: &Plane) -> Plane {
    let heat = &finite(heat);
    let (w, h) = (heat.width, heat.height);
    let mut out = vec![f32::NAN; heat.data.len()];
    // Lowest level first: each push is at or above the level just popped.
    let mut queue = RadixHeapMap::new();
    for i in (0..heat.data.len()).filter(|&i| i % w == 0 || i % w == w - 1 || i / w == 0 || i / w == h - 1) {
        out[i] = heat.data[i];
        queue.push(Reverse(ordered(out[i])), i);
    }
    while let Some((Reverse(top), i)) = queue.pop() {
        let level = out[i];
        for n in neighbours(w, h, i, false) {
            if out[n].is_nan() {
                out[n] = heat.data[n].max(level);
                // At or above the top even where `max` of 0.0 and -0.0 picked the other zero.
                queue.push(Reverse(ordered(out[n]).max(top)), n);
            }
        }
    }
    Plane::new(w, h, out)
}

/// Keeps, at every level, only the connected part that holds the peak: a pixel takes the
/// highest level at which an 8-connected path joins it to the peak (the path's lowest value).
pub fn peak_component(heat: &Plane) -> Plane {
    let heat = &finite(heat);
    match argmax(heat) {
        Some(peak) => component_of(heat, peak),
        None => heat.clone(),
    }
}

/// [`peak_component`] seeded at the peak of the map smoothed over `radius` pixels: the
/// centre of the largest strong region rather than its first pixel where a map saturates
/// (an intensity prior is 1 over every bright region, so its "peak" is otherwise a tie).
pub fn broad_peak_component(heat: &Plane, radius: usize) -> Plane {
    let heat = &finite(heat);
    match argmax(&box_blurred(&box_blurred(heat, radius), radius)) {
        Some(seed) => component_of(heat, seed),
        None => heat.clone(),
    }
}

/// The first pixel holding the largest value.
fn argmax(heat: &Plane) -> Option<usize> {
    (0..heat.data.len()).max_by(|&a, &b| heat.data[a].total_cmp(&heat.data[b]).then(b.cmp(&a)))
}

/// Each level's 8-connected part holding `seed`, as one map (values above the seed's are
/// capped at it).
fn component_of(heat: &Plane, seed: usize) -> Plane {
    let (w, h) = (heat.width, heat.height);
    let mut out = vec![f32::NAN; heat.data.len()];
    // Highest level first: each push is at or below the level just popped.
    let mut queue = RadixHeapMap::new();
    out[seed] = heat.data[seed];
    queue.push(ordered(out[seed]), seed);
    while let Some((top, i)) = queue.pop() {
        let level = out[i];
        for n in neighbours(w, h, i, true) {
            if out[n].is_nan() {
                out[n] = heat.data[n].min(level);
                queue.push(ordered(out[n]).min(top), n);
            }
        }
    }
    Plane::new(w, h, out)
}

/// Mean over a (2r+1)^2 window, clipped at the border (running sums: O(pixels) whatever r).
pub fn box_blurred(p: &Plane, r: usize) -> Plane {
    let (w, h) = (p.width, p.height);
    let pass = |data: &[f32], len: usize, stride: usize, lines: usize, step: usize| {
        let mut out = vec![0.0; data.len()];
        for line in 0..lines {
            let at = |k: usize| data[line * step + k * stride];
            let mut sum: f32 = (0..=r.min(len - 1)).map(at).sum();
            let mut count = r.min(len - 1) + 1;
            for k in 0..len {
                out[line * step + k * stride] = sum / count as f32;
                if k + r + 1 < len {
                    sum += at(k + r + 1);
                    count += 1;
                }
                if k >= r {
                    sum -= at(k - r);
                    count -= 1;
                }
            }
        }
        out
    };
    let rows = pass(&p.data, w, 1, h, w);
    Plane::new(w, h, pass(&rows, h, w, w, 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::masks::threshold;

    /// A 7x7 map from rows of digits (value = digit / 9).
    fn map(rows: [&str; 7]) -> Plane {
        let data = rows.iter().flat_map(|r| r.chars().map(|c| c.to_digit(10).unwrap() as f32 / 9.0)).collect();
        Plane::new(7, 7, data)
    }

    fn mask_rows(p: &Plane, t: f32) -> Vec<String> {
        let m = threshold(p, t);
        m.bits.chunks(7).map(|r| r.iter().map(|&b| if b { '#' } else { '.' }).collect()).collect()
    }

    #[test]
    fn fill_holes_closes_a_ring_at_its_level_only() {
        let ring = map(["0000000", "0999990", "0911190", "0910190", "0911190", "0999990", "0000000"]);
        let filled = fill_holes(&ring);
        // At 0.5 the ring's inside is a hole and gets filled...
        assert!(mask_rows(&filled, 0.5).iter().skip(1).take(5).all(|r| r == ".#####."));
        // ...at 0.05 the inner ring is foreground already and the centre is its hole.
        assert_eq!(mask_rows(&filled, 0.05)[3], ".#####.");
        // Values never drop, and a map without holes is unchanged.
        assert!(filled.data.iter().zip(&ring.data).all(|(f, r)| f >= r));
        let blob = map(["0000000", "0000000", "0099000", "0099000", "0000000", "0000000", "0000000"]);
        assert_eq!(fill_holes(&blob), blob);
    }

    #[test]
    fn peak_component_drops_islands_but_keeps_what_joins_the_peak() {
        let two = map(["0000000", "0990000", "0990000", "0000000", "0000770", "0000770", "0000000"]);
        let kept = peak_component(&two);
        assert_eq!(mask_rows(&kept, 0.5), [".......", ".##....", ".##....", ".......", ".......", ".......", "......."]);
        // Joined by a ridge at level 4/9, the second blob survives below that level only.
        let joined = map(["0000000", "0990000", "0990000", "0044000", "0000770", "0000770", "0000000"]);
        assert_eq!(mask_rows(&peak_component(&joined), 0.3).concat().matches('#').count(), 10);
        assert_eq!(mask_rows(&peak_component(&joined), 0.5).concat().matches('#').count(), 4);
        // An all-zero map (no evidence) stays all zero.
        assert_eq!(peak_component(&Plane::zeros(3, 3)), Plane::zeros(3, 3));
    }

    #[test]
    fn a_broad_peak_picks_the_largest_saturated_region() {
        // Two saturated regions: one pixel at the top left, a 3x3 block lower right.
        let two = map(["9000000", "0000000", "0000000", "0009990", "0009990", "0009990", "0000000"]);
        assert_eq!(mask_rows(&peak_component(&two), 0.5).concat().matches('#').count(), 1);
        let broad = broad_peak_component(&two, 1);
        assert_eq!(mask_rows(&broad, 0.5).concat().matches('#').count(), 9);
        assert_eq!(box_blurred(&Plane::new(3, 1, vec![0.0, 3.0, 0.0]), 1).data, vec![1.5, 1.0, 1.5]);
    }

    #[test]
    fn nan_and_infinite_heat_count_as_no_evidence() {
        let mut odd = map(["0000000", "0990000", "0990000", "0000000", "0000000", "0000000", "0000000"]);
        odd.data[0] = f32::NAN;
        odd.data[24] = f32::INFINITY;
        odd.data[30] = f32::NEG_INFINITY;
        for out in [fill_holes(&odd), peak_component(&odd)] {
            assert!(out.data.iter().all(|v| v.is_finite()), "{out:?}");
            assert_eq!(mask_rows(&out, 0.5).concat().matches('#').count(), 4);
        }
    }

    /// The floods equal the reconstructions' definitions, iterated to their fixed point on
    /// random maps with ties (values in steps of 1/8, zeros of both signs): a pixel's filled
    /// level is the lowest of its neighbours' over 4-connected paths to the frame, its
    /// component level the highest bottleneck of an 8-connected path from the peak.
    #[test]
    fn the_floods_equal_their_definitions_on_random_maps() {
        let (w, h) = (11, 9);
        for seed in 0..20u64 {
            let mut state = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            let mut next = || {
                state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                (state >> 33) as u32
            };
            let data: Vec<f32> = (0..w * h).map(|_| match next() % 10 { 0 => -0.0, k => (k % 9) as f32 / 8.0 }).collect();
            let heat = Plane::new(w, h, data.clone());
            // Filled holes: border pixels keep their value; inside, max(own, min of neighbours), from above.
            let frame = |i: usize| i % w == 0 || i % w == w - 1 || i / w == 0 || i / w == h - 1;
            let mut filled: Vec<f32> = (0..w * h).map(|i| if frame(i) { data[i] } else { f32::INFINITY }).collect();
            loop {
                let before = filled.clone();
                for i in (0..w * h).filter(|&i| !frame(i)) {
                    let low = neighbours(w, h, i, false).map(|n| filled[n]).fold(f32::INFINITY, f32::min);
                    filled[i] = data[i].max(low);
                }
                if filled == before {
                    break;
                }
            }
            let got = fill_holes(&heat);
            assert!(got.data.iter().zip(&filled).all(|(a, b)| a == b), "fill_holes, seed {seed}");
            // The peak's component: min(own, max of neighbours), from below, the peak fixed.
            let peak = argmax(&heat).unwrap();
            let mut joined: Vec<f32> = (0..w * h).map(|i| if i == peak { data[i] } else { f32::NEG_INFINITY }).collect();
            loop {
                let before = joined.clone();
                for i in (0..w * h).filter(|&i| i != peak) {
                    let high = neighbours(w, h, i, true).map(|n| joined[n]).fold(f32::NEG_INFINITY, f32::max);
                    joined[i] = data[i].min(high);
                }
                if joined == before {
                    break;
                }
            }
            let got = peak_component(&heat);
            assert!(got.data.iter().zip(&joined).all(|(a, b)| a == b), "peak_component, seed {seed}");
        }
    }
}
