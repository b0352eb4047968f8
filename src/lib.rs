//! camseg: tumour segmentation from a *classifier*, after Guan & Loew (2022), "A Sneak Attack on
//! Segmentation of Medical Images Using Deep Neural Network Classifiers".
//!
//! A CNN learns *tumour / no tumour*; a class-activation map (Grad-CAM and siblings) of its
//! decision is thresholded into a mask and scored with Dice. Filtering images with their own
//! heatmaps and retraining tests what the classifier depends on.
//!
//! The code lives in three crates along the compile boundary, and this one puts the model's
//! front ends on top:
//!
//! | crate | what it holds | who links it |
//! |---|---|---|
//! | `camseg-core` (`crates/core`) | planes, masks, metrics, scoring, cards as data, readers, the protocol, the page's state; no burn | everyone |
//! | `camseg-model` (`crates/model`) | the classifier (burn), CAMs, training, the segmenter, trust, the worker's session | the worker, the CLI, this crate |
//! | `camseg-page` (`crates/page`) | the Yew page | the page's wasm only: it cannot link burn |
//! | `camseg` (here) | the `camseg` CLI (`src/bin/camseg`) and the page's worker (`src/worker`) | |
//!
//! Everything of `camseg-model` (and so of `camseg-core`) is re-exported here, so tests and
//! examples write `camseg::plane::Plane`; the model's traits come with [`prelude`].

pub use camseg_model::*;

#[cfg(target_arch = "wasm32")]
pub mod worker;
