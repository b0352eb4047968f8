//! NIfTI volumes (`.nii`, `.nii.gz`): NIfTI-1 headers are parsed by the `nifti` crate;
//! NIfTI-2 (which that crate does not read) by [`header2`], from its fixed 540-byte layout.
//! Predicted masks are written back as NIfTI-1 with the input's geometry fields copied
//! verbatim, so they open over the scan in ITK-SNAP or 3D Slicer. (The crate's own writer needs
//! a file path and ndarray; the page has neither.)

use super::{Geometry, Volume, Window, MAX_VOXELS};
use flate2::read::GzDecoder;
use std::io::{Read, Write};

/// Whether a file name is a NIfTI volume.
pub fn is_nifti(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    lower.ends_with(".nii") || lower.ends_with(".nii.gz")
}

/// The file's name without `.nii` / `.nii.gz`.
pub fn stem(path: &str) -> &str {
    let file = path.rsplit('/').next().unwrap_or(path);
    let lower = file.to_ascii_lowercase();
    let cut = if lower.ends_with(".nii.gz") { 7 } else if lower.ends_with(".nii") { 4 } else { 0 };
    &file[..file.len() - cut]
}

/// The header fields a volume needs, from either version.
struct Header {
    dims: Vec<usize>,
    datatype: i16,
    big_endian: bool,
    vox_offset: usize,
    scl: (f64, f64),
    cal: (f64, f64),
    geometry: Geometry,
    version: u8,
}

/// Reads a `.nii` or `.nii.gz` file. The first 3D volume of a 4D file is used (said in
/// `format`). Errors are sentences for the person, without the file name (the caller adds it).
pub fn read(name: &str, bytes: &[u8]) -> Result<Volume, String> {
    let bytes = inflate(bytes)?;
    let header = parse_header(&bytes)?;
    let [nx, ny, nz] = [0, 1, 2].map(|k| header.dims.get(k).copied().unwrap_or(1));
    let voxels = nx.checked_mul(ny).and_then(|v| v.checked_mul(nz)).filter(|&v| v > 0 && v <= MAX_VOXELS);
    let Some(voxels) = voxels else {
        return Err(format!("volume of {nx} x {ny} x {nz} voxels is outside what camseg reads (at most {MAX_VOXELS} voxels)"));
    };
    let size = element_size(header.datatype).ok_or_else(|| format!("voxels of NIfTI datatype {} (e.g. complex or RGB) are not supported; scalar volumes only", header.datatype))?;
    let start = header.vox_offset;
    let end = start + voxels * size;
    if bytes.len() < end {
        return Err(format!("is cut short: the header promises {} bytes of voxels, the file holds {}", voxels * size, bytes.len().saturating_sub(start)));
    }
    let (slope, inter) = header.scl;
    let rescale = slope != 0.0 && slope.is_finite() && inter.is_finite() && (slope, inter) != (1.0, 0.0);
    let mut data = to_floats(&bytes[start..end], header.datatype, header.big_endian);
    if rescale {
        data.iter_mut().for_each(|v| *v = (*v as f64 * slope + inter) as f32);
    }
    let mut format = format!("NIfTI-{}, {}", header.version, type_name(header.datatype));
    let extra: usize = header.dims.iter().skip(3).product();
    if extra > 1 {
        format.push_str(&format!(", first of {extra} volumes"));
    }
    let mut volume = Volume::new(name.to_string(), [nx, ny, nz], data, header.geometry, format);
    volume.unit_u8 = header.datatype == 2 && !rescale;
    let (low, high) = header.cal;
    if high > low && low.is_finite() && high.is_finite() {
        volume.window = Some(Window { low: low as f32, high: high as f32 });
    }
    Ok(volume)
}

/// Inflates a gzip stream (by its magic, whatever the name says), bounded so a small file
/// cannot expand without limit.
fn inflate(bytes: &[u8]) -> Result<Vec<u8>, String> {
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return Ok(bytes.to_vec());
    }
    let cap = (MAX_VOXELS * 8 + (1 << 20)) as u64;
    let mut out = Vec::new();
    GzDecoder::new(bytes).take(cap + 1).read_to_end(&mut out).map_err(|e| format!("is a damaged or cut-short gzip file ({e})"))?;
    if out.len() as u64 > cap {
        return Err(format!("inflates to more than {} MB, more than any volume camseg reads", cap >> 20));
    }
    Ok(out)
}

fn parse_header(bytes: &[u8]) -> Result<Header, String> {
    let size = |b: [u8; 4]| (i32::from_le_bytes(b), i32::from_be_bytes(b));
    let first = bytes.get(..4).map(|b| size([b[0], b[1], b[2], b[3]])).ok_or("is empty or too short to be a NIfTI file")?;
    match first {
        (348, _) | (_, 348) => header1(bytes),
        (540, _) | (_, 540) => header2::parse(bytes),
        _ => Err("is not a NIfTI file (its header size is neither 348 nor 540)".into()),
    }
}

fn header1(bytes: &[u8]) -> Result<Header, String> {
    let h = nifti::NiftiHeader::from_reader(bytes).map_err(|e| format!("has a damaged NIfTI-1 header ({e})"))?;
    let rank = h.dim[0] as usize;
    if !(1..=7).contains(&rank) {
        return Err(format!("has a damaged NIfTI-1 header (dim[0] = {})", h.dim[0]));
    }
    let f = |v: f32| v as f64;
    Ok(Header {
        dims: h.dim[1..=rank].iter().map(|&d| d as usize).collect(),
        datatype: h.datatype,
        big_endian: h.endianness == nifti::Endianness::Big,
        vox_offset: (h.vox_offset.max(352.0)) as usize,
        scl: (f(h.scl_slope), f(h.scl_inter)),
        cal: (f(h.cal_min), f(h.cal_max)),
        geometry: Geometry {
            pixdim: [f(h.pixdim[0]), f(h.pixdim[1]), f(h.pixdim[2]), f(h.pixdim[3])],
            qform_code: h.qform_code,
            quatern: [f(h.quatern_b), f(h.quatern_c), f(h.quatern_d)],
            qoffset: [f(h.quatern_x), f(h.quatern_y), f(h.quatern_z)],
            sform_code: h.sform_code,
            srow: [h.srow_x.map(f), h.srow_y.map(f), h.srow_z.map(f)],
        },
        version: 1,
    })
}

/// NIfTI-2's header: the same fields as NIfTI-1, 64-bit and in another order.
mod header2 {
    use super::{Geometry, Header};

    pub(super) fn parse(bytes: &[u8]) -> Result<Header, String> {
        if bytes.len() < 540 {
            return Err("is cut short inside its NIfTI-2 header".into());
        }
        let big = i32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) != 540;
        let at = |o: usize, n: usize| {
            let mut b = [0u8; 8];
            b[..n].copy_from_slice(&bytes[o..o + n]);
            if big {
                b[..n].reverse();
            }
            b
        };
        let i16_at = |o| i16::from_le_bytes([at(o, 2)[0], at(o, 2)[1]]);
        let i32_at = |o| {
            let b = at(o, 4);
            i32::from_le_bytes([b[0], b[1], b[2], b[3]])
        };
        let i64_at = |o| i64::from_le_bytes(at(o, 8));
        let f64_at = |o| f64::from_le_bytes(at(o, 8));
        let dim: Vec<i64> = (0..8).map(|k| i64_at(16 + 8 * k)).collect();
        let rank = dim[0];
        if !(1..=7).contains(&rank) || dim[1..=rank as usize].iter().any(|&d| d < 1 || d > u32::MAX as i64) {
            return Err(format!("has a damaged NIfTI-2 header (dim = {:?})", &dim[..]));
        }
        let row = |o: usize| [f64_at(o), f64_at(o + 8), f64_at(o + 16), f64_at(o + 24)];
        let vox_offset = i64_at(168);
        Ok(Header {
            dims: dim[1..=rank as usize].iter().map(|&d| d as usize).collect(),
            datatype: i16_at(12),
            big_endian: big,
            vox_offset: vox_offset.clamp(544, i64::MAX) as usize,
            scl: (f64_at(176), f64_at(184)),
            cal: (f64_at(200), f64_at(192)),
            geometry: Geometry {
                pixdim: [f64_at(104), f64_at(112), f64_at(120), f64_at(128)],
                qform_code: i32_at(344).clamp(0, i16::MAX as i32) as i16,
                quatern: [f64_at(352), f64_at(360), f64_at(368)],
                qoffset: [f64_at(376), f64_at(384), f64_at(392)],
                sform_code: i32_at(348).clamp(0, i16::MAX as i32) as i16,
                srow: [row(400), row(432), row(464)],
            },
            version: 2,
        })
    }
}

/// Bytes per voxel of the scalar NIfTI datatypes.
fn element_size(datatype: i16) -> Option<usize> {
    match datatype {
        2 | 256 => Some(1),
        4 | 512 => Some(2),
        8 | 16 | 768 => Some(4),
        64 | 1024 | 1280 => Some(8),
        _ => None,
    }
}

fn type_name(datatype: i16) -> &'static str {
    match datatype {
        2 => "uint8",
        256 => "int8",
        4 => "int16",
        512 => "uint16",
        8 => "int32",
        768 => "uint32",
        16 => "float32",
        64 => "float64",
        1024 => "int64",
        1280 => "uint64",
        _ => "unknown type",
    }
}

/// Raw voxels to floats (types checked by [`element_size`] first).
fn to_floats(raw: &[u8], datatype: i16, big: bool) -> Vec<f32> {
    let size = element_size(datatype).unwrap_or(1);
    raw.chunks_exact(size)
        .map(|c| {
            let mut b = [0u8; 8];
            b[..size].copy_from_slice(c);
            if big {
                b[..size].reverse();
            }
            match datatype {
                2 => b[0] as f32,
                256 => b[0] as i8 as f32,
                4 => i16::from_le_bytes([b[0], b[1]]) as f32,
                512 => u16::from_le_bytes([b[0], b[1]]) as f32,
                8 => i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f32,
                768 => u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f32,
                16 => f32::from_le_bytes([b[0], b[1], b[2], b[3]]),
                64 => f64::from_le_bytes(b) as f32,
                1024 => i64::from_le_bytes(b) as f32,
                _ => u64::from_le_bytes(b) as f32,
            }
        })
        .collect()
}

/// A binary mask volume (`voxels` in the reference's voxel order, 0 or 1) as a gzipped
/// NIfTI-1 file on the reference's grid: same dims, voxel sizes, qform and sform.
pub fn write_mask(reference: &Volume, voxels: &[u8]) -> Vec<u8> {
    write_u8(reference.dims, &reference.geometry, voxels, "camseg predicted mask", 1002)
}

/// A gzipped NIfTI-1 file of 8-bit voxels (`intent`: 1002 for labels, 0 for a scan).
pub fn write_u8(dims: [usize; 3], geometry: &Geometry, voxels: &[u8], description: &str, intent: i16) -> Vec<u8> {
    let mut h = Vec::with_capacity(352);
    let i16s = |h: &mut Vec<u8>, v: &[i16]| v.iter().for_each(|x| h.extend(x.to_le_bytes()));
    let f32s = |h: &mut Vec<u8>, v: &[f64]| v.iter().for_each(|x| h.extend((*x as f32).to_le_bytes()));
    h.extend(348i32.to_le_bytes());
    h.extend([0u8; 35]); // data_type, db_name, extents, session_error, regular
    h.push(0); // dim_info
    let d = |k: usize| dims[k].min(i16::MAX as usize) as i16;
    i16s(&mut h, &[3, d(0), d(1), d(2), 1, 1, 1, 1]);
    f32s(&mut h, &[0.0, 0.0, 0.0]); // intent_p1..3
    i16s(&mut h, &[intent, 2, 8, 0]); // intent_code, datatype uint8, bitpix, slice_start
    let g = geometry;
    f32s(&mut h, &[g.pixdim[0], g.pixdim[1], g.pixdim[2], g.pixdim[3], 0.0, 0.0, 0.0, 0.0]);
    f32s(&mut h, &[352.0, 1.0, 0.0]); // vox_offset, scl_slope, scl_inter
    i16s(&mut h, &[0]); // slice_end
    h.extend([0u8, 2]); // slice_code, xyzt_units (mm)
    f32s(&mut h, &[if intent == 1002 { 1.0 } else { 255.0 }, 0.0, 0.0, 0.0]); // cal_max, cal_min, slice_duration, toffset
    h.extend([0u8; 8]); // glmax, glmin
    let mut text = [0u8; 80];
    description.bytes().take(79).enumerate().for_each(|(k, b)| text[k] = b);
    h.extend(text);
    h.extend([0u8; 24]); // aux_file
    i16s(&mut h, &[g.qform_code, g.sform_code]);
    f32s(&mut h, &[g.quatern[0], g.quatern[1], g.quatern[2], g.qoffset[0], g.qoffset[1], g.qoffset[2]]);
    for row in &g.srow {
        f32s(&mut h, row);
    }
    h.extend([0u8; 16]); // intent_name
    h.extend(b"n+1\0");
    h.extend([0u8; 4]); // no extensions
    debug_assert_eq!(h.len(), 352);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&h).and_then(|_| gz.write_all(voxels)).expect("writing to memory cannot fail");
    gz.finish().expect("writing to memory cannot fail")
}
