//! The odd-input corpus: bad or odd files made in code (never committed), each with what the
//! person must be told. Every file name starts with its case id, so a batch of cases can be
//! dropped on the page at once and every message still says which case it is about.

use camseg::data::encode_png_gray;
use camseg::plane::Plane;
use std::io::Write;

/// What a case must give: how many images load (and how many of them with a true mask), and a
/// message (naming `file`, containing `says`) for each problem. No other problem may appear.
pub struct Expect {
    pub loads: usize,
    pub scored: usize,
    pub says: Vec<(String, &'static str)>,
}

pub enum Feed {
    /// Dropped on the page (or given to `camseg cam --image/--mask`).
    Upload(Vec<(String, Vec<u8>)>),
    /// A model: its card (JSON) and weights (burnpack).
    Model { card: (String, Vec<u8>), weights: (String, Vec<u8>) },
}

pub struct Case {
    pub id: String,
    /// What the input is, as the reliability page lists it.
    pub what: &'static str,
    pub feed: Feed,
    pub expect: Expect,
}

fn png_gray(w: usize, h: usize) -> Vec<u8> {
    encode_png_gray(&Plane::new(w, h, (0..w * h).map(|i| ((i * 37) % 251) as f32 / 255.0).collect()))
}

fn png_with(w: u32, h: u32, color: png::ColorType, depth: png::BitDepth, data: &[u8], palette: Option<(&[u8], &[u8])>) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut e = png::Encoder::new(&mut out, w, h);
        e.set_color(color);
        e.set_depth(depth);
        if let Some((plte, trns)) = palette {
            e.set_palette(plte.to_vec());
            e.set_trns(trns.to_vec());
        }
        e.write_header().unwrap().write_image_data(data).unwrap();
    }
    out
}

/// A 16x16 mask PNG: 8-bit grey of the given values (a disc of `on`, the rest `off`).
fn mask_png(w: u32, h: u32, off: u8, on: u8) -> Vec<u8> {
    let data: Vec<u8> = (0..w * h).map(|i| if ((i % w) as i32 - 8).pow(2) + ((i / w) as i32 - 8).pow(2) < 16 { on } else { off }).collect();
    png_with(w, h, png::ColorType::Grayscale, png::BitDepth::Eight, &data, None)
}

fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut crc = flate2::Crc::new();
    crc.update(kind);
    crc.update(data);
    [&(data.len() as u32).to_be_bytes()[..], kind, data, &crc.sum().to_be_bytes()].concat()
}

const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];

fn ihdr(w: u32, h: u32, depth: u8, color: u8, interlace: u8) -> Vec<u8> {
    chunk(b"IHDR", &[&w.to_be_bytes()[..], &h.to_be_bytes(), &[depth, color, 0, 0, interlace]].concat())
}

fn zlib(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// A PNG that declares `w` x `h` but holds one short compressed block: a decompression bomb.
fn png_bomb(w: u32, h: u32) -> Vec<u8> {
    [&PNG_SIGNATURE[..], &ihdr(w, h, 8, 0, 0), &chunk(b"IDAT", &zlib(&[0; 4096])), &chunk(b"IEND", &[])].concat()
}

/// An 8x8 grey PNG stored in Adam7 order (the `png` crate writes no interlaced files).
fn png_interlaced() -> Vec<u8> {
    const PASSES: [(usize, usize, usize, usize); 7] = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)];
    let pixel = |x: usize, y: usize| (x * 30 + y * 2) as u8;
    let mut raw = Vec::new();
    for (x0, y0, dx, dy) in PASSES {
        for y in (y0..8).step_by(dy) {
            raw.push(0);
            raw.extend((x0..8).step_by(dx).map(|x| pixel(x, y)));
        }
    }
    [&PNG_SIGNATURE[..], &ihdr(8, 8, 8, 0, 1), &chunk(b"IDAT", &zlib(&raw)), &chunk(b"IEND", &[])].concat()
}

/// A PNG with an animation control chunk (APNG): the first frame is the image.
fn apng() -> Vec<u8> {
    let plain = png_gray(16, 16);
    let after_ihdr = 8 + 25;
    let actl = chunk(b"acTL", &[&1u32.to_be_bytes()[..], &0u32.to_be_bytes()].concat());
    let fctl = chunk(b"fcTL", &[&0u32.to_be_bytes()[..], &16u32.to_be_bytes(), &16u32.to_be_bytes(), &[0; 8], &[0, 1, 0, 10, 0, 0]].concat());
    [&plain[..after_ihdr], &actl, &fctl, &plain[after_ihdr..]].concat()
}

fn jpeg(progressive: bool, color: jpeg_encoder::ColorType, exif: bool) -> Vec<u8> {
    let (w, h) = (32u16, 32u16);
    let channels = match color {
        jpeg_encoder::ColorType::Luma => 1,
        jpeg_encoder::ColorType::Cmyk => 4,
        _ => 3,
    };
    let data: Vec<u8> = (0..w as usize * h as usize * channels).map(|i| ((i * 7) % 200) as u8).collect();
    let mut out = Vec::new();
    let mut e = jpeg_encoder::Encoder::new(&mut out, 90);
    e.set_progressive(progressive);
    if exif {
        // Exif, little-endian TIFF header, one IFD entry: Orientation (0x0112) = 6 (rotate 90).
        let mut segment = b"Exif\0\0II*\0\x08\0\0\0\x01\0".to_vec();
        segment.extend([0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0]);
        e.add_app_segment(1, segment).unwrap();
    }
    e.encode(&data, w, h, color).unwrap();
    out
}

/// A baseline JPEG relabelled as 12-bit extended (SOF1, precision 12).
fn jpeg_12_bit() -> Vec<u8> {
    let mut b = jpeg(false, jpeg_encoder::ColorType::Luma, false);
    let at = b.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
    b[at + 1] = 0xC1;
    b[at + 4] = 12;
    b
}

fn tiff_of(pages: &[(u32, u32, Vec<f32>)], lzw: bool) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    {
        let mut e = tiff::encoder::TiffEncoder::new(&mut out).unwrap();
        if lzw {
            e = e.with_compression(tiff::encoder::Compression::Lzw);
        }
        for (w, h, data) in pages {
            if data.iter().all(|v| v.fract() == 0.0 && (0.0..=255.0).contains(v)) && !data.iter().any(|v| v.is_nan()) && lzw {
                let bytes: Vec<u8> = data.iter().map(|&v| v as u8).collect();
                e.write_image::<tiff::encoder::colortype::Gray8>(*w, *h, &bytes).unwrap();
            } else {
                e.write_image::<tiff::encoder::colortype::Gray32Float>(*w, *h, data).unwrap();
            }
        }
    }
    out.into_inner()
}

/// A little-endian TIFF of one 4x4 grey page whose next-IFD offset points back to itself.
fn tiff_ifd_loop() -> Vec<u8> {
    let entry = |tag: u16, kind: u16, value: u32| [&tag.to_le_bytes()[..], &kind.to_le_bytes(), &1u32.to_le_bytes(), &value.to_le_bytes()].concat();
    let entries = [entry(256, 4, 4), entry(257, 4, 4), entry(258, 3, 8), entry(259, 3, 1), entry(262, 3, 1), entry(273, 4, 8 + 2 + 8 * 12 + 4), entry(278, 4, 4), entry(279, 4, 16), entry(277, 3, 1)];
    let mut b = b"II*\0\x08\0\0\0".to_vec();
    b.extend((entries.len() as u16).to_le_bytes());
    for e in entries.iter().take(8) {
        b.extend(e);
    }
    b.truncate(10 + 8 * 12);
    b.extend(8u32.to_le_bytes()); // next IFD: this one again
    b.extend((0..16u8).map(|v| v * 16));
    // The entry count says 9 but 8 are written: fix the count.
    b[8] = 8;
    b
}

fn bmp(w: i32, h: i32, bits: u16, compression: u32, palette: &[u8], pixels: &[u8]) -> Vec<u8> {
    let offset = 14 + 40 + palette.len() as u32;
    let mut b = b"BM".to_vec();
    b.extend((offset + pixels.len() as u32).to_le_bytes());
    b.extend([0; 4]);
    b.extend(offset.to_le_bytes());
    b.extend(40u32.to_le_bytes());
    b.extend(w.to_le_bytes());
    b.extend(h.to_le_bytes());
    b.extend(1u16.to_le_bytes());
    b.extend(bits.to_le_bytes());
    b.extend(compression.to_le_bytes());
    b.extend((pixels.len() as u32).to_le_bytes());
    b.extend([0; 8]);
    b.extend(((palette.len() / 4) as u32).to_le_bytes());
    b.extend([0; 4]);
    b.extend(palette);
    b.extend(pixels);
    b
}

fn grey_palette() -> Vec<u8> {
    (0..=255u8).flat_map(|v| [v, v, v, 0]).collect()
}

/// An 8x8 RLE8 bitmap: each row two runs of grey, end of line, end of bitmap.
fn bmp_rle8() -> Vec<u8> {
    let mut runs = Vec::new();
    for y in 0..8u8 {
        runs.extend([4, y * 20, 4, 200 - y * 10, 0, 0]);
    }
    runs.extend([0, 1]);
    bmp(8, 8, 8, 1, &grey_palette(), &runs)
}

pub fn zip_of(files: &[(String, Vec<u8>)], method: zip::CompressionMethod) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, bytes) in files {
        w.start_file(name.as_str(), zip::write::SimpleFileOptions::default().compression_method(method).large_file(bytes.len() > u32::MAX as usize)).unwrap();
        w.write_all(bytes).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// `members` entries of `bytes` zeros each, deflated (about 1000:1), written a block at a time.
fn zip_bomb(members: usize, bytes: usize) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let block = vec![0u8; 1 << 20];
    for i in 0..members {
        w.start_file(format!("z01/{i}.png"), zip::write::SimpleFileOptions::default()).unwrap();
        for _ in 0..bytes / block.len() {
            w.write_all(&block).unwrap();
        }
    }
    w.finish().unwrap().into_inner()
}

/// Overwrites a field of every entry's local and central header: `local` and `central` are
/// the field's offsets from each header's signature.
fn patch_headers(mut zip: Vec<u8>, local: usize, central: usize, value: &[u8]) -> Vec<u8> {
    for at in 0..zip.len().saturating_sub(3) {
        let offset = match &zip[at..at + 4] {
            [0x50, 0x4B, 0x03, 0x04] => local,
            [0x50, 0x4B, 0x01, 0x02] => central,
            _ => continue,
        };
        zip[at + offset..at + offset + value.len()].copy_from_slice(value);
    }
    zip
}

/// Every entry marked as compressed with `method`: zips of bzip2 or zstd entries, which
/// camseg's zip reader (deflate only) cannot inflate.
fn relabel_method(zip: Vec<u8>, method: u16) -> Vec<u8> {
    patch_headers(zip, 8, 10, &method.to_le_bytes())
}

/// A zip whose one entry says it inflates to `claimed` bytes but inflates to `actual`.
fn zip_lying(name: &str, claimed: u32, actual: usize) -> Vec<u8> {
    patch_headers(zip_of(&[(name.into(), vec![0; actual])], zip::CompressionMethod::Deflated), 22, 24, &claimed.to_le_bytes())
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn says(file: &str, fragment: &'static str) -> Expect {
    Expect { loads: 0, scored: 0, says: vec![(file.into(), fragment)] }
}

fn loads(images: usize, scored: usize) -> Expect {
    Expect { loads: images, scored, says: vec![] }
}

/// The model cases: the shipped phantom card and weights, damaged one way each. `nan_weights`
/// is a copy of the phantom weights with NaN in its first tensor (made by the caller, who has
/// the model).
pub fn model_cases(card: &str, weights: &[u8], nan_weights: Vec<u8>, other_weights: Vec<u8>) -> Vec<Case> {
    let edit = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut v: serde_json::Value = serde_json::from_str(card).unwrap();
        f(&mut v);
        serde_json::to_vec(&v).unwrap()
    };
    let case = |id: &str, what: &'static str, card: Vec<u8>, w: Vec<u8>, bad: &str, fragment: &'static str| {
        let (c, wn) = (format!("{id}-model.json"), format!("{id}-model.bpk"));
        let file = if bad == "card" { c.clone() } else { wn.clone() };
        Case { id: id.into(), what, feed: Feed::Model { card: (c, card), weights: (wn, w) }, expect: says(&file, fragment) }
    };
    let good = card.as_bytes().to_vec();
    let w = weights.to_vec();
    vec![
        case("m01", "weights file of 0 bytes", good.clone(), Vec::new(), "weights", "not a burnpack weights file"),
        case("m02", "weights file cut in half", good.clone(), w[..w.len() / 2].to_vec(), "weights", "not a burnpack weights file"),
        case("m03", "weights holding NaN", good.clone(), nan_weights, "weights", "not finite"),
        case("m04", "weights of another architecture", good.clone(), other_weights, "weights", "do not fit"),
        case("m05", "card with input_size 1048576", edit(&|v| v["architecture"]["input_size"] = 1048576.into()), w.clone(), "card", "larger than"),
        case("m06", "card with dropout 2", edit(&|v| v["architecture"]["dropout"] = 2.0.into()), w.clone(), "card", "dropout"),
        case("m07", "card with 70 blocks", edit(&|v| {
            v["architecture"]["widths"] = serde_json::json!(vec![8; 70]);
            v["architecture"]["convs"] = serde_json::json!(vec![1; 70]);
        }), w.clone(), "card", "blocks"),
        case("m08", "card with 65 536 channels", edit(&|v| v["architecture"]["widths"][0] = 65536.into()), w.clone(), "card", "channels"),
        case("m09", "card with a CAM threshold of 2", edit(&|v| v["cam"]["threshold"] = serde_json::json!({"fixed": 2.0})), w.clone(), "card", "threshold"),
        case("m10", "card that is not JSON", b"architecture: 4 blocks".to_vec(), w.clone(), "card", "not valid camseg card JSON"),
        case("m11", "card of 0 bytes", Vec::new(), w.clone(), "card", "not valid camseg card JSON"),
        Case {
            id: "m12".into(),
            what: "card whose metrics are NaN (null)",
            feed: Feed::Model {
                card: ("m12-model.json".into(), edit(&|v| if let Some(m) = v["metrics"].as_object_mut() { for x in m.values_mut() { *x = serde_json::Value::Null } })),
                weights: ("m12-model.bpk".into(), w.clone()),
            },
            expect: loads(0, 0),
        },
    ]
}

/// Every image, mask, zip and volume case.
pub fn upload_cases() -> Vec<Case> {
    let mut cases = Vec::new();
    let mut add = |id: &str, what: &'static str, files: Vec<(String, Vec<u8>)>, expect: Expect| cases.push(Case { id: id.into(), what, feed: Feed::Upload(files), expect });
    let one = |id: &str, ext: &str, bytes: Vec<u8>| vec![(format!("{id}.{ext}"), bytes)];
    let good = png_gray(16, 16);
    let mut bad_crc = good.clone();
    bad_crc[29] ^= 0xFF; // inside IHDR's CRC
    let idat = good.windows(4).position(|w| w == b"IDAT").unwrap();

    // PNG
    add("i01", "0-byte PNG", one("i01", "png", Vec::new()), says("i01.png", "not a supported image"));
    add("i02", "PNG signature only", one("i02", "png", PNG_SIGNATURE.to_vec()), says("i02.png", "corrupt or unsupported Png"));
    add("i03", "PNG with a bad CRC", one("i03", "png", bad_crc), says("i03.png", "corrupt or unsupported Png"));
    add("i04", "PNG cut in the middle of IDAT", one("i04", "png", good[..idat + 12].to_vec()), says("i04.png", "corrupt or unsupported Png"));
    add("i05", "PNG declaring 16384 x 16384 (a bomb)", one("i05", "png", png_bomb(16384, 16384)), says("i05.png", "image too large (16384 x 16384, max 4096"));
    add("i06", "PNG declaring 60000 x 60000", one("i06", "png", png_bomb(60000, 60000)), says("i06.png", "image too large ("));
    add("i07", "PNG declaring 0 x 16", one("i07", "png", png_bomb(0, 16)), says("i07.png", "corrupt or unsupported Png"));
    add("i08", "1 x 1 PNG", one("i08", "png", png_gray(1, 1)), loads(1, 0));
    add("i09", "4097 x 1 PNG", one("i09", "png", png_gray(4097, 1)), says("i09.png", "image too large (4097 x 1, max 4096"));
    let gray16: Vec<u8> = (0..16 * 16u16).flat_map(|i| (i * 250).to_be_bytes()).collect();
    add("i10", "16-bit grey PNG", one("i10", "png", png_with(16, 16, png::ColorType::Grayscale, png::BitDepth::Sixteen, &gray16, None)), loads(1, 0));
    let ga: Vec<u8> = (0..16 * 16u32).flat_map(|i| [(i % 256) as u8, 255]).collect();
    add("i11", "grey + alpha PNG", one("i11", "png", png_with(16, 16, png::ColorType::GrayscaleAlpha, png::BitDepth::Eight, &ga, None)), loads(1, 0));
    let indices: Vec<u8> = (0..16 * 16u32).map(|i| (i % 4) as u8).collect();
    let plte = [0, 0, 0, 80, 80, 80, 160, 160, 160, 255, 255, 255];
    add("i12", "palette PNG with transparency", one("i12", "png", png_with(16, 16, png::ColorType::Indexed, png::BitDepth::Eight, &indices, Some((&plte, &[0, 255])))), loads(1, 0));
    add("i13", "interlaced (Adam7) PNG", one("i13", "png", png_interlaced()), loads(1, 0));
    add("i14", "animated PNG (APNG)", one("i14", "png", apng()), loads(1, 0));
    let rgb: Vec<u8> = (0..16 * 16 * 3u32).map(|i| (i % 256) as u8).collect();
    add("i15", "RGB PNG (the LGG slices' layout)", one("i15", "png", png_with(16, 16, png::ColorType::Rgb, png::BitDepth::Eight, &rgb, None)), loads(1, 0));
    // Wrong or unknown formats and extensions
    add("i16", "text named .png", one("i16", "png", b"hello, not a picture".to_vec()), says("i16.png", "not a supported image"));
    add("i17", "GIF named .png", one("i17", "png", b"GIF89a\x10\x00\x10\x00\x00\x00\x00;".to_vec()), says("i17.png", "corrupt or unsupported Gif"));
    add("i18", "PNG named .jpg", one("i18", "jpg", good.clone()), loads(1, 0));
    add("i19", "JPEG named .tif", one("i19", "tif", jpeg(false, jpeg_encoder::ColorType::Luma, false)), loads(1, 0));
    add("i20", "a .txt file", one("i20", "txt", b"notes".to_vec()), says("i20.txt", "not an image"));
    add("i21", "a GIF", one("i21", "gif", b"GIF89a\x10\x00\x10\x00\x00\x00\x00;".to_vec()), says("i21.gif", "not an image"));
    add("i22", "WebP named .png", one("i22", "png", b"RIFF\x1a\x00\x00\x00WEBPVP8 ".to_vec()), says("i22.png", "corrupt or unsupported WebP"));
    // JPEG
    add("j01", "baseline grey JPEG", one("j01", "jpg", jpeg(false, jpeg_encoder::ColorType::Luma, false)), loads(1, 0));
    add("j02", "progressive JPEG", one("j02", "jpg", jpeg(true, jpeg_encoder::ColorType::Rgb, false)), loads(1, 0));
    add("j03", "CMYK JPEG", one("j03", "jpg", jpeg(false, jpeg_encoder::ColorType::Cmyk, false)), loads(1, 0));
    add("j04", "12-bit JPEG", one("j04", "jpg", jpeg_12_bit()), says("j04.jpg", "corrupt or unsupported Jpeg"));
    add("j05", "EXIF-rotated JPEG", one("j05", "jpeg", jpeg(false, jpeg_encoder::ColorType::Rgb, true)), loads(1, 0));
    let j = jpeg(false, jpeg_encoder::ColorType::Luma, false);
    add("j06", "JPEG cut after its header", one("j06", "jpg", j[..j.len() / 3].to_vec()), says("j06.jpg", "corrupt or unsupported Jpeg"));
    // TIFF
    let ramp = |w: u32, h: u32| (0..w * h).map(|i| (i % 200) as f32).collect::<Vec<f32>>();
    add("t01", "two-page TIFF", one("t01", "tif", tiff_of(&[(8, 8, ramp(8, 8)), (8, 8, ramp(8, 8))], true)), Expect { loads: 1, scored: 0, says: vec![("t01.tif".into(), "holds 2 pages; only the first was read")] });
    let mut nan = vec![0.5f32; 64];
    nan[9] = f32::NAN;
    add("t02", "float TIFF holding NaN", one("t02", "tif", tiff_of(&[(8, 8, nan)], false)), says("t02.tif", "pixels are not numbers"));
    let mut inf = vec![0.5f32; 64];
    inf[3] = f32::INFINITY;
    add("t03", "float TIFF holding infinity", one("t03", "tiff", tiff_of(&[(8, 8, inf)], false)), says("t03.tiff", "pixels are not numbers"));
    add("t04", "LZW-compressed TIFF", one("t04", "tif", tiff_of(&[(16, 16, ramp(16, 16))], true)), loads(1, 0));
    add("t05", "TIFF whose IFD chain loops", one("t05", "tif", tiff_ifd_loop()), says("t05.tif", "cycle in the list of IFDs"));
    add("t06", "float TIFF of values 0-1000", one("t06", "tif", tiff_of(&[(8, 8, (0..64).map(|i| i as f32 * 15.6).collect())], false)), loads(1, 0));
    let t = tiff_of(&[(16, 16, ramp(16, 16))], false);
    add("t07", "TIFF cut short", one("t07", "tif", t[..t.len() / 2].to_vec()), says("t07.tif", "corrupt or unsupported Tiff"));
    // BMP
    add("b01", "RLE8 BMP", one("b01", "bmp", bmp_rle8()), loads(1, 0));
    add("b02", "BMP declaring 60000 x 60000", one("b02", "bmp", bmp(60000, 60000, 24, 0, &[], &[0; 64])), says("b02.bmp", "image too large ("));
    add("b03", "BMP cut in its header", one("b03", "bmp", bmp(8, 8, 24, 0, &[], &[0; 192])[..30].to_vec()), says("b03.bmp", "corrupt or unsupported Bmp"));
    add("b04", "1 x 1 BMP, 24-bit", one("b04", "bmp", bmp(1, 1, 24, 0, &[], &[90, 90, 90, 0])), loads(1, 0));
    // Masks, each beside a good 16 x 16 image
    let pair = |id: &str, mask_ext: &str, mask: Vec<u8>| vec![(format!("{id}.png"), good.clone()), (format!("{id}_mask.{mask_ext}"), mask)];
    let mut jpeg_mask = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg_mask, 70)
        .encode(&image::load_from_memory(&mask_png(16, 16, 0, 255)).unwrap().to_luma8(), 16, 16, image::ExtendedColorType::L8)
        .unwrap();
    add("k01", "JPEG mask (lossy: many grey levels)", pair("k01", "jpg", jpeg_mask), Expect { loads: 1, scored: 0, says: vec![("k01_mask.jpg".into(), "is not binary")] });
    add("k02", "mask of 0 and 1", pair("k02", "png", mask_png(16, 16, 0, 1)), loads(1, 1));
    let wide16: Vec<u8> = (0..16 * 16u32).flat_map(|i| if i % 16 < 8 { 65535u16 } else { 0 }.to_be_bytes()).collect();
    add("k03", "16-bit mask of 0 and 65535", pair("k03", "png", png_with(16, 16, png::ColorType::Grayscale, png::BitDepth::Sixteen, &wide16, None)), loads(1, 1));
    let alpha_only: Vec<u8> = (0..16 * 16u32).flat_map(|i| [0, 0, 0, if i % 16 < 5 { 255 } else { 0 }]).collect();
    add("k04", "mask drawn in the alpha channel only", pair("k04", "png", png_with(16, 16, png::ColorType::Rgba, png::BitDepth::Eight, &alpha_only, None)), loads(1, 1));
    let brats: Vec<u8> = (0..16 * 16u32).map(|i| [0, 1, 2, 4][(i % 16 / 4) as usize]).collect();
    add("k05", "BraTS label mask (0, 1, 2, 4)", pair("k05", "png", png_with(16, 16, png::ColorType::Grayscale, png::BitDepth::Eight, &brats, None)), loads(1, 1));
    add("k06", "mask one pixel too wide", pair("k06", "png", mask_png(17, 16, 0, 255)), Expect { loads: 1, scored: 0, says: vec![("k06_mask.png".into(), "is 17x16 but its image is 16x16")] });
    add("k07", "mask file of 0 bytes", pair("k07", "png", Vec::new()), Expect { loads: 1, scored: 0, says: vec![("k07_mask.png".into(), "not a supported image")] });
    add("k08", "mask with no image", vec![("k08_mask.png".into(), mask_png(16, 16, 0, 255))], says("k08_mask.png", "a mask with no image"));
    add("k09", "mask of two greys and no black", pair("k09", "png", mask_png(16, 16, 100, 200)), Expect { loads: 1, scored: 0, says: vec![("k09_mask.png".into(), "no black background")] });
    add("k10", "all-white mask (the whole slice is tumour)", pair("k10", "png", mask_png(16, 16, 255, 255)), loads(1, 1));
    // Zips
    let deflate = zip::CompressionMethod::Deflated;
    add("z01", "zip bomb: 9 members of 64 MB of zeros in 0.6 MB", one("z01", "zip", zip_bomb(9, 64 << 20)), says("z01.zip", "zip bomb"));
    add("z02", "zip entry that inflates past the size it declares", one("z02", "zip", zip_lying("z02/a.png", 1000, 8 << 20)), says("z02.zip", "bytes it declares"));
    let many: Vec<(String, Vec<u8>)> = (0..100_000).map(|i| (format!("z03/{i}.png"), Vec::new())).collect();
    add("z03", "zip of 100 000 entries", one("z03", "zip", zip_of(&many, zip::CompressionMethod::Stored)), says("z03.zip", "holds 100000 images or volumes; at most 10000"));
    let inner = zip_of(&[("z04/inner.png".into(), good.clone())], deflate);
    add("z04", "zip inside a zip", one("z04", "zip", zip_of(&[("z04/inner.zip".into(), inner)], deflate)), says("z04.zip", "a zip inside a zip is not opened"));
    let mut encrypted = zip_of(&[("z05/README.txt".into(), b"private".to_vec()), ("z05/a.png".into(), good.clone())], deflate);
    encrypted[6] |= 1; // the README's local header: encrypted
    let central = encrypted.windows(4).position(|w| w == [0x50, 0x4B, 0x01, 0x02]).unwrap();
    encrypted[central + 8] |= 1;
    add("z05", "zip with an encrypted README beside an image", one("z05", "zip", encrypted), loads(1, 0));
    let stored = zip_of(&[("z06/a.png".into(), good.clone())], zip::CompressionMethod::Stored);
    add("z06", "zip of a bzip2 entry", one("z06", "zip", relabel_method(stored.clone(), 12)), says("z06.zip", "compressed with a method camseg cannot read"));
    add("z07", "zip of a zstd entry", one("z07", "zip", relabel_method(stored.replace_name("z06", "z07"), 93)), says("z07.zip", "compressed with a method camseg cannot read"));
    add("z08", "zip with ../ and absolute names", one("z08", "zip", zip_of(&[("../../z08a.png".into(), good.clone()), ("/etc/z08b.png".into(), good.clone())], deflate)), loads(2, 0));
    // The zip writer refuses a name twice: write two names, then make them one.
    let twice = zip_of(&[("z09/a.png".into(), good.clone()), ("z09/b.png".into(), good.clone())], deflate).replace_name("z09/b.png", "z09/a.png");
    add("z09", "zip with the same name twice", one("z09", "zip", twice), Expect { loads: 1, scored: 0, says: vec![("z09.zip".into(), "1 entry has the same name as another")] });
    add("z10", "not a zip, named .zip", one("z10", "zip", b"PK\x03\x04 not really".to_vec()), says("z10.zip", "not a readable zip file"));
    add("z11", "zip of only a CSV", one("z11", "zip", zip_of(&[("z11/index.csv".into(), b"file\n".to_vec())], deflate)), says("z11.zip", "holds no PNG"));
    // Volumes
    add("v01", "NIfTI of 0 bytes", one("v01", "nii", Vec::new()), says("v01.nii", "v01.nii"));
    add("v02", "NIfTI gzip cut short", one("v02", "nii.gz", gz(&[0u8; 4000])[..40].to_vec()), says("v02.nii.gz", "v02.nii.gz"));
    add("v03", "DICOM magic then junk", one("v03", "dcm", [&[0u8; 128][..], b"DICM", &[0xAB; 64]].concat()), says("v03.dcm", "v03.dcm"));
    cases
}

trait ReplaceName {
    fn replace_name(self, from: &str, to: &str) -> Vec<u8>;
}

impl ReplaceName for Vec<u8> {
    /// The same zip with `from` replaced by `to` (same length) in its entry names.
    fn replace_name(mut self, from: &str, to: &str) -> Vec<u8> {
        assert_eq!(from.len(), to.len());
        let positions: Vec<usize> = self.windows(from.len()).enumerate().filter(|(_, w)| *w == from.as_bytes()).map(|(i, _)| i).collect();
        for at in positions {
            self[at..at + to.len()].copy_from_slice(to.as_bytes());
        }
        self
    }
}
