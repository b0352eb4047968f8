//! DICOM series as volumes. A scanner writes one file per slice, named in no useful order, so
//! the files of a folder are grouped by series and stacked by where each slice lies in the
//! patient, and the series' geometry becomes a NIfTI-style affine (DICOM's LPS turned RAS+).
//!
//! Only what the model and the page need is read: pixel values, geometry, the display window.
//! Nothing that identifies the patient (name, ID, dates, institution) is kept or echoed, so a
//! volume, its name and every message can be shown, logged and shared as they are.
//!
//! Decoders index their output by what the file claims; the headers and compressed streams are
//! checked first, so a damaged or hostile file is a message, never a panic (the page's build
//! aborts on panic, so nothing could catch one there).

use super::{Affine, Geometry, Volume, Window, MAX_VOXELS};
use crate::data::file_bytes::FileBytes;
use dicom_core::Tag;
use dicom_dictionary_std::tags;
use dicom_object::{DefaultDicomObject, OpenFileOptions};
use dicom_pixeldata::{PixelDecoder, PixelRepresentation};
use dicom_transfer_syntax_registry::{TransferSyntaxIndex, TransferSyntaxRegistry};
use std::collections::BTreeMap;

/// Most bytes a deflated data set may inflate to: the largest volume's 16-bit pixels plus room
/// for the rest, so a deflate bomb is refused before the parser inflates it into memory.
const MAX_INFLATED: u64 = MAX_VOXELS as u64 * 2 + (64 << 20);

/// Whether a file is DICOM: extension .dcm/.dicom/.ima (case-insensitive), or the "DICM" magic at byte 128.
pub fn is_dicom(path: &str, bytes: &[u8]) -> bool {
    let file = path.rsplit('/').next().unwrap_or(path);
    let extension = file.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    matches!(extension.as_str(), "dcm" | "dicom" | "ima") || bytes.get(128..132) == Some(b"DICM".as_slice())
}

/// Reads DICOM files (all from one folder, or loose files dropped together) into volumes: one per
/// series (SeriesInstanceUID), slices sorted by their position along the slice normal
/// (ImagePositionPatient · (row dir × col dir)), NOT by file name. `group` is the folder path (or a
/// name for loose files); volume name = group, plus " (series N)" with SeriesNumber when the group
/// holds more than one series. Files that cannot be used are reported (one string each, starting
/// with the file's path) and skipped; a series whose slices differ in rows/columns or orientation is
/// reported naming the odd file and that file is skipped (the rest of the series loads).
pub fn read_series(group: &str, files: &[&FileBytes]) -> (Vec<Volume>, Vec<String>) {
    let mut problems = Vec::new();
    let mut slices = Vec::new();
    let mut files: Vec<&FileBytes> = files.to_vec();
    // Sorted by path so every choice below (ties, the reference slice) is reproducible.
    files.sort_by(|a, b| a.path.cmp(&b.path));
    for file in files {
        match read_header(file) {
            Ok((slice, note)) => {
                problems.extend(note);
                slices.push(slice);
            }
            Err(problem) => problems.push(problem),
        }
    }
    let series = by_series(slices);
    let labels = series_labels(&series);
    let mut volumes = Vec::new();
    for (label, members) in labels.into_iter().zip(series) {
        let name = if label.is_empty() { group.to_string() } else { format!("{group} (series {label})") };
        if let Some(volume) = build_volume(name, members, &mut problems) {
            volumes.push(volume);
        }
    }
    (volumes, problems)
}

/// What one file says about its slice: read, and checked, before any pixel is decoded, so a
/// series can be sorted and sized (and refused) without decoding it.
#[derive(Clone, Debug)]
struct Slice<'a> {
    file: &'a FileBytes,
    series: String,
    series_number: Option<i64>,
    rows: usize,
    cols: usize,
    orientation: Option<[f64; 6]>,
    position: Option<[f64; 3]>,
    /// PixelSpacing: [between rows, between columns].
    spacing: Option<[f64; 2]>,
    /// SpacingBetweenSlices, else SliceThickness: the step when positions cannot give one.
    gap: Option<f64>,
    instance: Option<i64>,
    window: Option<Window>,
    /// (slope, intercept) of the modality LUT.
    rescale: (f64, f64),
    syntax: String,
    monochrome1: bool,
}

/// Parses a file held in memory (with or without the 128-byte preamble).
fn parse(file: &FileBytes) -> Result<DefaultDicomObject, String> {
    lengths::check(&file.bytes).map_err(|problem| format!("{}: {problem}", file.path))?;
    OpenFileOptions::new()
        .from_reader(file.bytes.as_slice())
        .map_err(|e| format!("{}: not a readable DICOM file ({})", file.path, reason(&e)))
}

/// An error with its causes, as the crates' top-level messages alone are often vague.
fn reason(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let more = cause.to_string();
        if !text.contains(&more) {
            text = format!("{text}: {more}");
        }
        source = cause.source();
    }
    text
}

/// A text attribute, trimmed of DICOM's padding; `None` when absent or empty.
fn text(obj: &DefaultDicomObject, tag: Tag) -> Option<String> {
    let value = obj.get(tag)?.to_str().ok()?;
    let value = value.trim_matches(|c: char| c.is_whitespace() || c == '\0');
    (!value.is_empty()).then(|| value.to_string())
}

/// A numeric attribute's values, when all are finite.
fn floats(obj: &DefaultDicomObject, tag: Tag) -> Option<Vec<f64>> {
    let values = obj.get(tag)?.to_multi_float64().ok()?;
    (!values.is_empty() && values.iter().all(|v| v.is_finite())).then_some(values)
}

/// The first value of a numeric attribute.
fn float(obj: &DefaultDicomObject, tag: Tag) -> Option<f64> {
    floats(obj, tag)?.first().copied()
}

fn int(obj: &DefaultDicomObject, tag: Tag) -> Option<i64> {
    obj.get(tag)?.to_int::<i64>().ok()
}

/// A numeric attribute that must hold exactly `N` values.
fn array<const N: usize>(obj: &DefaultDicomObject, tag: Tag) -> Option<[f64; N]> {
    floats(obj, tag)?.try_into().ok()
}

/// Reads and checks one file's header; also returns a note when part of the file is left out.
fn read_header(file: &FileBytes) -> Result<(Slice<'_>, Option<String>), String> {
    let path = &file.path;
    check_deflated(&file.bytes, MAX_INFLATED).map_err(|problem| format!("{path}: {problem}"))?;
    let obj = parse(file)?;
    let uid = obj.meta().transfer_syntax().to_string();
    if obj.get(tags::PIXEL_DATA).is_none() {
        return Err(format!("{path}: holds no pixel data (not an image: e.g. a structured report or DICOMDIR)"));
    }
    let syntax = match TransferSyntaxRegistry.get(&uid) {
        Some(ts) if ts.can_decode_all() => ts.name().to_string(),
        Some(ts) => return Err(unsupported(path, ts.name(), &uid)),
        None => return Err(unsupported(path, "an unknown transfer syntax", &uid)),
    };
    let photometric = text(&obj, tags::PHOTOMETRIC_INTERPRETATION).unwrap_or_default();
    let samples = int(&obj, tags::SAMPLES_PER_PIXEL).unwrap_or(1);
    if samples != 1 || !photometric.starts_with("MONOCHROME") {
        let shown: String = photometric.chars().filter(|c| c.is_ascii_graphic()).take(16).collect();
        return Err(format!("{path}: colour DICOM images are not supported (PhotometricInterpretation {shown})"));
    }
    let (rows, cols) = match (int(&obj, tags::ROWS), int(&obj, tags::COLUMNS)) {
        (Some(r), Some(c)) if r > 0 && c > 0 && r <= 65535 && c <= 65535 => (r as usize, c as usize),
        _ => return Err(format!("{path}: has no valid image size (Rows, Columns)")),
    };
    let bits_allocated = int(&obj, tags::BITS_ALLOCATED).unwrap_or(0);
    if bits_allocated != 8 && bits_allocated != 16 {
        return Err(format!("{path}: {bits_allocated}-bit pixels are not supported (8 or 16 bits allocated)"));
    }
    match int(&obj, tags::BITS_STORED) {
        Some(stored) if (1..=bits_allocated).contains(&stored) => {}
        _ => return Err(format!("{path}: BitsStored is missing or not within 1..{bits_allocated}")),
    }
    let frames = int(&obj, tags::NUMBER_OF_FRAMES).unwrap_or(1).max(1) as usize;
    if rows.saturating_mul(cols).saturating_mul(frames) > MAX_VOXELS {
        return Err(format!("{path}: {cols}x{rows} pixels x {frames} frames is more than camseg reads ({MAX_VOXELS} voxels)"));
    }
    check_encoded(&obj, &uid, rows * cols, bits_allocated as usize / 8, frames).map_err(|problem| format!("{path}: {problem}"))?;
    let note = (frames > 1).then(|| format!("{path}: holds {frames} frames; only the first was read (multi-frame files are read as one slice)"));
    let window = match (float(&obj, tags::WINDOW_CENTER), float(&obj, tags::WINDOW_WIDTH)) {
        (Some(c), Some(w)) if w > 0.0 => Some(Window::from_level(c as f32, w as f32)),
        _ => None,
    };
    let slice = Slice {
        file,
        series: text(&obj, tags::SERIES_INSTANCE_UID).unwrap_or_default(),
        series_number: int(&obj, tags::SERIES_NUMBER),
        rows,
        cols,
        orientation: array(&obj, tags::IMAGE_ORIENTATION_PATIENT),
        position: array(&obj, tags::IMAGE_POSITION_PATIENT),
        spacing: array(&obj, tags::PIXEL_SPACING).filter(|s: &[f64; 2]| s.iter().all(|&v| v > 0.0)),
        gap: float(&obj, tags::SPACING_BETWEEN_SLICES).or_else(|| float(&obj, tags::SLICE_THICKNESS)).filter(|&g| g > 0.0),
        instance: int(&obj, tags::INSTANCE_NUMBER),
        window,
        rescale: (float(&obj, tags::RESCALE_SLOPE).unwrap_or(1.0), float(&obj, tags::RESCALE_INTERCEPT).unwrap_or(0.0)),
        syntax,
        monochrome1: photometric == "MONOCHROME1",
    };
    Ok((slice, note))
}

/// The message for pixel data compressed in a way the page cannot decode.
fn unsupported(path: &str, name: &str, uid: &str) -> String {
    format!("{path}: compressed with {name} ({uid}), which camseg cannot decode; convert the series to uncompressed DICOM or NIfTI")
}

/// Slices grouped by SeriesInstanceUID, series ordered by SeriesNumber (then UID).
fn by_series(slices: Vec<Slice<'_>>) -> Vec<Vec<Slice<'_>>> {
    let mut groups: BTreeMap<String, Vec<Slice>> = BTreeMap::new();
    for slice in slices {
        groups.entry(slice.series.clone()).or_default().push(slice);
    }
    let mut series: Vec<Vec<Slice>> = groups.into_values().collect();
    series.sort_by_key(|s| (s[0].series_number.is_none(), s[0].series_number));
    series
}

/// Each series' label: its SeriesNumber when every series has a distinct one, else its place
/// (1, 2, ...); empty when there is only one series, which needs none.
fn series_labels(series: &[Vec<Slice>]) -> Vec<String> {
    if series.len() < 2 {
        return vec![String::new(); series.len()];
    }
    let numbers: Vec<Option<i64>> = series.iter().map(|s| s[0].series_number).collect();
    let distinct = numbers.iter().all(Option::is_some) && (1..numbers.len()).all(|i| !numbers[..i].contains(&numbers[i]));
    numbers.iter().enumerate().map(|(i, n)| if distinct { n.unwrap_or_default().to_string() } else { (i + 1).to_string() }).collect()
}

/// Orientation rounded, so slices of one stack compare equal despite printing noise.
fn orientation_key(slice: &Slice) -> Option<[i64; 6]> {
    slice.orientation.map(|o| o.map(|v| (v * 1000.0).round() as i64))
}

/// What the slices of one stack share: rows, columns, orientation.
type Shape = (usize, usize, Option<[i64; 6]>);

/// Drops (and reports) slices whose size or orientation differs from most of their series.
fn keep_consistent<'a>(slices: Vec<Slice<'a>>, problems: &mut Vec<String>) -> Vec<Slice<'a>> {
    let key = |s: &Slice| -> Shape { (s.rows, s.cols, orientation_key(s)) };
    let mut counts: Vec<(Shape, usize)> = Vec::new();
    for slice in &slices {
        match counts.iter_mut().find(|(k, _)| *k == key(slice)) {
            Some((_, n)) => *n += 1,
            None => counts.push((key(slice), 1)),
        }
    }
    // The most common shape wins; a tie goes to the first file by name.
    let Some(best) = counts.iter().fold(None, |best: Option<&(_, usize)>, c| if best.is_some_and(|b| b.1 >= c.1) { best } else { Some(c) }) else {
        return slices;
    };
    let (rows, cols, orientation) = best.0;
    let mut kept = Vec::new();
    for slice in slices {
        if (slice.rows, slice.cols) != (rows, cols) {
            problems.push(format!(
                "{}: is {}x{} pixels but the rest of its series is {cols}x{rows}; this file was skipped",
                slice.file.path, slice.cols, slice.rows
            ));
        } else if orientation_key(&slice) != orientation {
            problems.push(format!(
                "{}: lies in another orientation (ImageOrientationPatient) than the rest of its series; this file was skipped",
                slice.file.path
            ));
        } else {
            kept.push(slice);
        }
    }
    kept
}

fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
}

fn unit(v: [f64; 3]) -> Option<[f64; 3]> {
    let norm = dot(v, v).sqrt();
    (norm > 1e-6).then(|| v.map(|x| x / norm))
}

/// The row direction (along a row: increasing column), column direction and slice normal, in
/// LPS, when the orientation is usable.
fn directions(orientation: Option<[f64; 6]>) -> Option<[[f64; 3]; 3]> {
    let o = orientation?;
    let row = unit([o[0], o[1], o[2]])?;
    let col = unit([o[3], o[4], o[5]])?;
    let normal = unit(cross(row, col))?;
    (dot(row, col).abs() < 0.1).then_some([row, col, normal])
}

/// Sorts slices along the normal when every slice has a position; otherwise by InstanceNumber,
/// then file name. Returns whether positions were used.
fn sort_slices(slices: &mut [Slice], normal: Option<[f64; 3]>) -> bool {
    let by_instance = |a: &Slice, b: &Slice| (a.instance.is_none(), a.instance, &a.file.path).cmp(&(b.instance.is_none(), b.instance, &b.file.path));
    match normal {
        Some(n) if slices.iter().all(|s| s.position.is_some()) => {
            let along = |s: &Slice| s.position.map_or(0.0, |p| dot(p, n));
            slices.sort_by(|a, b| along(a).total_cmp(&along(b)).then_with(|| by_instance(a, b)));
            true
        }
        _ => {
            slices.sort_by(by_instance);
            false
        }
    }
}

/// Stacks one series' slices into a volume: consistency check, sort, size check, decode, then
/// geometry from the slices that decoded.
fn build_volume(name: String, slices: Vec<Slice<'_>>, problems: &mut Vec<String>) -> Option<Volume> {
    let mut slices = keep_consistent(slices, problems);
    let first = slices.first()?;
    let (rows, cols) = (first.rows, first.cols);
    let axes = directions(first.orientation);
    let positioned = sort_slices(&mut slices, axes.map(|a| a[2]));
    let total = rows.saturating_mul(cols).saturating_mul(slices.len());
    if total > MAX_VOXELS {
        problems.push(format!("{name}: {cols}x{rows}x{} voxels is more than camseg reads ({MAX_VOXELS} voxels)", slices.len()));
        return None;
    }
    let mut data: Vec<f32> = Vec::new();
    if data.try_reserve_exact(total).is_err() {
        problems.push(format!("{name}: not enough memory for {cols}x{rows}x{} voxels", slices.len()));
        return None;
    }
    let mut kept = Vec::with_capacity(slices.len());
    for slice in slices {
        match decode(&slice) {
            Ok(values) => {
                data.extend(values);
                kept.push(slice);
            }
            Err(problem) => problems.push(problem),
        }
    }
    let first = kept.first()?;
    let (affine, mut notes) = affine(&kept, axes.filter(|_| positioned), axes);
    if first.monochrome1 {
        notes.push("MONOCHROME1 (high values dark)".into());
    }
    let format = std::iter::once(format!("DICOM, {}", first.syntax)).chain(notes).collect::<Vec<_>>().join(", ");
    let mut volume = Volume::new(name, [cols, rows, kept.len()], data, Geometry::from_affine(affine), format);
    volume.window = first.window;
    volume.unit_u8 = false;
    Some(volume)
}

/// The voxel-to-RAS affine of sorted slices, and notes on what had to be assumed. `positioned`
/// holds the directions when every slice has a position (and they were sorted by it);
/// `axes` the directions when only the orientation is known.
fn affine(slices: &[Slice], positioned: Option<[[f64; 3]; 3]>, axes: Option<[[f64; 3]; 3]>) -> (Affine, Vec<String>) {
    let mut notes = Vec::new();
    let first = &slices[0];
    let [dy, dx] = first.spacing.unwrap_or_else(|| {
        notes.push("no pixel spacing: 1 mm assumed".into());
        [1.0, 1.0]
    });
    let gap = first.gap.unwrap_or(1.0);
    // Without an orientation, the usual axial one: columns toward the patient's left, rows
    // toward posterior, as a viewer would show the raw image.
    let [row, col, normal] = axes.unwrap_or([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]);
    let (origin, mut step) = match (positioned, first.position) {
        (Some(_), Some(origin)) => {
            let last = slices[slices.len() - 1].position.unwrap_or(origin);
            let n = (slices.len().max(2) - 1) as f64;
            (origin, [0, 1, 2].map(|a| (last[a] - origin[a]) / n))
        }
        _ => {
            notes.push("no position tags: slices in instance order".into());
            (first.position.unwrap_or([0.0; 3]), normal.map(|v| v * gap))
        }
    };
    if slices.len() > 1 && positioned.is_some() {
        if dot(step, step).sqrt() < 1e-6 {
            notes.push("all slices at one position".into());
            step = normal.map(|v| v * gap);
        } else if let Some(note) = uneven_gaps(slices, normal) {
            notes.push(note);
        }
    } else if slices.len() == 1 {
        step = normal.map(|v| v * gap);
    }
    let lps = [0, 1, 2].map(|a| [row[a] * dx, col[a] * dy, step[a], origin[a]]);
    // DICOM's patient axes are LPS; the volume's world is RAS+.
    let ras = [lps[0].map(|v| -v), lps[1].map(|v| -v), lps[2]];
    (ras, notes)
}

/// A note when slices are not evenly spaced (a gap, or two acquisitions mixed in one series):
/// the affine assumes an even step.
fn uneven_gaps(slices: &[Slice], normal: [f64; 3]) -> Option<String> {
    let along: Vec<f64> = slices.iter().filter_map(|s| s.position).map(|p| dot(p, normal)).collect();
    let gaps: Vec<f64> = along.windows(2).map(|w| w[1] - w[0]).collect();
    let (low, high) = gaps.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &g| (l.min(g), h.max(g)));
    (high - low > 0.01 + 0.1 * high.abs()).then(|| format!("uneven slice spacing ({low:.2} to {high:.2} mm)"))
}

/// Decodes a slice's first frame to modality values (stored value x slope + intercept).
fn decode(slice: &Slice) -> Result<Vec<f32>, String> {
    let path = &slice.file.path;
    let obj = parse(slice.file)?;
    let failed = |e: &dyn std::error::Error| format!("{path}: the pixel data could not be decoded ({})", reason(e));
    let pixels = obj.decode_pixel_data().map_err(|e| failed(&e))?;
    let bytes = pixels.frame_data(0).map_err(|e| failed(&e))?;
    let stored = pixels.bits_stored().clamp(1, 16) as u32;
    let signed = pixels.pixel_representation() == PixelRepresentation::Signed;
    let (slope, intercept) = slice.rescale;
    let value = |raw: u32| {
        let v = raw & ((1u32 << stored) - 1);
        let v = if signed && v >> (stored - 1) == 1 { v as i64 - (1i64 << stored) } else { v as i64 };
        (v as f64 * slope + intercept) as f32
    };
    let values: Vec<f32> = match pixels.bits_allocated() {
        8 => bytes.iter().map(|&b| value(b as u32)).collect(),
        16 => bytes.chunks_exact(2).map(|b| value(u16::from_le_bytes([b[0], b[1]]) as u32)).collect(),
        bits => return Err(format!("{path}: {bits}-bit pixels are not supported")),
    };
    if values.len() != slice.rows * slice.cols {
        return Err(format!("{path}: the pixel data holds {} pixels, not {}x{}", values.len(), slice.cols, slice.rows));
    }
    Ok(values)
}

mod encoded;
mod lengths;

use encoded::{check_deflated, check_encoded};

#[cfg(test)]
mod tests;
