use super::*;
use crate::volume::dicom_writer::{write_slice, SliceSpec, Syntax};
use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::uids;
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};

const ROWS: usize = 6;
const COLS: usize = 8;
const AXIAL: [f64; 6] = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0];

/// Distinct values per slice and pixel (under 256, so JPEG baseline can carry them too).
fn pixels(k: usize) -> Vec<u16> {
    (0..ROWS * COLS).map(|p| (k * 50 + p) as u16).collect()
}

fn spec<'a>(pixels: &'a [u16], position: [f64; 3], instance: u32, series_uid: &'a str, syntax: Syntax) -> SliceSpec<'a> {
    SliceSpec {
        pixels,
        rows: ROWS,
        cols: COLS,
        position,
        orientation: AXIAL,
        spacing: [0.5, 0.75],
        rescale: (2.0, -1024.0),
        window: Some((40.0, 400.0)),
        instance,
        series_uid,
        patient_name: "Doe^Jane",
        patient_id: "PID-99731",
        syntax,
    }
}

/// A 4-slice axial series whose file names sort differently from the slices' positions (and
/// whose instance numbers run backwards): slice k lies at z = 10 + 2.5 k.
fn series(syntax: Syntax) -> Vec<FileBytes> {
    let names = ["s/b.dcm", "s/d.dcm", "s/a.dcm", "s/c.dcm"];
    (0..4)
        .map(|k| {
            let px = pixels(k);
            let spec = spec(&px, [-100.0, -120.0, 10.0 + 2.5 * k as f64], 10 - k as u32, "1.2.826.0.1.3680043.10.7", syntax);
            FileBytes::new(names[k], write_slice(&spec))
        })
        .collect()
}

fn read(group: &str, files: &[FileBytes]) -> (Vec<Volume>, Vec<String>) {
    let refs: Vec<&FileBytes> = files.iter().collect();
    read_series(group, &refs)
}

fn expected(k: usize) -> Vec<f32> {
    pixels(k).iter().map(|&p| p as f32 * 2.0 - 1024.0).collect()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-6
}

#[test]
fn detects_dicom_by_extension_or_magic() {
    assert!(is_dicom("x/IM0001.DCM", b""));
    assert!(is_dicom("x/file.ima", b""));
    let files = series(Syntax::ExplicitLittle);
    assert!(is_dicom("x/IM0001", &files[0].bytes));
    assert!(!is_dicom("x/scan.png", &[0u8; 200]));
}

#[test]
fn slices_are_sorted_by_position_not_name() {
    let (volumes, problems) = read("s", &series(Syntax::ExplicitLittle));
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(volumes.len(), 1);
    let v = &volumes[0];
    assert_eq!(v.name, "s");
    assert_eq!(v.dims, [COLS, ROWS, 4]);
    for k in 0..4 {
        assert_eq!(&v.data[k * ROWS * COLS..(k + 1) * ROWS * COLS], expected(k).as_slice(), "slice {k}");
    }
    // Voxel (i, j, k) at data[i + cols * (j + rows * k)]: column i, row j.
    assert_eq!(v.data[3 + COLS * (2 + ROWS)], (50 + 2 * COLS + 3) as f32 * 2.0 - 1024.0);
    let a = v.geometry.affine();
    // Origin: the lowest slice's position, LPS -> RAS.
    assert!(close(a[0][3], 100.0) && close(a[1][3], 120.0) && close(a[2][3], 10.0), "{a:?}");
    // i along a row (LPS +x, 0.75 mm), j down the columns (LPS +y, 0.5 mm), k the slice step.
    assert!(close(a[0][0], -0.75) && close(a[1][0], 0.0) && close(a[2][0], 0.0), "{a:?}");
    assert!(close(a[0][1], 0.0) && close(a[1][1], -0.5) && close(a[2][1], 0.0), "{a:?}");
    assert!(close(a[0][2], 0.0) && close(a[1][2], 0.0) && close(a[2][2], 2.5), "{a:?}");
    assert_eq!(v.window, Some(Window::from_level(40.0, 400.0)));
    assert!(!v.unit_u8);
    assert_eq!(v.format, "DICOM, Explicit VR Little Endian");
}

#[test]
fn oblique_stacks_follow_the_slice_normal() {
    // Sagittal: rows run anterior->posterior (+y), columns head->foot (-z); the normal
    // row x col is -x (toward the patient's right), so slices sort by decreasing x.
    let xs = [3.0, 0.0, 6.0];
    let px: Vec<Vec<u16>> = (0..3).map(pixels).collect();
    let files: Vec<FileBytes> = (0..3)
        .map(|n| {
            let mut s = spec(&px[n], [xs[n], -50.0, 60.0], n as u32 + 1, "1.2.3.9", Syntax::ExplicitLittle);
            s.orientation = [0.0, 1.0, 0.0, 0.0, 0.0, -1.0];
            FileBytes::new(format!("sag/{n}.dcm"), write_slice(&s))
        })
        .collect();
    let (volumes, problems) = read("sag", &files);
    assert!(problems.is_empty(), "{problems:?}");
    let v = &volumes[0];
    // First slice: x = 6 (file 2), then 3 (file 0), then 0 (file 1).
    assert_eq!(&v.data[..ROWS * COLS], expected(2).as_slice());
    assert_eq!(&v.data[ROWS * COLS..2 * ROWS * COLS], expected(0).as_slice());
    let a = v.geometry.affine();
    assert!(close(a[0][3], -6.0) && close(a[1][3], 50.0) && close(a[2][3], 60.0), "{a:?}");
    // k: LPS (-3, 0, 0) -> RAS (3, 0, 0); i: LPS +y -> RAS -y; j: LPS -z.
    assert!(close(a[0][2], 3.0) && close(a[1][2], 0.0) && close(a[2][2], 0.0), "{a:?}");
    assert!(close(a[1][0], -0.75) && close(a[2][1], -0.5), "{a:?}");
}

#[test]
fn every_supported_syntax_gives_the_same_voxels() {
    let (reference, _) = read("s", &series(Syntax::ExplicitLittle));
    for (syntax, name) in [(Syntax::ImplicitLittle, "Implicit VR Little Endian"), (Syntax::Rle, "RLE Lossless")] {
        let (volumes, problems) = read("s", &series(syntax));
        assert!(problems.is_empty(), "{syntax:?}: {problems:?}");
        assert_eq!(volumes[0].data, reference[0].data, "{syntax:?}");
        assert_eq!(volumes[0].geometry, reference[0].geometry, "{syntax:?}");
        assert_eq!(volumes[0].format, format!("DICOM, {name}"));
    }
}

#[test]
fn jpeg_baseline_decodes_close_to_the_original() {
    let (volumes, problems) = read("s", &series(Syntax::JpegBaseline));
    assert!(problems.is_empty(), "{problems:?}");
    let v = &volumes[0];
    assert_eq!(v.dims, [COLS, ROWS, 4]);
    assert!(v.format.starts_with("DICOM, JPEG Baseline"), "{}", v.format);
    let want: Vec<f32> = (0..4).flat_map(expected).collect();
    // Lossy: stored values within a few steps (x slope 2).
    let worst = v.data.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
    assert!(worst <= 2.0 * 8.0, "JPEG error {worst}");
}

#[test]
fn unsupported_compression_names_the_file_and_syntax() {
    let px = pixels(0);
    let file = FileBytes::new("u/x.dcm", write_slice(&spec(&px, [0.0; 3], 1, "1.2.3.4", Syntax::Unsupported)));
    let (volumes, problems) = read("u", &[file]);
    assert!(volumes.is_empty());
    assert_eq!(problems.len(), 1);
    assert!(problems[0].starts_with("u/x.dcm: compressed with JPEG 2000"), "{}", problems[0]);
    assert!(problems[0].contains("(1.2.840.10008.1.2.4.90)"), "{}", problems[0]);
}

/// A DICOM file with no pixel data (as a structured report is).
fn no_pixels() -> Vec<u8> {
    let mut obj = InMemDicomObject::new_empty();
    obj.put(DataElement::new(tags::SOP_CLASS_UID, VR::UI, PrimitiveValue::from("1.2.840.10008.5.1.4.1.1.88.11")));
    obj.put(DataElement::new(tags::SOP_INSTANCE_UID, VR::UI, PrimitiveValue::from("1.2.3.4.5")));
    obj.put(DataElement::new(tags::PATIENT_NAME, VR::PN, PrimitiveValue::from("Doe^Jane")));
    let file = obj.with_meta(FileMetaTableBuilder::new().transfer_syntax(uids::EXPLICIT_VR_LITTLE_ENDIAN)).unwrap();
    let mut out = Vec::new();
    file.write_all(&mut out).unwrap();
    out
}

#[test]
fn a_file_without_pixels_is_reported() {
    let (volumes, problems) = read("r", &[FileBytes::new("r/report.dcm", no_pixels())]);
    assert!(volumes.is_empty());
    assert_eq!(problems.len(), 1);
    assert!(problems[0].starts_with("r/report.dcm: holds no pixel data"), "{}", problems[0]);
}

#[test]
fn an_odd_sized_slice_is_skipped_and_named() {
    let mut files = series(Syntax::ExplicitLittle);
    let small = vec![7u16; 4 * 4];
    let mut odd = spec(&small, [-100.0, -120.0, 20.0], 99, "1.2.826.0.1.3680043.10.7", Syntax::ExplicitLittle);
    odd.rows = 4;
    odd.cols = 4;
    files.push(FileBytes::new("s/0-odd.dcm", write_slice(&odd)));
    let (volumes, problems) = read("s", &files);
    assert_eq!(volumes.len(), 1);
    assert_eq!(volumes[0].dims, [COLS, ROWS, 4]);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].starts_with("s/0-odd.dcm: is 4x4 pixels"), "{}", problems[0]);
}

#[test]
fn a_slice_in_another_orientation_is_skipped_and_named() {
    let mut files = series(Syntax::ExplicitLittle);
    let px = pixels(0);
    let mut odd = spec(&px, [-100.0, -120.0, 20.0], 99, "1.2.826.0.1.3680043.10.7", Syntax::ExplicitLittle);
    odd.orientation = [1.0, 0.0, 0.0, 0.0, 0.0, -1.0];
    files.push(FileBytes::new("s/e.dcm", write_slice(&odd)));
    let (volumes, problems) = read("s", &files);
    assert_eq!(volumes[0].dims, [COLS, ROWS, 4]);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].starts_with("s/e.dcm: lies in another orientation"), "{}", problems[0]);
}

#[test]
fn two_series_give_two_volumes() {
    let px: Vec<Vec<u16>> = (0..4).map(pixels).collect();
    let files: Vec<FileBytes> = (0..4)
        .map(|n| {
            let uid = if n % 2 == 0 { "1.2.3.1" } else { "1.2.3.2" };
            let s = spec(&px[n], [0.0, 0.0, n as f64], n as u32, uid, Syntax::ExplicitLittle);
            FileBytes::new(format!("two/{n}.dcm"), write_slice(&s))
        })
        .collect();
    let (volumes, problems) = read("two", &files);
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(volumes.len(), 2);
    assert_eq!(volumes[0].dims, [COLS, ROWS, 2]);
    assert_eq!(volumes[1].dims, [COLS, ROWS, 2]);
    assert_ne!(volumes[0].name, volumes[1].name);
    assert!(volumes.iter().all(|v| v.name.starts_with("two (series ")), "{:?}", volumes.iter().map(|v| &v.name).collect::<Vec<_>>());
}

#[test]
fn a_single_slice_uses_the_normal_for_its_thickness() {
    let files = series(Syntax::ExplicitLittle);
    let (volumes, problems) = read("one", &files[..1]);
    assert!(problems.is_empty(), "{problems:?}");
    let a = volumes[0].geometry.affine();
    assert!(close(a[2][2], 1.0) && close(a[0][2], 0.0), "{a:?}");
}

#[test]
fn missing_positions_fall_back_to_instance_order() {
    let files: Vec<FileBytes> = series(Syntax::ExplicitLittle)
        .into_iter()
        .map(|f| {
            let mut obj = dicom_object::OpenFileOptions::new().from_reader(f.bytes.as_slice()).unwrap();
            obj.remove_element(tags::IMAGE_POSITION_PATIENT);
            let mut out = Vec::new();
            obj.write_all(&mut out).unwrap();
            FileBytes::new(f.path, out)
        })
        .collect();
    let (volumes, problems) = read("s", &files);
    assert!(problems.is_empty(), "{problems:?}");
    let v = &volumes[0];
    assert!(v.format.contains("no position tags: slices in instance order"), "{}", v.format);
    // Instance numbers run backwards from position: slice k = 3 comes first.
    assert_eq!(&v.data[..ROWS * COLS], expected(3).as_slice());
}

#[test]
fn junk_and_truncated_files_are_messages_not_panics() {
    let good = series(Syntax::ExplicitLittle);
    let mut state = 12345u32;
    let junk: Vec<u8> = (0..4000)
        .map(|_| {
            state = state.wrapping_mul(1103515245).wrapping_add(12345);
            (state >> 16) as u8
        })
        .collect();
    let files = vec![FileBytes::new("j/random.dcm", junk), FileBytes::new("j/cut.dcm", good[0].bytes[..300].to_vec())];
    let (volumes, problems) = read("j", &files);
    assert!(volumes.is_empty());
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems.iter().any(|p| p.starts_with("j/random.dcm: not a readable DICOM file")), "{problems:?}");
    assert!(problems.iter().any(|p| p.starts_with("j/cut.dcm: ")), "{problems:?}");
    // Every prefix of a good file: never a panic.
    for cut in (0..good[0].bytes.len()).step_by(7) {
        let (_, problems) = read("j", &[FileBytes::new("j/c.dcm", good[0].bytes[..cut].to_vec())]);
        assert!(problems.iter().all(|p| p.starts_with("j/c.dcm: ")), "{problems:?}");
    }
}

/// Finds `needle` in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> usize {
    haystack.windows(needle.len()).position(|w| w == needle).expect("pattern present")
}

#[test]
fn damaged_rle_is_a_message_not_a_panic() {
    let mut bytes = series(Syntax::Rle).remove(0).bytes;
    // The RLE header: 2 segments, the first at 64. Make the first segment 2 bytes long.
    let at = find(&bytes, &[2, 0, 0, 0, 64, 0, 0, 0]);
    bytes[at + 8..at + 12].copy_from_slice(&66u32.to_le_bytes());
    let (volumes, problems) = read("r", &[FileBytes::new("r/1.dcm", bytes.clone())]);
    assert!(volumes.is_empty());
    assert!(problems[0].starts_with("r/1.dcm: RLE pixel data is damaged"), "{problems:?}");
    // A segment count the header cannot hold.
    bytes[at] = 200;
    let (_, problems) = read("r", &[FileBytes::new("r/1.dcm", bytes)]);
    assert!(problems[0].starts_with("r/1.dcm: RLE pixel data is damaged"), "{problems:?}");
}

#[test]
fn a_jpeg_larger_than_its_header_is_a_message_not_a_panic() {
    let mut bytes = series(Syntax::JpegBaseline).remove(0).bytes;
    // Rows (0028,0010) US 6 -> 4: the JPEG inside still holds 6 rows.
    let at = find(&bytes, &[0x28, 0x00, 0x10, 0x00, b'U', b'S', 2, 0, ROWS as u8, 0]);
    bytes[at + 8] = 4;
    let (volumes, problems) = read("r", &[FileBytes::new("r/1.dcm", bytes)]);
    assert!(volumes.is_empty());
    assert!(problems[0].starts_with("r/1.dcm: the JPEG image (8x6) is larger"), "{problems:?}");
}

#[test]
fn no_patient_data_leaks_into_volumes_or_messages() {
    let mut files = series(Syntax::ExplicitLittle);
    let px = pixels(0);
    files.push(FileBytes::new("s/x.dcm", write_slice(&spec(&px, [0.0; 3], 1, "1.2.3.4", Syntax::Unsupported))));
    files.push(FileBytes::new("s/cut.dcm", files[0].bytes[..files[0].bytes.len() - 10].to_vec()));
    files.push(FileBytes::new("s/report.dcm", no_pixels()));
    let (volumes, problems) = read("s", &files);
    assert_eq!(volumes.len(), 1);
    assert_eq!(problems.len(), 3, "{problems:?}");
    let everything = format!("{volumes:?} {problems:?}");
    assert!(files[0].bytes.windows(8).any(|w| w == b"Doe^Jane"), "the test files do carry the name");
    for secret in ["Doe^Jane", "Doe", "PID-99731"] {
        assert!(!everything.contains(secret), "{secret} leaked");
    }
}

/// The files re-encoded in another transfer syntax (one `write_slice` does not offer).
fn transcoded(files: Vec<FileBytes>, uid: &str) -> Vec<FileBytes> {
    use dicom_pixeldata::Transcode;
    let ts = TransferSyntaxRegistry.get(uid).unwrap();
    files
        .into_iter()
        .map(|f| {
            let mut obj = OpenFileOptions::new().from_reader(f.bytes.as_slice()).unwrap();
            obj.transcode(ts).unwrap();
            let mut out = Vec::new();
            obj.write_all(&mut out).unwrap();
            FileBytes::new(f.path, out)
        })
        .collect()
}

#[test]
fn deflated_files_give_the_same_voxels() {
    let (reference, _) = read("s", &series(Syntax::ExplicitLittle));
    for uid in [uids::DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN, uids::DEFLATED_IMAGE_FRAME_COMPRESSION] {
        let files = transcoded(series(Syntax::ExplicitLittle), uid);
        let (volumes, problems) = read("s", &files);
        assert!(problems.is_empty(), "{uid}: {problems:?}");
        assert_eq!(volumes[0].data, reference[0].data, "{uid}");
        assert!(volumes[0].format.starts_with("DICOM, Deflated"), "{}", volumes[0].format);
    }
}

#[test]
fn a_deflate_bomb_is_refused_before_inflating() {
    let files = transcoded(series(Syntax::ExplicitLittle), uids::DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN);
    assert_eq!(check_deflated(&files[0].bytes, 1 << 20), Ok(()));
    let refused = check_deflated(&files[0].bytes, 100).unwrap_err();
    assert!(refused.contains("inflates to more than 100 bytes"), "{refused}");
    // Frames that inflate to more than the header's size.
    let mut frames = transcoded(series(Syntax::ExplicitLittle), uids::DEFLATED_IMAGE_FRAME_COMPRESSION).remove(0).bytes;
    let at = find(&frames, &[0x28, 0x00, 0x10, 0x00, b'U', b'S', 2, 0, ROWS as u8, 0]);
    frames[at + 8] = 2;
    let (volumes, problems) = read("r", &[FileBytes::new("r/1.dcm", frames)]);
    assert!(volumes.is_empty());
    assert!(problems[0].starts_with("r/1.dcm: the deflated frames hold more pixels"), "{problems:?}");
}

/// A written slice, edited as an object.
fn edited(syntax: Syntax, edit: impl Fn(&mut DefaultDicomObject)) -> FileBytes {
    let file = series(syntax).remove(0);
    let mut obj = OpenFileOptions::new().from_reader(file.bytes.as_slice()).unwrap();
    edit(&mut obj);
    let mut out = Vec::new();
    obj.write_all(&mut out).unwrap();
    FileBytes::new(file.path, out)
}

#[test]
fn multi_frame_files_give_their_first_frame_and_say_so() {
    let file = edited(Syntax::ExplicitLittle, |obj| {
        let two: Vec<u16> = pixels(0).into_iter().chain(pixels(1)).collect();
        obj.put(DataElement::new(tags::NUMBER_OF_FRAMES, VR::IS, PrimitiveValue::from("2")));
        obj.put(DataElement::new(tags::PIXEL_DATA, VR::OW, PrimitiveValue::U16(two.into_iter().collect())));
    });
    let (volumes, problems) = read("m", &[file]);
    assert_eq!(volumes[0].dims, [COLS, ROWS, 1]);
    assert_eq!(volumes[0].data, expected(0));
    assert_eq!(problems.len(), 1);
    assert!(problems[0].starts_with("s/b.dcm: holds 2 frames; only the first was read"), "{problems:?}");
}

#[test]
fn signed_and_monochrome1_pixels_keep_their_values() {
    let file = edited(Syntax::ExplicitLittle, |obj| {
        obj.put(DataElement::new(tags::PIXEL_REPRESENTATION, VR::US, PrimitiveValue::from(1u16)));
        obj.put(DataElement::new(tags::PHOTOMETRIC_INTERPRETATION, VR::CS, PrimitiveValue::from("MONOCHROME1")));
        let values: Vec<u16> = (0..ROWS * COLS).map(|p| (p as i16 - 20) as u16).collect();
        obj.put(DataElement::new(tags::PIXEL_DATA, VR::OW, PrimitiveValue::U16(values.into_iter().collect())));
    });
    let (volumes, problems) = read("m", &[file]);
    assert!(problems.is_empty(), "{problems:?}");
    let want: Vec<f32> = (0..ROWS * COLS).map(|p| (p as f32 - 20.0) * 2.0 - 1024.0).collect();
    assert_eq!(volumes[0].data, want);
    assert!(volumes[0].format.contains("MONOCHROME1"), "{}", volumes[0].format);
}

#[test]
fn oversized_and_colour_images_are_refused_before_decoding() {
    let huge = edited(Syntax::ExplicitLittle, |obj| {
        obj.put(DataElement::new(tags::ROWS, VR::US, PrimitiveValue::from(65535u16)));
        obj.put(DataElement::new(tags::COLUMNS, VR::US, PrimitiveValue::from(65535u16)));
    });
    let colour = edited(Syntax::ExplicitLittle, |obj| {
        obj.put(DataElement::new(tags::SAMPLES_PER_PIXEL, VR::US, PrimitiveValue::from(3u16)));
        obj.put(DataElement::new(tags::PHOTOMETRIC_INTERPRETATION, VR::CS, PrimitiveValue::from("RGB")));
    });
    let (_, problems) = read("m", &[huge]);
    assert!(problems[0].contains("65535x65535 pixels x 1 frames is more than camseg reads"), "{problems:?}");
    let (_, problems) = read("m", &[colour]);
    assert_eq!(problems, ["s/b.dcm: colour DICOM images are not supported (PhotometricInterpretation RGB)"]);
}

/// Found by `tests/fuzz.rs`: one byte turned PatientName's VR "PN" into an unknown "PJ", which
/// the parser reads with a 4-byte length taken from the name's text (about 2 GB). It used to
/// zero that much memory (4 s) before failing; the length walk refuses it at once.
#[test]
fn a_length_longer_than_the_file_is_refused_before_allocating() {
    let px = pixels(0);
    let mut bytes = write_slice(&spec(&px, [0.0, 0.0, 0.0], 1, "1.2.3", Syntax::ExplicitLittle));
    let at = bytes.windows(6).position(|w| w == [0x10, 0x00, 0x10, 0x00, b'P', b'N']).expect("a PatientName element");
    bytes[at + 5] = b'J';
    let started = std::time::Instant::now();
    let (volumes, problems) = read("s", &[FileBytes::new("s/cut.dcm", bytes)]);
    assert!(volumes.is_empty());
    assert!(problems[0].starts_with("s/cut.dcm: element (0010,0010) claims"), "{problems:?}");
    assert!(started.elapsed() < std::time::Duration::from_millis(500), "{:?}", started.elapsed());
    // Every syntax the writer makes still passes the walk.
    for syntax in [Syntax::ExplicitLittle, Syntax::ImplicitLittle, Syntax::Rle, Syntax::JpegBaseline] {
        lengths::check(&write_slice(&spec(&px, [0.0, 0.0, 0.0], 1, "1.2.3", syntax))).unwrap();
    }
}
