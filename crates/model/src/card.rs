//! The model card's weights on a device: a checked load (every file from anywhere passes
//! through it) and the weights' bytes for saving. The card itself is data
//! ([`camseg_core::card`], re-exported here).

pub use camseg_core::card::*;

use crate::model::Classifier;
use {
    burn::module::{Module, ModuleMapper, ModuleVisitor, Param},
    burn::store::ModuleRecord,
    burn::tensor::{Bytes, Device, Tensor, TensorData},
};
use crate::model::{Build, ClassifierConfig};
use crate::{Error, Result};

/// Reads a card's weights into its architecture.
pub trait Load {
    /// Builds the card's architecture on `device` and fills it with `weights` (burnpack bytes).
    /// The model comes back in eval mode, ready for inference and CAM.
    fn load(&self, weights: Vec<u8>, device: &Device) -> Result<Classifier>;
    /// [`Self::load`], then [`check_values`]: what a model from a file must pass. Reads every
    /// weight synchronously, so only on the CPU or natively.
    fn load_checked(&self, weights: Vec<u8>, device: &Device) -> Result<Classifier>;
}

impl Load for ModelCard {
    fn load(&self, weights: Vec<u8>, device: &Device) -> Result<Classifier> {
        // A card's weights are trained: fine-tuned further (`--init`, the page's "start from"),
        // they keep their family's momentum for trained weights.
        Ok(fill(self.architecture.init(device), weights, "the card's architecture")?.with_trained_norm_momentum())
    }

    fn load_checked(&self, weights: Vec<u8>, device: &Device) -> Result<Classifier> {
        checked(self.load(weights, device)?)
    }
}

/// Fills `fresh` (a module built from a card's architecture) with `weights` (burnpack bytes),
/// in eval mode: the one load every card's weights go through, the classifier's and the
/// segmenter's. `architecture` names what the weights must fit, for the message.
pub fn fill<M: Module>(fresh: M, weights: Vec<u8>, architecture: &str) -> Result<M> {
    // Cast to the module's dtypes: a damaged file may label a tensor with an integer dtype,
    // which burn would otherwise panic on (found by fuzzing); the values then fail
    // `check_values`'s bounds.
    let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(weights))
        .map_err(|e| Error::Model(format!("the weights file is not a burnpack weights file ({e:?})")))?
        .cast_to_module_dtype();
    let model = fresh
        .try_load_record(record)
        .map_err(|e| Error::Model(format!("the weights do not fit {architecture} ({})", shortened(&format!("{e:?}")))))?;
    Ok(model.valid())
}

/// `model` if [`check_values`] passes.
pub fn checked<M: Module>(model: M) -> Result<M> {
    check_values(&model)?;
    Ok(model)
}

/// The start of a long library message (burn lists every mismatched tensor).
fn shortened(text: &str) -> String {
    match text.char_indices().nth(200) {
        Some((at, _)) => format!("{} …", &text[..at]),
        None => text.to_string(),
    }
}

/// Largest weight (or batch-norm statistic) a trained camseg model plausibly holds; far above
/// any seen (the shipped models stay below 100), far below what a damaged file gives.
const MAX_WEIGHT: f32 = 1e6;

/// Refuses weights holding NaN or infinite values (such a model answers NaN for every image,
/// which the page would show as "no tumour"), or values no training makes (a damaged file).
/// Reads every parameter synchronously, so call it on the CPU (the worker checks each model
/// there) or natively.
pub fn check_values<M: Module>(model: &M) -> Result<()> {
    #[derive(Default)]
    struct Count {
        not_finite: usize,
        largest: f32,
    }
    impl ModuleVisitor for Count {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            for v in param.val().into_data().iter::<f32>() {
                if v.is_finite() {
                    self.largest = self.largest.max(v.abs());
                } else {
                    self.not_finite += 1;
                }
            }
        }
    }
    let mut count = Count::default();
    model.visit(&mut count);
    if count.not_finite > 0 {
        return Err(Error::Model(format!("the weights hold {} values that are not finite (NaN or infinite); the model would answer NaN for every image", count.not_finite)));
    }
    if count.largest > MAX_WEIGHT {
        return Err(Error::Model(format!("the weights hold a value of {:.3e}, far beyond what training gives (the file is damaged)", count.largest)));
    }
    Ok(())
}

/// The weights as burnpack bytes, from a model on any device. WebGPU cannot read a tensor
/// synchronously, and burn serialises with synchronous reads, so every parameter (and batch-norm
/// running statistic) is first read asynchronously and copied onto a CPU model of the same
/// architecture, which is then serialised.
pub async fn weights_bytes(model: &Classifier, architecture: &ClassifierConfig) -> Result<Vec<u8>> {
    module_weights_bytes(model, |cpu| architecture.init(cpu)).await
}

/// [`weights_bytes`] for any module: `init` builds a blank one of the same architecture on the
/// CPU device it is given (the segmenter saves through this too).
pub async fn module_weights_bytes<M: Module>(model: &M, init: impl FnOnce(&Device) -> M) -> Result<Vec<u8>> {
    let mut collect = Collect(Vec::new());
    model.visit(&mut collect);
    let mut values = Vec::with_capacity(collect.0.len());
    for (shape, tensor) in collect.0 {
        values.push((shape, crate::cam::read_floats(tensor).await?));
    }
    let cpu = Device::flex();
    let mut fill = Fill { values: values.into_iter(), device: cpu.clone(), mismatch: false };
    let copy = init(&cpu).map(&mut fill);
    if fill.mismatch || fill.values.next().is_some() {
        return Err(Error::Model("the model does not match the architecture it is saved under".into()));
    }
    let bytes = copy.into_record().into_bytes().map_err(|e| Error::Model(format!("cannot serialise weights: {e:?}")))?;
    Ok(bytes.to_vec())
}

/// Every float tensor of a module, in visiting order, flattened (with its shape).
struct Collect(Vec<(Vec<usize>, Tensor<1>)>);

impl ModuleVisitor for Collect {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let tensor = param.val();
        let shape = tensor.dims().to_vec();
        self.0.push((shape, tensor.reshape([-1])));
    }
}

/// Replaces a module's float tensors, in visiting order, with the collected values.
struct Fill {
    values: std::vec::IntoIter<(Vec<usize>, Vec<f32>)>,
    device: Device,
    mismatch: bool,
}

impl ModuleMapper for Fill {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let (id, tensor, _) = param.consume();
        match self.values.next() {
            Some((shape, values)) if shape == tensor.dims().to_vec() => {
                Param::initialized(id, Tensor::from_data(TensorData::new(values, shape), &self.device))
            }
            _ => {
                self.mismatch = true;
                Param::initialized(id, tensor)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cam::CamMethod;
    use crate::masks::Threshold;
    use crate::block_on;

    fn small() -> ClassifierConfig {
        ClassifierConfig { input_size: 16, widths: vec![4, 8], convs: vec![1, 1], dropout: 0.0, ..Default::default() }
    }

    /// Found by fuzzing: a weights file whose tensor is labelled with an integer dtype made
    /// burn panic ("Expected float dtype, got U32"), which aborts the page's worker.
    #[test]
    fn a_tensor_labelled_with_an_integer_dtype_is_refused_not_a_panic() {
        let root = concat!(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."), "/static/models/phantom");
        let card = ModelCard::from_json(&std::fs::read_to_string(format!("{root}.json")).unwrap()).unwrap();
        let mut bytes = std::fs::read(format!("{root}.bpk")).unwrap();
        let at = bytes.windows(9).position(|w| w == b"dtypecF32").unwrap();
        bytes[at + 6] = b'U';
        let device = Device::flex();
        let err = card.load_checked(bytes, &device).unwrap_err().to_string();
        assert!(err.contains("damaged") || err.contains("not finite"), "{err}");
        let good = card.load(std::fs::read(format!("{root}.bpk")).unwrap(), &device).unwrap();
        check_values(&good).expect("the shipped weights pass");
    }

    #[test]
    fn weights_round_trip_and_wrong_files_are_refused() {
        let device = Device::flex();
        let card = ModelCard::new("t", small());
        let model = card.architecture.init(&device);
        let bytes = block_on(weights_bytes(&model, &card.architecture)).unwrap();
        let card2 = ModelCard::from_json(&card.to_json()).unwrap();
        assert_eq!(card, card2);
        let loaded = card2.load(bytes.clone(), &device).unwrap();
        let again = card.load(block_on(weights_bytes(&loaded, &card.architecture)).unwrap(), &device).unwrap();
        let x = Tensor::<4>::random([2, 1, 16, 16], burn::tensor::Distribution::Default, &device);
        let (a, b) = (model.valid().forward(x.clone()).into_data(), again.forward(x).into_data());
        a.assert_approx_eq::<f32>(&b, burn::tensor::Tolerance::default());

        let err = card.load(b"not weights at all".to_vec(), &device).unwrap_err().to_string();
        assert!(err.contains("not a burnpack"), "{err}");
        let mut other = card.clone();
        other.architecture.widths = vec![4, 16];
        let err = other.load(bytes, &device).unwrap_err().to_string();
        assert!(err.contains("do not fit"), "{err}");
        assert!(ModelCard::from_json("{\"format\": 3}").unwrap_err().to_string().contains("not valid"));
    }

    /// Each method's own block and cut travel in the card, are checked as the default is,
    /// and fall back to the default for a method without one.
    #[test]
    fn per_method_defaults_round_trip_and_are_checked() {
        let mut card = ModelCard::new("t", small());
        let walk = MethodDefault { method: CamMethod::LayerCamWalk, block: 0, threshold: Threshold::Fixed(0.7), val_mean_dice: 0.5 };
        card.cam.per_method = vec![walk.clone()];
        let read = ModelCard::from_json(&card.to_json()).unwrap();
        assert_eq!(read, card);
        assert_eq!(read.cam.for_method(CamMethod::LayerCamWalk), (0, Threshold::Fixed(0.7)));
        assert_eq!(read.cam.for_method(CamMethod::Fusion), (card.cam.block, card.cam.threshold));
        // A card without them (every card before them) still reads.
        assert!(!ModelCard::new("t", small()).to_json().contains("per_method"));
        for (bad, expected) in [(MethodDefault { block: 2, ..walk.clone() }, "block 2 does not exist"), (MethodDefault { threshold: Threshold::Fixed(1.5), ..walk }, "outside [0, 1]")] {
            card.cam.per_method = vec![bad];
            let err = ModelCard::from_json(&card.to_json()).unwrap_err().to_string();
            assert!(err.contains(expected), "{err}");
        }
    }

    /// A version-1 card (no scan settings) reads with the brain FLAIR settings it was made
    /// with; unknown normalisations and polarities are refused with the field named.
    #[test]
    fn version_one_cards_load_with_flair_settings_and_unknown_choices_are_named() {
        use crate::data::{Polarity, ScanSettings};
        let mut card = ModelCard::new("t", small());
        card.input.scan = ScanSettings { lesion_polarity: Polarity::Dark, rim_band_px: 0, ..ScanSettings::default() };
        let json = card.to_json();
        assert!(json.contains(FORMAT) && json.contains("\"lesion_polarity\": \"dark\""), "{json}");
        assert_eq!(ModelCard::from_json(&json).unwrap(), card);
        let mut v1: serde_json::Value = serde_json::from_str(&json).unwrap();
        v1["format"] = FORMAT_V1.into();
        v1["input"].as_object_mut().unwrap().remove("scan");
        let read = ModelCard::from_json(&v1.to_string()).unwrap();
        assert_eq!(read.input.scan, ScanSettings::default());
        // A card whose scan settings predate the walk's gets LGG val's walk.
        let mut no_walk: serde_json::Value = serde_json::from_str(&json).unwrap();
        no_walk["input"]["scan"].as_object_mut().unwrap().remove("walk").expect("the card states its walk");
        assert_eq!(ModelCard::from_json(&no_walk.to_string()).unwrap().input.scan.walk, crate::cam::walk::Walk::CHOSEN);
        for (from, to, field) in [
            ("\"radius\": 2", "\"radius\": 0", "walk.radius"),
            ("\"steps\": 64", "\"steps\": 64, \"sigma\": 1", "sigma"),
            ("\"dark\"", "\"grey\"", "input.scan.lesion_polarity"),
            ("\"head-mean\"", "\"z-score\"", "input.normalisation.kind"),
            ("\"rim_band_px\": 0", "\"rim_band_px\": 500", "rim_band_px"),
        ] {
            let err = ModelCard::from_json(&json.replace(from, to)).unwrap_err().to_string();
            assert!(err.contains(field), "{field}: {err}");
        }
    }
}

/// A model on disk (see [`camseg_core::card::files`], re-exported here), read onto a device.
#[cfg(not(target_arch = "wasm32"))]
pub mod files {
    pub use camseg_core::card::files::*;

    use super::{Load, ModelCard};
    use crate::model::Classifier;
    use crate::{Error, Result};
    use burn::tensor::Device;
    use std::path::Path;

    /// Reads the card at `path` with `parse` and its weights with `load`, each problem naming
    /// its file (the card's, or the weights'): how every model on disk is opened.
    pub fn read<C, M>(path: &Path, parse: impl FnOnce(&str) -> Result<C>, load: impl FnOnce(&C, Vec<u8>) -> Result<M>) -> Result<(C, M)> {
        let (weights, card_path) = paths(path);
        let card_text = std::fs::read_to_string(&card_path).map_err(|e| Error::io(card_path.display(), e))?;
        fn naming(path: &Path) -> impl Fn(Error) -> Error + '_ {
            move |e| match e {
                Error::Model(m) => Error::Model(format!("{}: {m}", path.display())),
                e => e,
            }
        }
        let card = parse(&card_text).map_err(naming(&card_path))?;
        let bytes = std::fs::read(&weights).map_err(|e| Error::io(weights.display(), e))?;
        let model = load(&card, bytes).map_err(naming(&weights))?;
        Ok((card, model))
    }

    /// Reads the card, then decodes the weights into its architecture, checked.
    pub fn load(path: &Path, device: &Device) -> Result<(ModelCard, Classifier)> {
        read(path, ModelCard::from_json, |card, bytes| card.load_checked(bytes, device))
    }
}
