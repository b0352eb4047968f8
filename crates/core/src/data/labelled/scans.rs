//! Volumes among labelled files (NIfTI files, DICOM series by folder) as labelled scans: each
//! scan is cut into its axial slices with its own display window, as the page cuts a dropped
//! volume, and each slice is one labelled image, labelled by the scan's folder (or its CSV row)
//! and grouped by its scan, so a split never separates slices of one scan. A label volume that
//! pairs with the scan by the page's rules (`x.nii.gz` + `x_mask.nii.gz`, a DICOM folder +
//! `x_mask.nii.gz`) gives the slices' masks.

use super::{fnv1a, Entry};
use crate::data::file_bytes::FileBytes;
use crate::masks::Mask;
use crate::plane::Plane;
use crate::volume::{open, View, Window};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The view labelled scans are cut along: the acquisition plane of most scans, and the page's
/// default.
const VIEW: View = View::Axial;

/// Where a slice entry came from.
#[derive(Clone, Debug, PartialEq)]
pub struct ScanRef {
    /// The scan's file, or its DICOM folder: what a labels CSV names.
    pub scan: String,
    /// The volume as read (a DICOM folder may hold several series): the slices' group.
    pub volume: String,
    /// Its label volume's name, when one came with it.
    pub labels: Option<String>,
}

/// Scans cut into slices: an [`Entry`] per slice for the label rules, and each slice's pixels
/// and mask on demand (the scans are kept whole, once; slices are drawn when asked for).
#[derive(Clone, Debug, Default)]
pub struct ScanSlices {
    pub entries: Vec<Entry>,
    slices: BTreeMap<String, Slice>,
}

#[derive(Clone, Debug)]
struct Slice {
    scan: Arc<open::Scan>,
    window: Window,
    index: usize,
}

impl ScanSlices {
    /// Reads `files` (volume files only, paths relative to the labelled folder) and cuts each
    /// scan. What cannot be read is reported in `problems`, naming the file, and left out.
    pub fn cut(files: Vec<FileBytes>, problems: &mut Vec<String>) -> ScanSlices {
        let mut out = ScanSlices::default();
        for source in open::group(files, problems) {
            let folder = folder_of(&source.scan);
            let scan_name = source.scan.name().to_string();
            let labels_name = source.labels.as_ref().map(|l| l.name().to_string());
            for scan in open::read(&source, problems) {
                let count = scan.volume.slices(VIEW);
                let (width, height) = scan.volume.slice_size(VIEW);
                if count == 0 || width == 0 || height == 0 {
                    problems.push(format!("{}: a volume without slices; skipped", scan.volume.name));
                    continue;
                }
                let window = scan.volume.default_window();
                let shown = scan.volume.name.rsplit('/').next().unwrap_or(&scan.volume.name).to_string();
                let labels = scan.labels.as_ref().and(labels_name.clone());
                let scan = Arc::new(scan);
                let digits = count.to_string().len();
                for index in 0..count {
                    // Inside the scan's own folder, so class folders read it as its files.
                    let path = format!("{folder}{shown} · {} {:0digits$} of {count}", VIEW.label(), index + 1);
                    let plane = scan.volume.slice(VIEW, index, window);
                    let digest = fnv1a(&plane.data.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>());
                    let from = ScanRef { scan: scan_name.clone(), volume: scan.volume.name.clone(), labels: labels.clone() };
                    out.entries.push(Entry { path: path.clone(), size: Some((width, height)), digest, scan: Some(from) });
                    out.slices.insert(path, Slice { scan: scan.clone(), window, index });
                }
            }
        }
        out
    }

    /// The slice `path` names, windowed to [0, 1]; `None` if it names no slice.
    pub fn image(&self, path: &str) -> Option<Plane> {
        self.slices.get(path).map(|s| s.scan.volume.slice(VIEW, s.index, s.window))
    }

    /// The slice's mask, where its scan came with a label volume.
    pub fn mask(&self, path: &str) -> Option<Mask> {
        let s = self.slices.get(path)?;
        s.scan.labels.as_ref().map(|labels| labels.label_slice(VIEW, s.index))
    }

    /// The slice's place in its scan (0 = first), for a record's `slice` column.
    pub fn index(&self, path: &str) -> Option<usize> {
        self.slices.get(path).map(|s| s.index)
    }
}

/// The folder the scan's files lie in, with its trailing `/` (empty at the top).
fn folder_of(part: &open::Part) -> String {
    let inside = match part {
        open::Part::Nifti(f) => f.path.rsplit_once('/').map(|(folder, _)| folder),
        open::Part::Dicom { folder, files } => files.first().and_then(|f| f.path.rsplit_once('/')).map(|(f, _)| f).or(Some(folder.as_str())).filter(|f| *f != "DICOM files"),
    };
    inside.map(|f| format!("{f}/")).unwrap_or_default()
}
