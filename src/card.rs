//! The model card: a small JSON file beside the weights that says what the weights are
//! (architecture, input spec), what they were trained on, how well they did, under which
//! licence, and how the page should draw their CAM by default.

use crate::cam::CamMethod;
use crate::data::InputSpec;
use crate::masks::Threshold;
#[cfg(feature = "model")]
use crate::model::Classifier;
use crate::model::ClassifierConfig;
use crate::{Error, Result};
// The model and what runs it (burn): not in the page's own build.
#[cfg(feature = "model")]
use {
    burn::module::{Module, ModuleMapper, ModuleVisitor, Param},
    burn::store::ModuleRecord,
    burn::tensor::{Bytes, Device, Tensor, TensorData},
};
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

    /// Builds the card's architecture on `device` and fills it with `weights` (burnpack bytes).
    /// The model comes back in eval mode, ready for inference and CAM.
    #[cfg(feature = "model")]
    pub fn load(&self, weights: Vec<u8>, device: &Device) -> Result<Classifier> {
        // Cast to the module's dtypes: a damaged file may label a tensor with an integer dtype,
        // which burn would otherwise panic on (found by fuzzing); the values then fail
        // `check_values`'s bounds.
        let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(weights))
            .map_err(|e| Error::Model(format!("the weights file is not a burnpack weights file ({e:?})")))?
            .cast_to_module_dtype();
        let model = self
            .architecture
            .init(device)
            .try_load_record(record)
            .map_err(|e| Error::Model(format!("the weights do not fit the card's architecture ({})", shortened(&format!("{e:?}")))))?;
        Ok(model.valid())
    }

    /// [`Self::load`], then [`check_values`]: what a model from a file must pass. Reads every
    /// weight synchronously, so only on the CPU or natively.
    #[cfg(feature = "model")]
    pub fn load_checked(&self, weights: Vec<u8>, device: &Device) -> Result<Classifier> {
        let model = self.load(weights, device)?;
        check_values(&model)?;
        Ok(model)
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

/// The start of a long library message (burn lists every mismatched tensor).
#[cfg(feature = "model")]
fn shortened(text: &str) -> String {
    match text.char_indices().nth(200) {
        Some((at, _)) => format!("{} …", &text[..at]),
        None => text.to_string(),
    }
}

/// Largest weight (or batch-norm statistic) a trained camseg model plausibly holds; far above
/// any seen (the shipped models stay below 100), far below what a damaged file gives.
#[cfg(feature = "model")]
const MAX_WEIGHT: f32 = 1e6;

/// Refuses weights holding NaN or infinite values (such a model answers NaN for every image,
/// which the page would show as "no tumour"), or values no training makes (a damaged file).
/// Reads every parameter synchronously, so call it on the CPU (the worker checks each model
/// there) or natively.
#[cfg(feature = "model")]
pub fn check_values(model: &Classifier) -> Result<()> {
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
#[cfg(feature = "model")]
pub async fn weights_bytes(model: &Classifier, architecture: &ClassifierConfig) -> Result<Vec<u8>> {
    module_weights_bytes(model, |cpu| architecture.init(cpu)).await
}

/// [`weights_bytes`] for any module: `init` builds a blank one of the same architecture on the
/// CPU device it is given (the segmenter saves through this too).
#[cfg(feature = "model")]
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
#[cfg(feature = "model")]
struct Collect(Vec<(Vec<usize>, Tensor<1>)>);

#[cfg(feature = "model")]
impl ModuleVisitor for Collect {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let tensor = param.val();
        let shape = tensor.dims().to_vec();
        self.0.push((shape, tensor.reshape([-1])));
    }
}

/// Replaces a module's float tensors, in visiting order, with the collected values.
#[cfg(feature = "model")]
struct Fill {
    values: std::vec::IntoIter<(Vec<usize>, Vec<f32>)>,
    device: Device,
    mismatch: bool,
}

#[cfg(feature = "model")]
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

#[cfg(all(test, feature = "model"))]
mod tests {
    use super::*;
    use crate::block_on;

    fn small() -> ClassifierConfig {
        ClassifierConfig { input_size: 16, widths: vec![4, 8], convs: vec![1, 1], dropout: 0.0 }
    }

    /// Found by fuzzing: a weights file whose tensor is labelled with an integer dtype made
    /// burn panic ("Expected float dtype, got U32"), which aborts the page's worker.
    #[test]
    fn a_tensor_labelled_with_an_integer_dtype_is_refused_not_a_panic() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/static/models/phantom");
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
        for (from, to, field) in [
            ("\"dark\"", "\"grey\"", "input.scan.lesion_polarity"),
            ("\"head-mean\"", "\"z-score\"", "input.normalisation.kind"),
            ("\"rim_band_px\": 0", "\"rim_band_px\": 500", "rim_band_px"),
        ] {
            let err = ModelCard::from_json(&json.replace(from, to)).unwrap_err().to_string();
            assert!(err.contains(field), "{field}: {err}");
        }
    }
}

/// A model on disk is a weights file `NAME.bpk` with its card `NAME.json` beside it; either
/// path (or the bare `NAME`) names it. Native only: the page gets its files from the user.
#[cfg(all(not(target_arch = "wasm32"), feature = "model"))]
pub mod files {
    use super::ModelCard;
    use crate::model::Classifier;
    use crate::{Error, Result};
    use burn::tensor::Device;
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

    /// Reads the card, then decodes the weights into its architecture.
    pub fn load(path: &Path, device: &Device) -> Result<(ModelCard, Classifier)> {
        let (weights, card_path) = paths(path);
        let card_text = std::fs::read_to_string(&card_path).map_err(|e| Error::io(card_path.display(), e))?;
        // Each problem names its file: the card's, or the weights'.
        fn naming(path: &Path) -> impl Fn(Error) -> Error + '_ {
            move |e| match e {
                Error::Model(m) => Error::Model(format!("{}: {m}", path.display())),
                e => e,
            }
        }
        let card = ModelCard::from_json(&card_text).map_err(naming(&card_path))?;
        let bytes = std::fs::read(&weights).map_err(|e| Error::io(weights.display(), e))?;
        let model = card.load_checked(bytes, device).map_err(naming(&weights))?;
        Ok((card, model))
    }
}
