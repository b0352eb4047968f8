//! The image on screen as the image view shows it: its mask as drawn, its overlay, and the PNGs
//! it saves. Pure functions of one item and the view settings, so the view takes them as props
//! and the page's state and the view share one definition.

use super::{Item, ViewSettings};
use crate::data::decode::{encode_png_gray, encode_png_rgba};
use crate::masks::Mask;
use crate::plane::Plane;
use crate::render::{heatmap_rgba, overlay_rgba};

impl Item {
    /// Whether its mask is drawn: it has a result, and the model calls it a lesion or masks on
    /// "no lesion" images are asked for.
    pub fn shows_mask(&self, view: &ViewSettings) -> bool {
        self.result.is_some() && (!self.gated() || view.masks_on_negatives)
    }

    /// Its predicted mask as drawn (`None` while pending or gated away).
    pub fn predicted_mask(&self, view: &ViewSettings) -> Option<Mask> {
        let result = self.result.as_ref()?;
        self.shows_mask(view).then(|| view.threshold.apply(&result.heatmap))
    }

    /// The overlay as RGBA: the scan, its heatmap and both contours (the plain scan with its
    /// true contour while the heatmap is pending).
    pub fn picture(&self, view: &ViewSettings, predicted: Option<&Mask>) -> (usize, usize, Vec<u8>) {
        let (w, h) = (self.image.width, self.image.height);
        let rgba = match &self.result {
            Some(r) => overlay_rgba(&self.image, &r.heatmap, view.colour_map, view.opacity, predicted, self.truth.as_deref()),
            None => overlay_rgba(&self.image, &Plane::zeros(w, h), view.colour_map, 0.0, None, self.truth.as_deref()),
        };
        (w, h, rgba)
    }

    /// A PNG to save, `what` being "heatmap", "mask" or "overlay": its file name and bytes, or
    /// why there is none.
    pub fn export_png(&self, view: &ViewSettings, what: &str) -> Result<(String, Vec<u8>), String> {
        let result = self.result.as_ref().ok_or("the heatmap is still being computed")?;
        let stem = self.name.rsplit_once('.').map(|(a, _)| a).unwrap_or(&self.name);
        let (w, h) = (self.image.width, self.image.height);
        let predicted = self.predicted_mask(view);
        let bytes = match what {
            "heatmap" => encode_png_rgba(w, h, heatmap_rgba(&result.heatmap, view.colour_map)),
            "mask" => encode_png_gray(&predicted.ok_or("the model calls this image no-tumour, so its mask is gated away (tick \"Show masks on slices called no-tumour\" to save it)")?.to_plane()),
            _ => encode_png_rgba(w, h, self.picture(view, predicted.as_ref()).2),
        };
        Ok((format!("{stem}_{what}.png"), bytes))
    }
}
