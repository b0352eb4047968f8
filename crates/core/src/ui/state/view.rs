//! How results are drawn and ordered.

use crate::masks::Threshold;
use crate::render::ColourMap;

/// How the heatmap is drawn and cut into a mask.
#[derive(Clone, Debug, PartialEq)]
pub struct ViewSettings {
    pub threshold: Threshold,
    /// Heatmap opacity over the scan, 0..1.
    pub opacity: f32,
    pub colour_map: ColourMap,
    /// Screen pixels per image pixel; [`ViewSettings::FIT`] (the default) fits the whole image
    /// to its panel, whatever its size.
    pub zoom: u32,
    /// Draw the predicted mask on images the model calls "no tumour" too (off: gated away).
    pub masks_on_negatives: bool,
}

impl ViewSettings {
    /// The zoom that fits the whole image to its panel.
    pub const FIT: u32 = 0;
}

impl Default for ViewSettings {
    fn default() -> Self {
        Self { threshold: Threshold::Fixed(0.5), opacity: 0.5, colour_map: ColourMap::Turbo, zoom: ViewSettings::FIT, masks_on_negatives: false }
    }
}

/// Columns of the batch table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortKey {
    File,
    Probability,
    Predicted,
    Truth,
    Dice,
    GatedDice,
}
