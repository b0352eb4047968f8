//! `camseg export`: a model's weights as safetensors under the names of the PyTorch module
//! that `scripts/bench/agreement.py` rebuilds from the card, plus (with `--images`) the
//! prepared inputs and camseg's own logits and raw CAMs of them, so that the script can check
//! camseg against PyTorch and pytorch-grad-cam on exactly the same numbers (logits, CAMs, and
//! the ROAD curve of each image's Grad-CAM).

use camseg::prelude::*;
use crate::common::{device, load_model};
use camseg::cam::{cam_batch, read_floats, CamMethod};
use camseg::data::decode_image;
use camseg::faithfulness::STEPS;
use camseg::model::Classifier;
use camseg::plane::Plane;
use camseg::{block_on, Error, Result};
use burn::tensor::Tensor;
use safetensors::{serialize, Dtype, View};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Model weights (.bpk) or card (.json).
    #[arg(long)]
    model: PathBuf,
    /// Where to write the .safetensors file.
    #[arg(long)]
    out: PathBuf,
    /// A folder of images (PNG, ...) to run and record as the reference (at most 64, by name).
    #[arg(long)]
    images: Option<PathBuf>,
    #[arg(long)]
    force: bool,
}

/// One f32 tensor to write.
struct F32 {
    shape: Vec<usize>,
    bytes: Vec<u8>,
}

impl F32 {
    fn new(shape: Vec<usize>, values: &[f32]) -> Self {
        assert_eq!(shape.iter().product::<usize>(), values.len(), "shape and values disagree");
        Self { shape, bytes: values.iter().flat_map(|v| v.to_le_bytes()).collect() }
    }
}

impl View for &F32 {
    fn dtype(&self) -> Dtype {
        Dtype::F32
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.bytes)
    }
    fn data_len(&self) -> usize {
        self.bytes.len()
    }
}

fn tensor<const D: usize>(t: Tensor<D>) -> Result<F32> {
    let shape = t.dims().to_vec();
    Ok(F32::new(shape, &block_on(read_floats(t))?))
}

/// PyTorch's names for the classifier: `features.k` is an `nn.Sequential` of [MaxPool2d (k >
/// 0), then Conv2d, BatchNorm2d, ReLU per conv]; `head` is `nn.Linear` (weight [out, in], so
/// burn's [in, out] is transposed).
fn weights(model: &Classifier) -> Result<BTreeMap<String, F32>> {
    let mut out = BTreeMap::new();
    for (k, block) in model.features.iter().enumerate() {
        let first = usize::from(k > 0);
        for (i, (conv, norm)) in block.convs.iter().zip(&block.norms).enumerate() {
            let (c, n) = (first + 3 * i, first + 3 * i + 1);
            out.insert(format!("features.{k}.{c}.weight"), tensor(conv.weight.val())?);
            out.insert(format!("features.{k}.{n}.weight"), tensor(norm.gamma.val())?);
            out.insert(format!("features.{k}.{n}.bias"), tensor(norm.beta.val())?);
            out.insert(format!("features.{k}.{n}.running_mean"), tensor(norm.running_mean.value())?);
            out.insert(format!("features.{k}.{n}.running_var"), tensor(norm.running_var.value())?);
        }
    }
    out.insert("head.weight".into(), tensor(model.head.weight.val().transpose())?);
    let bias = model.head.bias.as_ref().ok_or_else(|| Error::Model("the head has no bias".into()))?;
    out.insert("head.bias".into(), tensor(bias.val())?);
    Ok(out)
}

pub fn run(args: Args) -> Result<()> {
    if args.out.exists() && !args.force {
        return Err(Error::Invalid(format!("{} exists; pass --force to overwrite it", args.out.display())));
    }
    let device = device();
    let (card, model) = load_model(&args.model, &device)?;
    if model.lite0.is_some() {
        return Err(Error::Invalid(format!("{}: export writes the plain family's PyTorch layout; this model is {:?}, which it does not write yet", args.model.display(), card.architecture.family)));
    }
    let mut tensors = weights(&model)?;
    if let Some(dir) = &args.images {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| Error::io(dir.display(), e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .collect();
        paths.sort();
        paths.truncate(64);
        let images = paths
            .iter()
            .map(|p| std::fs::read(p).map_err(|e| Error::io(p.display(), e)).and_then(|b| decode_image(&b, &p.display().to_string(), card.input.channel)))
            .collect::<Result<Vec<_>>>()?;
        let prepared: Vec<Plane> = images.iter().map(|im| card.input.prepare(im)).collect();
        let refs: Vec<&Plane> = prepared.iter().collect();
        let s = card.input.size;
        let values: Vec<f32> = prepared.iter().flat_map(|p| p.data.iter().copied()).collect();
        tensors.insert("reference.inputs".into(), F32::new(vec![refs.len(), 1, s, s], &values));
        tensors.insert("reference.logits".into(), tensor(model.forward(card.input.batch(&refs, &device)))?);
        let last = model.blocks() - 1;
        let mut last_gradcam = Vec::new();
        for block in 0..=last {
            for method in [CamMethod::GradCam, CamMethod::GradCamPlusPlus] {
                let batch = block_on(cam_batch(&model, card.input.batch(&refs, &device), block, method))?;
                let (h, w) = (batch.maps[0].height, batch.maps[0].width);
                let values: Vec<f32> = batch.maps.iter().flat_map(|m| m.data.iter().copied()).collect();
                tensors.insert(format!("reference.{}.block{block}", method.name()), F32::new(vec![refs.len(), h, w], &values));
                if (block, method) == (last, CamMethod::GradCam) {
                    last_gradcam = batch.maps;
                }
            }
        }
        // ROAD as camseg computes it, for the check against grad-cam's own metric: each image's
        // Grad-CAM at the last block enlarged to the input, and p(lesion) as its hottest pixels
        // are imputed, 0% to 100% in 5% steps (as `camseg trust` and the Trust panel do).
        let (mut heats, mut curves) = (Vec::new(), Vec::new());
        for (image, map) in images.iter().zip(&last_gradcam) {
            let heat = camseg::cam::heatmap(map, s, s);
            curves.extend(block_on(camseg::trust::curves(&model, &card, image, &heat, 1, &device))?.road.into_iter().map(|p| p as f32));
            heats.extend(heat.data);
        }
        tensors.insert("reference.road.heat".into(), F32::new(vec![refs.len(), s, s], &heats));
        tensors.insert("reference.road.p".into(), F32::new(vec![refs.len(), STEPS + 1], &curves));
        eprintln!("recorded {} images of {}", refs.len(), dir.display());
    }
    let bytes = serialize(tensors.iter().map(|(k, v)| (k.clone(), v)), None).map_err(|e| Error::Invalid(format!("safetensors: {e}")))?;
    camseg::card::files::write_atomically(&args.out, &bytes)?;
    println!("wrote {} ({} tensors, {} KB)", args.out.display(), tensors.len(), bytes.len() / 1024);
    Ok(())
}
