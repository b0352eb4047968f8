//! The model's input spec: what a decoded image must become before the classifier sees it.
//! It is stored in the model card, so a model is always fed the way it was trained.

use super::scan::ScanSettings;
use crate::plane::Plane;
use serde::{Deserialize, Serialize};

/// Which channel of a colour image is the scan (the LGG `.tif` files hold pre-contrast,
/// FLAIR, post-contrast as R, G, B). Gray images ignore it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Luma,
    Red,
    Green,
    Blue,
}

impl Channel {
    pub fn index(self) -> Option<usize> {
        match self {
            Channel::Luma => None,
            Channel::Red => Some(0),
            Channel::Green => Some(1),
            Channel::Blue => Some(2),
        }
    }
}

/// Intensity normalisation. MRI intensities are not comparable across patients, so the LGG
/// model divides each slice by its mean over the head (pixels above `threshold`); without
/// it, AUC on LGG test patients fell from 0.95 to 0.82 in the reference run.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Normalisation {
    /// Values in [0, 1] as decoded.
    Unit,
    /// Divide by the mean of the field of view: pixels brighter than `threshold` (in [0, 1]).
    /// Named for the head it was made for; it serves any scan with a dark surround.
    HeadMean { threshold: f32 },
    /// Subtract the whole image's mean and divide by its standard deviation.
    MeanStd,
}

impl Normalisation {
    /// The names a card may give in `input.normalisation.kind`.
    pub const KINDS: [&'static str; 3] = ["unit", "head-mean", "mean-std"];
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InputSpec {
    /// The model's square input side.
    pub size: usize,
    pub channel: Channel,
    pub normalisation: Normalisation,
    /// What the scan looks like (field of view, lesion polarity, rim band); a card without it
    /// gets the brain FLAIR settings every earlier card was made with.
    #[serde(default)]
    pub scan: ScanSettings,
}

impl InputSpec {
    /// Brain FLAIR's spec (the LGG layout's green channel, head-mean normalisation).
    pub fn new(size: usize) -> Self {
        Self { size, channel: Channel::Green, normalisation: Normalisation::HeadMean { threshold: 20.0 / 255.0 }, scan: ScanSettings::default() }
    }

    /// A message naming the field that is out of range, if any.
    pub fn check(&self) -> Result<(), String> {
        if let Normalisation::HeadMean { threshold } = self.normalisation {
            if !(0.0..1.0).contains(&threshold) {
                return Err(format!("`input.normalisation.threshold` {threshold} is outside [0, 1)"));
            }
        }
        self.scan.check().map_err(|e| format!("input.scan: {e}"))
    }

    /// A decoded image as the model's input plane: bilinear resize to `size`, then normalise.
    pub fn prepare(&self, image: &Plane) -> Plane {
        self.prepare_like(image, image)
    }

    /// `image` prepared with the normalisation that `reference` would get: a filtered image
    /// (part of it blanked) keeps its unfiltered scan's scale, instead of being rescaled by
    /// the mean of whatever the filter left.
    pub fn prepare_like(&self, image: &Plane, reference: &Plane) -> Plane {
        if self.scan.fill_annotations {
            // `prepare` passes the image as its own reference: fill it once.
            let filled = super::scan::annotations_filled(image);
            let reference = if std::ptr::eq(image, reference) { None } else { Some(super::scan::annotations_filled(reference)) };
            return Self { scan: ScanSettings { fill_annotations: false, ..self.scan }, ..self.clone() }.prepare_like(&filled, reference.as_ref().unwrap_or(&filled));
        }
        let mut p = image.resize_bilinear(self.size, self.size);
        match self.normalisation {
            Normalisation::Unit => {}
            Normalisation::HeadMean { threshold } => {
                let r = reference.resize_bilinear(self.size, self.size);
                let (sum, n) = r.data.iter().filter(|&&v| v > threshold).fold((0.0f64, 0usize), |(s, n), &v| (s + v as f64, n + 1));
                // A slice with no head in view stays as it is (dividing by ~0 would explode it).
                if n > 0 && sum > 0.0 {
                    let mean = (sum / n as f64) as f32;
                    p.data.iter_mut().for_each(|v| *v /= mean);
                }
            }
            Normalisation::MeanStd => {
                let r = reference.resize_bilinear(self.size, self.size);
                let n = r.data.len().max(1) as f64;
                let mean = r.data.iter().map(|&v| v as f64).sum::<f64>() / n;
                let var = r.data.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n;
                // A flat image has no spread to divide by: it is only centred.
                let std = if var > 1e-12 { var.sqrt() } else { 1.0 };
                p.data.iter_mut().for_each(|v| *v = ((*v as f64 - mean) / std) as f32);
            }
        }
        p
    }

}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_mean_normalisation_makes_head_mean_one() {
        let spec = InputSpec { size: 4, channel: Channel::Luma, normalisation: Normalisation::HeadMean { threshold: 0.1 }, scan: ScanSettings::default() };
        let mut data = vec![0.0; 16];
        data[5] = 0.2;
        data[6] = 0.6;
        let p = spec.prepare(&Plane::new(4, 4, data));
        assert!((p.data[5] - 0.5).abs() < 1e-6 && (p.data[6] - 1.5).abs() < 1e-6);
        // A filtered copy (pixel 5 blanked) keeps the scale of its unfiltered scan.
        let original = Plane::new(4, 4, (0..16).map(|i| [0.0, 0.2, 0.6][(i == 5) as usize + 2 * (i == 6) as usize]).collect());
        let filtered = Plane::new(4, 4, (0..16).map(|i| if i == 6 { 0.6 } else { 0.0 }).collect());
        assert!((spec.prepare(&filtered).data[6] - 1.0).abs() < 1e-6, "alone, what is left is rescaled");
        assert!((spec.prepare_like(&filtered, &original).data[6] - 1.5).abs() < 1e-6);
        let dark = spec.prepare(&Plane::zeros(4, 4));
        assert!(dark.data.iter().all(|&v| v == 0.0));
    }

    #[test]
    fn mean_std_normalisation_centres_and_scales_by_the_reference() {
        let spec = InputSpec { size: 2, channel: Channel::Luma, normalisation: Normalisation::MeanStd, scan: ScanSettings::default() };
        let p = spec.prepare(&Plane::new(2, 2, vec![0.2, 0.4, 0.2, 0.4]));
        assert!(p.data.iter().zip([-1.0, 1.0, -1.0, 1.0]).all(|(a, b)| (a - b).abs() < 1e-5), "{:?}", p.data);
        // A flat image is centred, never divided by zero.
        assert!(spec.prepare(&Plane::new(2, 2, vec![0.5; 4])).data.iter().all(|&v| v == 0.0));
        assert!(spec.check().is_ok());
        let bad = InputSpec { normalisation: Normalisation::HeadMean { threshold: 1.5 }, ..spec };
        assert!(bad.check().unwrap_err().contains("input.normalisation.threshold"));
    }
}
