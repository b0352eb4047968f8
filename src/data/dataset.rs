//! A dataset folder in the layout of `../shared/data/lgg` (and of `camseg phantom`):
//!
//! ```text
//! DIR/index.csv       file,patient,slice,split,label,tumor_px,head_px
//! DIR/images/<file>   the scans
//! DIR/masks/<file>    the tumour masks (same name), all black when there is no tumour
//! ```
//! Native only: the page pairs files the user drops instead.

use serde::{Deserialize, Serialize};

/// One slice as `index.csv` lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub file: String,
    pub patient: String,
    pub slice: u32,
    pub split: String,
    /// 1 = tumour present.
    pub label: u8,
    pub tumor_px: u64,
    pub head_px: u64,
}

impl Record {
    pub fn is_tumour(&self) -> bool {
        self.label == 1
    }
}

/// How no-tumour slices are chosen. Slices from the top or bottom of the head show little head;
/// a classifier fed them learns "small head = no tumour" instead of looking at tumours.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Negatives {
    All,
    /// Keep negatives whose `head_px` is at least the given percentile of the positives'.
    HeadPercentile(f64),
}

impl Negatives {
    /// Parses `all` or `head-pN` (e.g. `head-p5`).
    pub fn parse(text: &str) -> crate::Result<Negatives> {
        if text == "all" || text.is_empty() {
            return Ok(Negatives::All);
        }
        text.strip_prefix("head-p")
            .and_then(|p| p.parse::<f64>().ok())
            .filter(|p| (0.0..=100.0).contains(p))
            .map(Negatives::HeadPercentile)
            .ok_or_else(|| crate::Error::Invalid(format!("negatives rule must be `all` or `head-pN` (N in 0..100), not `{text}`")))
    }

    pub fn name(&self) -> String {
        match self {
            Negatives::All => "all".into(),
            Negatives::HeadPercentile(p) => format!("head-p{p}"),
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
pub use native::Dataset;

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use super::*;
    use crate::data::decode::{check_mask_size, decode_image, decode_mask};
    use crate::data::input::Channel;
    use crate::masks::Mask;
    use crate::plane::Plane;
    use crate::{Error, Result};
    use std::path::{Path, PathBuf};

    #[derive(Clone, Debug)]
    pub struct Dataset {
        pub root: PathBuf,
        pub records: Vec<Record>,
    }

    impl Dataset {
        /// Reads `DIR/index.csv` and checks every listed image exists.
        pub fn open(root: impl AsRef<Path>) -> Result<Dataset> {
            let root = root.as_ref().to_path_buf();
            let fail = |reason: String| Error::Dataset { path: root.display().to_string(), reason };
            if !root.is_dir() {
                return Err(fail("is not a folder".into()));
            }
            let index = root.join("index.csv");
            if !index.is_file() {
                return Err(fail("has no index.csv (expected columns file,patient,slice,split,label,tumor_px,head_px beside images/ and masks/)".into()));
            }
            let mut reader = csv::Reader::from_path(&index).map_err(|e| fail(format!("index.csv: {e}")))?;
            let mut records = Vec::new();
            for (i, row) in reader.deserialize::<Record>().enumerate() {
                let record = row.map_err(|e| fail(format!("index.csv row {}: {e}", i + 2)))?;
                if !root.join("images").join(&record.file).is_file() {
                    return Err(fail(format!("index.csv lists {} but images/{} does not exist", record.file, record.file)));
                }
                records.push(record);
            }
            if records.is_empty() {
                return Err(fail("index.csv lists no images".into()));
            }
            Ok(Dataset { root, records })
        }

        /// Records of one split (`all` = every record), with the negatives rule applied.
        /// The percentile is taken over the positives of the whole dataset, so every split
        /// uses the same cut.
        pub fn select(&self, split: &str, negatives: Negatives) -> Result<Vec<Record>> {
            let min_head = match negatives {
                Negatives::All => 0,
                Negatives::HeadPercentile(p) => {
                    let mut heads: Vec<u64> = self.records.iter().filter(|r| r.is_tumour()).map(|r| r.head_px).collect();
                    heads.sort_unstable();
                    if heads.is_empty() { 0 } else { heads[((heads.len() - 1) as f64 * p / 100.0).round() as usize] }
                }
            };
            let chosen: Vec<Record> = self
                .records
                .iter()
                .filter(|r| split == "all" || r.split == split)
                .filter(|r| r.is_tumour() || r.head_px >= min_head)
                .cloned()
                .collect();
            if chosen.is_empty() {
                let mut splits: Vec<&str> = self.records.iter().map(|r| r.split.as_str()).collect();
                splits.sort_unstable();
                splits.dedup();
                return Err(Error::Dataset {
                    path: self.root.display().to_string(),
                    reason: format!("split `{split}` has no images (splits here: {}, or all)", splits.join(", ")),
                });
            }
            Ok(chosen)
        }

        pub fn image_path(&self, r: &Record) -> PathBuf {
            self.root.join("images").join(&r.file)
        }

        pub fn load_image(&self, r: &Record, channel: Channel) -> Result<Plane> {
            let path = self.image_path(r);
            let bytes = std::fs::read(&path).map_err(|e| Error::io(path.display(), e))?;
            decode_image(&bytes, &path.display().to_string(), channel)
        }

        /// The record's mask, checked against its image size; a missing mask file means
        /// "no tumour" only if the index says so.
        pub fn load_mask(&self, r: &Record, width: usize, height: usize) -> Result<Mask> {
            let path = self.root.join("masks").join(&r.file);
            let name = path.display().to_string();
            if !path.is_file() {
                return if r.is_tumour() {
                    Err(Error::Mask { name, reason: "is missing but index.csv says the slice has a tumour".into() })
                } else {
                    Ok(Mask::empty(width, height))
                };
            }
            let bytes = std::fs::read(&path).map_err(|e| Error::io(&name, e))?;
            let mask = decode_mask(&bytes, &name)?;
            check_mask_size(&mask, width, height, &name)?;
            Ok(mask)
        }
    }
}
