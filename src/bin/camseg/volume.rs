//! `cam` and `eval` on a volume: a NIfTI file or a DICOM folder, with a label volume as the
//! true mask. Every slice of the chosen view is classified and explained; Dice is reported per
//! slice and for the whole volume (3D Dice, summed over voxels).

use crate::common::bar;
use burn::tensor::Device;
use camseg::card::{CamDefaults, ModelCard};
use camseg::data::upload::FileBytes;
use camseg::evaluate::{summarise, ImageScore, Summary};
use camseg::masks::Mask;
use camseg::model::Classifier;
use camseg::pipeline::analyse;
use camseg::volume::open::{self, Part, Scan, Source};
use camseg::volume::score::{sum_dice, Tally, VolumeDice};
use camseg::volume::{nifti, View, Window};
use camseg::{block_on, Error, Result};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// The volume options `cam` and `eval` share.
#[derive(clap::Args, Clone)]
pub struct VolumeArgs {
    /// How to cut a volume: axial, coronal or sagittal (named for the patient).
    #[arg(long, default_value = "axial")]
    pub axis: String,
    /// Intensity window LOW:HIGH mapped to [0, 1] (default: the file's own, else 0..255 for
    /// 8-bit volumes, else the 0.5-99.5th percentiles).
    #[arg(long)]
    pub window: Option<String>,
}

/// Whether a path is a volume (a NIfTI file or a folder, read as DICOM).
pub fn is_volume(path: &Path) -> bool {
    path.is_dir() || nifti::is_nifti(&path.to_string_lossy()) || is_dicom_file(path)
}

/// A single DICOM file (by its name or its magic): read as a series of one.
fn is_dicom_file(path: &Path) -> bool {
    use std::io::Read;
    let mut head = Vec::with_capacity(132);
    let read = std::fs::File::open(path).and_then(|f| f.take(132).read_to_end(&mut head));
    read.is_ok() && camseg::volume::dicom::is_dicom(&path.to_string_lossy(), &head)
}

/// A NIfTI file, or every file under a folder (a DICOM series), as the reader's parts.
fn part(path: &Path) -> Result<Part> {
    let name = path.to_string_lossy().trim_end_matches('/').to_string();
    let read = |p: &Path| std::fs::read(p).map_err(|e| Error::io(p.display(), e));
    if !path.is_dir() {
        let file = FileBytes::new(name.clone(), read(path)?);
        return Ok(if is_dicom_file(path) { Part::Dicom { folder: name, files: vec![file] } } else { Part::Nifti(file) });
    }
    let mut files = Vec::new();
    let mut folders = vec![path.to_path_buf()];
    while let Some(dir) = folders.pop() {
        for entry in std::fs::read_dir(&dir).map_err(|e| Error::io(dir.display(), e))? {
            let p = entry.map_err(|e| Error::io(dir.display(), e))?.path();
            if p.is_dir() {
                folders.push(p);
            } else if !p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')) {
                files.push(FileBytes::new(p.to_string_lossy(), read(&p)?));
            }
        }
    }
    if files.is_empty() {
        return Err(Error::Invalid(format!("{name}: the folder holds no files (a DICOM series was expected)")));
    }
    Ok(Part::Dicom { folder: name, files })
}

/// Reads the scan and its labels; any problem is an error naming the file.
pub fn read(scan: &Path, labels: Option<&PathBuf>) -> Result<Scan> {
    let source = Source { scan: part(scan)?, labels: labels.map(|l| part(l)).transpose()? };
    let mut problems = Vec::new();
    let mut scans = open::read(&source, &mut problems);
    let labels_lost = labels.is_some() && scans.first().is_some_and(|s| s.labels.is_none());
    if scans.is_empty() || labels_lost {
        return Err(Error::Invalid(problems.join("\n")));
    }
    for p in &problems {
        eprintln!("camseg: warning: {p}");
    }
    Ok(scans.remove(0))
}

/// One slice's figures.
#[derive(Clone, Debug, Serialize)]
pub struct SliceRow {
    pub slice: usize,
    pub probability: f32,
    pub truth_px: Option<usize>,
    pub mask_px: usize,
    /// Dice of the slice's mask; None without labels or when the slice has no tumour.
    pub dice: Option<f64>,
}

/// A volume's analysis: every slice of the view, and the volume's Dice.
#[derive(Debug, Serialize)]
pub struct VolumeReport {
    pub volume: String,
    pub format: String,
    pub dims: [usize; 3],
    pub view: View,
    pub window: [f32; 2],
    pub method: String,
    pub block: usize,
    pub threshold: String,
    /// 3D Dice and its gated form (slices called "no tumour" contribute no mask).
    pub dice_3d: Option<VolumeDice>,
    /// Classification and mean slice Dice over the slices, as `eval` reports a dataset.
    pub summary: Option<Summary>,
    pub slices: Vec<SliceRow>,
    /// Each slice's mask at the threshold, ungated.
    #[serde(skip)]
    pub masks: Vec<Mask>,
}

/// Classifies and explains every slice of `scan` in `args`' view.
pub fn analyse_volume(card: &ModelCard, model: &Classifier, scan: &Scan, cam: CamDefaults, args: &VolumeArgs, device: &Device) -> Result<VolumeReport> {
    let view = View::parse(&args.axis).ok_or_else(|| Error::Invalid(format!("--axis {}: expected axial, coronal or sagittal", args.axis)))?;
    let window = match &args.window {
        Some(text) => Window::parse(text).ok_or_else(|| Error::Invalid(format!("--window {text}: expected LOW:HIGH with LOW < HIGH, e.g. 0:800")))?,
        None => scan.volume.default_window(),
    };
    let CamDefaults { method, block, threshold, .. } = cam;
    let count = scan.volume.slices(view);
    let bar = bar(count, "slices");
    let (mut rows, mut scores, mut masks, mut tallies) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for start in (0..count).step_by(16) {
        let indices: Vec<usize> = (start..count.min(start + 16)).collect();
        let images: Vec<_> = indices.iter().map(|&k| scan.volume.slice(view, k, window)).collect();
        let analyses = block_on(analyse(model, &card.input, &images.iter().collect::<Vec<_>>(), block, method, device))?;
        for (&k, a) in indices.iter().zip(analyses) {
            let truth = scan.labels.as_ref().map(|l| l.label_slice(view, k));
            let mask = a.mask(threshold);
            let name = camseg::volume::slice_name(&scan.volume.name, view, k, count);
            let score = ImageScore::new(&name, a.probability, &a.heatmap, truth.as_ref(), truth.as_ref().is_some_and(|t| !t.is_empty()), threshold);
            rows.push(SliceRow { slice: k, probability: a.probability, truth_px: truth.as_ref().map(|t| t.area()), mask_px: mask.area(), dice: score.dice });
            if let Some(t) = &truth {
                // Counted voxel by voxel at any threshold (the page sums the same counts, taken
                // per slice on its slider's grid).
                let overlap = mask.bits.iter().zip(&t.bits).filter(|(a, b)| **a && **b).count();
                tallies.push(Tally { probability: a.probability, predicted: mask.area() as u64, overlap: overlap as u64, truth: t.area() as u64 });
            }
            scores.push(score);
            masks.push(mask);
        }
        bar.inc(indices.len() as u64);
    }
    bar.finish_and_clear();
    let labelled = scan.labels.is_some();
    let dice_3d = labelled.then(|| sum_dice(tallies));
    Ok(VolumeReport {
        volume: scan.volume.name.clone(),
        format: scan.volume.format.clone(),
        dims: scan.volume.dims,
        view,
        window: [window.low, window.high],
        method: method.name().into(),
        block,
        threshold: threshold.to_string(),
        dice_3d,
        summary: labelled.then(|| summarise(&scores, method.name(), block, threshold)),
        slices: rows,
        masks,
    })
}

/// The report as text: a line per slice, then the volume's figures.
pub fn print(report: &VolumeReport) {
    println!("{} ({}, {:?} voxels), {} slices, window {}:{}", report.volume, report.format, report.dims, report.view.label(), report.window[0], report.window[1]);
    println!("{} block {} threshold {}", report.method, report.block, report.threshold);
    for r in &report.slices {
        let truth = r.truth_px.map(|t| format!("  truth {t:>6} px")).unwrap_or_default();
        let dice = r.dice.map(|d| format!("  dice {d:.4}")).unwrap_or_default();
        println!("slice {:>4}  p {:.4}  mask {:>6} px{truth}{dice}", r.slice + 1, r.probability, r.mask_px);
    }
    if let Some(d) = &report.dice_3d {
        println!("3D dice {:.4} (gated by p >= 0.5: {:.4}); {} true voxels, {} predicted", d.dice, d.gated_dice, d.truth_voxels, d.predicted_voxels);
    }
    if let Some(s) = &report.summary {
        println!("slices {} (tumour {}): accuracy {:.4}  auc {:.4}  mean slice Dice {:.4}", s.images, s.tumour_images, s.accuracy, s.auc, s.mean_dice);
    }
}

/// Writes the predicted masks as NIfTI on the scan's grid (slices called "no tumour" left
/// empty when `gated`).
pub fn write_mask(scan: &Scan, report: &VolumeReport, gated: bool, path: &Path) -> Result<()> {
    let masks: Vec<Option<Mask>> = report.masks.iter().zip(&report.slices).map(|(m, r)| (!gated || r.probability >= camseg::evaluate::GATE).then(|| m.clone())).collect();
    let voxels = scan.volume.voxels_from_slices(report.view, &masks);
    std::fs::write(path, nifti::write_mask(&scan.volume, &voxels)).map_err(|e| Error::io(path.display(), e))
}
