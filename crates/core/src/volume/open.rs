//! Volumes in a drop of files: NIfTI files, and DICOM files grouped by folder into series,
//! each paired with its label volume by name, as images are with their masks: `x.nii.gz` +
//! `x_mask.nii.gz` (also `_seg`, `_label`, `_labels`, or a `masks/` or `labels/` folder), and a
//! DICOM folder `study/t2/` + `study/t2_mask.nii.gz` or a DICOM mask series in `study/t2_mask/`.

use super::{dicom, nifti, Volume};
use crate::data::file_bytes::FileBytes;
use std::collections::BTreeMap;

/// A volume's files, not yet read.
#[derive(Clone, Debug, PartialEq)]
pub enum Part {
    Nifti(FileBytes),
    /// The files of one folder (a series, or several).
    Dicom { folder: String, files: Vec<FileBytes> },
}

impl Part {
    pub fn name(&self) -> &str {
        match self {
            Part::Nifti(f) => &f.path,
            Part::Dicom { folder, .. } => folder,
        }
    }

    /// Reads it: DICOM folders may hold several series.
    fn read(&self, problems: &mut Vec<String>) -> Vec<Volume> {
        match self {
            Part::Nifti(f) => match nifti::read(&f.path, &f.bytes) {
                Ok(v) => vec![v],
                Err(why) => {
                    problems.push(format!("{}: {why}", f.path));
                    Vec::new()
                }
            },
            Part::Dicom { folder, files } => {
                let refs: Vec<&FileBytes> = files.iter().collect();
                let (volumes, mut found) = dicom::read_series(folder, &refs);
                problems.append(&mut found);
                volumes
            }
        }
    }
}

/// A scan volume with its label volume, if one came with it.
#[derive(Clone, Debug, PartialEq)]
pub struct Source {
    pub scan: Part,
    pub labels: Option<Part>,
}

/// A read scan and its labels (checked to lie on the scan's grid).
#[derive(Clone, Debug, PartialEq)]
pub struct Scan {
    pub volume: Volume,
    pub labels: Option<Volume>,
}

/// Whether a file belongs to a volume (rather than being a 2D image).
pub fn is_volume_file(path: &str, bytes: &[u8]) -> bool {
    nifti::is_nifti(path) || dicom::is_dicom(path, bytes)
}

/// (key, is_label) of a volume's name: suffixes and `masks`/`labels` folders mark labels.
fn key(name: &str) -> (String, bool) {
    let mut parts: Vec<&str> = name.split('/').filter(|p| !p.is_empty()).collect();
    let last = parts.pop().unwrap_or_default();
    let last = nifti::stem(last);
    let in_label_folder = parts.iter().any(|p| p.eq_ignore_ascii_case("masks") || p.eq_ignore_ascii_case("labels"));
    let (stem, suffixed) = ["_mask", "-mask", "_seg", "_label", "_labels"].iter().find_map(|s| last.strip_suffix(s)).map(|s| (s, true)).unwrap_or((last, false));
    let folders: Vec<&str> = parts.into_iter().map(|p| if p.eq_ignore_ascii_case("masks") || p.eq_ignore_ascii_case("labels") { "images" } else { p }).collect();
    (format!("{}/{stem}", folders.join("/")), suffixed || in_label_folder)
}

/// Groups volume files (cheap: nothing is decoded). DICOM files are grouped by their folder;
/// loose ones dropped together form one group.
pub fn group(files: Vec<FileBytes>, problems: &mut Vec<String>) -> Vec<Source> {
    let mut folders: BTreeMap<String, Vec<FileBytes>> = BTreeMap::new();
    let mut parts = Vec::new();
    for file in files {
        if nifti::is_nifti(&file.path) {
            parts.push(Part::Nifti(file));
        } else {
            let folder = file.path.rsplit_once('/').map(|(f, _)| f.to_string()).unwrap_or_else(|| "DICOM files".into());
            folders.entry(folder).or_default().push(file);
        }
    }
    parts.extend(folders.into_iter().map(|(folder, files)| Part::Dicom { folder, files }));
    let mut scans: BTreeMap<String, Part> = BTreeMap::new();
    let mut labels: BTreeMap<String, Part> = BTreeMap::new();
    for part in parts {
        let (key, is_label) = key(part.name());
        let slot = if is_label { &mut labels } else { &mut scans };
        if let Some(previous) = slot.insert(key, part) {
            problems.push(format!("{}: another volume has the same name; only one was kept", previous.name()));
        }
    }
    let mut sources: Vec<Source> = scans.into_iter().map(|(key, scan)| Source { scan, labels: labels.remove(&key) }).collect();
    // One scan and one label volume whose names do not match (loose DICOM files dropped with
    // their mask have no folder to be named after): they belong together.
    if let ([source], 1) = (&mut sources[..], labels.len()) {
        if source.labels.is_none() {
            source.labels = labels.pop_first().map(|(_, part)| part);
        }
    }
    for part in labels.into_values() {
        problems.push(format!("{}: a label volume with no scan of the same name (expected x.nii.gz + x_mask.nii.gz, or a DICOM folder x/ + x_mask.nii.gz)", part.name()));
    }
    sources
}

/// Reads a source. A label volume that cannot be used is reported and the scan loads without
/// it, as a bad mask does for an image.
pub fn read(source: &Source, problems: &mut Vec<String>) -> Vec<Scan> {
    let volumes = source.scan.read(problems);
    let mut labels = source.labels.as_ref().map(|l| (l.name().to_string(), l.read(problems)));
    volumes
        .into_iter()
        .enumerate()
        .map(|(k, volume)| {
            let labels = match labels.as_mut() {
                Some((name, read)) if k == 0 && !read.is_empty() => {
                    let candidate = read.remove(0);
                    match volume.check_same_grid(&candidate) {
                        Ok(()) => Some(candidate),
                        Err(why) => {
                            problems.push(format!("{name}: {why} (the scan is loaded without labels)"));
                            None
                        }
                    }
                }
                _ => None,
            };
            Scan { volume, labels }
        })
        .collect()
}
