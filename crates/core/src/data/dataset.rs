//! A dataset folder on disk, in the layout of `../shared/data/lgg` (and of `camseg phantom`):
//!
//! ```text
//! DIR/index.csv       file,patient,slice,split,label,tumor_px,head_px
//! DIR/images/<file>   the scans
//! DIR/masks/<file>    the tumour masks (same name), all black when there is no tumour
//! ```
//! or in class folders or with a labels CSV ([`super::labelled`]), read into the same records.
//! Native only: the page reads dropped files through [`super::labelled`] itself.

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
    use crate::data::file_bytes::FileBytes;
    use crate::data::labelled::{self, ClassCount, LabelOptions, Layout, ScanSlices};
    use crate::masks::Mask;
    use crate::plane::Plane;
    use crate::{Error, Result};
    use std::collections::BTreeMap;
    use std::path::{Path, PathBuf};

    #[derive(Clone, Debug)]
    pub struct Dataset {
        pub root: PathBuf,
        pub records: Vec<Record>,
        pub layout: Layout,
        /// Whether `val` was held out of an index's train split (it had none).
        pub held_out: bool,
        /// Classes and their counts per split (class folders and labels CSVs).
        pub classes: Vec<ClassCount>,
        /// What the person should know about the data: skipped, resized, duplicate files.
        pub warnings: Vec<String>,
        /// Mask files of each record (class folders and labels CSVs).
        masks: BTreeMap<String, Vec<String>>,
        /// Labelled scans (volumes) and their slices, which are records too.
        scans: ScanSlices,
    }

    /// The columns that make an `index.csv` this project's own layout.
    const INDEX_COLUMNS: [&str; 7] = ["file", "patient", "slice", "split", "label", "tumor_px", "head_px"];

    impl Dataset {
        /// Opens a folder in any layout, class names and held-out share by default; an
        /// `index.csv` keeps its splits as they are.
        pub fn open(root: impl AsRef<Path>) -> Result<Dataset> {
            Self::read(root.as_ref(), &LabelOptions::default(), false)
        }

        /// Opens a folder as a model was trained on it: the same positive classes and split.
        pub fn open_for(root: impl AsRef<Path>, card: &crate::card::ModelCard) -> Result<Dataset> {
            match &card.training.labels {
                Some(labels) => Self::open_with(root, &labels.options),
                None => Self::open(root),
            }
        }

        /// Opens `DIR/index.csv` when it has this project's columns (holding out `val_share` of
        /// its train patients when it has no `val` split), else reads class folders or a labels
        /// CSV with `options`.
        pub fn open_with(root: impl AsRef<Path>, options: &LabelOptions) -> Result<Dataset> {
            Self::read(root.as_ref(), options, true)
        }

        fn read(root: &Path, options: &LabelOptions, hold_out: bool) -> Result<Dataset> {
            let root = root.to_path_buf();
            let fail = |reason: String| Error::Dataset { path: root.display().to_string(), reason };
            if !root.is_dir() {
                return Err(fail("is not a folder".into()));
            }
            let index = root.join("index.csv");
            let header = std::fs::read_to_string(&index).ok().and_then(|t| t.lines().next().map(str::to_string)).unwrap_or_default();
            if !INDEX_COLUMNS.iter().all(|c| header.split(',').any(|h| h.trim() == *c)) {
                return Self::open_labelled(root, options);
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
            let held_out = hold_out && !records.iter().any(|r| r.split == "val");
            if held_out {
                hold_out_val(&mut records, options);
            }
            Ok(Dataset { root, records, layout: Layout::Index, held_out, classes: Vec::new(), warnings: Vec::new(), masks: BTreeMap::new(), scans: ScanSlices::default() })
        }

        /// Class folders, or the one top-level CSV with `file` and `label` columns.
        fn open_labelled(root: PathBuf, options: &LabelOptions) -> Result<Dataset> {
            let fail = |reason: String| Error::Dataset { path: root.display().to_string(), reason };
            let mut entries = Vec::new();
            let mut csvs = Vec::new();
            let mut volumes = Vec::new();
            walk(&root, &root, &mut entries, &mut csvs, &mut volumes)?;
            let mut problems = Vec::new();
            let scans = ScanSlices::cut(volumes, &mut problems);
            entries.extend(scans.entries.iter().cloned());
            let labels: Vec<(String, String)> = csvs.into_iter().filter(|(_, text)| {
                let header = text.lines().next().unwrap_or_default().to_ascii_lowercase();
                let has = |names: &[&str]| header.split(',').any(|h| names.contains(&h.trim()));
                has(&["file", "filename", "image", "path"]) && has(&["label", "class"])
            }).collect();
            if labels.len() > 1 {
                return Err(fail(format!("has {} labels CSVs ({}); keep one", labels.len(), labels.iter().map(|l| l.0.as_str()).collect::<Vec<_>>().join(", "))));
            }
            if labels.is_empty() && entries.is_empty() {
                return Err(fail("has no index.csv, no labels CSV and no images in class folders (expected tumour/ and normal/ folders, a CSV with file and label columns, or index.csv with images/ and masks/)".into()));
            }
            let csv = labels.first().map(|(name, text)| labelled::CsvText { name, text });
            let mut set = labelled::read(&entries, csv, options).map_err(fail)?;
            set.warnings.extend(problems);
            let slice = |file: &str| scans.index(file).map_or(0, |k| k as u32);
            let records = set.images.iter().map(|i| Record { file: i.file.clone(), patient: i.group.clone(), slice: slice(&i.file), split: i.split.clone(), label: i.positive as u8, tumor_px: 0, head_px: 0 }).collect();
            let masks = set.images.iter().filter(|i| !i.masks.is_empty()).map(|i| (i.file.clone(), i.masks.clone())).collect();
            Ok(Dataset { root, records, layout: set.layout, held_out: false, classes: set.classes, warnings: set.warnings, masks, scans })
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
            match self.layout {
                Layout::Index => self.root.join("images").join(&r.file),
                _ => self.root.join(&r.file),
            }
        }

        /// The record's true mask where one is known: its mask files (joined), an empty mask
        /// for a negative without one, `None` for a positive without one (not scored).
        pub fn truth(&self, r: &Record, width: usize, height: usize) -> Result<Option<Mask>> {
            if self.layout == Layout::Index {
                return self.load_mask(r, width, height).map(Some);
            }
            let Some(files) = self.masks.get(&r.file) else {
                return Ok((!r.is_tumour()).then(|| Mask::empty(width, height)));
            };
            if let Some(mask) = self.scans.mask(&r.file) {
                check_mask_size(&mask, width, height, &files.join(", "))?;
                return Ok(Some(mask));
            }
            let mut joined = Mask::empty(width, height);
            for file in files {
                let path = self.root.join(file);
                let name = path.display().to_string();
                let bytes = std::fs::read(&path).map_err(|e| Error::io(&name, e))?;
                let mask = decode_mask(&bytes, &name)?;
                check_mask_size(&mask, width, height, &name)?;
                joined = joined.union(&mask);
            }
            Ok(Some(joined))
        }

        /// Whether any of `records` has a lesion mask to score against.
        pub fn has_lesion_masks(&self, records: &[Record]) -> bool {
            records.iter().any(|r| r.is_tumour() && (self.layout == Layout::Index || self.masks.contains_key(&r.file)))
        }

        pub fn load_image(&self, r: &Record, channel: Channel) -> Result<Plane> {
            if let Some(slice) = self.scans.image(&r.file) {
                return Ok(slice); // one channel already, windowed as the page windows it
            }
            let path = self.image_path(r);
            let bytes = std::fs::read(&path).map_err(|e| Error::io(path.display(), e))?;
            decode_image(&bytes, &path.display().to_string(), channel)
        }

        /// The record's mask, checked against its image size; a missing mask file means
        /// "no tumour" only if the index says so.
        pub fn load_mask(&self, r: &Record, width: usize, height: usize) -> Result<Mask> {
            if self.layout != Layout::Index {
                return self.truth(r, width, height)?.ok_or_else(|| Error::Mask { name: r.file.clone(), reason: "has no mask (name it x_mask.png beside x.png, or put it in masks/)".into() });
            }
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

    /// An index without a `val` split: `val_share` of its train patients are held out.
    fn hold_out_val(records: &mut [Record], options: &LabelOptions) {
        let mut images: Vec<labelled::LabelledImage> = records
            .iter()
            .map(|r| labelled::LabelledImage { file: r.file.clone(), class: r.label.to_string(), positive: r.is_tumour(), group: r.patient.clone(), split: if r.split == "train" { String::new() } else { r.split.clone() }, masks: Vec::new() })
            .collect();
        labelled::assign_splits(&mut images, options);
        for (r, i) in records.iter_mut().zip(images) {
            r.split = i.split;
        }
    }

    /// Every file under `dir` (clutter aside) with its size and digest, the top-level CSVs'
    /// text, and the volumes (read whole later). A file that cannot be read as an image still
    /// gets an entry, without a size.
    fn walk(root: &Path, dir: &Path, entries: &mut Vec<labelled::Entry>, csvs: &mut Vec<(String, String)>, volumes: &mut Vec<FileBytes>) -> Result<()> {
        let mut children: Vec<PathBuf> = std::fs::read_dir(dir).map_err(|e| Error::io(dir.display(), e))?.filter_map(|e| e.ok().map(|e| e.path())).collect();
        children.sort();
        for path in children {
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            if name.starts_with('.') || name == "__MACOSX" {
                continue;
            }
            if path.is_dir() {
                walk(root, &path, entries, csvs, volumes)?;
                continue;
            }
            let relative = path.strip_prefix(root).unwrap_or(&path).to_string_lossy().replace('\\', "/");
            let bytes = std::fs::read(&path).map_err(|e| Error::io(path.display(), e))?;
            if dir == root && name.to_ascii_lowercase().ends_with(".csv") {
                csvs.push((name, String::from_utf8_lossy(&bytes).into_owned()));
                continue;
            }
            if dir == root && !relative.contains('/') && matches!(name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).as_deref(), Some("md" | "txt" | "json")) {
                continue;
            }
            if crate::volume::open::is_volume_file(&relative, &bytes) {
                volumes.push(FileBytes::new(relative, bytes));
                continue;
            }
            let size = image::ImageReader::new(std::io::Cursor::new(&bytes)).with_guessed_format().ok().and_then(|r| r.into_dimensions().ok()).map(|(w, h)| (w as usize, h as usize));
            entries.push(labelled::Entry::file(relative, size, labelled::fnv1a(&bytes)));
        }
        Ok(())
    }
}
