//! Spreading a CAM over the lesion by a random walk on the classifier's own features (after
//! Ahn & Kwak 2018, with affinities from feature distances instead of a learnt network).
//!
//! A CAM finds where a lesion is but spills round it: on LGG val, multi-layer LayerCAM's masks
//! are about twice the tumour's area. Each step of the walk replaces every pixel's value by
//! the average over its neighbours within [`Walk::radius`], each weighted by how alike its
//! features are (`exp(-|f_i - f_j|^2 / (beta * mean |f_i - f_j|^2))`). Evidence inside a
//! lesion stays there, because its pixels are alike and unlike their surroundings; evidence
//! spilled onto healthy tissue spreads thin over it. Cut high, the walked map keeps the lesion.
//!
//! The features are a block's activations, so the walk adds no intensity rule: what counts as
//! "alike" is what the classifier's filters respond to.

use crate::plane::Plane;
use serde::{Deserialize, Serialize};

/// How the walk runs, as a card states it (`input.scan.walk`): how far evidence should spread
/// depends on how large lesions are in a kind of scan and on the network's grid.
/// [`Walk::CHOSEN`] was chosen on LGG val (docs/results.md, section 2); BUSI's card keeps it
/// (BUSI val's own pick lost on test: section 5).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Walk {
    /// The block whose activations define the graph (0-based; a model with fewer blocks uses
    /// its last).
    pub feature_block: usize,
    /// Neighbours within this many feature-grid pixels (Euclidean) are joined.
    pub radius: usize,
    /// Width of the affinity kernel, as a share of the image's mean squared feature distance:
    /// smaller keeps the walk more strictly within regions of like features.
    pub beta: f32,
    pub steps: usize,
}

impl Default for Walk {
    fn default() -> Self {
        Walk::CHOSEN
    }
}

impl Walk {
    /// LGG val's choice: block 1 (half the plain network's input resolution) is fine enough to
    /// follow a lesion's edge and already responds to texture, not just level.
    pub const CHOSEN: Walk = Walk { feature_block: 1, radius: 2, beta: 0.3, steps: 64 };

    /// `FEATURE_BLOCK,RADIUS,BETA,STEPS` (as `--walk` takes it), checked.
    pub fn parse(text: &str) -> Result<Walk, String> {
        let parts: Vec<&str> = text.split(',').map(str::trim).collect();
        let bad = || format!("`{text}` is not FEATURE_BLOCK,RADIUS,BETA,STEPS (e.g. `1,2,0.3,64`)");
        let [block, radius, beta, steps] = parts[..] else { return Err(bad()) };
        let walk = Walk {
            feature_block: block.parse().map_err(|_| bad())?,
            radius: radius.parse().map_err(|_| bad())?,
            beta: beta.parse().map_err(|_| bad())?,
            steps: steps.parse().map_err(|_| bad())?,
        };
        walk.check()?;
        Ok(walk)
    }

    /// A message naming the field that is out of range, if any.
    pub fn check(&self) -> Result<(), String> {
        if !(1..=8).contains(&self.radius) {
            return Err(format!("`walk.radius` {} is outside 1 to 8", self.radius));
        }
        if !(self.beta > 0.0 && self.beta <= 100.0) {
            return Err(format!("`walk.beta` {} is outside (0, 100]", self.beta));
        }
        if self.steps > 4096 {
            return Err(format!("`walk.steps` {} is more than 4096", self.steps));
        }
        Ok(())
    }

    /// `seed` ([h,w], any values) after the walk on `features` (`channels` planes of `w x h`,
    /// channel-major). The result is a weighted average of the seed, so it stays within the
    /// seed's range, and a constant seed stays constant.
    pub fn spread(&self, features: &[f32], channels: usize, seed: &Plane) -> Plane {
        let (w, h) = (seed.width, seed.height);
        let n = w * h;
        assert_eq!(features.len(), channels * n, "features must be `channels` planes of the seed's size");
        let r = self.radius as isize;
        let offsets: Vec<(isize, isize)> =
            (-r..=r).flat_map(|dy| (-r..=r).map(move |dx| (dx, dy))).filter(|&(dx, dy)| (dx, dy) != (0, 0) && dx * dx + dy * dy <= r * r).collect();
        // Each pixel's neighbours, as indices; one outside the grid is the pixel itself with
        // affinity 0, so the loops below need no bounds checks.
        let k = offsets.len();
        let mut index = vec![0usize; n * k];
        let mut distance = vec![f32::NAN; n * k];
        let (mut total, mut count) = (0.0f64, 0usize);
        for i in 0..n {
            let (x, y) = ((i % w) as isize, (i / w) as isize);
            for (e, &(dx, dy)) in offsets.iter().enumerate() {
                let (nx, ny) = (x + dx, y + dy);
                index[i * k + e] = i;
                if nx >= 0 && ny >= 0 && (nx as usize) < w && (ny as usize) < h {
                    let j = ny as usize * w + nx as usize;
                    let d: f32 = (0..channels).map(|c| (features[c * n + i] - features[c * n + j]).powi(2)).sum();
                    index[i * k + e] = j;
                    distance[i * k + e] = d;
                    total += d as f64;
                    count += 1;
                }
            }
        }
        let scale = (total / count.max(1) as f64) as f32 * self.beta;
        // Affinities (NaN = outside: 0); the pixel itself weighs 1 (distance 0), and each
        // row's weights are normalised once. Features all alike: a plain blur.
        let mut affinity: Vec<f32> = distance
            .iter()
            .map(|&d| if d.is_nan() { 0.0 } else if scale > 0.0 && scale.is_finite() { (-d / scale).exp() } else { 1.0 })
            .collect();
        // Row i's weights (its own included) sum to 1.
        let own: Vec<f32> = (0..n)
            .map(|i| {
                let row = &mut affinity[i * k..(i + 1) * k];
                let total = 1.0 + row.iter().sum::<f32>();
                row.iter_mut().for_each(|a| *a /= total);
                1.0 / total
            })
            .collect();
        let mut value = seed.data.clone();
        let mut next = vec![0.0f32; n];
        for _ in 0..self.steps {
            for (i, out) in next.iter_mut().enumerate() {
                let (row, at) = (&affinity[i * k..(i + 1) * k], &index[i * k..(i + 1) * k]);
                *out = own[i] * value[i] + row.iter().zip(at).map(|(&a, &j)| a * value[j]).sum::<f32>();
            }
            std::mem::swap(&mut value, &mut next);
        }
        Plane::new(w, h, value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One feature channel: 0 on the left half of a 16 x 8 grid, 1 on the right half.
    fn halves() -> Vec<f32> {
        (0..16 * 8).map(|i| if i % 16 < 8 { 0.0 } else { 1.0 }).collect()
    }

    #[test]
    fn evidence_stays_on_its_side_of_a_feature_edge() {
        // The seed straddles the edge, more on the left: after the walk the left half is hot
        // throughout and the right half cold, though both touched the seed.
        let seed = Plane::new(16, 8, (0..16 * 8).map(|i| if (5..8).contains(&(i % 16)) { 1.0 } else if (8..10).contains(&(i % 16)) { 0.3 } else { 0.0 }).collect());
        let walked = Walk::CHOSEN.spread(&halves(), 1, &seed);
        let mean = |cols: std::ops::Range<usize>| {
            let v: Vec<f32> = (0..16 * 8).filter(|i| cols.contains(&(i % 16))).map(|i| walked.data[i]).collect();
            v.iter().sum::<f32>() / v.len() as f32
        };
        let (left, right) = (mean(0..8), mean(8..16));
        assert!(left > 0.3 && right < 0.1, "left {left}, right {right}");
        // Within the left half the walk has evened out the seed's place.
        let row: Vec<f32> = (0..8).map(|x| walked.data[3 * 16 + x]).collect();
        assert!(row.iter().all(|&v| (v - left).abs() < 0.05), "{row:?}");
    }

    #[test]
    fn a_walk_reads_as_written_and_out_of_range_fields_are_named() {
        assert_eq!(Walk::parse("0, 3,0.3,16"), Ok(Walk { feature_block: 0, radius: 3, beta: 0.3, steps: 16 }));
        assert!(Walk::parse("1,2,0.3").unwrap_err().contains("FEATURE_BLOCK,RADIUS,BETA,STEPS"));
        assert!(Walk::parse("1,two,0.3,64").unwrap_err().contains("not FEATURE_BLOCK"));
        assert!(Walk::parse("1,0,0.3,64").unwrap_err().contains("`walk.radius` 0"));
        assert!(Walk::parse("1,2,NaN,64").unwrap_err().contains("`walk.beta` NaN"));
        assert!(Walk::parse("1,2,0.3,5000").unwrap_err().contains("`walk.steps` 5000"));
    }

    #[test]
    fn the_walk_averages_so_constants_stay_and_values_stay_in_range() {
        let constant = Plane::new(16, 8, vec![0.7; 16 * 8]);
        assert!(Walk::CHOSEN.spread(&halves(), 1, &constant).data.iter().all(|&v| (v - 0.7).abs() < 1e-5));
        let seed = Plane::new(16, 8, (0..16 * 8).map(|i| ((i * 37) % 11) as f32 / 10.0).collect());
        let walked = Walk { radius: 3, beta: 1.0, steps: 5, ..Walk::CHOSEN }.spread(&halves(), 1, &seed);
        assert!(walked.data.iter().all(|&v| (0.0..=1.0).contains(&v)));
        // No steps: the seed itself. Features all alike (scale 0): an even blur, no NaN.
        assert_eq!(Walk { steps: 0, ..Walk::CHOSEN }.spread(&halves(), 1, &seed), seed);
        let flat = Walk::CHOSEN.spread(&vec![0.0; 16 * 8], 1, &seed);
        assert!(flat.data.iter().all(|v| v.is_finite()));
        let spread = |p: &Plane| p.data.iter().cloned().fold(f32::MIN, f32::max) - p.data.iter().cloned().fold(f32::MAX, f32::min);
        assert!(spread(&flat) < spread(&seed) / 4.0);
    }
}
