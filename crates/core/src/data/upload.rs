//! Files a person hands the page at once (single images, many images, a folder, zips) turned
//! into images paired with their masks. Pairing is by name, the way datasets are laid out:
//! `x.png` + `x_mask.png` (also the LGG dataset's original `.tif` layout), or
//! `images/x.png` + `masks/x.png`. An image without a mask is still analysed, just not scored.
//! Every file that cannot be used is reported by name; the usable ones still load.

use super::decode::{check_mask_size, decode_image, decode_mask};
use super::input::Channel;
use crate::masks::Mask;
use crate::plane::Plane;
use std::collections::BTreeMap;
use std::io::Read;

pub use super::file_bytes::FileBytes;

/// A decoded image, with its true mask when one came with it.
#[derive(Clone, Debug, PartialEq)]
pub struct Loaded {
    /// The image's file name, as the table shows it.
    pub name: String,
    pub image: Plane,
    pub truth: Option<Mask>,
}

/// What a drop of files gave: usable images, and one message per file that could not be used.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Upload {
    pub loaded: Vec<Loaded>,
    pub problems: Vec<String>,
}

pub(crate) const IMAGE_EXTENSIONS: [&str; 6] = ["png", "jpg", "jpeg", "tif", "tiff", "bmp"];
/// Largest zip member inflated, so a zip bomb cannot exhaust the page's memory.
const MAX_MEMBER_BYTES: u64 = 64 << 20;

fn extension(path: &str) -> String {
    let file = path.rsplit('/').next().unwrap_or(path);
    file.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default()
}

/// System clutter that folders and zips carry (macOS resource forks, `.DS_Store`).
fn is_clutter(path: &str) -> bool {
    // `..` and `.` are path steps (a zip may hold `../x.png`; nothing is written by name), not
    // hidden files.
    path.split('/').any(|part| (part.starts_with('.') && part != ".." && part != ".") || part == "__MACOSX")
}

/// Splits a drop into 2D images (and anything unknown, reported later) and volume files
/// (NIfTI, DICOM), zips opened first.
pub fn split_volumes(files: Vec<FileBytes>, problems: &mut Vec<String>) -> (Vec<FileBytes>, Vec<FileBytes>) {
    expand_zips(files, problems).into_iter().filter(|f| !is_clutter(&f.path)).partition(|f| !crate::volume::open::is_volume_file(&f.path, &f.bytes))
}

/// Zips become their members (paths prefixed with nothing: the zip's own layout pairs them).
fn expand_zips(files: Vec<FileBytes>, problems: &mut Vec<String>) -> Vec<FileBytes> {
    let mut out = Vec::new();
    for file in files {
        if extension(&file.path) != "zip" {
            out.push(file);
            continue;
        }
        match read_zip(&file.bytes) {
            Ok(Zipped { members, nested, repeated }) => {
                if repeated > 0 {
                    let entries = if repeated == 1 { "1 entry has".to_string() } else { format!("{repeated} entries have") };
                    problems.push(format!("{}: {entries} the same name as another; only one of each was read", file.path));
                }
                let nested_note = (!nested.is_empty()).then(|| format!("a zip inside a zip is not opened (unzip {} first)", nested.join(", ")));
                // A labels CSV travels with the images (training reads it) but is not one.
                let no_images = members.iter().all(|m| extension(&m.path) == "csv");
                match (no_images, nested_note) {
                    (true, note) => problems.push(format!("{}: the zip holds no PNG, JPEG, TIFF, BMP, NIfTI or DICOM files{}", file.path, note.map(|n| format!("; {n}")).unwrap_or_default())),
                    (false, Some(note)) => problems.push(format!("{}: {note}", file.path)),
                    (false, None) => {}
                }
                out.extend(members);
            }
            Err(reason) => problems.push(format!("{}: {reason}", file.path)),
        }
    }
    out
}

/// Most members read from one zip, and most bytes inflated from it (all members together), so a
/// zip of a million entries or a few MB that inflate to gigabytes cannot exhaust the page.
#[derive(Clone, Copy, Debug)]
struct ZipLimits {
    members: usize,
    bytes: u64,
}

const ZIP_LIMITS: ZipLimits = ZipLimits { members: 10_000, bytes: 256 << 20 };

/// What a zip gave: its image and volume members, and the zips inside it (not opened).
#[derive(Debug)]
struct Zipped {
    members: Vec<FileBytes>,
    nested: Vec<String>,
    /// Entries the zip's directory lists under a name used before (the reader keeps one).
    repeated: usize,
}

/// Entries the zip's end record counts (the reader keeps one entry per name, so a zip holding
/// the same name twice reads as fewer). `None` for zip64 or when the record is not found.
fn entries_declared(bytes: &[u8]) -> Option<usize> {
    let tail = &bytes[bytes.len().saturating_sub(22 + 65_535)..];
    let at = tail.windows(4).rposition(|w| w == [0x50, 0x4B, 0x05, 0x06])?;
    let count = u16::from_le_bytes([*tail.get(at + 10)?, *tail.get(at + 11)?]);
    (count != u16::MAX).then_some(count as usize)
}

/// Inflated-to-compressed ratio above which a large member is taken for a zip bomb. Deflate
/// reaches about 1000:1 only on constant data; images, even uncompressed TIFF, DICOM or a
/// label volume, stay far below.
const BOMB_RATIO: u64 = 200;
/// Members smaller than this are read whatever their ratio (a blank 1 MB mask is fine).
const BOMB_MIN_BYTES: u64 = 8 << 20;

/// The image and volume members of a zip (other members, e.g. a CSV index or an encrypted
/// README, are skipped by name before being opened; DICOM files often have no extension, so
/// those are kept when they carry the DICOM magic).
fn read_zip(bytes: &[u8]) -> Result<Zipped, String> {
    read_zip_within(bytes, ZIP_LIMITS)
}

fn read_zip_within(bytes: &[u8], limits: ZipLimits) -> Result<Zipped, String> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| format!("not a readable zip file ({e})"))?;
    let names: Vec<String> = (0..archive.len()).map(|i| archive.name_for_index(i).unwrap_or_default().to_string()).collect();
    let nested = names.iter().filter(|n| extension(n) == "zip" && !is_clutter(n)).cloned().collect();
    let wanted: Vec<usize> = (0..archive.len())
        .filter(|&i| {
            let name = names[i].as_str();
            let ext = extension(name);
            let maybe_dicom = ext.is_empty() || crate::volume::dicom::is_dicom(name, &[]);
            !name.ends_with('/') && !is_clutter(name) && (IMAGE_EXTENSIONS.contains(&ext.as_str()) || ext == "csv" || crate::volume::nifti::is_nifti(name) || maybe_dicom)
        })
        .collect();
    if wanted.len() > limits.members {
        return Err(format!("holds {} images or volumes; at most {} are read from one zip (split it)", wanted.len(), limits.members));
    }
    let mut members = Vec::new();
    let mut inflated = 0u64;
    for i in wanted {
        let name = names[i].clone();
        let mut entry = archive.by_index(i).map_err(|e| match e {
            zip::result::ZipError::UnsupportedArchive(zip::result::ZipError::PASSWORD_REQUIRED) => format!("{name} is encrypted; camseg cannot open it"),
            zip::result::ZipError::UnsupportedArchive(why) => format!("{name} is compressed with a method camseg cannot read ({why}); zip it again with deflate"),
            e => format!("damaged zip entry {name} ({e})"),
        })?;
        let (declared, packed) = (entry.size(), entry.compressed_size());
        if declared > MAX_MEMBER_BYTES {
            return Err(format!("{name} inflates to {} MB, more than the {} MB allowed", declared >> 20, MAX_MEMBER_BYTES >> 20));
        }
        if declared > BOMB_MIN_BYTES && declared > BOMB_RATIO * packed.max(1) {
            return Err(format!("{name} would inflate to {} MB from {} KB: a zip bomb, not opened", declared >> 20, packed >> 10));
        }
        // Read at most what the entry declares (plus one byte to catch one that lies).
        let mut data = Vec::with_capacity(declared as usize);
        entry.by_ref().take(declared + 1).read_to_end(&mut data).map_err(|e| format!("cannot inflate {name} ({e})"))?;
        if data.len() as u64 > declared {
            return Err(format!("{name} inflates to more than the {declared} bytes it declares (damaged, or a zip bomb)"));
        }
        inflated += data.len() as u64;
        if inflated > limits.bytes {
            return Err(format!("inflates to more than {} MB in all, more than camseg reads from one zip (split it)", limits.bytes >> 20));
        }
        if extension(&name).is_empty() && !crate::volume::dicom::is_dicom(&name, &data) {
            continue;
        }
        members.push(FileBytes::new(name, data));
    }
    let repeated = entries_declared(bytes).map_or(0, |n| n.saturating_sub(names.len()));
    Ok(Zipped { members, nested, repeated })
}

/// How an image and its mask find each other: folders with `masks` read as `images`, the file's
/// stem without a `_mask` suffix, no extension. Returns (key, is_mask).
pub(crate) fn pairing_key(path: &str) -> (String, bool) {
    let mut parts: Vec<&str> = path.split('/').collect();
    let file = parts.pop().unwrap_or_default();
    let stem = file.rsplit_once('.').map(|(s, _)| s).unwrap_or(file);
    let in_masks_folder = parts.iter().any(|p| p.eq_ignore_ascii_case("masks"));
    let (stem, suffixed) = match stem.strip_suffix("_mask").or_else(|| stem.strip_suffix("-mask")) {
        Some(s) => (s, true),
        None => (stem, false),
    };
    let folders: Vec<&str> = parts.into_iter().map(|p| if p.eq_ignore_ascii_case("masks") { "images" } else { p }).collect();
    (format!("{}/{stem}", folders.join("/")), suffixed || in_masks_folder)
}

/// An image file with its mask file, paired by name, not yet decoded.
#[derive(Clone, Debug, PartialEq)]
pub struct Pair {
    pub image: FileBytes,
    pub mask: Option<FileBytes>,
}

/// Pairs a drop of files (zips opened): cheap, no decoding. Files that cannot be used are
/// reported in `problems`.
pub fn pair(files: Vec<FileBytes>, problems: &mut Vec<String>) -> Vec<Pair> {
    let files = expand_zips(files, problems);
    let mut images: BTreeMap<String, FileBytes> = BTreeMap::new();
    let mut masks: BTreeMap<String, FileBytes> = BTreeMap::new();
    for file in files {
        // Clutter, and tables (a labels CSV read by training, an index): not images to pair.
        if is_clutter(&file.path) || extension(&file.path) == "csv" {
            continue;
        }
        if !IMAGE_EXTENSIONS.contains(&extension(&file.path).as_str()) {
            problems.push(format!("{}: not an image (PNG, JPEG, TIFF or BMP), a volume (NIfTI, DICOM) or a zip of them", file.path));
            continue;
        }
        let (key, is_mask) = pairing_key(&file.path);
        let slot = if is_mask { &mut masks } else { &mut images };
        if let Some(previous) = slot.insert(key, file) {
            problems.push(format!("{}: another file has the same name; only one was kept", previous.path));
        }
    }
    let pairs = images.into_iter().map(|(key, image)| Pair { image, mask: masks.remove(&key) }).collect();
    for file in masks.into_values() {
        problems.push(format!("{}: a mask with no image of the same name (expected x.png + x_mask.png, or images/x.png + masks/x.png)", file.path));
    }
    pairs
}

/// Decodes one pair. `channel` is the model card's input channel (the LGG dataset's `.tif`
/// slices are 3-channel; its model reads one of them). A bad mask does not lose its image: the
/// image loads unscored and the mask's problem is reported.
pub fn decode_pair(pair: &Pair, channel: Channel, problems: &mut Vec<String>) -> Option<Loaded> {
    let file = &pair.image;
    let name = file.path.rsplit('/').next().unwrap_or(&file.path).to_string();
    let image = match decode_image(&file.bytes, &file.path, channel) {
        Ok(image) => {
            let pages = if matches!(extension(&file.path).as_str(), "tif" | "tiff") { super::decode::tiff_pages(&file.bytes) } else { 1 };
            if pages > 1 {
                problems.push(format!("{}: holds {pages} pages; only the first was read (save each slice as its own file, or the stack as NIfTI)", file.path));
            }
            image
        }
        Err(e) => {
            problems.push(e.to_string());
            return None;
        }
    };
    let truth = match pair.mask.as_ref().map(|m| decode_mask(&m.bytes, &m.path).and_then(|mask| check_mask_size(&mask, image.width, image.height, &m.path).map(|_| mask))) {
        Some(Err(e)) => {
            problems.push(format!("{e} (its image {name} is loaded without a mask)"));
            None
        }
        Some(Ok(mask)) => Some(mask),
        None => None,
    };
    Some(Loaded { name, image, truth })
}

/// At most `limit` problems, then one line saying how many more (a zip of thousands of bad
/// files must not bury the page under messages).
pub fn summarise_problems(problems: &[String], limit: usize) -> Vec<String> {
    let mut out: Vec<String> = problems.iter().take(limit).cloned().collect();
    if problems.len() > limit {
        out.push(format!("… and {} more files could not be used", problems.len() - limit));
    }
    out
}

/// Pairs and decodes a drop of files at once (the page decodes pair by pair, yielding).
pub fn collect(files: Vec<FileBytes>, channel: Channel) -> Upload {
    let mut upload = Upload::default();
    let pairs = pair(files, &mut upload.problems);
    upload.loaded = pairs.iter().filter_map(|p| decode_pair(p, channel, &mut upload.problems)).collect();
    upload
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::decode::encode_png_gray;
    use std::io::Write;

    fn png(w: usize, h: usize, f: impl Fn(usize, usize) -> f32) -> Vec<u8> {
        let data = (0..w * h).map(|i| f(i % w, i / w)).collect();
        encode_png_gray(&Plane::new(w, h, data))
    }

    fn zip_of(files: &[(&str, Vec<u8>)]) -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut z = zip::ZipWriter::new(std::io::Cursor::new(&mut out));
            for (name, bytes) in files {
                z.start_file(*name, zip::write::SimpleFileOptions::default()).unwrap();
                z.write_all(bytes).unwrap();
            }
            z.finish().unwrap();
        }
        out
    }

    #[test]
    fn zips_skip_what_they_do_not_need_and_stop_at_their_limits() {
        let image = png(8, 8, |x, _| x as f32 / 8.0);
        // An encrypted README beside the images: skipped by name, never opened.
        let mut out = zip_of(&[("README.txt", b"private notes".to_vec()), ("a.png", image.clone())]);
        // Mark README.txt encrypted (general purpose flag bit 0) in its local and central headers.
        out[6] |= 1;
        let central = out.windows(4).position(|w| w == [0x50, 0x4b, 0x01, 0x02]).unwrap();
        out[central + 8] |= 1;
        assert!(zip::ZipArchive::new(std::io::Cursor::new(&out)).unwrap().by_index(0).is_err(), "the README reads as encrypted");
        let up = collect(vec![FileBytes::new("set.zip", out)], Channel::Luma);
        assert_eq!((up.loaded.len(), up.problems.len()), (1, 0), "{:?}", up.problems);
        // Too many members, or too many bytes in all: one message, before inflating the rest.
        let many: Vec<(String, Vec<u8>)> = (0..12).map(|k| (format!("{k}.png"), image.clone())).collect();
        let many: Vec<(&str, Vec<u8>)> = many.iter().map(|(n, b)| (n.as_str(), b.clone())).collect();
        let zipped = zip_of(&many);
        let err = read_zip_within(&zipped, ZipLimits { members: 10, bytes: 1 << 20 }).unwrap_err();
        assert!(err.contains("holds 12 images or volumes; at most 10"), "{err}");
        let err = read_zip_within(&zipped, ZipLimits { members: 100, bytes: 3 * image.len() as u64 }).unwrap_err();
        assert!(err.contains("inflates to more than"), "{err}");
        assert_eq!(read_zip_within(&zipped, ZipLimits { members: 12, bytes: 1 << 20 }).unwrap().members.len(), 12);
        // Thousands of problems become a few lines.
        let problems: Vec<String> = (0..500).map(|k| format!("{k}.png: bad")).collect();
        let shown = summarise_problems(&problems, 20);
        assert_eq!((shown.len(), shown[20].as_str()), (21, "… and 480 more files could not be used"));
    }

    #[test]
    fn pairs_by_suffix_and_by_folder() {
        assert_eq!(pairing_key("a/x.png"), ("a/x".into(), false));
        assert_eq!(pairing_key("a/x_mask.tif"), ("a/x".into(), true));
        assert_eq!(pairing_key("set/masks/x.png"), ("set/images/x".into(), true));
        assert_eq!(pairing_key("set/images/x.png"), ("set/images/x".into(), false));
    }

    #[test]
    fn collects_images_masks_and_zips_and_names_every_bad_file() {
        let image = png(8, 8, |x, _| x as f32 / 8.0);
        let mask = png(8, 8, |x, y| if x < 4 && y < 4 { 1.0 } else { 0.0 });
        let zipped = zip_of(&[("set/images/z.png", image.clone()), ("set/masks/z.png", mask.clone()), ("set/index.csv", b"a,b".to_vec())]);
        let files = vec![
            FileBytes::new("a.png", image.clone()),
            FileBytes::new("a_mask.png", mask.clone()),
            FileBytes::new("lonely.png", image.clone()),
            FileBytes::new("set.zip", zipped),
            FileBytes::new("small.png", image.clone()),
            FileBytes::new("small_mask.png", png(4, 4, |_, _| 1.0)),
            FileBytes::new("grey.png", image.clone()),
            FileBytes::new("grey_mask.png", png(8, 8, |x, _| x as f32 / 7.0)),
            FileBytes::new("broken.png", b"\x89PNG\r\n\x1a\nnot really".to_vec()),
            FileBytes::new("notes.txt", b"hello".to_vec()),
            FileBytes::new("orphan_mask.png", mask.clone()),
            FileBytes::new("empty.zip", zip_of(&[("readme.md", b"x".to_vec())])),
            FileBytes::new("junk.zip", b"PK not a zip".to_vec()),
            FileBytes::new(".DS_Store", b"junk".to_vec()),
        ];
        let up = collect(files, Channel::Luma);
        let names: Vec<_> = up.loaded.iter().map(|l| (l.name.as_str(), l.truth.as_ref().map(|m| m.area()))).collect();
        assert_eq!(names, vec![("a.png", Some(16)), ("grey.png", None), ("lonely.png", None), ("small.png", None), ("z.png", Some(16))]);
        let all = up.problems.join("\n");
        for expected in ["broken.png", "notes.txt: not an image", "orphan_mask.png: a mask with no image", "empty.zip: the zip holds no", "junk.zip: not a readable zip", "small_mask.png", "is 4x4 but its image is 8x8", "grey_mask.png", "not binary"] {
            assert!(all.contains(expected), "missing `{expected}` in:\n{all}");
        }
        assert_eq!(up.problems.len(), 7, "{all}");
    }

    #[test]
    fn lgg_tif_pairs_read_the_cards_channel() {
        let rgb = image::RgbImage::from_fn(4, 2, |x, _| image::Rgb([0, (x * 60) as u8, 255]));
        let mut tif = Vec::new();
        rgb.write_to(&mut std::io::Cursor::new(&mut tif), image::ImageFormat::Tiff).unwrap();
        let gray = image::GrayImage::from_fn(4, 2, |x, _| image::Luma([if x == 3 { 255 } else { 0 }]));
        let mut mask = Vec::new();
        gray.write_to(&mut std::io::Cursor::new(&mut mask), image::ImageFormat::Tiff).unwrap();
        let up = collect(vec![FileBytes::new("TCGA_CS_4941_19960909/TCGA_CS_4941_19960909_12.tif", tif), FileBytes::new("TCGA_CS_4941_19960909/TCGA_CS_4941_19960909_12_mask.tif", mask)], Channel::Green);
        assert!(up.problems.is_empty(), "{:?}", up.problems);
        let l = &up.loaded[0];
        assert_eq!(l.image.data[3], 180.0 / 255.0);
        assert_eq!(l.truth.as_ref().unwrap().area(), 2);
    }
}
