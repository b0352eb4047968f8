//! Scans as volumes: NIfTI files ([`nifti`]) and DICOM series ([`dicom`]) become a [`Volume`],
//! voxels with their place in the patient, and a volume becomes the 2D slices the classifier
//! reads ([`Volume::slice`]). A slice shown and fed to the model is the same [`Plane`] a PNG of
//! the same pixels would give, so a model trained on PNG slices reads volumes unchanged.
//!
//! Orientation comes from the file's affine, so "axial" means axial whatever the voxel order:
//! slices are drawn in radiological convention (the patient's right on the screen's left,
//! anterior or superior up), as clinical viewers draw them.

pub mod dicom;
#[cfg(not(target_arch = "wasm32"))]
pub mod dicom_writer;
pub mod nifti;
pub mod open;
pub mod score;

use crate::masks::Mask;
use crate::plane::Plane;
use serde::{Deserialize, Serialize};

/// Largest volume read (voxels), so a hostile header cannot exhaust memory: 512^3 is 128 M.
pub const MAX_VOXELS: usize = 512 * 512 * 512;

/// Which way a volume is cut into slices, named for the patient, not the voxel order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum View {
    #[default]
    Axial,
    Coronal,
    Sagittal,
}

impl View {
    pub const ALL: [View; 3] = [View::Axial, View::Coronal, View::Sagittal];

    pub fn label(self) -> &'static str {
        match self {
            View::Axial => "axial",
            View::Coronal => "coronal",
            View::Sagittal => "sagittal",
        }
    }

    pub fn parse(text: &str) -> Option<View> {
        View::ALL.into_iter().find(|v| v.label().eq_ignore_ascii_case(text.trim()))
    }

    /// World (RAS+) directions of (slice normal, screen x, screen y), as signed axis numbers
    /// (0 = R, 1 = A, 2 = S): screen x runs toward the patient's left (-R) on axial and
    /// coronal slices, toward posterior (-A) on sagittal ones; screen y runs down.
    fn directions(self) -> [(usize, f64); 3] {
        match self {
            View::Axial => [(2, 1.0), (0, -1.0), (1, -1.0)],
            View::Coronal => [(1, 1.0), (0, -1.0), (2, -1.0)],
            View::Sagittal => [(0, 1.0), (1, -1.0), (2, -1.0)],
        }
    }
}

/// Where voxels lie in the patient: the NIfTI header's geometry fields (a DICOM series is
/// given the same fields), kept as read so an exported mask carries the input's exact affine.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Geometry {
    /// qfac, then voxel sizes (mm) along i, j, k.
    pub pixdim: [f64; 4],
    pub qform_code: i16,
    pub quatern: [f64; 3],
    pub qoffset: [f64; 3],
    pub sform_code: i16,
    /// The sform's rows: world (RAS+, mm) = srow * (i, j, k, 1).
    pub srow: [[f64; 4]; 3],
}

/// Voxel index -> world (RAS+, mm), as three rows of a 4x4 matrix.
pub type Affine = [[f64; 4]; 3];

impl Geometry {
    /// The voxel-to-world affine by the NIfTI rules: the sform when set, else the qform, else
    /// voxel sizes alone.
    pub fn affine(&self) -> Affine {
        if self.sform_code > 0 {
            return self.srow;
        }
        let [qfac, dx, dy, dz] = self.pixdim;
        if self.qform_code > 0 {
            let [b, c, d] = self.quatern;
            let a = (1.0 - (b * b + c * c + d * d)).max(0.0).sqrt();
            let r = [
                [a * a + b * b - c * c - d * d, 2.0 * (b * c - a * d), 2.0 * (b * d + a * c)],
                [2.0 * (b * c + a * d), a * a + c * c - b * b - d * d, 2.0 * (c * d - a * b)],
                [2.0 * (b * d - a * c), 2.0 * (c * d + a * b), a * a + d * d - c * c - b * b],
            ];
            let qfac = if qfac < 0.0 { -1.0 } else { 1.0 };
            let s = [dx, dy, dz * qfac];
            let mut m = [[0.0; 4]; 3];
            for row in 0..3 {
                for col in 0..3 {
                    m[row][col] = r[row][col] * s[col];
                }
                m[row][3] = self.qoffset[row];
            }
            return m;
        }
        [[dx.abs().max(1e-6), 0.0, 0.0, 0.0], [0.0, dy.abs().max(1e-6), 0.0, 0.0], [0.0, 0.0, dz.abs().max(1e-6), 0.0]]
    }

    /// Voxel sizes (mm) along i, j, k: the lengths of the affine's columns.
    pub fn spacing(&self) -> [f64; 3] {
        spacing(&self.affine())
    }

    /// Fields that give `affine` both as sform and (its rotation part) as qform, for volumes
    /// that come without a NIfTI header (DICOM series).
    pub fn from_affine(affine: Affine) -> Self {
        let column = |c: usize| [affine[0][c], affine[1][c], affine[2][c]];
        let sizes = spacing(&affine);
        let unit = |c: usize| column(c).map(|x| x / sizes[c].max(1e-12));
        let (u, v, mut w) = (unit(0), unit(1), unit(2));
        let det = u[0] * (v[1] * w[2] - v[2] * w[1]) - u[1] * (v[0] * w[2] - v[2] * w[0]) + u[2] * (v[0] * w[1] - v[1] * w[0]);
        let qfac = if det < 0.0 { -1.0 } else { 1.0 };
        w = w.map(|x| x * qfac);
        // Rotation matrix (columns u, v, w) to a unit quaternion with a >= 0.
        let r = [[u[0], v[0], w[0]], [u[1], v[1], w[1]], [u[2], v[2], w[2]]];
        let trace = r[0][0] + r[1][1] + r[2][2];
        let (a, b, c, d) = if trace > 0.0 {
            let s = (trace + 1.0).sqrt() * 2.0;
            (0.25 * s, (r[2][1] - r[1][2]) / s, (r[0][2] - r[2][0]) / s, (r[1][0] - r[0][1]) / s)
        } else if r[0][0] > r[1][1] && r[0][0] > r[2][2] {
            let s = (1.0 + r[0][0] - r[1][1] - r[2][2]).sqrt() * 2.0;
            ((r[2][1] - r[1][2]) / s, 0.25 * s, (r[0][1] + r[1][0]) / s, (r[0][2] + r[2][0]) / s)
        } else if r[1][1] > r[2][2] {
            let s = (1.0 + r[1][1] - r[0][0] - r[2][2]).sqrt() * 2.0;
            ((r[0][2] - r[2][0]) / s, (r[0][1] + r[1][0]) / s, 0.25 * s, (r[1][2] + r[2][1]) / s)
        } else {
            let s = (1.0 + r[2][2] - r[0][0] - r[1][1]).sqrt() * 2.0;
            ((r[1][0] - r[0][1]) / s, (r[0][2] + r[2][0]) / s, (r[1][2] + r[2][1]) / s, 0.25 * s)
        };
        let sign = if a < 0.0 { -1.0 } else { 1.0 };
        Self {
            pixdim: [qfac, sizes[0], sizes[1], sizes[2]],
            qform_code: 1,
            quatern: [b * sign, c * sign, d * sign],
            qoffset: [affine[0][3], affine[1][3], affine[2][3]],
            sform_code: 1,
            srow: affine,
        }
    }
}

/// Lengths of an affine's first three columns.
fn spacing(affine: &Affine) -> [f64; 3] {
    [0, 1, 2].map(|c| (affine[0][c].powi(2) + affine[1][c].powi(2) + affine[2][c].powi(2)).sqrt())
}

/// A scan volume: voxel values (after the file's rescale slope and intercept), i fastest,
/// then j, then k, as NIfTI stores them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Volume {
    /// As the person named it: the file, or the folder of a DICOM series.
    pub name: String,
    pub dims: [usize; 3],
    #[serde(with = "crate::plane::floats_as_bytes")]
    pub data: Vec<f32>,
    pub geometry: Geometry,
    /// The file's own display window (DICOM window centre/width, NIfTI cal_min/cal_max).
    pub window: Option<Window>,
    /// 8-bit unsigned voxels with no rescale: shown and fed as an 8-bit PNG is (value / 255).
    pub unit_u8: bool,
    /// What was read, for the person: e.g. "NIfTI-1, int16" or "DICOM, RLE Lossless".
    pub format: String,
}

/// Intensities mapped to [0, 1] for display and for the model: `low` -> 0, `high` -> 1.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Window {
    pub low: f32,
    pub high: f32,
}

impl Window {
    /// From a viewer's level (centre) and width.
    pub fn from_level(level: f32, width: f32) -> Self {
        Self { low: level - width / 2.0, high: level + width / 2.0 }
    }

    pub fn level(&self) -> f32 {
        (self.low + self.high) / 2.0
    }

    pub fn width(&self) -> f32 {
        self.high - self.low
    }

    /// `"LOW:HIGH"`, as the CLI's `--window` takes it.
    pub fn parse(text: &str) -> Option<Self> {
        let (a, b) = text.split_once(':')?;
        let (low, high) = (a.trim().parse::<f32>().ok()?, b.trim().parse::<f32>().ok()?);
        (low.is_finite() && high.is_finite() && high > low).then_some(Self { low, high })
    }
}

/// How one view of a volume maps screen pixels to voxels.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Cut {
    /// Voxel axis across slices, along screen x, along screen y.
    axes: [usize; 3],
    /// Whether each runs against the voxel index.
    flips: [bool; 3],
}

impl Volume {
    /// Checks what every reader must: sizes within bounds, data of the right length.
    pub fn new(name: String, dims: [usize; 3], data: Vec<f32>, geometry: Geometry, format: String) -> Self {
        assert_eq!(data.len(), dims.iter().product::<usize>(), "volume data does not match its size");
        Self { name, dims, data, geometry, window: None, unit_u8: false, format }
    }

    /// The window slices are shown and fed with unless the person sets another: the file's
    /// own, else 0..255 for 8-bit voxels, else the volume's 0.5th to 99.5th percentile (a few
    /// hot voxels would otherwise darken the whole scan).
    pub fn default_window(&self) -> Window {
        if let Some(w) = self.window {
            return w;
        }
        if self.unit_u8 {
            return Window { low: 0.0, high: 255.0 };
        }
        let mut values: Vec<f32> = self.data.iter().copied().filter(|v| v.is_finite()).collect();
        if values.is_empty() {
            return Window { low: 0.0, high: 1.0 };
        }
        let at = |q: f64, values: &mut Vec<f32>| {
            let k = ((values.len() - 1) as f64 * q).round() as usize;
            *values.select_nth_unstable_by(k, |a, b| a.total_cmp(b)).1
        };
        let (low, high) = (at(0.005, &mut values), at(0.995, &mut values));
        if high > low {
            Window { low, high }
        } else {
            Window { low, high: low + 1.0 }
        }
    }

    /// Voxel axes and directions for `view`: each world direction is given the voxel axis that
    /// points most nearly along it (oblique scans take their nearest view, as viewers do).
    fn cut(&self, view: View) -> Cut {
        let affine = self.geometry.affine();
        // Which voxel axis each world axis gets, greedily by alignment.
        let mut taken = [false; 3];
        let mut owner = [(0usize, 1.0f64); 3];
        let mut pairs: Vec<(f64, usize, usize)> = (0..3).flat_map(|w| (0..3).map(move |v| (w, v))).map(|(w, v)| (affine[w][v].abs(), w, v)).collect();
        pairs.sort_by(|a, b| b.0.total_cmp(&a.0));
        let mut assigned = [false; 3];
        for (_, w, v) in pairs {
            if !assigned[w] && !taken[v] {
                assigned[w] = true;
                taken[v] = true;
                owner[w] = (v, if affine[w][v] < 0.0 { -1.0 } else { 1.0 });
            }
        }
        let mut cut = Cut { axes: [0; 3], flips: [false; 3] };
        for (slot, (world, want)) in view.directions().into_iter().enumerate() {
            let (voxel, sign) = owner[world];
            cut.axes[slot] = voxel;
            cut.flips[slot] = sign * want < 0.0;
        }
        cut
    }

    /// Number of slices in `view`.
    pub fn slices(&self, view: View) -> usize {
        self.dims[self.cut(view).axes[0]]
    }

    /// (width, height) of a slice in `view`.
    pub fn slice_size(&self, view: View) -> (usize, usize) {
        let cut = self.cut(view);
        (self.dims[cut.axes[1]], self.dims[cut.axes[2]])
    }

    /// Index into `data` of each pixel of slice `index` in `view`, row by row.
    fn slice_voxels(&self, view: View, index: usize) -> impl Iterator<Item = usize> + '_ {
        let cut = self.cut(view);
        let [nx, ny, _] = self.dims;
        let along = move |slot: usize, k: usize| if cut.flips[slot] { self.dims[cut.axes[slot]] - 1 - k } else { k };
        let (w, h) = (self.dims[cut.axes[1]], self.dims[cut.axes[2]]);
        let s = along(0, index.min(self.dims[cut.axes[0]] - 1));
        (0..h).flat_map(move |row| {
            (0..w).map(move |col| {
                let mut v = [0usize; 3];
                v[cut.axes[0]] = s;
                v[cut.axes[1]] = along(1, col);
                v[cut.axes[2]] = along(2, row);
                v[0] + nx * (v[1] + ny * v[2])
            })
        })
    }

    /// Slice `index` of `view` as the model and the page see it: `window` mapped to [0, 1].
    pub fn slice(&self, view: View, index: usize, window: Window) -> Plane {
        let (w, h) = self.slice_size(view);
        let span = window.high - window.low;
        let data = self
            .slice_voxels(view, index)
            .map(|i| self.data[i])
            .map(|v| if v.is_finite() { ((v - window.low) / span).clamp(0.0, 1.0) } else { 0.0 })
            .collect();
        Plane::new(w, h, data)
    }

    /// Slice `index` of a label volume as a mask: any label above zero is tumour (BraTS's
    /// 1, 2 and 4 together make the whole tumour).
    pub fn label_slice(&self, view: View, index: usize) -> Mask {
        let (w, h) = self.slice_size(view);
        Mask::new(w, h, self.slice_voxels(view, index).map(|i| self.data[i] > 0.0).collect())
    }

    /// Writes slice masks (one per slice of `view`, in order) back into voxel order: the
    /// inverse of [`Volume::label_slice`], for exporting predicted masks.
    pub fn voxels_from_slices(&self, view: View, masks: &[Option<Mask>]) -> Vec<u8> {
        let mut out = vec![0u8; self.data.len()];
        for (index, mask) in masks.iter().enumerate() {
            if let Some(mask) = mask {
                for (voxel, &bit) in self.slice_voxels(view, index).zip(&mask.bits) {
                    out[voxel] = bit as u8;
                }
            }
        }
        out
    }

    /// Whether `other` (a label volume) lies voxel for voxel on this one.
    pub fn check_same_grid(&self, other: &Volume) -> Result<(), String> {
        if self.dims != other.dims {
            return Err(format!("is {:?} voxels but its scan {} is {:?}; a label volume must have its scan's size", other.dims, self.name, self.dims));
        }
        let (a, b) = (self.geometry.affine(), other.geometry.affine());
        let off = (0..3).flat_map(|r| (0..4).map(move |c| (r, c))).map(|(r, c)| (a[r][c] - b[r][c]).abs()).fold(0.0, f64::max);
        if off > 1e-2 {
            return Err(format!("lies elsewhere in space than its scan {} (affines differ by {off:.3} mm); it would not line up", self.name));
        }
        Ok(())
    }
}

/// How a slice is listed in the page and the CLI: `scan.nii.gz · axial 07/40` (numbers padded,
/// so sorting by name keeps slice order).
pub fn slice_name(volume: &str, view: View, index: usize, count: usize) -> String {
    let digits = count.to_string().len();
    format!("{volume} · {} {:0digits$}/{count}", view.label(), index + 1)
}

#[cfg(test)]
mod tests;
