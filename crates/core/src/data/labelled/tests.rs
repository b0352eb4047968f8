use super::*;

fn entry(path: &str, size: (usize, usize)) -> Entry {
    Entry::file(path, Some(size), fnv1a(path.as_bytes()))
}

fn folders(classes: &[(&str, usize)]) -> Vec<Entry> {
    classes.iter().flat_map(|(c, n)| (0..*n).map(move |i| entry(&format!("{c}/img{i}.png"), (64, 64)))).collect()
}

fn defaults() -> LabelOptions {
    LabelOptions::default()
}

#[test]
fn class_folders_take_the_lesion_name_as_positive_and_hold_out_a_share_per_class() {
    let set = read(&folders(&[("tumour", 30), ("normal", 20)]), None, &defaults()).unwrap();
    assert_eq!(set.layout, Layout::ClassFolders);
    assert_eq!(set.images.len(), 50);
    assert!(set.images.iter().all(|i| i.positive == (i.class == "tumour")));
    let tumour = set.classes.iter().find(|c| c.name == "tumour").unwrap();
    assert!(tumour.positive);
    assert_eq!(tumour.per_split["val"], 6);
    assert_eq!(tumour.per_split["train"], 24);
    assert_eq!(set.classes.iter().find(|c| c.name == "normal").unwrap().per_split["val"], 4);
    // The same seed gives the same split; another seed another one.
    assert_eq!(read(&folders(&[("tumour", 30), ("normal", 20)]), None, &defaults()).unwrap(), set);
    let other = read(&folders(&[("tumour", 30), ("normal", 20)]), None, &LabelOptions { seed: 7, ..defaults() }).unwrap();
    assert_ne!(other.images.iter().map(|i| &i.split).collect::<Vec<_>>(), set.images.iter().map(|i| &i.split).collect::<Vec<_>>());
}

#[test]
fn split_folders_are_the_split_and_masks_pair_by_name() {
    let mut entries = Vec::new();
    for split in ["train", "val"] {
        for class in ["lesion", "healthy"] {
            for i in 0..6 {
                entries.push(entry(&format!("{split}/{class}/{i}.png"), (32, 32)));
            }
        }
    }
    entries.push(entry("train/lesion/0_mask.png", (32, 32)));
    entries.push(entry("train/lesion/0_mask_1.png", (32, 32)));
    let set = read(&entries, None, &defaults()).unwrap();
    assert_eq!(set.images.len(), 24, "masks are not images");
    let first = set.images.iter().find(|i| i.file == "train/lesion/0.png").unwrap();
    assert_eq!(first.masks, vec!["train/lesion/0_mask.png".to_string(), "train/lesion/0_mask_1.png".to_string()]);
    assert_eq!(first.split, "train");
    assert!(set.images.iter().filter(|i| i.file.starts_with("val/")).all(|i| i.split == "val"));
    assert_eq!(set.classes.iter().find(|c| c.name == "lesion").unwrap().per_split["val"], 6);
}

#[test]
fn refusals_name_the_classes() {
    let one = read(&folders(&[("tumour", 30)]), None, &defaults()).unwrap_err();
    assert!(one.contains("only one class") && one.contains("`tumour`"), "{one}");
    let few = read(&folders(&[("tumour", 30), ("normal", 9)]), None, &defaults()).unwrap_err();
    assert!(few.contains("`normal` has 9") && few.contains("at least 10"), "{few}");
    let unclear = read(&folders(&[("cats", 12), ("dogs", 12)]), None, &defaults()).unwrap_err();
    assert!(unclear.contains("`cats`, `dogs`") && unclear.contains("--positive"), "{unclear}");
    let named = read(&folders(&[("cats", 12), ("dogs", 12)]), None, &LabelOptions { positive: vec!["dogs".into()], ..defaults() }).unwrap();
    assert!(named.images.iter().all(|i| i.positive == (i.class == "dogs")));
    let wrong = read(&folders(&[("cats", 12), ("dogs", 12)]), None, &LabelOptions { positive: vec!["bird".into()], ..defaults() }).unwrap_err();
    assert!(wrong.contains("`bird`"), "{wrong}");
    let loose = read(&[folders(&[("tumour", 12), ("normal", 12)]), vec![entry("stray.png", (64, 64))]].concat(), None, &defaults()).unwrap_err();
    assert!(loose.contains("stray.png"), "{loose}");
    assert!(read(&folders(&[("tumour", 12), ("normal", 12)]), None, &LabelOptions { val_share: 1.0, ..defaults() }).is_err());
}

#[test]
fn duplicates_odd_sizes_and_unreadable_files_are_warned_about_and_the_rest_kept() {
    let mut entries = folders(&[("tumour", 12), ("normal", 12)]);
    entries.push(Entry { digest: entries[0].digest, ..entry("normal/copy.png", (64, 64)) });
    entries.push(entry("normal/big.png", (128, 100)));
    entries.push(Entry { size: None, ..entry("normal/broken.png", (0, 0)) });
    entries.push(entry("normal/notes.txt", (0, 0)));
    let set = read(&entries, None, &defaults()).unwrap();
    let all = set.warnings.join("\n");
    assert!(all.contains("tumour/img0.png (tumour)") && all.contains("normal/copy.png (normal)"), "{all}");
    assert!(all.contains("normal/big.png") && all.contains("64x64"), "{all}");
    assert!(all.contains("normal/broken.png"), "{all}");
    assert!(all.contains("normal/notes.txt"), "{all}");
    assert_eq!(set.images.len(), 11 + 12 + 1, "the duplicate's two copies and the broken file are out; big.png stays");
}

#[test]
fn a_labels_csv_keeps_groups_together_and_reports_missing_files() {
    let entries: Vec<Entry> = (0..40).map(|i| entry(&format!("scans/s{i}.png"), (48, 48))).collect();
    let mut text = String::from("file,label,group\n");
    for i in 0..40 {
        text += &format!("scans/s{i}.png,{},p{}\n", i % 2, i / 4);
    }
    text += "scans/gone.png,1,p99\n";
    let set = read(&entries, Some(CsvText { name: "labels.csv", text: &text }), &LabelOptions { val_share: 0.25, ..defaults() }).unwrap();
    assert_eq!(set.layout, Layout::LabelsCsv);
    assert_eq!(set.images.len(), 40);
    assert!(set.images.iter().all(|i| i.positive == (i.class == "1")));
    for group in (0..10).map(|g| format!("p{g}")) {
        let splits: BTreeSet<&str> = set.images.iter().filter(|i| i.group == group).map(|i| i.split.as_str()).collect();
        assert_eq!(splits.len(), 1, "group {group} straddles {splits:?}");
    }
    assert!(set.images.iter().any(|i| i.split == "val"));
    assert!(set.warnings.iter().any(|w| w.contains("scans/gone.png")), "{:?}", set.warnings);
    let bad = read(&entries, Some(CsvText { name: "labels.csv", text: "name,diagnosis\na,b\n" }), &defaults()).unwrap_err();
    assert!(bad.contains("labels.csv") && bad.contains("`file`"), "{bad}");
}

/// A gzipped NIfTI scan of `slices` axial slices of 12 x 10 whose voxels say which scan and
/// slice they are (so no two slices of the set are alike), and its label volume (a square on
/// every slice but the first) when `labelled`.
fn scan(path: &str, seed: u8, slices: usize, labelled: bool) -> Vec<crate::data::file_bytes::FileBytes> {
    use crate::volume::{nifti::write_u8, Geometry};
    let geometry = Geometry::from_affine([[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 2.0, 0.0]]);
    let dims = [12, 10, slices];
    let voxels: Vec<u8> = (0..12 * 10 * slices).map(|i| ((i % 120) as u8).wrapping_mul(3).wrapping_add(seed.wrapping_mul(31)).wrapping_add((i / 120) as u8 * 7)).collect();
    let mut files = vec![crate::data::file_bytes::FileBytes::new(path, write_u8(dims, &geometry, &voxels, "scan", 0))];
    if labelled {
        let labels: Vec<u8> = (0..12 * 10 * slices).map(|i| u8::from(i / 120 > 0 && (3..6).contains(&(i % 12)) && (2..5).contains(&(i % 120 / 12)))).collect();
        files.push(crate::data::file_bytes::FileBytes::new(path.replace(".nii.gz", "_mask.nii.gz"), write_u8(dims, &geometry, &labels, "labels", 1002)));
    }
    files
}

#[test]
fn volumes_in_class_folders_are_cut_into_slices_that_keep_their_scan_on_one_side_of_the_split() {
    let mut files = Vec::new();
    for k in 0..4u8 {
        files.extend(scan(&format!("tumour/t{k}.nii.gz"), k, 5, k < 3));
        files.extend(scan(&format!("normal/n{k}.nii.gz"), 10 + k, 5, false));
    }
    files.push(crate::data::file_bytes::FileBytes::new("normal/broken.nii.gz", vec![1, 2, 3]));
    let mut problems = Vec::new();
    let scans = ScanSlices::cut(files, &mut problems);
    assert_eq!(scans.entries.len(), 40, "8 scans of 5 slices");
    assert!(problems.len() == 1 && problems[0].starts_with("normal/broken.nii.gz:"), "{problems:?}");
    let first = &scans.entries[0];
    assert_eq!(first.path, "normal/n0.nii.gz · axial 1 of 5");
    assert_eq!(first.size, Some((12, 10)));
    assert_eq!(scans.image(&first.path).map(|p| (p.width, p.height)), Some((12, 10)));

    let set = read(&scans.entries, None, &LabelOptions { val_share: 0.25, ..defaults() }).unwrap();
    assert_eq!(set.layout, Layout::ClassFolders);
    assert_eq!(set.images.len(), 40);
    for class in &set.classes {
        assert_eq!(class.per_split["val"], 5, "one scan of four held out per class: {class:?}");
    }
    // Each scan is its slices' group, and a group lies on one side.
    let mut sides: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for image in &set.images {
        assert!(image.file.starts_with(image.group.as_str()), "{image:?}");
        sides.entry(image.group.as_str()).or_default().insert(image.split.as_str());
    }
    assert_eq!(sides.len(), 8);
    assert!(sides.values().all(|s| s.len() == 1), "{sides:?}");
    // Masks come from the label volumes: three tumour scans have them, slice by slice.
    assert_eq!(set.summary().masked, 15);
    let t0 = "tumour/t0.nii.gz · axial 2 of 5";
    assert_eq!(set.images.iter().find(|i| i.file == t0).unwrap().masks, vec!["tumour/t0_mask.nii.gz".to_string()]);
    assert_eq!(scans.mask(t0).unwrap().area(), 9);
    assert_eq!(scans.mask("tumour/t0.nii.gz · axial 1 of 5").unwrap().area(), 0);
    assert!(scans.mask("tumour/t3.nii.gz · axial 2 of 5").is_none());

    // A labels CSV names scans; each row labels every slice, and the group column holds.
    let csv = "file,label,group\ntumour/t0.nii.gz,yes,p1\ntumour/t1.nii.gz,yes,p1\ntumour/t2.nii.gz,yes,p2\nnormal/n0.nii.gz,no,p3\nnormal/n1.nii.gz,no,p4\n";
    let set = read(&scans.entries, Some(CsvText { name: "labels.csv", text: csv }), &defaults()).unwrap();
    assert_eq!(set.layout, Layout::LabelsCsv);
    assert_eq!(set.images.len(), 25);
    assert_eq!(set.images.iter().filter(|i| i.group == "p1").count(), 10);
    assert!(set.images.iter().all(|i| i.positive == (i.class == "yes")));
}

#[test]
fn a_dicom_series_is_a_scan_whether_in_its_own_folder_or_loose_in_the_class_folder() {
    use crate::data::file_bytes::FileBytes;
    use crate::volume::dicom_writer::{write_slice, SliceSpec, Syntax};
    // Each volume is windowed by its own range: the series differ in pattern, not only level.
    let slice = |k: usize, value: u16, uid: &str| {
        let pixels: Vec<u16> = (0..12).map(|i| value + i * (value / 100 + 1)).collect();
        write_slice(&SliceSpec { pixels: &pixels, rows: 3, cols: 4, position: [0.0, 0.0, 2.0 * k as f64], orientation: [1.0, 0.0, 0.0, 0.0, 1.0, 0.0], spacing: [1.0, 1.0], rescale: (1.0, 0.0), window: None, instance: k as u32 + 1, series_uid: uid, patient_name: "X", patient_id: "Y", syntax: Syntax::ExplicitLittle })
    };
    let mut files = Vec::new();
    for series in 0..4u16 {
        for k in 0..3 {
            // Tumour series each in a folder; normal series loose in `normal/`, told apart by UID.
            let path = if series < 2 { format!("tumour/p{series}/{k}.dcm") } else { format!("normal/s{series}_{k}.dcm") };
            files.push(FileBytes::new(path, slice(k, 100 * series + 20 * k as u16, &format!("1.2.{series}"))));
        }
    }
    let mut problems = Vec::new();
    let scans = ScanSlices::cut(files, &mut problems);
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(scans.entries.len(), 12);
    let (tumour, normal): (Vec<&Entry>, Vec<&Entry>) = scans.entries.iter().partition(|e| e.path.starts_with("tumour/"));
    assert_eq!((tumour.len(), normal.len()), (6, 6));
    assert!(tumour.iter().all(|e| e.scan.as_ref().unwrap().scan.starts_with("tumour/p")), "{tumour:?}");
    assert!(normal.iter().all(|e| e.path.starts_with("normal/") && e.scan.as_ref().unwrap().scan == "normal"), "{normal:?}");
    let groups: BTreeSet<&str> = scans.entries.iter().map(|e| e.scan.as_ref().unwrap().volume.as_str()).collect();
    assert_eq!(groups.len(), 4, "two series in folders, two loose ones: {groups:?}");
    let set = read(&scans.entries, None, &LabelOptions { val_share: 0.5, ..defaults() });
    assert!(matches!(&set, Err(e) if e.contains("has 6 usable images")), "a class of 6 slices is refused as any class under 10: {set:?}");
    // Slices come in the series' order by position, each windowed to [0, 1].
    let planes: Vec<crate::plane::Plane> = tumour.iter().take(3).map(|e| scans.image(&e.path).unwrap()).collect();
    assert!(planes.iter().all(|p| (p.width, p.height) == (4, 3) && p.data.iter().all(|v| (0.0..=1.0).contains(v))));
    assert!(planes[0].data[0] < planes[1].data[0] && planes[1].data[0] < planes[2].data[0], "{planes:?}");
}
