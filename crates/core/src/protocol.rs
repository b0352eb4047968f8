//! The messages between the page and its worker. The page's main thread holds only views and
//! plain state; everything that touches the model (decoding uploads, forward passes, CAMs,
//! scores, fine-tuning, exporting weights) runs in a dedicated Web Worker behind these two
//! enums. Compiled natively too, so the worker's side ([`crate::session`]) is tested without a
//! browser.
//!
//! Identity, not position: images carry an [`ItemId`] given by the worker when it decodes
//! them, models a [`ModelId`] given by the page, and every result says which setting
//! (`generation`) and which run it belongs to, so late work never lands on the wrong thing.
//!
//! On the wire a message is one bincode buffer, transferred (not copied) to the other thread:
//! one [`WorkerInput`] from the page; from the worker, a `Vec<WorkerOutput>`, all that one step
//! said (one task on the page, so one render).
//! Model cards travel as JSON text: their serde layout (tagged enums) is JSON's, not bincode's.

mod backend;

pub use backend::{decide, Adapter, Backend, BackendChoice, Decision, Measured, Why};
use crate::cam::CamMethod;
use crate::data::labelled::{LabelOptions, LabelSummary};
use crate::data::upload::FileBytes;
use crate::data::Channel;
use crate::evaluate::{Overlap, ScoreGrid};
use crate::filters::Filter;
use crate::masks::{Mask, Threshold};
use crate::plane::Plane;
use crate::train::{Progress, Sample, ShardGradient, TrainConfig};
use crate::volume::{View, Window};
use serde::{Deserialize, Serialize};

/// An image the worker has decoded; stable for the life of the page.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ItemId(pub u64);

/// A model the page knows (shipped, loaded from the user's files, or fine-tuned here).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ModelId(pub u32);

/// A volume (NIfTI file or DICOM series) the worker has read; its slices are items.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct VolumeId(pub u64);

/// A volume as the page shows it: what it is, and the items its slices became in `view`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VolumeInfo {
    pub id: VolumeId,
    pub name: String,
    /// What was read, e.g. "NIfTI-1, int16" or "DICOM, RLE Lossless".
    pub format: String,
    pub dims: [usize; 3],
    /// Voxel sizes along i, j, k (mm).
    pub spacing: [f64; 3],
    pub view: View,
    pub window: Window,
    /// The slices of `view` in order (inferior to superior for axial).
    pub slices: Vec<ItemId>,
    /// Whether a label volume came with it (slices then carry true masks).
    pub labelled: bool,
}

/// A decoded image, as the page shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewItem {
    pub id: ItemId,
    pub name: String,
    pub image: Plane,
    pub truth: Option<Mask>,
}

/// What the model said about one image, with its scores computed once, on arrival.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub probability: f32,
    /// In [0, 1], at the image's size.
    pub heatmap: Plane,
    /// Dice and IoU at every threshold the page offers; none without a tumour mask.
    pub scores: Option<ScoreGrid>,
    /// Pixel counts behind them, also for empty true masks (a volume's 3D Dice sums them).
    pub overlap: Option<Overlap>,
}

/// The pixels of a picture the page shows, to save as a PNG of `file_name`: 8-bit gray
/// (`gray`) or RGBA, row-major.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Picture {
    pub file_name: String,
    pub width: usize,
    pub height: usize,
    pub gray: bool,
    #[serde(with = "serde_bytes")]
    pub pixels: Vec<u8>,
}

/// Page -> worker.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum WorkerInput {
    /// Pick the device, with what earlier visits measured on their adapters; answered by
    /// [`WorkerOutput::BackendChosen`] (and, after a measurement, `BackendMeasured`).
    /// `adapter` is what the page's probe of WebGPU found (it chose this build of the worker by it).
    Start { choice: BackendChoice, known: Vec<Measured>, adapter: Adapter },
    /// Weights (burnpack bytes) and card (JSON) of a model; answered by `ModelAccepted` or
    /// `ModelRejected`.
    AddModel {
        model: ModelId,
        card_json: String,
        #[serde(with = "serde_bytes")]
        weights: Vec<u8>,
    },
    /// Files to pair and decode (zips opened) for a model reading `channel`; answered by
    /// `Loaded` with the same `request`.
    Decode { request: u64, files: Vec<FileBytes>, channel: Channel, demo: bool },
    /// The page no longer shows these images.
    Forget { items: Vec<ItemId> },
    /// Images the page already shows, with their ids (a new worker replacing one that died).
    Restore { items: Vec<NewItem> },
    /// Analyse these images (in this order) with this setting. Replaces any earlier request.
    Analyse { generation: u64, model: ModelId, method: CamMethod, block: usize, items: Vec<ItemId> },
    /// The filter experiment on these images (each with a true mask and a result), their
    /// latest heatmaps cut at `threshold` (the page shows the same heatmaps: it sends only
    /// images whose result it holds, and every result the worker sends is its latest).
    FineTune { run: u64, model: ModelId, items: Vec<ItemId>, filter: Filter, threshold: Threshold, epochs: usize },
    CancelTune { run: u64 },
    /// Cut a volume again (another view or window): answered by `Resliced`; its old slice
    /// items are forgotten.
    Reslice { request: u64, volume: VolumeId, view: View, window: Window },
    /// The volume's predicted mask as NIfTI on the scan's grid, from each slice's latest
    /// heatmap cut at `threshold` (slices called "no tumour" left empty when `gated`).
    ExportMask { volume: VolumeId, threshold: Threshold, gated: bool },
    /// Encode a picture of the image on screen as PNG (the page carries no image encoder):
    /// answered by `Encoded`.
    EncodePng(Picture),
    /// Go on on the CPU (the person asked, or the page saw the GPU fail).
    UseCpu { note: String },
    /// Read a labelled folder (class folders or a labels CSV, zips opened) with `options`;
    /// `files: None` reads the folder already given again (other options). Answered by
    /// `LabelsRead`.
    ReadLabels { request: u64, files: Option<Vec<FileBytes>>, options: LabelOptions },
    /// Train a classifier on the folder last read, from scratch or from a model's weights;
    /// the best epoch by val AUC is kept. Answered by `Train*` messages with the same `run`.
    /// From scratch, the card takes `scan`'s settings; from a model, that model's.
    /// `balance_gate`: the head's bias moved so that p = 0.5 falls at val's best balanced
    /// accuracy, as `camseg train --balance-gate`.
    Train { run: u64, options: LabelOptions, from: Option<ModelId>, scan: crate::data::ScanKind, epochs: usize, balance_gate: bool, name: String },
    CancelTrain { run: u64 },
    /// Every trust check on one image for one method and block: answered by `Trusted`.
    Trust(ImageQuestion),
    /// How the heatmap of one image is made, step by step: answered by `Explained`.
    Explain(ImageQuestion),
    /// Every trust check on each of these images, one image per step: answered by a
    /// `TrustedOne` each (figures only, no maps), then `TrustAllDone`. Replaces an earlier run.
    TrustAll { run: u64, model: ModelId, method: CamMethod, block: usize, items: Vec<ItemId> },
    CancelTrustAll { run: u64 },
    /// A result another worker of the page's pool computed for an image this worker holds:
    /// kept as if this worker had computed it (fine-tuning's filters and a volume's exported
    /// mask read the latest result of every image).
    Adopt { item: ItemId, probability: f32, heatmap: Plane },
    /// Worker `peer` of the pool can be reached directly (the page handed both ends a channel
    /// with this message; the worker's glue keeps its end).
    PeerJoined { peer: usize },
    /// Worker `peer` died: what it was to compute, this worker computes.
    PeerLost { peer: usize },
    /// What worker `peer` said over the channel between them: an encoded [`PeerMessage`] (the
    /// session decodes it, so the page carries none of its code). Never on the page's wire.
    #[serde(skip)]
    FromPeer { peer: usize, bytes: Vec<u8> },
}

/// Between two workers of the page's pool, over a channel of their own that the page only
/// introduces: a training run on the CPU shared out, each worker taking one shard of every
/// mini-batch (data parallelism). The main worker coordinates; nothing of it crosses the page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum PeerMessage {
    /// Coordinator -> helper: take shard `shard` of `shards` of run `run`, from the model as it
    /// starts (card JSON and weights), with the run's recipe and train samples.
    Join {
        run: u64,
        shard: usize,
        shards: usize,
        card_json: String,
        #[serde(with = "serde_bytes")]
        weights: Vec<u8>,
        config: TrainConfig,
        samples: Vec<Sample>,
    },
    /// Helper -> coordinator: its shard's gradient at step `step` (steps taken before it).
    Part { run: u64, step: usize, shard: usize, part: ShardGradient },
    /// Coordinator -> helper: the step's whole gradient, as the coordinator applied it.
    Whole { run: u64, step: usize, whole: ShardGradient },
    /// Coordinator -> helper: the run is over (finished, cancelled or failed).
    Leave { run: u64 },
}

/// A question about one image, for one model, method and block. Only the latest of each kind
/// is answered: the page asks about the image on screen.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImageQuestion {
    pub request: u64,
    pub model: ModelId,
    pub item: ItemId,
    pub method: CamMethod,
    pub block: usize,
}

/// Worker -> page. Most map one to one onto the page's actions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum WorkerOutput {
    /// The worker listens: messages sent before this would be lost (the page holds them).
    Ready,
    BackendChosen { backend: Backend, note: Option<String> },
    /// The GPU failed; the worker has moved to the CPU and keeps every image and model.
    BackendLost { note: String },
    /// Both backends were timed on the first images; the worker goes on on the faster.
    BackendMeasured(Measured),
    ModelAccepted { model: ModelId },
    ModelRejected { model: ModelId, message: String },
    /// Progress of a long job, for the status line; `None` when the worker is idle.
    Busy(Option<Busy>),
    /// Decoded images, and volumes (whose slices are among `items`).
    Loaded { request: u64, demo: bool, items: Vec<NewItem>, volumes: Vec<VolumeInfo>, problems: Vec<String> },
    Resliced { request: u64, volume: VolumeInfo, items: Vec<NewItem> },
    Exported {
        volume: VolumeId,
        file_name: String,
        #[serde(with = "serde_bytes")]
        bytes: Vec<u8>,
    },
    /// A picture the page asked for, as PNG, to download.
    Encoded {
        file_name: String,
        #[serde(with = "serde_bytes")]
        bytes: Vec<u8>,
    },
    Analysed { generation: u64, item: ItemId, finding: Finding },
    AnalysisDone { generation: u64, images: usize, millis: f64, backend: Backend },
    TuneStarted { run: u64, trained_on: usize, held_out: usize, accuracy_before: f64, total_steps: usize },
    TuneStep { run: u64, progress: Progress },
    /// The fine-tuned weights come back as bytes: keeping them is the page's choice, and bytes
    /// belong to no device.
    TuneFinished {
        run: u64,
        accuracy_after: f64,
        #[serde(with = "serde_bytes")]
        weights: Vec<u8>,
        seconds: f64,
    },
    TuneCancelled { run: u64 },
    TuneFailed { run: u64, message: String },
    /// The labelled folder as read: classes, counts per split, warnings; or why it cannot
    /// train, with the classes found (so the page can ask which is the lesion class).
    LabelsRead { request: u64, summary: std::result::Result<LabelSummary, String>, classes: Vec<String> },
    /// `workers`: how many workers of the pool share each step (1 where the run is not shared).
    TrainStarted { run: u64, train: usize, val: usize, total_steps: usize, workers: usize },
    TrainStep { run: u64, progress: Progress },
    /// An epoch's held-out figures (val AUC is NaN when val has one class).
    TrainEpoch { run: u64, epoch: usize, loss: f64, val_auc: f64, val_accuracy: f64 },
    /// The best epoch's weights and the card the run wrote.
    TrainFinished {
        run: u64,
        card_json: String,
        #[serde(with = "serde_bytes")]
        weights: Vec<u8>,
        seconds: f64,
    },
    TrainCancelled { run: u64 },
    TrainFailed { run: u64, message: String },
    Trusted { request: u64, item: ItemId, result: std::result::Result<crate::faithfulness::ImageTrust, String> },
    Explained { request: u64, item: ItemId, result: std::result::Result<crate::cam::steps::CamSteps, String> },
    TrustedOne { run: u64, item: ItemId, result: std::result::Result<crate::faithfulness::TrustFigures, String> },
    /// Every image of the run has been answered, or the run was cancelled.
    TrustAllDone { run: u64 },
    Failed { message: String },
    /// For worker `peer` of the pool, over the channel between them: an encoded
    /// [`PeerMessage`] ([`WorkerOutput::to_peer`]) that the worker's glue sends there; the page
    /// never sees it.
    #[serde(skip)]
    ToPeer { peer: usize, bytes: Vec<u8> },
}

impl WorkerOutput {
    /// `message` for worker `peer`, encoded.
    pub fn to_peer(peer: usize, message: &PeerMessage) -> WorkerOutput {
        WorkerOutput::ToPeer { peer, bytes: encode(message) }
    }
}

/// Long work under way, for the progress line.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Busy {
    pub what: String,
    pub done: usize,
    pub total: usize,
}

/// One message as bytes (bincode), ready to transfer.
pub fn encode<T: Serialize>(message: &T) -> Vec<u8> {
    bincode::serialize(message).expect("protocol messages always serialise")
}

/// A message from bytes; a bad buffer is a bug on the other side, reported as text.
pub fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, String> {
    bincode::deserialize(bytes).map_err(|e| format!("a message between the page and its worker is damaged ({e})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_through_bytes() {
        let input = WorkerInput::Decode { request: 3, files: vec![FileBytes::new("a/b.png", vec![1, 2, 3])], channel: Channel::Green, demo: false };
        assert_eq!(decode::<WorkerInput>(&encode(&input)).unwrap(), input);
        let output = WorkerOutput::Analysed {
            generation: 7,
            item: ItemId(9),
            finding: Finding { probability: 0.25, heatmap: Plane::new(2, 1, vec![0.0, 1.0]), scores: None, overlap: None },
        };
        assert_eq!(decode::<WorkerOutput>(&encode(&output)).unwrap(), output);
        let item = NewItem { id: ItemId(1), name: "x.png".into(), image: Plane::new(2, 2, vec![0.5, -1.0, f32::MAX, 0.0]), truth: Some(Mask::new(2, 2, vec![true, false, false, true])) };
        let loaded = WorkerOutput::Loaded { request: 2, demo: false, items: vec![item], volumes: Vec::new(), problems: vec!["y.png: bad".into()] };
        let bytes = encode(&loaded);
        assert!(bytes.len() < 200, "pixels travel as blocks of bytes: {} bytes", bytes.len());
        assert_eq!(decode::<WorkerOutput>(&bytes).unwrap(), loaded);
        assert!(decode::<WorkerOutput>(&[0xff, 0xff, 0xff, 0xff]).unwrap_err().contains("damaged"));
    }

}
