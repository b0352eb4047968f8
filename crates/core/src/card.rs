//! The model card: a small JSON file beside the weights that says what the weights are
//! (architecture, input spec), what they were trained on, how well they did, under which
//! licence, and how the page should draw their CAM by default.

use crate::cam::CamMethod;
use crate::data::InputSpec;
use crate::masks::Threshold;
use crate::model::ClassifierConfig;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Written into every card; a card with another value is not ours.
pub const FORMAT: &str = "camseg-model-card/2";
/// Cards written before the scan settings existed: they load with the brain FLAIR settings
/// ([`crate::data::ScanSettings::default`]) that they were made with.
pub const FORMAT_V1: &str = "camseg-model-card/1";

/// Which CAM the model's users should see first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CamDefaults {
    pub method: CamMethod,
    /// Conv block whose output is explained (0-based; the last is the usual choice).
    pub block: usize,
    pub threshold: Threshold,
    /// Each method's own best block and cut on val (written by `camseg card`): methods'
    /// maps differ so much in spread that one cut cannot serve them all (a walked map wants
    /// 0.7, fusion's 0.05), so the page moves to these when a method is picked.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub per_method: Vec<MethodDefault>,
}

impl CamDefaults {
    /// The block and cut to use with `method`: its own from val, else the card's default ones.
    pub fn for_method(&self, method: CamMethod) -> (usize, Threshold) {
        self.per_method.iter().find(|d| d.method == method).map_or((self.block, self.threshold), |d| (d.block, d.threshold))
    }
}

/// One method's best block and cut on val, and its mean Dice there.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MethodDefault {
    pub method: CamMethod,
    pub block: usize,
    pub threshold: Threshold,
    pub val_mean_dice: f64,
}

/// How the weights were made, so anyone can make them again.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TrainingInfo {
    pub command: String,
    pub seed: u64,
    pub epochs: usize,
    pub data: String,
    pub train_images: usize,
    /// The rule used to pick no-tumour slices (`all` or `head-pN`); eval uses it by default.
    #[serde(default)]
    pub negatives: String,
    pub seconds: f64,
    /// How image-level labels were read (class folders, a labels CSV); absent for `index.csv`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<LabelsInfo>,
}

/// The classes a model learnt and how its data was split, so `eval` reads the same folder the
/// same way.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LabelsInfo {
    pub layout: crate::data::labelled::Layout,
    /// The positive classes (resolved, not as typed), the val share and the split's seed.
    pub options: crate::data::labelled::LabelOptions,
    pub classes: Vec<crate::data::labelled::ClassCount>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelCard {
    pub format: String,
    pub name: String,
    pub description: String,
    pub architecture: ClassifierConfig,
    pub input: InputSpec,
    pub cam: CamDefaults,
    #[serde(default)]
    pub training: TrainingInfo,
    /// Figures measured on held-out data, by name (e.g. `test_auc`).
    #[serde(default)]
    /// Figures measured when the card was written; NaN (e.g. AUC on a split with one class)
    /// is written as JSON `null` and read back as NaN, so such a card still loads.
    #[serde(with = "nan_as_null")]
    pub metrics: BTreeMap<String, f64>,
    pub licence: String,
    #[serde(default)]
    pub attribution: Vec<String>,
}

/// `f64` values that may be NaN or infinite, as JSON numbers or `null`.
mod nan_as_null {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::collections::BTreeMap;

    pub fn serialize<S: Serializer>(map: &BTreeMap<String, f64>, s: S) -> Result<S::Ok, S::Error> {
        let finite: BTreeMap<&String, Option<f64>> = map.iter().map(|(k, v)| (k, v.is_finite().then_some(*v))).collect();
        finite.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, f64>, D::Error> {
        let read = BTreeMap::<String, Option<f64>>::deserialize(d)?;
        Ok(read.into_iter().map(|(k, v)| (k, v.unwrap_or(f64::NAN))).collect())
    }
}

impl ModelCard {
    pub fn new(name: &str, architecture: ClassifierConfig) -> Self {
        let input = InputSpec::new(architecture.input_size);
        let block = architecture.blocks() - 1;
        Self {
            format: FORMAT.into(),
            name: name.into(),
            description: String::new(),
            architecture,
            input,
            cam: CamDefaults { method: CamMethod::GradCam, block, threshold: Threshold::Fixed(0.5), per_method: Vec::new() },
            training: TrainingInfo::default(),
            metrics: BTreeMap::new(),
            licence: String::new(),
            attribution: Vec::new(),
        }
    }

    pub fn from_json(text: &str) -> Result<Self> {
        check_named_choices(text, "model card")?;
        let card: ModelCard = serde_json::from_str(text)
            .map_err(|e| Error::Model(format!("the model card is not valid camseg card JSON ({e})")))?;
        if card.format != FORMAT && card.format != FORMAT_V1 {
            return Err(Error::Model(format!("the model card has format `{}`, expected `{FORMAT}` (or `{FORMAT_V1}`)", card.format)));
        }
        card.architecture.validate()?;
        if card.input.size != card.architecture.input_size {
            return Err(Error::Model("the card's input size and architecture disagree".into()));
        }
        let defaults = std::iter::once((card.cam.block, card.cam.threshold)).chain(card.cam.per_method.iter().map(|d| (d.block, d.threshold)));
        for (block, threshold) in defaults {
            if block >= card.architecture.blocks() {
                return Err(Error::Model(format!("the card's CAM block {block} does not exist")));
            }
            if let Threshold::Fixed(t) = threshold {
                if !(0.0..=1.0).contains(&t) {
                    return Err(Error::Model(format!("the card's CAM threshold {t} is outside [0, 1]")));
                }
            }
        }
        card.input.check().map_err(|e| Error::Model(format!("the model card's {e}")))?;
        Ok(card)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a card always serialises")
    }

}

/// Refuses a card that names a normalisation or a lesion polarity camseg does not know, with
/// the field named (serde's own message names the variant but not where it is).
pub fn check_named_choices(text: &str, what: &str) -> Result<()> {
    let Ok(value) = serde_json::from_str::<serde_json::Value>(text) else { return Ok(()) };
    let input = &value["input"];
    let choices: [(&str, &serde_json::Value, &[&str]); 2] = [
        ("input.normalisation.kind", &input["normalisation"]["kind"], &crate::data::Normalisation::KINDS),
        ("input.scan.lesion_polarity", &input["scan"]["lesion_polarity"], &["bright", "dark"]),
    ];
    for (field, found, known) in choices {
        if let Some(name) = found.as_str() {
            if !known.contains(&name) {
                return Err(Error::Model(format!("the {what}'s `{field}` is `{name}`, which camseg does not know (expected one of: {})", known.join(", "))));
            }
        }
    }
    Ok(())
}

/// A model on disk is a weights file `NAME.bpk` with its card `NAME.json` beside it; either
/// path (or the bare `NAME`) names it. Native only: the page gets its files from the user.
#[cfg(not(target_arch = "wasm32"))]
pub mod files {
    use crate::{Error, Result};
    use std::path::{Path, PathBuf};

    /// The weights and card paths of the model `path` names: `m`, `m.bpk` and `m.json` all
    /// name `m.bpk` + `m.json`; any other dot is part of the name (`runs/v1.5` is
    /// `runs/v1.5.bpk`, not `runs/v1.bpk`).
    pub fn paths(path: &Path) -> (PathBuf, PathBuf) {
        let ext = path.extension().map(|e| e.to_ascii_lowercase());
        let stem = match ext.as_ref().and_then(|e| e.to_str()) {
            Some("bpk" | "json") => path.with_extension(""),
            _ => path.to_path_buf(),
        };
        let with = |ext: &str| {
            let mut p = stem.clone().into_os_string();
            p.push(format!(".{ext}"));
            PathBuf::from(p)
        };
        (with("bpk"), with("json"))
    }

    /// Writes `bytes` to `path` through a temporary file renamed into place, so an interrupted
    /// write never leaves a half-written file where a good one was.
    pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
        let mut temp = path.as_os_str().to_owned();
        temp.push(".partial");
        let temp = PathBuf::from(temp);
        std::fs::write(&temp, bytes).map_err(|e| Error::io(temp.display(), e))?;
        std::fs::rename(&temp, path).map_err(|e| Error::io(path.display(), e))
    }

    #[cfg(test)]
    #[test]
    fn model_paths_keep_dots_in_names() {
        let p = |s: &str| paths(Path::new(s));
        assert_eq!(p("runs/v1.5"), (PathBuf::from("runs/v1.5.bpk"), PathBuf::from("runs/v1.5.json")));
        assert_eq!(p("runs/m.bpk"), (PathBuf::from("runs/m.bpk"), PathBuf::from("runs/m.json")));
        assert_eq!(p("runs/m.JSON"), (PathBuf::from("runs/m.bpk"), PathBuf::from("runs/m.json")));
        assert_eq!(p("m"), (PathBuf::from("m.bpk"), PathBuf::from("m.json")));
    }
}
