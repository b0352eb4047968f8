use super::nifti::{read, write_u8};
use super::open::{group, read as read_source, Part, Scan, Source};
use super::score::{volume_dice, SliceCounts};
use super::*;
use crate::data::decode::{decode_image, encode_png_gray};
use crate::data::file_bytes::FileBytes;
use crate::data::Channel;
use crate::evaluate::Overlap;
use crate::masks::Threshold;

fn diag(x: f64, y: f64, z: f64) -> Geometry {
    Geometry::from_affine([[x, 0.0, 0.0, 10.0], [0.0, y, 0.0, -20.0], [0.0, 0.0, z, 30.0]])
}

/// A volume whose voxel value says where it is: 100 i + 10 j + k.
fn coded(dims: [usize; 3], geometry: Geometry) -> Volume {
    let data = (0..dims[2]).flat_map(|k| (0..dims[1]).flat_map(move |j| (0..dims[0]).map(move |i| (100 * i + 10 * j + k) as f32))).collect();
    Volume::new("coded.nii".into(), dims, data, geometry, "test".into())
}

/// Raw voxel values of a slice (window 0..1 would clip them).
fn raw(v: &Volume, view: View, index: usize) -> Vec<f32> {
    v.slice(view, index, Window { low: 0.0, high: 1000.0 }).data.iter().map(|x| (x * 1000.0).round()).collect()
}

#[test]
fn slices_follow_the_patient_not_the_voxel_order() {
    // LPS-like storage (i toward the patient's left, j toward posterior): axial slices are the
    // stored rows as they are, as a DICOM or PNG slice shows them.
    let lps = coded([3, 2, 4], diag(-1.0, -1.0, 1.0));
    assert_eq!(lps.slices(View::Axial), 4);
    assert_eq!(raw(&lps, View::Axial, 1), vec![1.0, 101.0, 201.0, 11.0, 111.0, 211.0]);
    // RAS storage (i toward the right, j anterior): the same anatomy, so both screen axes flip.
    let ras = coded([3, 2, 4], diag(1.0, 1.0, 1.0));
    assert_eq!(raw(&ras, View::Axial, 1), vec![211.0, 111.0, 11.0, 201.0, 101.0, 1.0]);
    // Voxel axes permuted: i runs superior, j right, k anterior. Axial slices step along i.
    let permuted = Geometry::from_affine([[0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0], [1.0, 0.0, 0.0, 0.0]]);
    let p = coded([4, 3, 2], permuted);
    assert_eq!((p.slices(View::Axial), p.slice_size(View::Axial)), (4, (3, 2)));
    // Slice 2 (i = 2); screen x toward the left = j descending; screen y posterior = k descending.
    assert_eq!(raw(&p, View::Axial, 2), vec![221.0, 211.0, 201.0, 220.0, 210.0, 200.0]);
    // Coronal and sagittal: superior is up (row 0 holds the top slice).
    assert_eq!(lps.slice_size(View::Coronal), (3, 4));
    assert_eq!(raw(&lps, View::Coronal, 0)[..3], [13.0, 113.0, 213.0]);
    assert_eq!(lps.slice_size(View::Sagittal), (2, 4));
}

#[test]
fn masks_written_back_land_on_their_voxels() {
    for geometry in [diag(-1.0, -1.0, 2.0), diag(1.0, 1.0, 1.0)] {
        let v = coded([3, 2, 4], geometry);
        for view in View::ALL {
            let masks: Vec<Option<Mask>> = (0..v.slices(view)).map(|k| Some(Mask::new(v.slice_size(view).0, v.slice_size(view).1, v.slice(view, k, Window { low: 0.0, high: 1000.0 }).data.iter().map(|x| (x * 1000.0).round() as usize % 7 == 0).collect()))).collect();
            let voxels = v.voxels_from_slices(view, &masks);
            let expected: Vec<u8> = v.data.iter().map(|x| (*x as usize % 7 == 0) as u8).collect();
            assert_eq!(voxels, expected, "{view:?}");
        }
    }
}

#[test]
fn a_slice_of_a_volume_made_of_png_slices_is_that_png() {
    // The dataset's own slices, stacked into an 8-bit NIfTI volume as a converter would: each
    // axial slice must reach the classifier as exactly the plane its PNG gives.
    let slices: Vec<Plane> = (0..3).map(|k| Plane::new(5, 4, (0..20).map(|i| ((i * 13 + k * 7) % 256) as f32 / 255.0).collect())).collect();
    let pngs: Vec<Vec<u8>> = slices.iter().map(encode_png_gray).collect();
    let decoded: Vec<Plane> = pngs.iter().enumerate().map(|(k, b)| decode_image(b, &format!("{k}.png"), Channel::Luma).unwrap()).collect();
    let voxels: Vec<u8> = decoded.iter().flat_map(|p| p.data.iter().map(|v| (v * 255.0).round() as u8)).collect();
    let file = write_u8([5, 4, 3], &diag(-1.0, -1.0, 1.0), &voxels, "from pngs", 0);
    let volume = read("stack.nii.gz", &file).unwrap();
    assert!(volume.unit_u8, "{}", volume.format);
    for (k, png) in decoded.iter().enumerate() {
        assert_eq!(&volume.slice(View::Axial, k, volume.default_window()), png, "slice {k}");
    }
}

#[test]
fn nifti_round_trips_with_its_affine_and_the_crate_agrees() {
    let g = Geometry::from_affine([[-0.9, 0.1, 0.0, 90.0], [0.1, 0.9, 0.0, -126.0], [0.0, 0.0, 3.0, -72.0]]);
    let voxels: Vec<u8> = (0..4 * 3 * 2).map(|i| (i % 2) as u8).collect();
    let bytes = write_u8([4, 3, 2], &g, &voxels, "t", 1002);
    let back = read("m.nii.gz", &bytes).unwrap();
    assert_eq!(back.dims, [4, 3, 2]);
    assert_eq!(back.data, voxels.iter().map(|&v| v as f32).collect::<Vec<_>>());
    let (a, b) = (g.affine(), back.geometry.affine());
    for r in 0..3 {
        for c in 0..4 {
            assert!((a[r][c] - b[r][c]).abs() < 1e-4, "affine differs at {r},{c}: {a:?} vs {b:?}");
        }
    }
    // The qform alone (as a reader that ignores the sform sees it) gives the same affine.
    let q = Geometry { sform_code: 0, ..back.geometry.clone() }.affine();
    for r in 0..3 {
        for c in 0..4 {
            assert!((a[r][c] - q[r][c]).abs() < 1e-4, "qform differs at {r},{c}: {a:?} vs {q:?}");
        }
    }
    // An independent reader: the nifti crate parses what we wrote.
    let mut raw = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut raw).unwrap();
    let h = ::nifti::NiftiHeader::from_reader(&raw[..]).unwrap();
    assert_eq!((h.dim[0], h.dim[1], h.dim[2], h.dim[3], h.datatype, h.intent_code), (3, 4, 3, 2, 2, 1002));
    assert_eq!(h.srow_z, [0.0, 0.0, 3.0, -72.0]);
    assert_eq!(h.vox_offset, 352.0);
}

/// A NIfTI-2 file, big-endian if asked, of 16-bit voxels with a rescale.
fn nifti2(big: bool, dims: [i64; 3], values: &[i16], slope: f64, inter: f64) -> Vec<u8> {
    let mut h = vec![0u8; 544];
    let put = |h: &mut Vec<u8>, at: usize, bytes: &[u8]| {
        let mut b = bytes.to_vec();
        if big {
            b.reverse();
        }
        h[at..at + b.len()].copy_from_slice(&b);
    };
    put(&mut h, 0, &540i32.to_le_bytes());
    h[4..12].copy_from_slice(b"n+2\0\r\n\x1a\n");
    put(&mut h, 12, &4i16.to_le_bytes());
    put(&mut h, 14, &16i16.to_le_bytes());
    for (k, d) in [3, dims[0], dims[1], dims[2], 1, 1, 1, 1].iter().enumerate() {
        put(&mut h, 16 + 8 * k, &d.to_le_bytes());
    }
    for (k, p) in [1.0f64, 2.0, 2.0, 4.0].iter().enumerate() {
        put(&mut h, 104 + 8 * k, &p.to_le_bytes());
    }
    put(&mut h, 168, &544i64.to_le_bytes());
    put(&mut h, 176, &slope.to_le_bytes());
    put(&mut h, 184, &inter.to_le_bytes());
    put(&mut h, 348, &1i32.to_le_bytes());
    for (r, row) in [[2.0f64, 0.0, 0.0, -5.0], [0.0, 2.0, 0.0, 6.0], [0.0, 0.0, 4.0, 7.0]].iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            put(&mut h, 400 + 32 * r + 8 * c, &v.to_le_bytes());
        }
    }
    for v in values {
        h.extend(if big { v.to_be_bytes() } else { v.to_le_bytes() });
    }
    h
}

#[test]
fn nifti2_is_read_in_either_byte_order_with_its_rescale() {
    let values: Vec<i16> = (0..12).map(|i| i * 10 - 30).collect();
    for big in [false, true] {
        let v = read("v2.nii", &nifti2(big, [3, 2, 2], &values, 0.5, 100.0)).unwrap();
        assert_eq!(v.format, "NIfTI-2, int16");
        assert_eq!(v.data, values.iter().map(|&x| x as f32 * 0.5 + 100.0).collect::<Vec<_>>());
        assert_eq!(v.geometry.affine()[2], [0.0, 0.0, 4.0, 7.0]);
        assert!(!v.unit_u8);
    }
}

#[test]
fn bad_nifti_files_say_what_is_wrong() {
    let good = write_u8([4, 4, 4], &diag(1.0, 1.0, 1.0), &[1; 64], "x", 0);
    let mut raw = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&good[..]), &mut raw).unwrap();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty", Vec::new(), "too short"),
        ("cut gzip", good[..good.len() / 2].to_vec(), "gzip"),
        ("cut voxels", raw[..352 + 10].to_vec(), "cut short"),
        ("not nifti", b"hello world, this is text".to_vec(), "not a NIfTI file"),
        ("huge", {
            let mut h = raw.clone();
            h[42..44].copy_from_slice(&30000u16.to_le_bytes());
            h[44..46].copy_from_slice(&30000u16.to_le_bytes());
            h
        }, "outside what camseg reads"),
        ("complex", {
            let mut h = raw.clone();
            h[70..72].copy_from_slice(&32i16.to_le_bytes());
            h
        }, "not supported"),
    ];
    for (what, bytes, expected) in cases {
        let err = read("x.nii", &bytes).unwrap_err();
        assert!(err.contains(expected), "{what}: {err}");
    }
}

#[test]
fn scans_pair_with_their_label_volumes_by_name() {
    let g = diag(-1.0, -1.0, 1.0);
    let scan = write_u8([4, 4, 2], &g, &[7; 32], "s", 0);
    let labels = write_u8([4, 4, 2], &g, &[0; 32], "l", 1002);
    let wrong = write_u8([4, 4, 3], &g, &[0; 48], "l", 1002);
    let files = vec![
        FileBytes::new("a.nii.gz", scan.clone()),
        FileBytes::new("a_seg.nii.gz", labels.clone()),
        FileBytes::new("b.nii.gz", scan.clone()),
        FileBytes::new("b_mask.nii.gz", wrong),
        FileBytes::new("labels/c.nii.gz", labels.clone()),
        FileBytes::new("lonely_mask.nii.gz", labels),
    ];
    let mut problems = Vec::new();
    let sources = group(files, &mut problems);
    assert_eq!(sources.len(), 2, "{sources:?}");
    let scans: Vec<Scan> = sources.iter().flat_map(|s| read_source(s, &mut problems)).collect();
    assert_eq!(scans.iter().map(|s| (s.volume.name.as_str(), s.labels.is_some())).collect::<Vec<_>>(), vec![("a.nii.gz", true), ("b.nii.gz", false)]);
    let all = problems.join("\n");
    for expected in ["b_mask.nii.gz: is [4, 4, 3] voxels", "labels/c.nii.gz: a label volume with no scan", "lonely_mask.nii.gz: a label volume with no scan"] {
        assert!(all.contains(expected), "missing `{expected}` in\n{all}");
    }
    assert!(matches!(&sources[0].scan, Part::Nifti(f) if f.path == "a.nii.gz"));
    // One scan and one label volume with unrelated names (loose files) pair all the same.
    let loose = group(vec![FileBytes::new("IM1.dcm", vec![0; 200]), FileBytes::new("IM2.dcm", vec![0; 200]), FileBytes::new("truth_mask.nii.gz", Vec::new())], &mut problems);
    assert!(matches!(&loose[..], [Source { scan: Part::Dicom { files, .. }, labels: Some(Part::Nifti(_)) }] if files.len() == 2), "{loose:?}");
}

#[test]
fn volume_dice_sums_voxels_over_slices_and_gates_by_the_answer() {
    let heat = |v: &[f32]| Plane::new(2, 2, v.to_vec());
    let truth = |b: &[bool]| Mask::new(2, 2, b.to_vec());
    // Slice 1: 2 of 2 found; slice 2: no tumour, one false voxel; slice 3: one of two found.
    let overlaps = [
        Overlap::new(&heat(&[0.9, 0.9, 0.0, 0.0]), &truth(&[true, true, false, false])),
        Overlap::new(&heat(&[0.9, 0.0, 0.0, 0.0]), &truth(&[false; 4])),
        Overlap::new(&heat(&[0.9, 0.0, 0.0, 0.0]), &truth(&[true, false, true, false])),
    ];
    let probs = [0.9, 0.2, 0.7];
    let slices = overlaps.iter().zip(probs).map(|(overlap, probability)| SliceCounts { probability, overlap });
    let d = volume_dice(slices.clone(), Threshold::Fixed(0.5)).unwrap();
    // |P&T| = 3, |P| = 4, |T| = 4.
    assert!((d.dice - 6.0 / 8.0).abs() < 1e-12, "{d:?}");
    // Gated: slice 2 (p = 0.2) drops its false voxel: 6 / 7.
    assert!((d.gated_dice - 6.0 / 7.0).abs() < 1e-12, "{d:?}");
    assert_eq!((d.truth_voxels, d.predicted_voxels, d.slices), (4, 4, 3));
    assert!(volume_dice(slices, Threshold::Fixed(0.33)).is_none());
}

#[test]
fn a_dicom_series_pairs_with_a_folder_of_dicom_label_slices() {
    use super::dicom_writer::{write_slice, SliceSpec, Syntax};
    let slice = |k: usize, value: u16, uid: &str| {
        let pixels = vec![value; 12];
        write_slice(&SliceSpec {
            pixels: &pixels,
            rows: 3,
            cols: 4,
            position: [0.0, 0.0, 2.0 * k as f64],
            orientation: [1.0, 0.0, 0.0, 0.0, 1.0, 0.0],
            spacing: [1.0, 1.0],
            rescale: (1.0, 0.0),
            window: None,
            instance: k as u32 + 1,
            series_uid: uid,
            patient_name: "X",
            patient_id: "Y",
            syntax: Syntax::ExplicitLittle,
        })
    };
    let mut files = Vec::new();
    for k in 0..3 {
        files.push(FileBytes::new(format!("study/t2/{k}.dcm"), slice(k, 100 + k as u16, "1.2.3")));
        files.push(FileBytes::new(format!("study/t2_mask/{k}.dcm"), slice(k, (k == 1) as u16, "1.2.4")));
    }
    let mut problems = Vec::new();
    let sources = group(files, &mut problems);
    let scans: Vec<Scan> = sources.iter().flat_map(|s| read_source(s, &mut problems)).collect();
    assert!(problems.is_empty(), "{problems:?}");
    let [scan] = &scans[..] else { panic!("{scans:?}") };
    let labels = scan.labels.as_ref().expect("the label series pairs with its scan");
    assert_eq!((0..3).map(|k| labels.label_slice(View::Axial, k).area()).collect::<Vec<_>>(), vec![0, 12, 0]);
}
