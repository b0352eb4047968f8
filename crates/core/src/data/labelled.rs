//! Image-level labels as people keep them, turned into one list of labelled images with a split.
//! Two layouts besides the project's own `index.csv` (see [`super::dataset`]):
//!
//! - **class folders** (torchvision's `ImageFolder`, Keras): `DIR/<class>/<image>`, optionally
//!   under `train/`, `val/` and `test/` folders that then are the split;
//! - **a labels CSV** at the top: `file,label`, optional `group` (patient or study: a split keeps
//!   it together), `split` and `mask` columns; paths relative to the CSV.
//!
//! Masks are optional, paired by the page's rules (`x.png` + `x_mask.png`, `images/` +
//! `masks/`), several `x_mask_N.png` joined. Pure: the caller lists the files (path, size,
//! digest) and hands over the CSV's text, so the CLI and the page share every rule and message.

use std::collections::{BTreeMap, BTreeSet};

pub mod scans;
pub use scans::{ScanRef, ScanSlices};

/// Class names that mark the positive (lesion) class when the user names none.
pub const POSITIVE_NAMES: [&str; 12] = ["tumour", "tumours", "tumor", "tumors", "lesion", "lesions", "abnormal", "positive", "yes", "1", "true", "malignant"];
/// Fewest images a class may have: fewer cannot train or be checked.
pub const MIN_PER_CLASS: usize = 10;
/// Folder names that are a split, not a class.
const SPLIT_FOLDERS: [(&str, &str); 6] = [("train", "train"), ("training", "train"), ("val", "val"), ("valid", "val"), ("validation", "val"), ("test", "test")];

/// Which of the layouts a folder is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Layout {
    /// `index.csv` + `images/` + `masks/` (this project's, and `camseg phantom`'s).
    Index,
    ClassFolders,
    LabelsCsv,
}

impl Layout {
    pub fn name(&self) -> &'static str {
        match self {
            Layout::Index => "index.csv",
            Layout::ClassFolders => "class folders",
            Layout::LabelsCsv => "labels CSV",
        }
    }
}

/// One file of the folder, as the caller read it.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// Relative to the folder, `/`-separated.
    pub path: String,
    /// Width and height; `None` when the file could not be read as an image (or volume).
    pub size: Option<(usize, usize)>,
    /// A digest of its bytes, to find one file filed under two classes.
    pub digest: u64,
    /// For a slice of a labelled scan ([`scans`]): the scan it was cut from.
    pub scan: Option<ScanRef>,
}

impl Entry {
    /// A plain file (an image, or a file that is none).
    pub fn file(path: impl Into<String>, size: Option<(usize, usize)>, digest: u64) -> Entry {
        Entry { path: path.into(), size, digest, scan: None }
    }

    /// Whether this is an image to label: a picture that is no mask, or a scan's slice.
    fn is_labelled_image(&self) -> bool {
        self.scan.is_some() || (is_image(&self.path) && !mask_key(&self.path).1)
    }
}

/// How to read labels: which classes are positive, and how much to hold out.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LabelOptions {
    /// Positive class names; empty = decided by [`POSITIVE_NAMES`].
    pub positive: Vec<String>,
    /// Share of groups (or files) held out as `val` where the data gives no split.
    pub val_share: f64,
    pub seed: u64,
}

impl Default for LabelOptions {
    fn default() -> Self {
        Self { positive: Vec::new(), val_share: 0.2, seed: 42 }
    }
}

/// One labelled image.
#[derive(Clone, Debug, PartialEq)]
pub struct LabelledImage {
    pub file: String,
    pub class: String,
    pub positive: bool,
    /// Patient or study; the file itself when none is given.
    pub group: String,
    pub split: String,
    /// Mask files (joined when several), empty when none.
    pub masks: Vec<String>,
}

/// A class and its images per split.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ClassCount {
    pub name: String,
    pub positive: bool,
    pub per_split: BTreeMap<String, usize>,
}

/// A folder read as labelled images: what will train, and what the person should know.
#[derive(Clone, Debug, PartialEq)]
pub struct Labelled {
    pub layout: Layout,
    pub images: Vec<LabelledImage>,
    pub classes: Vec<ClassCount>,
    /// Files skipped or resized, duplicates: each names its files.
    pub warnings: Vec<String>,
}

/// What the page shows of a labelled folder before training.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LabelSummary {
    pub layout: Layout,
    pub classes: Vec<ClassCount>,
    pub warnings: Vec<String>,
    /// Images with a mask (their Dice is scored after training).
    pub masked: usize,
}

impl Labelled {
    pub fn summary(&self) -> LabelSummary {
        LabelSummary { layout: self.layout, classes: self.classes.clone(), warnings: self.warnings.clone(), masked: self.images.iter().filter(|i| !i.masks.is_empty()).count() }
    }
}

/// Class names as the layout gives them, before any check (the page offers them as choices
/// for the positive class when the names do not say).
pub fn class_names(entries: &[Entry], csv: Option<CsvText>) -> Vec<String> {
    let rows = match csv {
        Some(csv) => {
            let files: BTreeMap<&str, &Entry> = entries.iter().map(|e| (e.path.as_str(), e)).collect();
            csv_rows(csv, &files, &mut Vec::new()).unwrap_or_default()
        }
        None => folder_rows(entries).unwrap_or_default(),
    };
    rows.into_iter().map(|r| r.class).collect::<BTreeSet<_>>().into_iter().collect()
}

/// Paths without the one folder that holds everything (a dropped `mydata/` or a zip's top
/// folder), so `mydata/tumour/x.png` reads as class `tumour`.
pub fn strip_common_folder(paths: &mut [String]) {
    loop {
        let Some(first) = paths.first().and_then(|p| p.split_once('/')).map(|(top, _)| format!("{top}/")) else { return };
        if !paths.iter().all(|p| p.starts_with(&first) && p.len() > first.len()) {
            return;
        }
        // Stop above class folders: a top that is itself a split or class leaves the rest.
        let rest: BTreeSet<&str> = paths.iter().filter_map(|p| p[first.len()..].split_once('/').map(|(t, _)| t)).collect();
        if rest.is_empty() {
            return;
        }
        for p in paths.iter_mut() {
            *p = p[first.len()..].to_string();
        }
    }
}

/// A labels CSV's name and text.
pub struct CsvText<'a> {
    pub name: &'a str,
    pub text: &'a str,
}

fn is_image(path: &str) -> bool {
    let ext = path.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    super::upload::IMAGE_EXTENSIONS.contains(&ext.as_str())
}

/// The image a mask belongs to, by the page's pairing rules plus `_mask_N`: `Some(key)` for a
/// mask, where key is the image's pairing key.
fn mask_key(path: &str) -> (String, bool) {
    let (key, is_mask) = super::upload::pairing_key(path);
    if is_mask {
        return (key, true);
    }
    // `x_mask_2` (BUSI's second lesion): strip the number, then pair as usual.
    match key.rsplit_once("_mask_").filter(|(_, n)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())) {
        Some((stem, _)) => (stem.to_string(), true),
        None => (key, false),
    }
}

/// Stable across builds and platforms (the split must not move with the compiler).
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ b as u64).wrapping_mul(0x0100_0000_01b3))
}

/// Reads `entries` (and the labels CSV, if the caller found one) as labelled images, refusing
/// what cannot train: one class, a class under [`MIN_PER_CLASS`], no positive class.
pub fn read(entries: &[Entry], csv: Option<CsvText>, options: &LabelOptions) -> Result<Labelled, String> {
    if !(0.0..1.0).contains(&options.val_share) {
        return Err(format!("the val share {} must be at least 0 and below 1", options.val_share));
    }
    let mut warnings = Vec::new();
    let by_path: BTreeMap<&str, &Entry> = entries.iter().map(|e| (e.path.as_str(), e)).collect();
    let mut masks: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for e in entries.iter().filter(|e| e.scan.is_none() && is_image(&e.path)) {
        if let (key, true) = mask_key(&e.path) {
            masks.entry(key).or_default().push(e.path.clone());
        }
    }
    let others: Vec<&str> = entries.iter().filter(|e| e.scan.is_none()).map(|e| e.path.as_str()).filter(|p| p.contains('/') && !is_image(p)).collect();
    if !others.is_empty() {
        warnings.push(format!("{} not an image (PNG, JPEG, TIFF, BMP) or a volume (NIfTI, DICOM); skipped ({})", plural(others.len(), "file is", "files are"), others.iter().take(3).copied().collect::<Vec<_>>().join(", ")));
    }
    let (layout, rows) = match csv {
        Some(csv) => (Layout::LabelsCsv, csv_rows(csv, &by_path, &mut warnings)?),
        None => (Layout::ClassFolders, folder_rows(entries)?),
    };
    let mut images = Vec::new();
    for row in rows {
        let Some(entry) = by_path.get(row.file.as_str()) else { continue };
        if entry.size.is_none() {
            warnings.push(format!("{}: not readable as an image; skipped", row.file));
            continue;
        }
        let masks = match (&entry.scan, row.mask) {
            (Some(from), _) => from.labels.iter().cloned().collect(),
            (None, Some(mask)) => vec![mask],
            (None, None) => masks.get(&super::upload::pairing_key(&row.file).0).cloned().unwrap_or_default(),
        };
        images.push(LabelledImage { group: row.group.unwrap_or_else(|| row.file.clone()), file: row.file, class: row.class, positive: false, split: row.split.unwrap_or_default(), masks });
    }
    drop_contradictions(&mut images, &by_path, &mut warnings);
    warn_sizes(&images, &by_path, &mut warnings);
    let positive = positive_classes(&images, &options.positive)?;
    for image in &mut images {
        image.positive = positive.contains(&image.class);
    }
    if images.iter().any(|i| i.split.is_empty()) {
        assign_splits(&mut images, options);
    }
    let classes = count(&images, &positive);
    for c in &classes {
        let total: usize = c.per_split.values().sum();
        if total < MIN_PER_CLASS {
            return Err(format!("class `{}` has {total} usable images; each class needs at least {MIN_PER_CLASS}", c.name));
        }
    }
    Ok(Labelled { layout, images, classes, warnings })
}

/// A row before checks: file, class, and what the layout says of group, split and mask.
struct Row {
    file: String,
    class: String,
    group: Option<String>,
    split: Option<String>,
    mask: Option<String>,
}

/// `<class>/…/<image>` or `<split>/<class>/…/<image>`; masks are not rows.
fn folder_rows(entries: &[Entry]) -> Result<Vec<Row>, String> {
    let images: Vec<&Entry> = entries.iter().filter(|e| e.is_labelled_image()).collect();
    let split_of = |folder: &str| SPLIT_FOLDERS.iter().find(|(name, _)| folder.eq_ignore_ascii_case(name)).map(|(_, s)| s.to_string());
    let tops: BTreeSet<&str> = images.iter().filter_map(|e| e.path.split_once('/').map(|(top, _)| top)).collect();
    let split_folders = !tops.is_empty() && tops.iter().all(|t| split_of(t).is_some());
    let mut rows = Vec::new();
    let mut loose = Vec::new();
    for e in images {
        let parts: Vec<&str> = e.path.split('/').collect();
        let (split, class) = match (split_folders, parts.len()) {
            (true, n) if n >= 3 => (split_of(parts[0]), parts[1]),
            (false, n) if n >= 2 => (None, parts[0]),
            _ => {
                loose.push(e.path.clone());
                continue;
            }
        };
        // An `images/` folder inside a class holds its images (masks beside it in `masks/`).
        rows.push(Row { file: e.path.clone(), class: class.to_string(), group: e.scan.as_ref().map(|s| s.volume.clone()), split, mask: None });
    }
    if rows.is_empty() {
        return Err("found no class folders: put each class's images in a folder named for it (e.g. tumour/ and normal/), or give a labels CSV with file and label columns".into());
    }
    if !loose.is_empty() {
        return Err(format!("{} outside any class folder ({}); move each into its class's folder", plural(loose.len(), "image is", "images are"), loose.iter().take(3).cloned().collect::<Vec<_>>().join(", ")));
    }
    Ok(rows)
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 { format!("1 {one}") } else { format!("{n} {many}") }
}

/// Rows of a labels CSV; missing files are warned about and skipped.
fn csv_rows(csv: CsvText, files: &BTreeMap<&str, &Entry>, warnings: &mut Vec<String>) -> Result<Vec<Row>, String> {
    let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(csv.text.as_bytes());
    let header = reader.headers().map_err(|e| format!("{}: {e}", csv.name))?.clone();
    let column = |names: &[&str]| header.iter().position(|h| names.iter().any(|n| h.eq_ignore_ascii_case(n)));
    let (Some(file), Some(label)) = (column(&["file", "filename", "image", "path"]), column(&["label", "class"])) else {
        return Err(format!("{}: needs a `file` and a `label` column (found: {})", csv.name, header.iter().collect::<Vec<_>>().join(", ")));
    };
    let (group, split, mask) = (column(&["group", "patient", "study"]), column(&["split"]), column(&["mask"]));
    // A row may name a scan (a volume file or a DICOM folder): it labels each of its slices.
    let mut scans: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for e in files.values() {
        if let Some(from) = &e.scan {
            scans.entry(from.scan.as_str()).or_default().push(e.path.as_str());
        }
    }
    let mut rows: Vec<Row> = Vec::new();
    let mut listed = BTreeSet::new();
    let mut missing = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| format!("{} row {}: {e}", csv.name, i + 2))?;
        let cell = |c: Option<usize>| c.and_then(|c| record.get(c)).map(str::to_string).filter(|s| !s.is_empty());
        let (Some(path), Some(class)) = (cell(Some(file)), cell(Some(label))) else {
            return Err(format!("{} row {}: the file or the label is empty", csv.name, i + 2));
        };
        let path = path.replace('\\', "/").trim_start_matches("./").to_string();
        if !listed.insert(path.clone()) {
            warnings.push(format!("{} row {}: {path} is listed again; the first row is kept", csv.name, i + 2));
            continue;
        }
        let split = cell(split).map(|s| SPLIT_FOLDERS.iter().find(|(n, _)| s.eq_ignore_ascii_case(n)).map_or(s.clone(), |(_, s)| s.to_string()));
        if let Some(slices) = scans.get(path.trim_end_matches('/')) {
            let group = cell(group).unwrap_or_else(|| path.trim_end_matches('/').to_string());
            rows.extend(slices.iter().map(|slice| Row { file: slice.to_string(), class: class.clone(), group: Some(group.clone()), split: split.clone(), mask: None }));
            continue;
        }
        if !files.contains_key(path.as_str()) {
            missing.push(path);
            continue;
        }
        rows.push(Row { file: path, class, group: cell(group), split, mask: cell(mask).filter(|m| files.contains_key(m.as_str())) });
    }
    if !missing.is_empty() {
        warnings.push(format!("{}: {} listed but not found, skipped ({})", csv.name, plural(missing.len(), "file is", "files are"), missing.iter().take(3).cloned().collect::<Vec<_>>().join(", ")));
    }
    Ok(rows)
}

/// One file (same bytes, or the same CSV path) under two classes cannot teach either: both
/// copies are dropped, with a warning naming them.
fn drop_contradictions(images: &mut Vec<LabelledImage>, files: &BTreeMap<&str, &Entry>, warnings: &mut Vec<String>) {
    let digest = |i: &LabelledImage| files.get(i.file.as_str()).map_or(0, |e| e.digest);
    let mut classes: BTreeMap<u64, BTreeSet<&str>> = BTreeMap::new();
    for i in images.iter() {
        classes.entry(digest(i)).or_default().insert(i.class.as_str());
    }
    let bad: BTreeSet<u64> = classes.iter().filter(|(_, c)| c.len() > 1).map(|(d, _)| *d).collect();
    for d in &bad {
        let copies: Vec<String> = images.iter().filter(|i| digest(i) == *d).map(|i| format!("{} ({})", i.file, i.class)).collect();
        // Blank slices at the ends of scans can be many copies of one image: name a few.
        let more = if copies.len() > 4 { format!(" and {} more", copies.len() - 4) } else { String::new() };
        warnings.push(format!("the same image is filed under two classes: {}{more}; left out", copies[..copies.len().min(4)].join(", ")));
    }
    images.retain(|i| !bad.contains(&digest(i)));
}

/// Images whose size differs from the most common one are resized by the model's input step;
/// the person is told which.
fn warn_sizes(images: &[LabelledImage], files: &BTreeMap<&str, &Entry>, warnings: &mut Vec<String>) {
    let sizes: Vec<(usize, usize)> = images.iter().filter_map(|i| files.get(i.file.as_str()).and_then(|e| e.size)).collect();
    let mut counts: BTreeMap<(usize, usize), usize> = BTreeMap::new();
    for s in &sizes {
        *counts.entry(*s).or_default() += 1;
    }
    let Some((&common, _)) = counts.iter().max_by_key(|(_, n)| **n) else { return };
    let odd: Vec<String> = images.iter().filter(|i| files.get(i.file.as_str()).and_then(|e| e.size).is_some_and(|s| s != common)).map(|i| i.file.clone()).collect();
    if !odd.is_empty() {
        let shown = odd.iter().take(3).cloned().collect::<Vec<_>>().join(", ");
        warnings.push(format!("{} not {}x{} like the rest ({shown}{}); each is resized to the model's input", plural(odd.len(), "image is", "images are"), common.0, common.1, if odd.len() > 3 { ", …" } else { "" }));
    }
}

/// The positive classes: those named, else the one whose name says lesion.
fn positive_classes(images: &[LabelledImage], named: &[String]) -> Result<BTreeSet<String>, String> {
    let classes: BTreeSet<&str> = images.iter().map(|i| i.class.as_str()).collect();
    let list = || classes.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ");
    if classes.len() < 2 {
        return Err(format!("only one class ({}): a classifier needs images of at least two (e.g. tumour/ and normal/)", list()));
    }
    if !named.is_empty() {
        if let Some(unknown) = named.iter().find(|n| !classes.contains(n.as_str())) {
            return Err(format!("positive class `{unknown}` is not among the classes found: {}", list()));
        }
        if named.len() == classes.len() {
            return Err(format!("every class ({}) is named positive: leave at least one negative", list()));
        }
        return Ok(named.iter().cloned().collect());
    }
    let by_name: Vec<&str> = classes.iter().copied().filter(|c| POSITIVE_NAMES.iter().any(|p| c.eq_ignore_ascii_case(p))).collect();
    match by_name.as_slice() {
        [one] => Ok([one.to_string()].into()),
        _ => Err(format!("cannot tell which class is the lesion class among {}: name it (--positive NAME in the CLI; several with commas)", list())),
    }
}

/// Holds out `val_share` of the groups of each class (in a seeded, stable order), so a group
/// never straddles train and val. Images that came with a split keep it.
pub fn assign_splits(images: &mut [LabelledImage], options: &LabelOptions) {
    let order = |g: &str| fnv1a(format!("{}/{g}", options.seed).as_bytes());
    // A group's class for stratifying: its first image's.
    let mut groups: BTreeMap<&str, (u64, &str, usize)> = BTreeMap::new();
    for i in images.iter().filter(|i| i.split.is_empty()) {
        groups.entry(i.group.as_str()).or_insert((order(&i.group), i.class.as_str(), 0)).2 += 1;
    }
    let mut val: BTreeSet<String> = BTreeSet::new();
    let classes: BTreeSet<&str> = groups.values().map(|g| g.1).collect();
    for class in classes {
        let mut members: Vec<(u64, &str, usize)> = groups.iter().filter(|(_, g)| g.1 == class).map(|(name, g)| (g.0, *name, g.2)).collect();
        members.sort_unstable();
        let total: usize = members.iter().map(|m| m.2).sum();
        let want = (total as f64 * options.val_share).round() as usize;
        let mut taken = 0;
        for (_, name, n) in members {
            if taken >= want {
                break;
            }
            val.insert(name.to_string());
            taken += n;
        }
    }
    for i in images.iter_mut().filter(|i| i.split.is_empty()) {
        i.split = if val.contains(&i.group) { "val" } else { "train" }.into();
    }
}

fn count(images: &[LabelledImage], positive: &BTreeSet<String>) -> Vec<ClassCount> {
    let mut classes: BTreeMap<&str, ClassCount> = BTreeMap::new();
    for i in images {
        let c = classes.entry(i.class.as_str()).or_insert_with(|| ClassCount { name: i.class.clone(), positive: positive.contains(&i.class), per_split: BTreeMap::new() });
        *c.per_split.entry(i.split.clone()).or_default() += 1;
    }
    classes.into_values().collect()
}

#[cfg(test)]
mod tests;
