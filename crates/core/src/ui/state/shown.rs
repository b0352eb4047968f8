//! The image on screen as the image view shows it: its mask as drawn, its overlay, and the
//! pictures it saves. Pure functions of one item and the view settings, so the view takes them as props
//! and the page's state and the view share one definition.

use super::{Item, ViewSettings};
use crate::masks::Mask;
use crate::plane::Plane;
use crate::protocol::Picture;
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

    /// A picture to save as PNG, `what` being "heatmap", "mask" or "overlay": its file name and
    /// pixels, or why there is none. The worker encodes it ([`Picture::png`]).
    pub fn export_picture(&self, view: &ViewSettings, what: &str) -> Result<Picture, String> {
        let result = self.result.as_ref().ok_or("the heatmap is still being computed")?;
        let stem = self.name.rsplit_once('.').map(|(a, _)| a).unwrap_or(&self.name);
        let (width, height) = (self.image.width, self.image.height);
        let predicted = self.predicted_mask(view);
        let (gray, pixels) = match what {
            "heatmap" => (false, heatmap_rgba(&result.heatmap, view.colour_map)),
            "mask" => {
                let mask = predicted.ok_or("the model calls this image no-tumour, so its mask is gated away (tick \"Show masks on slices called no-tumour\" to save it)")?;
                (true, mask.bits.iter().map(|&b| if b { 255 } else { 0 }).collect())
            }
            _ => (false, self.picture(view, predicted.as_ref()).2),
        };
        Ok(Picture { file_name: format!("{stem}_{what}.png"), width, height, gray, pixels })
    }
}
