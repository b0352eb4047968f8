//! Every event the page's state answers to ([`super::PageState::reduce`]).

use super::{asked, training, trust_batch, Analysed, DemoSet, Item, Keeping, ModelEntry, SortKey};
use crate::cam::CamMethod;
use crate::filters::Filter;
use crate::masks::Threshold;
use crate::protocol::{Backend, Busy, ItemId, ModelId, VolumeInfo};
use crate::render::ColourMap;
use crate::train::Progress;
use std::rc::Rc;

#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    BackendChosen { backend: Backend, note: Option<String> },
    /// The worker timed both backends and went on on the faster, keeping its work: results
    /// agree on both, so nothing is analysed again.
    BackendMeasured { backend: Backend, note: String },
    /// The GPU went away: the page goes on on the CPU, keeping images (results are recomputed).
    BackendLost { note: String },
    /// The shipped models, the first becoming the current one.
    ModelsListed(Vec<ModelEntry>),
    /// A model joins the picker and becomes the current one.
    ModelAdded(ModelEntry),
    /// Models kept in the browser from earlier visits join the picker (the current one stays).
    ModelsRestored(Vec<ModelEntry>),
    /// The worker has the model's weights.
    ModelReady(ModelId),
    ModelChosen(ModelId),
    MethodChosen(CamMethod),
    BlockChosen(usize),
    ThresholdChosen(Threshold),
    OpacityChosen(f32),
    ColourMapChosen(ColourMap),
    ZoomChosen(u32),
    /// Draw masks on images called "no tumour" too.
    MasksOnNegatives(bool),
    /// Another demo set is asked for (it replaces the images); its own shipped model is chosen.
    DemoChosen(DemoSet),
    ItemsLoaded { items: Vec<Item>, volumes: Vec<VolumeInfo>, demo: bool },
    /// A volume cut again (another view or window): its new slices replace the old ones.
    Resliced { volume: VolumeInfo, items: Vec<Item> },
    /// Step through the current volume's slices (arrow keys).
    SliceStep(i64),
    ShownSliceOnly(bool),
    Cleared,
    Analysed { generation: u64, item: ItemId, result: Analysed, millis: f64 },
    Selected(ItemId),
    SortedBy(SortKey),
    Working(Option<Busy>),
    /// The pool of workers that analyse, in words ("2 workers: one per core ...").
    Workers(String),
    Status(String),
    FilterChosen(Filter),
    EpochsChosen(usize),
    /// The person pressed Fine-tune: run `run` on `model` is asked of the worker.
    TuneRequested { run: u64, model: ModelId },
    TuneStarted { run: u64, trained_on: usize, held_out: usize, accuracy_before: f64, total_steps: usize },
    TuneStep { run: u64, progress: Progress },
    TuneFinished { run: u64, accuracy_after: f64, weights: Rc<Vec<u8>> },
    TuneCancelled { run: u64 },
    TuneFailed { run: u64, message: String },
    /// The fine-tuned model joins the picker (its card made from the tuned model's own).
    TuneKept(ModelEntry),
    Train(training::TrainAction),
    Trust(asked::Asking<crate::faithfulness::ImageTrust>),
    Explain(asked::Asking<crate::cam::steps::CamSteps>),
    TrustBatch(trust_batch::TrustBatchAction),
    /// A channel picked in the steps view (picking it again lets it go).
    ChannelPicked(usize),
    /// A model trained here got a new name (its card's).
    ModelRenamed { id: ModelId, name: String },
    /// A write of a model trained here to the browser's storage began or ended.
    ModelKeeping { id: ModelId, keeping: Keeping },
    /// A model trained here was deleted from the browser's storage; the first model is chosen if it was the current one.
    ModelDeleted(ModelId),
    Failed(String),
    Dismissed,
}
