//! What a kind of scan looks like, as the model card states it: where its field of view is,
//! whether its lesions are brighter or darker than their surroundings, and whether a rim
//! inside the field of view's outline should be ignored; and how far `layercam-walk` spreads
//! evidence, which depends on how large its lesions are. Nothing in the core assumes a head:
//! the LGG card says "bright lesion inside a head with a scalp rim", the BUSI card "dark lesion
//! in an ultrasound sector, no rim".

use crate::cam::walk::Walk;
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
    /// Fill burnt-in annotations (text, calipers: near-white thin marks) with the tissue round
    /// them before the model sees the image, so that it cannot learn them instead of the
    /// lesion ([`annotations_filled`]). Off for cards that do not say.
    #[serde(default)]
    pub fill_annotations: bool,
    /// `layercam-walk`'s random walk; LGG val's ([`Walk::CHOSEN`]) for cards that do not say.
    #[serde(default)]
    pub walk: Walk,
}

impl Default for ScanSettings {
    /// Brain FLAIR: head above 20/255, bright lesion, full weight at 1.35 x the head's mean,
    /// an 8 px scalp band.
    fn default() -> Self {
        Self { field_of_view_level: 20.0 / 255.0, lesion_polarity: Polarity::Bright, lesion_contrast: 1.35, rim_band_px: 8, fill_annotations: false, walk: Walk::CHOSEN }
    }
}

/// What kind of scan a model trained from scratch in the page reads: each sets the card's
/// scan settings (the CLI sets each field by its own flag).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ScanKind {
    /// FLAIR's: bright lesion, an 8 px scalp band ([`ScanSettings::default`]).
    #[default]
    BrainFlair,
    /// BUSI's: dark lesion, no rim band, burnt-in text and calipers filled. The page trains the
    /// plain network from scratch, for which val chose filling on BUSI (v1, docs/results.md
    /// section 5); the shipped model, fine-tuned from ImageNet weights, did better without it.
    Ultrasound,
    /// Any other scan with bright lesions, no rim band.
    BrightLesion,
    /// Any other scan with dark lesions, no rim band.
    DarkLesion,
}

impl ScanKind {
    pub const ALL: [ScanKind; 4] = [ScanKind::BrainFlair, ScanKind::Ultrasound, ScanKind::BrightLesion, ScanKind::DarkLesion];

    pub fn name(self) -> &'static str {
        match self {
            ScanKind::BrainFlair => "brain-flair",
            ScanKind::Ultrasound => "ultrasound",
            ScanKind::BrightLesion => "bright-lesion",
            ScanKind::DarkLesion => "dark-lesion",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ScanKind::BrainFlair => "brain MRI, FLAIR (bright lesions, scalp band left out)",
            ScanKind::Ultrasound => "ultrasound (dark lesions, burnt-in text and calipers filled)",
            ScanKind::BrightLesion => "other, with bright lesions",
            ScanKind::DarkLesion => "other, with dark lesions",
        }
    }

    pub fn parse(name: &str) -> Option<ScanKind> {
        ScanKind::ALL.into_iter().find(|k| k.name() == name)
    }

    pub fn settings(self) -> ScanSettings {
        let other = ScanSettings { rim_band_px: 0, ..ScanSettings::default() };
        match self {
            ScanKind::BrainFlair => ScanSettings::default(),
            ScanKind::Ultrasound => ScanSettings { lesion_polarity: Polarity::Dark, fill_annotations: true, ..other },
            ScanKind::BrightLesion => other,
            ScanKind::DarkLesion => ScanSettings { lesion_polarity: Polarity::Dark, ..other },
        }
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
        self.walk.check()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_of_scan_names_itself_and_the_ultrasound_one_is_the_busi_cards_but_its_filling() {
        for kind in ScanKind::ALL {
            assert_eq!(ScanKind::parse(kind.name()), Some(kind));
            assert!(kind.settings().check().is_ok());
        }
        let busi: serde_json::Value = serde_json::from_str(include_str!("../../../../static/models/busi.json")).unwrap();
        let card = serde_json::from_value::<ScanSettings>(busi["input"]["scan"].clone()).unwrap();
        // All but the filling, which val chose for the plain network from scratch only.
        assert_eq!(card, ScanSettings { fill_annotations: false, ..ScanKind::Ultrasound.settings() });
        assert!(ScanKind::Ultrasound.settings().fill_annotations);
        assert_eq!(ScanKind::default().settings(), ScanSettings::default(), "FLAIR's, as every card before the others");
    }

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

/// Pixels at least this bright (in [0, 1]) may be burnt-in marks: text, calipers, scale ticks.
pub const MARK_LEVEL: f32 = 0.9;
/// ...if they are thin (no fully bright 3x3 square covers them) and stand this far above the
/// median of the 5x5 window round them (bright tissue is broad, or its surround is bright).
pub const MARK_CONTRAST: f32 = 0.3;

/// `image` with its burnt-in annotations (near-white thin marks: text, the sonographer's
/// calipers, scale ticks) filled with the median of the unmarked pixels round them. Marks are
/// found from the image alone (no mask, no model), grown by one pixel to take their
/// anti-aliased edges.
pub fn annotations_filled(image: &crate::plane::Plane) -> crate::plane::Plane {
    let (w, h) = (image.width, image.height);
    let at = |x: isize, y: isize| image.data[y.clamp(0, h as isize - 1) as usize * w + x.clamp(0, w as isize - 1) as usize];
    let median_round = |x: usize, y: usize, r: isize, keep: &dyn Fn(isize, isize) -> bool| {
        let mut v: Vec<f32> = Vec::with_capacity(((2 * r + 1) * (2 * r + 1)) as usize);
        for dy in -r..=r {
            for dx in -r..=r {
                let (nx, ny) = (x as isize + dx, y as isize + dy);
                if keep(nx, ny) {
                    v.push(at(nx, ny));
                }
            }
        }
        v.sort_by(f32::total_cmp);
        v.get(v.len() / 2).copied()
    };
    // Thin: no fully bright 3x3 square covers the pixel (a morphological opening removes it).
    let bright: Vec<bool> = image.data.iter().map(|&v| v >= MARK_LEVEL).collect();
    let inside = |x: isize, y: isize| x >= 0 && y >= 0 && (x as usize) < w && (y as usize) < h;
    let square = |cx: isize, cy: isize| (-1..=1).all(|dy| (-1..=1).all(|dx| inside(cx + dx, cy + dy) && bright[(cy + dy) as usize * w + (cx + dx) as usize]));
    let covered = |x: isize, y: isize| (-1..=1).any(|dy| (-1..=1).any(|dx| square(x + dx, y + dy)));
    let mut marked = vec![false; w * h];
    for y in 0..h {
        for x in 0..w {
            let v = image.data[y * w + x];
            if bright[y * w + x] && !covered(x as isize, y as isize) {
                if let Some(m) = median_round(x, y, 2, &|_, _| true) {
                    marked[y * w + x] = v - m >= MARK_CONTRAST;
                }
            }
        }
    }
    let grown: Vec<bool> = (0..w * h)
        .map(|i| {
            let (x, y) = ((i % w) as isize, (i / w) as isize);
            (-1..=1).any(|dy| (-1..=1).any(|dx| {
                let (nx, ny) = (x + dx, y + dy);
                nx >= 0 && ny >= 0 && (nx as usize) < w && (ny as usize) < h && marked[ny as usize * w + nx as usize]
            }))
        })
        .collect();
    let mut out = image.clone();
    for i in (0..w * h).filter(|&i| grown[i]) {
        let inside = |nx: isize, ny: isize| nx >= 0 && ny >= 0 && (nx as usize) < w && (ny as usize) < h && !grown[ny as usize * w + nx as usize];
        if let Some(m) = median_round(i % w, i / w, 3, &inside) {
            out.data[i] = m;
        }
    }
    out
}

#[cfg(test)]
mod annotation_tests {
    use super::*;
    use crate::plane::Plane;

    #[test]
    fn thin_white_marks_are_filled_but_broad_bright_tissue_stays() {
        // Grey tissue (0.4) with a white 1 px cross (calipers) and a broad bright block.
        let mut data = vec![0.4; 40 * 40];
        for k in 5..15 {
            data[10 * 40 + k] = 1.0;
            data[k * 40 + 10] = 1.0;
        }
        for y in 25..37 {
            for x in 25..37 {
                data[y * 40 + x] = 0.95;
            }
        }
        let filled = annotations_filled(&Plane::new(40, 40, data.clone()));
        assert!((5..15).all(|k| (filled.data[10 * 40 + k] - 0.4).abs() < 1e-6 && (filled.data[k * 40 + 10] - 0.4).abs() < 1e-6), "the cross is gone");
        assert!((25..37).all(|y| (25..37).all(|x| filled.data[y * 40 + x] == 0.95)), "the broad block stays");
        let plain = Plane::new(40, 40, vec![0.4; 1600]);
        assert_eq!(annotations_filled(&plain), plain);
    }
}
