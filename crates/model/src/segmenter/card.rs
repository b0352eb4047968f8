//! The segmenter's card (the JSON beside its weights) and its weights on disk and as bytes.

use super::{SegmenterConfig, FORMAT};
use crate::data::InputSpec;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use super::Segmenter;
use burn::tensor::Device;

/// How the segmenter was made, so anyone can make it again.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SegTrainingInfo {
    pub command: String,
    pub data: String,
    pub seed: u64,
    pub epochs: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    pub train_images: usize,
    /// The rule used to pick no-tumour slices (`all` or `head-pN`).
    pub negatives: String,
    /// The classifier whose CAM made the labels (cam labels only).
    #[serde(default)]
    pub classifier: Option<String>,
    /// Its block explained (cam labels only).
    #[serde(default)]
    pub cam_block: Option<usize>,
    /// The epoch kept (1-based): the best mean val Dice against the same kind of labels.
    pub best_epoch: usize,
    pub seconds: f64,
    pub train_loss: Vec<f64>,
    /// Mean Dice (probability >= 0.5) on the val split's tumour slices, per epoch, against
    /// the same kind of labels as training (true masks, or CAM pseudo-masks).
    pub val_dice: Vec<f64>,
}

/// The JSON card beside a segmenter's weights.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SegmenterCard {
    pub format: String,
    pub name: String,
    pub architecture: SegmenterConfig,
    pub input: InputSpec,
    /// `truth` (true masks) or `cam:<method>@<threshold>` (the classifier's CAM pseudo-masks).
    pub labels: String,
    #[serde(default)]
    pub training: SegTrainingInfo,
}

impl SegmenterCard {
    pub fn new(name: &str, architecture: SegmenterConfig, input: InputSpec, labels: &str) -> Self {
        Self { format: FORMAT.into(), name: name.into(), architecture, input, labels: labels.into(), training: SegTrainingInfo::default() }
    }

    pub fn from_json(text: &str) -> Result<Self> {
        crate::card::check_named_choices(text, "segmenter card")?;
        let card: SegmenterCard = serde_json::from_str(text)
            .map_err(|e| Error::Model(format!("the segmenter card is not valid camseg segmenter JSON ({e})")))?;
        if card.format != FORMAT {
            return Err(Error::Model(format!("the segmenter card has format `{}`, expected `{FORMAT}`", card.format)));
        }
        card.architecture.validate()?;
        if card.input.size != card.architecture.input_size {
            return Err(Error::Model("the segmenter card's input size and architecture disagree".into()));
        }
        card.input.check().map_err(|e| Error::Model(format!("the segmenter card's {e}")))?;
        Ok(card)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a card always serialises")
    }

    /// Builds the card's architecture on `device`, fills it with `weights` (burnpack bytes, as
    /// [`weights_bytes`] writes them), in eval mode, through the classifier's checked load.
    pub fn load(&self, weights: Vec<u8>, device: &Device) -> Result<Segmenter> {
        crate::card::checked(crate::card::fill(self.architecture.init(device), weights, "the segmenter card's architecture")?)
    }
}

/// The weights as burnpack bytes, in the classifier's format (see [`crate::card::weights_bytes`]).
pub async fn weights_bytes(model: &Segmenter, architecture: &SegmenterConfig) -> Result<Vec<u8>> {
    crate::card::module_weights_bytes(model, |cpu| architecture.init(cpu)).await
}

/// Reads `NAME.json` and decodes `NAME.bpk` into its architecture (the classifier's naming and
/// reading, [`crate::card::files::read`]).
#[cfg(not(target_arch = "wasm32"))]
pub fn load(path: &std::path::Path, device: &Device) -> Result<(SegmenterCard, Segmenter)> {
    crate::card::files::read(path, SegmenterCard::from_json, |card, bytes| card.load(bytes, device))
}
