//! What `layers.rs` takes from camseg's `inference` module.
#[path = "../../../../crates/model/src/inference/planes.rs"]
mod planes;
#[path = "../../../../crates/model/src/inference/tiled.rs"]
#[allow(dead_code)]
pub mod tiled;
pub use planes::*;
