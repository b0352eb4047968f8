//! Synthetic brain-like slices with an exactly known tumour mask: the test data, the page's
//! built-in demo and a teaching aid. Not anatomy, just enough of its look to make the task real:
//! a skull ring, textured tissue, dark ventricles, and (in half the slices) a bright tumour
//! blob of irregular outline with a faint halo around it, as FLAIR shows oedema.

use crate::masks::Mask;
use crate::plane::Plane;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use std::f32::consts::PI;

/// One slice and its truth.
pub struct Phantom {
    pub image: Plane,
    pub mask: Mask,
}

impl Phantom {
    pub fn has_tumour(&self) -> bool {
        !self.mask.is_empty()
    }
}

/// A deterministic per-image generator: the same (seed, index) always gives the same slice.
pub fn rng_for(seed: u64, index: u64) -> StdRng {
    StdRng::seed_from_u64(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ index.wrapping_add(1).wrapping_mul(0xBF58_476D_1CE4_E5B9))
}

/// Draws a `size` x `size` slice, with a tumour if `tumour`.
pub fn generate(rng: &mut StdRng, size: usize, tumour: bool) -> Phantom {
    let s = size as f32;
    let (cx, cy) = (0.5 + rng.random_range(-0.03..0.03), 0.5 + rng.random_range(-0.03..0.03));
    let (ax, ay) = (rng.random_range(0.34..0.40), rng.random_range(0.40..0.46));
    let tilt: f32 = rng.random_range(-0.2..0.2);
    let (ct, st) = (tilt.cos(), tilt.sin());
    // Tissue texture: a few random plane waves.
    let waves: Vec<(f32, f32, f32, f32)> = (0..6)
        .map(|_| (rng.random_range(4.0..18.0), rng.random_range(0.0..PI), rng.random_range(0.0..2.0 * PI), rng.random_range(0.01..0.035)))
        .collect();
    let brightness = rng.random_range(0.85..1.15);
    let ventricle_dx = rng.random_range(0.035..0.06);

    // The tumour: a blob of radius r0 with a wobbling outline, inside the brain.
    let blob = tumour.then(|| {
        let angle = rng.random_range(0.0..2.0 * PI);
        let dist = rng.random_range(0.1..0.55);
        let centre = (cx + dist * ax * angle.cos(), cy + dist * ay * angle.sin());
        let r0 = rng.random_range(0.045..0.12);
        let harmonics: Vec<(f32, f32)> = (2..6).map(|_| (rng.random_range(0.0..0.14), rng.random_range(0.0..2.0 * PI))).collect();
        let level = rng.random_range(0.58..0.75);
        (centre, r0, harmonics, level)
    });

    let mut image = Plane::zeros(size, size);
    let mut mask = Mask::empty(size, size);
    for y in 0..size {
        for x in 0..size {
            let (u, v) = ((x as f32 + 0.5) / s - cx, (y as f32 + 0.5) / s - cy);
            let (ur, vr) = (u * ct + v * st, -u * st + v * ct);
            let r = ((ur / ax).powi(2) + (vr / ay).powi(2)).sqrt();
            let mut value = if r > 1.0 {
                0.0
            } else if r > 0.9 {
                0.5 // skull and scalp
            } else {
                let texture: f32 = waves.iter().map(|&(f, dir, phase, amp)| amp * (f * (u * dir.cos() + v * dir.sin()) * 2.0 * PI + phase).sin()).sum();
                let cortex = if r > 0.78 { 0.06 } else { 0.0 };
                let ventricle = [-1.0f32, 1.0].iter().any(|side| ((ur - side * ventricle_dx) / 0.03).powi(2) + ((vr + 0.02) / 0.09).powi(2) < 1.0);
                if ventricle { 0.1 } else { 0.36 + cortex + texture }
            };
            if let Some(((tx, ty), r0, harmonics, level)) = &blob {
                let (du, dv) = ((x as f32 + 0.5) / s - tx, (y as f32 + 0.5) / s - ty);
                let theta = dv.atan2(du);
                let edge = r0 * (1.0 + harmonics.iter().enumerate().map(|(k, (a, p))| a * ((k as f32 + 2.0) * theta + p).cos()).sum::<f32>());
                let d = (du * du + dv * dv).sqrt() / edge;
                if r < 0.88 {
                    if d <= 1.0 {
                        value = *level + 0.04 * (12.0 * theta).sin() * d;
                        mask.bits[y * size + x] = true;
                    } else if d < 1.4 {
                        value += 0.1 * (1.4 - d) / 0.4; // oedema-like halo, outside the mask
                    }
                }
            }
            let noise = (rng.random::<f32>() + rng.random::<f32>() - 1.0) * 0.04;
            image.data[y * size + x] = if value > 0.0 { ((value + noise) * brightness).clamp(0.0, 1.0) } else { 0.0 };
        }
    }
    Phantom { image, mask }
}

#[cfg(not(target_arch = "wasm32"))]
pub use write::{write_dataset, PhantomSummary};

#[cfg(not(target_arch = "wasm32"))]
mod write {
    use super::*;
    use crate::data::{encode_png_gray, Record};
    use crate::{Error, Result};
    use std::path::Path;

    pub struct PhantomSummary {
        pub images: usize,
        pub tumours: usize,
    }

    /// Slices per synthetic "patient"; splits are made by patient, as in the real data.
    const SLICES_PER_PATIENT: usize = 10;

    /// The split of a synthetic patient: 70% train, 15% val, 15% test.
    fn split_of(patient: usize) -> &'static str {
        match patient % 20 {
            0..=13 => "train",
            14..=16 => "val",
            _ => "test",
        }
    }

    /// Writes `count` slices in the dataset layout (images/, masks/, index.csv). Every other
    /// slice has a tumour. `progress` is called after each slice.
    pub fn write_dataset(out: &Path, count: usize, size: usize, seed: u64, mut progress: impl FnMut(usize)) -> Result<PhantomSummary> {
        if count == 0 || size < 16 {
            return Err(Error::Invalid("phantom needs --count >= 1 and --size >= 16".into()));
        }
        for sub in ["images", "masks"] {
            let dir = out.join(sub);
            std::fs::create_dir_all(&dir).map_err(|e| Error::io(dir.display(), e))?;
        }
        let index = out.join("index.csv");
        let mut writer = csv::Writer::from_path(&index).map_err(|e| Error::Invalid(format!("{}: {e}", index.display())))?;
        let mut tumours = 0;
        for i in 0..count {
            let tumour = i % 2 == 1;
            let phantom = generate(&mut rng_for(seed, i as u64), size, tumour);
            let file = format!("phantom_{i:05}.png");
            let patient = i / SLICES_PER_PATIENT;
            for (dir, plane) in [("images", &phantom.image), ("masks", &phantom.mask.to_plane())] {
                let path = out.join(dir).join(&file);
                std::fs::write(&path, encode_png_gray(plane)).map_err(|e| Error::io(path.display(), e))?;
            }
            tumours += phantom.has_tumour() as usize;
            let record = Record {
                file,
                patient: format!("phantom_p{patient:03}"),
                slice: (i % SLICES_PER_PATIENT) as u32 + 1,
                split: split_of(patient).into(),
                label: phantom.has_tumour() as u8,
                tumor_px: phantom.mask.area() as u64,
                head_px: phantom.image.data.iter().filter(|&&v| v > 20.0 / 255.0).count() as u64,
            };
            writer.serialize(record).map_err(|e| Error::Invalid(format!("{}: {e}", index.display())))?;
            progress(i + 1);
        }
        writer.flush().map_err(|e| Error::io(index.display(), e))?;
        Ok(PhantomSummary { images: count, tumours })
    }
}

/// Synthetic volumes: phantom slices stacked into a NIfTI volume or a DICOM series, each with
/// a NIfTI label volume on its grid, for tests and for trying the page's volume view.
#[cfg(not(target_arch = "wasm32"))]
pub mod volumes {
    use super::*;
    use crate::volume::dicom_writer::{write_slice, SliceSpec, Syntax};
    use crate::volume::{nifti, Geometry};
    use crate::{Error, Result};
    use std::path::{Path, PathBuf};

    /// Slice thickness (mm) and in-plane voxel size of the phantom volumes.
    const THICKNESS: f64 = 3.0;
    const PIXEL: f64 = 0.9;
    /// Where the first slice's first voxel lies (DICOM's LPS, mm).
    const ORIGIN: [f64; 3] = [-57.6, -57.6, -30.0];

    /// The stack: `count` slices, tumours in the middle third (a tumour spans neighbouring
    /// slices, as in a scan).
    pub fn stack(count: usize, size: usize, seed: u64) -> Vec<Phantom> {
        (0..count).map(|k| generate(&mut rng_for(seed, k as u64), size, (count / 3..count - count / 3).contains(&k))).collect()
    }

    /// The grid both formats share: i toward the patient's left, j posterior (as DICOM stores
    /// rows), k superior; RAS+ rows.
    pub fn geometry() -> Geometry {
        let [x, y, z] = ORIGIN;
        Geometry::from_affine([[-PIXEL, 0.0, 0.0, -x], [0.0, -PIXEL, 0.0, -y], [0.0, 0.0, THICKNESS, z]])
    }

    fn labels(stack: &[Phantom]) -> Vec<u8> {
        stack.iter().flat_map(|p| p.mask.bits.iter().map(|&b| b as u8)).collect()
    }

    fn write(path: &Path, bytes: &[u8]) -> Result<()> {
        std::fs::write(path, bytes).map_err(|e| Error::io(path.display(), e))
    }

    /// Writes `phantom.nii.gz` (8-bit) and `phantom_mask.nii.gz` into `out`.
    pub fn write_nifti(out: &Path, count: usize, size: usize, seed: u64) -> Result<Vec<PathBuf>> {
        let stack = stack(count, size, seed);
        let voxels: Vec<u8> = stack.iter().flat_map(|p| p.image.data.iter().map(|v| (v * 255.0).round().clamp(0.0, 255.0) as u8)).collect();
        let dims = [size, size, count];
        let (scan, mask) = (out.join("phantom.nii.gz"), out.join("phantom_mask.nii.gz"));
        write(&scan, &nifti::write_u8(dims, &geometry(), &voxels, "camseg phantom", 0))?;
        write(&mask, &nifti::write_u8(dims, &geometry(), &labels(&stack), "camseg phantom labels", 1002))?;
        Ok(vec![scan, mask])
    }

    /// Writes the series `phantom/` (16-bit, one file per slice, named against position order,
    /// with a made-up patient name and ID, "Doe^Jane" / "PID-99731", that camseg must never
    /// show) and `phantom_mask.nii.gz` into `out`.
    pub fn write_dicom(out: &Path, count: usize, size: usize, seed: u64) -> Result<Vec<PathBuf>> {
        let stack = stack(count, size, seed);
        let folder = out.join("phantom");
        std::fs::create_dir_all(&folder).map_err(|e| Error::io(folder.display(), e))?;
        for (k, p) in stack.iter().enumerate() {
            let pixels: Vec<u16> = p.image.data.iter().map(|v| (v * 1000.0).round().clamp(0.0, 1000.0) as u16).collect();
            let spec = SliceSpec {
                pixels: &pixels,
                rows: size,
                cols: size,
                position: [ORIGIN[0], ORIGIN[1], ORIGIN[2] + k as f64 * THICKNESS],
                orientation: [1.0, 0.0, 0.0, 0.0, 1.0, 0.0],
                spacing: [PIXEL, PIXEL],
                rescale: (1.0, 0.0),
                window: Some((500.0, 1000.0)),
                instance: k as u32 + 1,
                series_uid: "2.25.1234567890",
                patient_name: "Doe^Jane",
                patient_id: "PID-99731",
                syntax: if k % 2 == 0 { Syntax::ExplicitLittle } else { Syntax::Rle },
            };
            // Highest slice first by name: readers must sort by position, not name.
            write(&folder.join(format!("IM{:04}.dcm", count - k)), &write_slice(&spec))?;
        }
        let mask = out.join("phantom_mask.nii.gz");
        write(&mask, &nifti::write_u8([size, size, count], &geometry(), &labels(&stack), "camseg phantom labels", 1002))?;
        Ok(vec![folder, mask])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phantoms_are_deterministic_and_masks_sit_on_bright_tissue() {
        let a = generate(&mut rng_for(7, 3), 64, true);
        let b = generate(&mut rng_for(7, 3), 64, true);
        assert_eq!(a.image, b.image);
        assert!(a.has_tumour() && a.mask.area() > 20);
        let inside: f32 = a.image.data.iter().zip(&a.mask.bits).filter(|(_, &m)| m).map(|(v, _)| v).sum::<f32>() / a.mask.area() as f32;
        let brain: Vec<f32> = a.image.data.iter().zip(&a.mask.bits).filter(|(&v, &m)| !m && v > 0.2).map(|(v, _)| *v).collect();
        let outside = brain.iter().sum::<f32>() / brain.len() as f32;
        assert!(inside > outside + 0.15, "tumour {inside} vs tissue {outside}");
        let none = generate(&mut rng_for(7, 4), 64, false);
        assert!(!none.has_tumour());
    }
}
