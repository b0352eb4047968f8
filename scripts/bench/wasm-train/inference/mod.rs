//! What `layers.rs` takes from camseg's `inference` module.
#[path = "../../../../crates/model/src/inference/planes.rs"]
mod planes;
#[path = "../../../../crates/model/src/inference/tiled.rs"]
#[allow(dead_code)]
pub mod tiled;
#[path = "../../../../crates/model/src/inference/winograd.rs"]
#[allow(dead_code)]
pub mod winograd;
pub use planes::*;
#[path = "../../../../crates/model/src/inference/winograd4.rs"]
#[allow(dead_code)]
pub mod winograd4;
