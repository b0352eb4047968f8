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
//!
//! The other family, [`Family::EfficientnetLite0`], is the first stages of EfficientNet-Lite0
//! (Tan & Le 2019: inverted residuals with depthwise convolutions and ReLU6), so that ImageNet
//! weights can start the training; its block k ends where the image has been halved k + 1
//! times ([`LITE0_LAYERS`]), and the same head follows.

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
    /// Which network the blocks are made of; a card without it is the plain family (every
    /// card before the other existed).
    #[serde(default, skip_serializing_if = "Family::is_plain")]
    pub family: Family,
}

/// The kind of blocks a classifier is made of.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Family {
    /// 3x3 convs, batch norm and ReLU, with 2x2 max pooling between blocks (the diagram above).
    #[default]
    Plain,
    /// EfficientNet-Lite0's stem and inverted-residual layers ([`LITE0_LAYERS`]), cut after
    /// `widths.len()` blocks; `widths` and `convs` must then be the table's.
    EfficientnetLite0,
}

impl Family {
    pub fn is_plain(&self) -> bool {
        *self == Family::Plain
    }
}

/// One inverted-residual layer of EfficientNet-Lite0: 1x1 expansion by `expand` (none when 1),
/// a `kernel` x `kernel` depthwise conv with `stride`, a 1x1 projection to `out` channels, and
/// the input added back where the shape allows (stride 1, same channels).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lite0Layer {
    pub kernel: usize,
    pub stride: usize,
    pub expand: usize,
    pub out: usize,
}

/// Channels of EfficientNet-Lite0's stem (a 3x3 conv with stride 2).
pub const LITE0_STEM: usize = 32;

/// EfficientNet-Lite0's layers, grouped into camseg's blocks by the stride they end at
/// (block k at 2^(k+1)); from the published network (Tan & Le 2019, the Lite variant).
pub const LITE0_LAYERS: [&[Lite0Layer]; 5] = {
    const fn l(kernel: usize, stride: usize, expand: usize, out: usize) -> Lite0Layer {
        Lite0Layer { kernel, stride, expand, out }
    }
    [
        &[l(3, 1, 1, 16)],
        &[l(3, 2, 6, 24), l(3, 1, 6, 24)],
        &[l(5, 2, 6, 40), l(5, 1, 6, 40)],
        &[l(3, 2, 6, 80), l(3, 1, 6, 80), l(3, 1, 6, 80), l(5, 1, 6, 112), l(5, 1, 6, 112), l(5, 1, 6, 112)],
        &[l(5, 2, 6, 192), l(5, 1, 6, 192), l(5, 1, 6, 192), l(5, 1, 6, 192), l(3, 1, 6, 320)],
    ]
};

impl Default for ClassifierConfig {
    /// The page's default: ~0.27 GFLOP per 128 px forward pass, sized for software WebGPU.
    fn default() -> Self {
        Self { input_size: 128, widths: vec![16, 32, 64, 128], convs: vec![1, 1, 2, 2], dropout: 0.2, family: Family::Plain }
    }
}

impl ClassifierConfig {
    pub fn blocks(&self) -> usize {
        self.widths.len()
    }

    /// One line for people: what the network is made of.
    pub fn describe(&self) -> String {
        match self.family {
            Family::Plain => format!("conv widths {:?}, convs per block {:?}", self.widths, self.convs),
            Family::EfficientnetLite0 => format!("EfficientNet-Lite0's first {} blocks: widths {:?}, inverted-residual layers per block {:?}", self.blocks(), self.widths, self.convs),
        }
    }

    /// EfficientNet-Lite0 cut after `blocks` blocks: the widths and layer counts its card holds.
    pub fn lite0(input_size: usize, blocks: usize, dropout: f64) -> Self {
        let layers = &LITE0_LAYERS[..blocks.min(LITE0_LAYERS.len())];
        Self {
            input_size,
            widths: layers.iter().map(|b| b[b.len() - 1].out).collect(),
            convs: layers.iter().map(|b| b.len()).collect(),
            dropout,
            family: Family::EfficientnetLite0,
        }
    }

    /// Times the image is halved before block `k`'s output.
    fn halvings(&self, block: usize) -> usize {
        match self.family {
            Family::Plain => block,
            Family::EfficientnetLite0 => block + 1,
        }
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
        if self.family == Family::EfficientnetLite0 {
            let table = Self::lite0(self.input_size, LITE0_LAYERS.len(), self.dropout);
            let n = self.blocks();
            if n > LITE0_LAYERS.len() || table.widths[..n] != self.widths[..] || table.convs[..n] != self.convs[..] {
                return bad(format!(
                    "architecture: family efficientnet-lite0 has widths and convs from its table (up to {} blocks: widths {:?}, convs {:?}), not widths {:?} and convs {:?}",
                    LITE0_LAYERS.len(),
                    table.widths,
                    table.convs,
                    self.widths,
                    self.convs
                ));
            }
        }
        let cells = 1usize << self.halvings(self.blocks() - 1);
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
        self.input_size >> self.halvings(block)
    }

    /// Multiply-accumulates of one forward pass (for sizing the model to the browser).
    pub fn macs(&self) -> u64 {
        if self.family == Family::EfficientnetLite0 {
            return self.lite0_macs();
        }
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

    fn lite0_macs(&self) -> u64 {
        let side = |halvings: usize| (self.input_size >> halvings) as u64;
        let mut total = 9 * LITE0_STEM as u64 * side(1) * side(1);
        let (mut in_ch, mut halvings) = (LITE0_STEM as u64, 1);
        for layer in LITE0_LAYERS.iter().take(self.blocks()).flat_map(|b| b.iter()) {
            let mid = in_ch * layer.expand as u64;
            let cells_in = side(halvings) * side(halvings);
            halvings += layer.stride / 2;
            let cells_out = side(halvings) * side(halvings);
            let expand = if layer.expand > 1 { in_ch * mid * cells_in } else { 0 };
            total += expand + (layer.kernel * layer.kernel) as u64 * mid * cells_out + mid * layer.out as u64 * cells_out;
            in_ch = layer.out as u64;
        }
        total + in_ch * 2
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
    fn lite0_cards_hold_the_tables_widths() {
        let four = ClassifierConfig::lite0(128, 4, 0.2);
        assert_eq!((four.widths.clone(), four.convs.clone()), (vec![16, 24, 40, 112], vec![1, 2, 2, 6]));
        four.validate().unwrap();
        // Block 3 ends at stride 16.
        assert_eq!(four.grid(3), 8);
        // Published: 0.4 G multiply-adds for the whole network at 224 px; its first four blocks
        // at 128 px are a small part of that.
        let macs = four.macs();
        assert!((20_000_000..150_000_000).contains(&macs), "{macs}");
        let odd = ClassifierConfig { widths: vec![16, 24, 40, 113], ..four.clone() };
        assert!(odd.validate().unwrap_err().to_string().contains("efficientnet-lite0"));
        assert!(ClassifierConfig { input_size: 120, ..four.clone() }.validate().is_err(), "not divisible by 16");
        // A plain card's JSON does not mention the family; a card without it is plain.
        let plain = serde_json::to_string(&ClassifierConfig::default()).unwrap();
        assert!(!plain.contains("family"));
        let back: ClassifierConfig = serde_json::from_str(&plain).unwrap();
        assert_eq!(back.family, Family::Plain);
        let named: ClassifierConfig = serde_json::from_str(&serde_json::to_string(&four).unwrap()).unwrap();
        assert_eq!(named, four);
        let unknown = serde_json::from_str::<ClassifierConfig>(&plain.replace('}', r#","family":"resnet"}"#)).unwrap_err().to_string();
        assert!(unknown.contains("resnet"), "{unknown}");
    }

    #[test]
    fn default_model_fits_the_browser_budget() {
        // ~0.14 G multiply-adds per forward: a fraction of a second on software WebGPU.
        let macs = ClassifierConfig::default().macs();
        assert!(macs < 200_000_000, "{macs} MACs");
    }
}
