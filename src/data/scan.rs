//! What a kind of scan looks like, as the model card states it: where its field of view is,
//! whether its lesions are brighter or darker than their surroundings, and whether a rim
//! inside the field of view's outline should be ignored. Nothing in the core assumes a head:
//! the LGG card says "bright lesion inside a head with a scalp rim", the BUSI card "dark lesion
//! in an ultrasound sector, no rim".

use serde::{Deserialize, Serialize};

/// Whether lesions are brighter or darker than the field of view's mean: the polarity of the
/// brightness baseline (the rule with no classifier) and of fusion's prior.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Polarity {
    /// Hyperintense lesions (a glioma on FLAIR).
    Bright,
    /// Hypoechoic or hypointense lesions (most breast masses on ultrasound).
    Dark,
}

impl Polarity {
    pub fn name(self) -> &'static str {
        match self {
            Polarity::Bright => "bright",
            Polarity::Dark => "dark",
        }
    }

    pub fn parse(text: &str) -> Option<Polarity> {
        [Polarity::Bright, Polarity::Dark].into_iter().find(|p| p.name() == text)
    }
}

/// The scan's own settings, used by the brightness baseline, fusion's prior, the shape step
/// and the random masks of the filter experiment. A card written before these existed gets
/// [`ScanSettings::default`], which is exactly what the LGG model has always used.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScanSettings {
    /// Pixels above this level (in [0, 1]) are the field of view: the head on MRI, the
    /// insonated sector on ultrasound. Its mean is the brightness rule's reference.
    pub field_of_view_level: f32,
    /// Whether lesions are brighter or darker than the field of view's mean.
    pub lesion_polarity: Polarity,
    /// The brightness rule's full-weight contrast: a pixel `contrast` times brighter than the
    /// mean (bright polarity), or `contrast` times darker (dark), gets weight 1.
    pub lesion_contrast: f32,
    /// Width in pixels (at a 256 px image) of the band inside the field of view's outline that
    /// the shape step ignores (scalp fat on FLAIR); 0 keeps the whole field of view.
    pub rim_band_px: usize,
}

impl Default for ScanSettings {
    /// Brain FLAIR: head above 20/255, bright lesion, full weight at 1.35 x the head's mean,
    /// an 8 px scalp band.
    fn default() -> Self {
        Self { field_of_view_level: 20.0 / 255.0, lesion_polarity: Polarity::Bright, lesion_contrast: 1.35, rim_band_px: 8 }
    }
}

impl ScanSettings {
    /// A message naming the field that is out of range, if any.
    pub fn check(&self) -> Result<(), String> {
        if !(0.0..1.0).contains(&self.field_of_view_level) {
            return Err(format!("`field_of_view_level` {} is outside [0, 1)", self.field_of_view_level));
        }
        if !(self.lesion_contrast > 1.0 && self.lesion_contrast <= 10.0) {
            return Err(format!("`lesion_contrast` {} is outside (1, 10]", self.lesion_contrast));
        }
        if self.rim_band_px > 128 {
            return Err(format!("`rim_band_px` {} is wider than half a 256 px image", self.rim_band_px));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_round_trip_and_bad_values_are_named() {
        let dark = ScanSettings { lesion_polarity: Polarity::Dark, rim_band_px: 0, ..ScanSettings::default() };
        let text = serde_json::to_string(&dark).unwrap();
        assert!(text.contains("\"lesion_polarity\":\"dark\""), "{text}");
        assert_eq!(serde_json::from_str::<ScanSettings>(&text).unwrap(), dark);
        assert!(ScanSettings::default().check().is_ok());
        let wide = ScanSettings { rim_band_px: 200, ..dark };
        assert!(wide.check().unwrap_err().contains("rim_band_px"));
        let flat = ScanSettings { lesion_contrast: 1.0, ..dark };
        assert!(flat.check().unwrap_err().contains("lesion_contrast"));
        assert_eq!(Polarity::parse("dark"), Some(Polarity::Dark));
        assert_eq!(Polarity::parse("grey"), None);
    }
}
