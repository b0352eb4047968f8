//! Heatmap -> binary mask. A mask is the same size as the heatmap it came from.

use crate::plane::Plane;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};

/// A binary mask, row-major like [`Plane`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mask {
    pub width: usize,
    pub height: usize,
    #[serde(with = "bits_as_bytes")]
    pub bits: Vec<bool>,
}

/// A mask's pixels as one block of 0/1 bytes when serialised (see `Plane`'s pixels).
mod bits_as_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bits: &[bool], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&bits.iter().map(|&b| b as u8).collect::<Vec<u8>>())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<bool>, D::Error> {
        Ok(serde_bytes::ByteBuf::deserialize(d)?.iter().map(|&b| b != 0).collect())
    }
}

/// How a heatmap becomes a mask.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Threshold {
    /// Pixels with heat >= t (t in [0, 1]).
    Fixed(f32),
    /// Otsu's threshold of the heatmap's own histogram.
    Otsu,
}

impl Threshold {
    /// Parses `0.5` or `otsu`, as the CLI and the model card write them.
    pub fn parse(text: &str) -> Result<Self> {
        if text.eq_ignore_ascii_case("otsu") {
            return Ok(Threshold::Otsu);
        }
        match text.parse::<f32>() {
            Ok(t) if (0.0..=1.0).contains(&t) => Ok(Threshold::Fixed(t)),
            _ => Err(Error::Invalid(format!(
                "threshold must be a number in [0, 1] or `otsu`, not `{text}`"
            ))),
        }
    }

    /// The threshold's value on this heatmap.
    pub fn value_for(&self, heat: &Plane) -> f32 {
        match *self {
            Threshold::Fixed(t) => t,
            Threshold::Otsu => otsu_threshold(heat),
        }
    }

    pub fn apply(&self, heat: &Plane) -> Mask {
        threshold(heat, self.value_for(heat))
    }
}

impl std::fmt::Display for Threshold {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Threshold::Fixed(t) => write!(f, "{t}"),
            Threshold::Otsu => write!(f, "otsu"),
        }
    }
}

impl Mask {
    pub fn new(width: usize, height: usize, bits: Vec<bool>) -> Self {
        assert_eq!(bits.len(), width * height, "mask bits do not match its size");
        Self { width, height, bits }
    }

    pub fn empty(width: usize, height: usize) -> Self {
        Self::new(width, height, vec![false; width * height])
    }

    pub fn area(&self) -> usize {
        self.bits.iter().filter(|&&b| b).count()
    }

    /// Stops at the first pixel set: the page asks it of every row's true mask on each render.
    pub fn is_empty(&self) -> bool {
        !self.bits.contains(&true)
    }

    /// Pixels in either mask (same size: checked by the caller).
    pub fn union(&self, other: &Mask) -> Mask {
        Mask::new(self.width, self.height, self.bits.iter().zip(&other.bits).map(|(a, b)| *a || *b).collect())
    }

    pub fn inverted(&self) -> Mask {
        Mask::new(self.width, self.height, self.bits.iter().map(|b| !b).collect())
    }

    /// Pixels of the mask that touch a pixel outside it (4-neighbourhood): the contour drawn
    /// over the image.
    pub fn contour(&self) -> Vec<(usize, usize)> {
        let (w, h) = (self.width, self.height);
        let inside = |x: isize, y: isize| {
            x >= 0 && y >= 0 && (x as usize) < w && (y as usize) < h && self.bits[y as usize * w + x as usize]
        };
        let mut out = Vec::new();
        for y in 0..h as isize {
            for x in 0..w as isize {
                if inside(x, y)
                    && !(inside(x - 1, y) && inside(x + 1, y) && inside(x, y - 1) && inside(x, y + 1))
                {
                    out.push((x as usize, y as usize));
                }
            }
        }
        out
    }

    /// Reads a ground-truth mask from a gray plane. Masks must be binary (0 and one other
    /// value), or a label map (0 and a few small labels, like BraTS's 0/1/2/4, saved as grey
    /// levels up to 8): every label then counts as tumour, the "whole tumour" region. Anything
    /// else (e.g. a lossy JPEG's many greys) is refused rather than guessed at.
    pub fn from_plane(plane: &Plane, name: &str) -> Result<Mask> {
        /// The largest label value (as an 8-bit grey level) a label map may hold.
        const MAX_LABEL: f32 = 8.5 / 255.0;
        let mut levels: Vec<f32> = Vec::new();
        for &v in &plane.data {
            if !levels.contains(&v) {
                levels.push(v);
                if levels.len() > 9 {
                    break;
                }
            }
        }
        let label_map = levels.len() > 2 && levels.len() <= 9 && levels.contains(&0.0) && levels.iter().all(|&v| v <= MAX_LABEL);
        if label_map {
            return Ok(Mask::new(plane.width, plane.height, plane.data.iter().map(|&v| v > 0.0).collect()));
        }
        if levels.len() > 2 {
            return Err(Error::Mask {
                name: name.into(),
                reason: "is not binary (it has more than two grey levels); a mask must be black (background) and white (tumour)".into(),
            });
        }
        let on = levels.iter().cloned().fold(0.0f32, f32::max);
        if levels.len() == 2 && levels.iter().all(|&v| v > 0.0) {
            return Err(Error::Mask {
                name: name.into(),
                reason: "is not binary: it has two grey levels but no black background".into(),
            });
        }
        Ok(Mask::new(plane.width, plane.height, plane.data.iter().map(|&v| on > 0.0 && v == on).collect()))
    }

    pub fn to_plane(&self) -> Plane {
        Plane::new(self.width, self.height, self.bits.iter().map(|&b| b as u8 as f32).collect())
    }
}

/// Pixels with heat >= t.
pub fn threshold(heat: &Plane, t: f32) -> Mask {
    Mask::new(heat.width, heat.height, heat.data.iter().map(|&v| v >= t).collect())
}

/// `x.round()` for `x >= 0` (half away from zero), without wasm's call to libm's `roundf` per
/// value: `x - floor(x)` is exact here, so the result is the same to the bit.
#[inline]
fn round_non_negative(x: f32) -> f32 {
    let floor = x.floor();
    if x - floor >= 0.5 { floor + 1.0 } else { floor }
}

/// Otsu's threshold over a 256-bin histogram of values in [0, 1]: the cut that maximises the
/// between-class variance. A constant map has no cut; it returns a value above 1 so that the
/// mask is empty (a flat heatmap marks nothing).
pub fn otsu_threshold(heat: &Plane) -> f32 {
    const BINS: usize = 256;
    let mut hist = [0usize; BINS];
    for &v in &heat.data {
        hist[round_non_negative(v.clamp(0.0, 1.0) * (BINS - 1) as f32) as usize] += 1;
    }
    let total = heat.data.len() as f64;
    let sum_all: f64 = hist.iter().enumerate().map(|(i, &c)| i as f64 * c as f64).sum();
    let (mut w0, mut sum0) = (0.0f64, 0.0f64);
    // Cuts with equal variance form a plateau (empty bins between the classes); take its middle.
    let (mut best, mut best_var) = (None::<(usize, usize)>, 0.0f64);
    for (i, &count) in hist.iter().enumerate().take(BINS - 1) {
        w0 += count as f64;
        sum0 += i as f64 * count as f64;
        let w1 = total - w0;
        if w0 == 0.0 || w1 == 0.0 {
            continue;
        }
        let (m0, m1) = (sum0 / w0, (sum_all - sum0) / w1);
        let var = w0 * w1 * (m0 - m1) * (m0 - m1);
        if var > best_var * (1.0 + 1e-9) {
            best_var = var;
            best = Some((i, i));
        } else if let Some((first, _)) = best.filter(|_| var >= best_var * (1.0 - 1e-9)) {
            best = Some((first, i));
        }
    }
    match best {
        // Values in bins above `i` form the foreground.
        Some((first, last)) => ((first + last) as f32 / 2.0 + 0.5) / (BINS - 1) as f32,
        None => f32::INFINITY,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_without_libm_is_rounding() {
        let mut x = 0.0f32;
        while x <= 255.0 {
            assert_eq!(round_non_negative(x), x.round(), "{x}");
            x = f32::from_bits(x.to_bits() + 997);
        }
        for x in [0.5, 1.5, 2.5, 254.5, 0.49999997, 127.49999] {
            assert_eq!(round_non_negative(x).to_bits(), x.round().to_bits(), "{x}");
        }
    }

    #[test]
    fn otsu_separates_two_levels() {
        // 30% of pixels at 0.8, the rest at 0.1 (+ small jitter): any cut between them is right.
        let data: Vec<f32> = (0..100)
            .map(|i| if i < 30 { 0.8 + (i % 3) as f32 * 0.01 } else { 0.1 + (i % 5) as f32 * 0.01 })
            .collect();
        let heat = Plane::new(10, 10, data);
        let t = otsu_threshold(&heat);
        assert!(t > 0.15 && t <= 0.8, "otsu threshold {t}");
        assert_eq!(Threshold::Otsu.apply(&heat).area(), 30);
    }

    #[test]
    fn otsu_of_a_flat_map_is_empty() {
        let heat = Plane::zeros(8, 8);
        assert!(Threshold::Otsu.apply(&heat).is_empty());
    }

    #[test]
    fn fixed_threshold_is_inclusive() {
        let heat = Plane::new(3, 1, vec![0.2, 0.5, 0.9]);
        assert_eq!(threshold(&heat, 0.5).bits, vec![false, true, true]);
    }

    #[test]
    fn threshold_parsing() {
        assert_eq!(Threshold::parse("otsu").unwrap(), Threshold::Otsu);
        assert_eq!(Threshold::parse("0.4").unwrap(), Threshold::Fixed(0.4));
        assert!(Threshold::parse("1.5").is_err());
        assert!(Threshold::parse("hot").is_err());
    }

    #[test]
    fn non_binary_masks_are_refused() {
        let grey = Plane::new(3, 1, vec![0.0, 0.5, 1.0]);
        assert!(Mask::from_plane(&grey, "m.png").unwrap_err().to_string().contains("not binary"));
        let ok = Mask::from_plane(&Plane::new(3, 1, vec![0.0, 1.0, 1.0]), "m").unwrap();
        assert_eq!(ok.area(), 2);
        let all_black = Mask::from_plane(&Plane::zeros(2, 2), "m").unwrap();
        assert!(all_black.is_empty());
    }

    #[test]
    fn contour_of_a_square_is_its_rim() {
        let mut m = Mask::empty(5, 5);
        for y in 1..4 {
            for x in 1..4 {
                m.bits[y * 5 + x] = true;
            }
        }
        assert_eq!(m.contour().len(), 8);
    }
}
