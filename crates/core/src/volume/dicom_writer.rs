//! Synthetic DICOM files, for tests and `camseg phantom --volume dicom`. Native only, and kept
//! apart from the reader ([`super::dicom`]): the page only reads.

use dicom_core::value::PixelFragmentSequence;
use dicom_core::{DataElement, Length, PrimitiveValue, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};
use dicom_pixeldata::Transcode;
use dicom_transfer_syntax_registry::{TransferSyntaxIndex, TransferSyntaxRegistry};

/// One synthetic DICOM slice (used by tests and by `camseg phantom --volume dicom`).
#[derive(Clone, Debug)]
pub struct SliceSpec<'a> {
    /// rows*cols, row-major (stored value before rescale).
    pub pixels: &'a [u16],
    pub rows: usize,
    pub cols: usize,
    /// ImagePositionPatient (LPS, mm).
    pub position: [f64; 3],
    /// ImageOrientationPatient.
    pub orientation: [f64; 6],
    /// PixelSpacing [row, col].
    pub spacing: [f64; 2],
    /// (slope, intercept).
    pub rescale: (f64, f64),
    /// (centre, width).
    pub window: Option<(f64, f64)>,
    pub instance: u32,
    pub series_uid: &'a str,
    /// Written into PatientName, to test it never leaks.
    pub patient_name: &'a str,
    pub patient_id: &'a str,
    pub syntax: Syntax,
}

/// How the pixel data (and data set) is encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Syntax {
    ExplicitLittle,
    ImplicitLittle,
    Rle,
    /// 8-bit only: pixels must be <= 255 (lossy).
    JpegBaseline,
    /// Declares JPEG 2000 with junk encapsulated data: for the error test.
    Unsupported,
}

/// A DS (decimal string) value: DICOM allows 16 characters, so no float noise.
fn decimal(v: f64) -> String {
    let text = format!("{v:.6}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" { "0".into() } else { text.into() }
}

fn decimals(values: &[f64]) -> PrimitiveValue {
    PrimitiveValue::Strs(values.iter().map(|&v| decimal(v)).collect())
}

/// A complete Part-10 file (preamble, DICM, file meta) for one slice.
pub fn write_slice(spec: &SliceSpec) -> Vec<u8> {
    assert_eq!(spec.pixels.len(), spec.rows * spec.cols, "SliceSpec: pixels must hold rows*cols values");
    let eight = spec.syntax == Syntax::JpegBaseline;
    let bits: u16 = if eight { 8 } else { 16 };
    let mut obj = InMemDicomObject::new_empty();
    let mut put = |tag, vr, value: PrimitiveValue| {
        obj.put(DataElement::new(tag, vr, value));
    };
    put(tags::SOP_CLASS_UID, VR::UI, uids::MR_IMAGE_STORAGE.into());
    put(tags::SOP_INSTANCE_UID, VR::UI, format!("{}.{}", spec.series_uid, spec.instance).into());
    put(tags::STUDY_INSTANCE_UID, VR::UI, format!("{}.0", spec.series_uid).into());
    put(tags::SERIES_INSTANCE_UID, VR::UI, spec.series_uid.into());
    put(tags::MODALITY, VR::CS, "MR".into());
    put(tags::PATIENT_NAME, VR::PN, spec.patient_name.into());
    put(tags::PATIENT_ID, VR::LO, spec.patient_id.into());
    put(tags::INSTANCE_NUMBER, VR::IS, spec.instance.to_string().into());
    put(tags::IMAGE_POSITION_PATIENT, VR::DS, decimals(&spec.position));
    put(tags::IMAGE_ORIENTATION_PATIENT, VR::DS, decimals(&spec.orientation));
    put(tags::PIXEL_SPACING, VR::DS, decimals(&spec.spacing));
    put(tags::SAMPLES_PER_PIXEL, VR::US, PrimitiveValue::from(1u16));
    put(tags::PHOTOMETRIC_INTERPRETATION, VR::CS, "MONOCHROME2".into());
    put(tags::ROWS, VR::US, PrimitiveValue::from(spec.rows as u16));
    put(tags::COLUMNS, VR::US, PrimitiveValue::from(spec.cols as u16));
    put(tags::BITS_ALLOCATED, VR::US, PrimitiveValue::from(bits));
    put(tags::BITS_STORED, VR::US, PrimitiveValue::from(bits));
    put(tags::HIGH_BIT, VR::US, PrimitiveValue::from(bits - 1));
    put(tags::PIXEL_REPRESENTATION, VR::US, PrimitiveValue::from(0u16));
    put(tags::RESCALE_SLOPE, VR::DS, decimal(spec.rescale.0).into());
    put(tags::RESCALE_INTERCEPT, VR::DS, decimal(spec.rescale.1).into());
    if let Some((centre, width)) = spec.window {
        put(tags::WINDOW_CENTER, VR::DS, decimal(centre).into());
        put(tags::WINDOW_WIDTH, VR::DS, decimal(width).into());
    }
    let syntax = match spec.syntax {
        Syntax::ExplicitLittle | Syntax::JpegBaseline => uids::EXPLICIT_VR_LITTLE_ENDIAN,
        Syntax::ImplicitLittle => uids::IMPLICIT_VR_LITTLE_ENDIAN,
        Syntax::Rle => uids::RLE_LOSSLESS,
        Syntax::Unsupported => uids::JPEG2000_LOSSLESS,
    };
    match spec.syntax {
        Syntax::Rle => put_fragment(&mut obj, rle_frame(spec.pixels)),
        Syntax::Unsupported => put_fragment(&mut obj, (0..64u8).map(|i| i.wrapping_mul(37)).collect()),
        Syntax::JpegBaseline => {
            let bytes = spec.pixels.iter().map(|&p| p.min(255) as u8).collect();
            obj.put(DataElement::new(tags::PIXEL_DATA, VR::OB, PrimitiveValue::U8(bytes)));
        }
        _ => {
            obj.put(DataElement::new(tags::PIXEL_DATA, VR::OW, PrimitiveValue::U16(spec.pixels.iter().copied().collect())));
        }
    }
    let mut file = obj.with_meta(FileMetaTableBuilder::new().transfer_syntax(syntax)).expect("the file meta table is complete");
    if spec.syntax == Syntax::JpegBaseline {
        let jpeg = TransferSyntaxRegistry.get(uids::JPEG_BASELINE8_BIT).expect("JPEG baseline is registered");
        file.transcode(jpeg).expect("8-bit grey pixels encode as JPEG baseline");
    }
    let mut out = Vec::new();
    file.write_all(&mut out).expect("writing to memory does not fail");
    out
}

/// Encapsulated pixel data: an empty basic offset table, then one fragment.
fn put_fragment(obj: &mut InMemDicomObject, fragment: Vec<u8>) {
    let sequence = PixelFragmentSequence::new(Vec::<u32>::new(), vec![fragment]);
    obj.put(DataElement::new_with_len(tags::PIXEL_DATA, VR::OB, Length::UNDEFINED, sequence));
}

/// One RLE Lossless frame of 16-bit samples: the 64-byte header, then the high-byte plane
/// and the low-byte plane as PackBits literal runs, each padded to even length.
fn rle_frame(pixels: &[u16]) -> Vec<u8> {
    let planes = [pixels.iter().map(|p| (p >> 8) as u8).collect::<Vec<_>>(), pixels.iter().map(|&p| p as u8).collect()];
    let segments: Vec<Vec<u8>> = planes.iter().map(|plane| packbits_literal(plane)).collect();
    let mut header = [0u32; 16];
    header[0] = segments.len() as u32;
    let mut offset = 64;
    for (i, segment) in segments.iter().enumerate() {
        header[i + 1] = offset as u32;
        offset += segment.len();
    }
    let mut out: Vec<u8> = header.iter().flat_map(|w| w.to_le_bytes()).collect();
    segments.iter().for_each(|s| out.extend(s));
    out
}

fn packbits_literal(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 128 + 2);
    for run in bytes.chunks(128) {
        out.push((run.len() - 1) as u8);
        out.extend_from_slice(run);
    }
    if out.len() % 2 == 1 {
        out.push(0x80); // PackBits no-op, as padding
    }
    out
}
