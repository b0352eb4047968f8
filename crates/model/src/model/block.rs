//! One conv block of the classifier: a run of conv -> batch norm -> ReLU (the pooling before
//! it belongs to the classifier). Its own file, so that the plain-slice path
//! ([`crate::inference`]) and the classifier both take it from here.

use burn::module::Module;
use burn::nn::conv::Conv2d;
use burn::nn::BatchNorm;
use burn::tensor::activation::relu;
use burn::tensor::Tensor;

/// A run of conv -> batch norm -> ReLU.
#[derive(Module, Debug)]
pub struct ConvBlock {
    pub convs: Vec<Conv2d>,
    pub norms: Vec<BatchNorm>,
}

impl ConvBlock {
    pub fn forward(&self, mut x: Tensor<4>) -> Tensor<4> {
        for (conv, norm) in self.convs.iter().zip(&self.norms) {
            x = relu(norm.forward(conv.forward(x)));
        }
        x
    }
}
