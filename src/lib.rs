//! camseg: tumour segmentation from a *classifier*, after Guan & Loew (2022), "A Sneak Attack on
//! Segmentation of Medical Images Using Deep Neural Network Classifiers".
//!
//! A CNN learns *tumour / no tumour*; a class-activation map (Grad-CAM and siblings) of its
//! decision is thresholded into a mask and scored with Dice. Filtering images with their own
//! heatmaps and retraining tests what the classifier depends on.
//!
//! The maths here knows nothing of the page or of one backend: the same code runs natively
//! (tests, the `camseg` CLI) and in the browser (WebGPU or CPU), chosen at run time by a burn
//! [`Device`](burn::tensor::Device).
//!
//! | module | what it holds |
//! |---|---|
//! | [`model`] | the classifier, split into conv blocks (`features`) and `head` |
//! | [`inference`] | its conv blocks on plain slices, for the CPU outside autodiff |
//! | [`cam`] | Grad-CAM and its siblings, and the heatmap they produce |
//! | [`masks`] | heatmap -> binary mask (fixed threshold, Otsu) |
//! | [`metrics`] | Dice, IoU, accuracy, sensitivity, specificity, ROC AUC |
//! | [`evaluate`] | a model scored on many images: the figures `eval --json` prints |
//! | [`faithfulness`] | sanity checks of a map: rank correlation, SSIM, deletion/insertion and ROAD curves, occlusion |
//! | [`trust`] | those checks on a model: the randomisation cascade, deletion/insertion/ROAD, pointing |
//! | [`figures`] | line charts (SVG) for the CLI and the page |
//! | [`filters`] | the paper's keep-hot / remove-hot / random-mask images |
//! | [`finetune`] | the filter experiment on a page's images: filter, split, before/after |
//! | [`train`] | a seeded, cancellable training loop (Adam, cross-entropy) |
//! | [`data`] | image decoding, the model's input spec, what a kind of scan looks like, dataset folders, labelled folders (class folders, labels CSV) |
//! | [`controls`] | the lesion-removed control: a lesion filled with the texture round it |
//! | [`card`] | the model card that travels with the weights |
//! | [`phantom`] | synthetic brain slices with exact tumour masks |
//! | [`pipeline`] | classify + CAM for a batch of images, each map at its image's size |
//! | [`render`] | heatmaps, overlays and contours as RGBA pixels |
//! | [`protocol`] | the messages between the page and its worker |
//! | [`session`] | the worker's side: device, models, images, and the long jobs in short steps |
//! | [`ui`] | the page's state as plain data with a pure update |
//! | [`volume`] | NIfTI and DICOM volumes, cut into the slices the classifier reads |

pub mod cam;
pub mod card;
pub mod controls;
pub mod data;
pub mod error;
pub mod evaluate;
pub mod faithfulness;
pub mod figures;
pub mod filters;
pub mod finetune;
#[cfg(feature = "model")]
pub mod inference;
pub mod masks;
pub mod metrics;
pub mod model;
pub mod phantom;
#[cfg(feature = "model")]
pub mod pipeline;
pub mod plane;
pub mod protocol;
pub mod render;
#[cfg(feature = "model")]
pub mod segmenter;
#[cfg(feature = "model")]
pub mod session;
pub mod train;
#[cfg(feature = "model")]
pub mod trust;
pub mod uncertainty;
pub mod ui;
pub mod volume;

#[cfg(target_arch = "wasm32")]
pub mod web;
#[cfg(all(target_arch = "wasm32", feature = "model"))]
pub mod worker;

pub use error::{Error, Result};

/// Runs a future to completion on this thread. Native code (CLI, tests) calls the async core
/// through this; the browser awaits it instead, because WebGPU reads cannot block.
#[cfg(not(target_arch = "wasm32"))]
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    futures_lite::future::block_on(future)
}

/// This wasm instance's linear memory in bytes (it only grows). Exported to JavaScript, in the
/// page and in its worker, so the browser memory test can watch both over repeated rounds.
#[cfg(target_arch = "wasm32")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn wasm_memory_bytes() -> f64 {
    (core::arch::wasm32::memory_size(0) * 65536) as f64
}
