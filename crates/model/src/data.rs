//! Image data ([`camseg_core::data`], re-exported here) and the one step that needs the model's
//! backend: stacking prepared planes into its input tensor.

pub use camseg_core::data::*;

use crate::plane::Plane;
use burn::tensor::{Device, Tensor, TensorData};

/// The model's input tensor from prepared planes.
pub trait Batch {
    /// Stacks prepared planes into the model's input tensor [N,1,S,S].
    fn batch(&self, planes: &[&Plane], device: &Device) -> Tensor<4>;
}

impl Batch for InputSpec {
    /// Stacks prepared planes into the model's input tensor [N,1,S,S].
    fn batch(&self, planes: &[&Plane], device: &Device) -> Tensor<4> {
        let s = self.size;
        let mut values = Vec::with_capacity(planes.len() * s * s);
        for p in planes {
            assert_eq!((p.width, p.height), (s, s), "plane not prepared for this model");
            values.extend_from_slice(&p.data);
        }
        Tensor::from_data(TensorData::new(values, [planes.len(), 1, s, s]), device)
    }
}
