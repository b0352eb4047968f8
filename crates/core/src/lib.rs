//! camseg's core: everything that needs no model backend, shared by the page, its worker and
//! the CLI. Planes, masks and metrics; scoring; model cards as data; image, dataset and volume
//! readers; the page <-> worker protocol; and the page's state as plain data with a pure
//! update. It does not depend on burn, so the page (which links only this crate) cannot carry
//! model code. The classifier, CAMs, training and the worker's session are `camseg-model`.
//!
//! | module | what it holds |
//! |---|---|
//! | [`plane`] | a single-channel f32 image, resizing and normalising |
//! | [`cam`] | the CAM methods as data, the heatmap from a low-resolution map, the image-only rules (intensity, fusion, the walk) and the steps of a heatmap |
//! | [`masks`] | heatmap -> binary mask (fixed threshold, Otsu) |
//! | [`metrics`] | Dice, IoU, accuracy, sensitivity, specificity, ROC AUC |
//! | [`evaluate`] | a model scored on many images: the figures `eval --json` prints |
//! | [`uncertainty`] | bootstrap intervals by patient or cluster |
//! | [`faithfulness`] | sanity checks of a map: rank correlation, SSIM, deletion/insertion and ROAD curves, occlusion |
//! | [`figures`] | line charts (SVG) for the CLI and the page |
//! | [`filters`] | the paper's keep-hot / remove-hot / random-mask images |
//! | [`finetune`] | the filter experiment on a page's images: filter, split, before/after |
//! | [`train`] | training settings and progress as data |
//! | [`data`] | image decoding, the model's input spec, what a kind of scan looks like, dataset folders, labelled folders (class folders, labels CSV) |
//! | [`controls`] | the lesion-removed control: a lesion filled with the texture round it |
//! | [`model`] | the classifier's architecture as data |
//! | [`card`] | the model card that travels with the weights |
//! | [`phantom`] | synthetic brain slices with exact tumour masks |
//! | [`render`] | heatmaps, overlays and contours as RGBA pixels |
//! | [`protocol`] | the messages between the page and its worker |
//! | [`ui`] | the page's state as plain data with a pure update |
//! | [`volume`] | NIfTI and DICOM volumes, cut into the slices the classifier reads |
//! | [`error`] | one error type whose messages name the file and the problem |

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
pub mod masks;
pub mod metrics;
pub mod model;
pub mod phantom;
pub mod plane;
pub mod protocol;
pub mod render;
pub mod train;
pub mod uncertainty;
pub mod ui;
pub mod volume;

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
