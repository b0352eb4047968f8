//! camseg's page (wasm32 only, main thread): the Yew views and the state they show, talking to
//! the worker that does all the computing. This crate depends on `camseg-core` alone, so the
//! page's wasm cannot carry model code: the crate graph does not allow it. Everything of
//! `camseg-core` is re-exported here for the views (`crate::ui`, `crate::protocol`, ...).

pub use camseg_core::*;

#[cfg(target_arch = "wasm32")]
pub mod web;
