//! The tumour / no-tumour classifier's architecture as data (it travels in the model card); the
//! network itself is built from it in `camseg-model`. A small VGG-style CNN, split into `features`
//! (conv blocks, any of which a CAM can hook) and a `head` (global average pool, dropout, linear).
//!
//! ```text
//! input [N,1,S,S]
//!   block 0: (conv3x3 -> BN -> ReLU) x convs[0]            -> [N, widths[0], S,   S  ]
//!   block 1: maxpool2 -> (conv3x3 -> BN -> ReLU) x convs[1] -> [N, widths[1], S/2, S/2]
//!   ...
//!   block k: maxpool2 -> ...                               -> [N, widths[k], S/2^k, S/2^k]
//!   head: global average pool -> dropout -> linear         -> [N, 2] logits (none, tumour)
//! ```
//! Block outputs are taken before the next pooling, so the last block's CAM has S/2^k cells.

use serde::{Deserialize, Serialize};

/// Index of the tumour class in the logits.
pub const TUMOUR: usize = 1;

/// The architecture. Travels in the model card so weights are always read into the shape they
/// were written from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassifierConfig {
    /// Side of the square input in pixels; divisible by 2^(blocks - 1).
    pub input_size: usize,
    /// Output channels of each conv block.
    pub widths: Vec<usize>,
    /// Number of 3x3 convs in each block.
    pub convs: Vec<usize>,
    /// Dropout before the linear layer during training.
    pub dropout: f64,
}

impl Default for ClassifierConfig {
    /// The page's default: ~0.27 GFLOP per 128 px forward pass, sized for software WebGPU.
    fn default() -> Self {
        Self { input_size: 128, widths: vec![16, 32, 64, 128], convs: vec![1, 1, 2, 2], dropout: 0.2 }
    }
}

impl ClassifierConfig {
    pub fn blocks(&self) -> usize {
        self.widths.len()
    }

    /// Largest values a card may ask for: a card is a file from anywhere, and building what it
    /// describes allocates (an input of 1048576 px asked for terabytes).
    pub const MAX_INPUT: usize = 1024;
    pub const MAX_WIDTH: usize = 1024;
    pub const MAX_BLOCKS: usize = 8;
    pub const MAX_CONVS: usize = 8;
    /// Multiply-accumulates of one image: 100x the shipped model's.
    pub const MAX_MACS: u64 = 20_000_000_000;

    /// Checks the config describes a buildable network of a sane size, before anything is built.
    pub fn validate(&self) -> crate::Result<()> {
        let bad = |why: String| Err(crate::Error::Model(why));
        if self.widths.is_empty() || self.widths.len() != self.convs.len() {
            return bad("architecture needs as many `convs` as `widths`, and at least one block".into());
        }
        if self.widths.contains(&0) || self.convs.contains(&0) {
            return bad("architecture has a block with zero channels or convs".into());
        }
        if self.blocks() > Self::MAX_BLOCKS {
            return bad(format!("architecture has {} blocks; at most {} are supported", self.blocks(), Self::MAX_BLOCKS));
        }
        if let Some(w) = self.widths.iter().find(|&&w| w > Self::MAX_WIDTH) {
            return bad(format!("architecture has a block {w} channels wide; at most {} are supported", Self::MAX_WIDTH));
        }
        if let Some(n) = self.convs.iter().find(|&&n| n > Self::MAX_CONVS) {
            return bad(format!("architecture has a block of {n} convs; at most {} are supported", Self::MAX_CONVS));
        }
        if self.input_size > Self::MAX_INPUT {
            return bad(format!("input size {} is larger than the {} px supported", self.input_size, Self::MAX_INPUT));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return bad(format!("dropout {} is outside [0, 1)", self.dropout));
        }
        let cells = 1usize << (self.blocks() - 1);
        if self.input_size < cells || self.input_size % cells != 0 {
            return bad(format!("input size {} is not divisible by {cells}", self.input_size));
        }
        if self.macs() > Self::MAX_MACS {
            return bad(format!("architecture needs {} G multiply-adds per image; at most {} G are supported", self.macs() / 1_000_000_000, Self::MAX_MACS / 1_000_000_000));
        }
        Ok(())
    }

    /// Side of block `k`'s output grid.
    pub fn grid(&self, block: usize) -> usize {
        self.input_size >> block
    }

    /// Multiply-accumulates of one forward pass (for sizing the model to the browser).
    pub fn macs(&self) -> u64 {
        let mut total = 0u64;
        let mut in_ch = 1;
        for (k, (&w, &n)) in self.widths.iter().zip(&self.convs).enumerate() {
            let cells = self.grid(k) * self.grid(k);
            for _ in 0..n {
                total += (in_ch * w * 9) as u64 * cells as u64;
                in_ch = w;
            }
        }
        total + in_ch as u64 * 2
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_configs_are_refused() {
        let mut cfg = ClassifierConfig::default();
        cfg.input_size = 100; // not divisible by 8
        assert!(cfg.validate().is_err());
        cfg.input_size = 128;
        cfg.convs.pop();
        assert!(cfg.validate().is_err());
        // Absurd cards: each refused with a reason, nothing built.
        let ok = ClassifierConfig::default();
        let cases = [
            (ClassifierConfig { input_size: 1_048_576, ..ok.clone() }, "larger than"),
            (ClassifierConfig { dropout: 2.0, ..ok.clone() }, "dropout"),
            (ClassifierConfig { dropout: f64::NAN, ..ok.clone() }, "dropout"),
            (ClassifierConfig { widths: vec![8; 70], convs: vec![1; 70], ..ok.clone() }, "70 blocks"),
            (ClassifierConfig { widths: vec![16, 32, 64, 65_536], ..ok.clone() }, "65536 channels"),
            (ClassifierConfig { convs: vec![1, 1, 2, 500], ..ok.clone() }, "500 convs"),
            (ClassifierConfig { input_size: 1024, widths: vec![1024; 4], convs: vec![8; 4], ..ok.clone() }, "multiply-adds"),
        ];
        for (cfg, expected) in cases {
            let err = cfg.validate().unwrap_err().to_string();
            assert!(err.contains(expected), "{expected}: {err}");
        }
        ok.validate().unwrap();
    }

    #[test]
    fn default_model_fits_the_browser_budget() {
        // ~0.14 G multiply-adds per forward: a fraction of a second on software WebGPU.
        let macs = ClassifierConfig::default().macs();
        assert!(macs < 200_000_000, "{macs} MACs");
    }
}
