//! Getting images into the model: decoding ([`decode`]), the model's input spec
//! ([`input`]), what a kind of scan looks like ([`scan`]) and dataset folders ([`dataset`]).

pub mod dataset;
pub mod decode;
pub mod file_bytes;
pub mod input;
pub mod labelled;
pub mod scan;
pub mod upload;

#[cfg(not(target_arch = "wasm32"))]
pub use dataset::Dataset;
pub use dataset::{Negatives, Record};
pub use decode::{decode_image, decode_mask, encode_png_gray};
pub use input::{Channel, InputSpec, Normalisation};
pub use scan::{Polarity, ScanKind, ScanSettings};
