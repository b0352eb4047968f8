//! camseg's model: the classifier (burn) and everything that runs it. CAMs computed on it,
//! training, the U-Net segmenter, the faithfulness checks, and the worker's session that runs
//! the long jobs in short steps. The same code runs natively (tests, the `camseg` CLI) and in
//! the page's worker (WebGPU or CPU), chosen at run time by a burn
//! [`Device`](burn::tensor::Device).
//!
//! Everything of [`camseg_core`] is re-exported here, so `camseg_model::plane` is
//! `camseg_core::plane`. Where a core module gains model code, the module of the same name
//! here re-exports the core one and adds it: [`cam`], [`card`], [`data`], [`finetune`],
//! [`model`], [`train`]. Methods that run the model on core types are traits, brought in by
//! [`prelude`].
//!
//! | module | what it holds |
//! |---|---|
//! | [`model`] | the classifier, split into conv blocks (`features`) and `head` |
//! | [`inference`] | its conv blocks on plain slices, for the CPU outside autodiff |
//! | [`cam`] | Grad-CAM and its siblings on the model, and the steps of a heatmap |
//! | [`pipeline`] | classify + CAM for a batch of images, each map at its image's size |
//! | `scoring` | a dataset scored in batches (native): the CLI's one scoring path |
//! | [`train`] | a seeded, cancellable training loop (Adam, cross-entropy) |
//! | [`finetune`] | the filter experiment's accuracy on held-out images |
//! | [`card`] | a card's weights read onto a device, checked |
//! | [`data`] | prepared planes stacked into the model's input |
//! | [`trust`] | the faithfulness checks on a model: randomisation cascade, deletion/insertion/ROAD, pointing |
//! | [`segmenter`] | a small U-Net trained on CAM pseudo-masks |
//! | [`session`] | the worker's side: device, models, images, and the long jobs in short steps |

pub use camseg_core::*;

pub mod cam;
pub mod card;
pub mod data;
pub mod finetune;
pub mod inference;
pub mod model;
pub mod pipeline;
#[cfg(not(target_arch = "wasm32"))]
pub mod scoring;
pub mod segmenter;
pub mod session;
pub mod train;
pub mod trust;

/// The traits that run the model on core types: `use camseg_model::prelude::*`.
pub mod prelude {
    pub use crate::cam::Weigh;
    pub use crate::card::Load;
    pub use crate::data::Batch;
    pub use crate::model::Build;
}
