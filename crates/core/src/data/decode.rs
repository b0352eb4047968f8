//! PNG / JPEG / TIFF / BMP bytes -> a gray [`Plane`] in [0, 1], through the `image` crate
//! (8- and 16-bit, gray, gray+alpha, RGB, RGBA).

use super::input::Channel;
use crate::masks::Mask;
use crate::plane::Plane;
use crate::{Error, Result};
use image::DynamicImage;

/// Largest side accepted, so a hostile file cannot exhaust the browser's memory.
pub const MAX_SIDE: u32 = 4096;

/// Memory one decode may take, whatever the header says (a 4096x4096 RGBA image at 16 bits
/// per channel is 128 MB).
const MAX_DECODE_BYTES: u64 = 256 << 20;

fn open(bytes: &[u8], name: &str) -> Result<DynamicImage> {
    let fail = |reason: String| Error::Image { name: name.into(), reason };
    let format = image::guess_format(bytes).map_err(|_| {
        fail("not a supported image (PNG, JPEG, TIFF or BMP expected)".into())
    })?;
    // On one line: some decoders end their messages with a newline.
    let corrupt = |e: image::ImageError| fail(format!("corrupt or unsupported {format:?} file ({})", e.to_string().split_whitespace().collect::<Vec<_>>().join(" ")));
    let mut reader = image::ImageReader::with_format(std::io::Cursor::new(bytes), format);
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    reader.limits(limits);
    // The size is read from the header and checked before any pixel is decoded: a small file
    // can declare a huge image (a decompression bomb).
    let decoder = reader.into_decoder().map_err(|e| match e {
        // A 32-bit build (the page) can meet the limit, or a decoder's own size check, before
        // the size check below.
        image::ImageError::Limits(_) => fail(format!("image too large (decoding it would take more than {} MB; max {MAX_SIDE} per side)", MAX_DECODE_BYTES >> 20)),
        e if e.to_string().contains("too large") => fail(format!("image too large ({e}; max {MAX_SIDE} per side)")),
        e => corrupt(e),
    })?;
    let (w, h) = image::ImageDecoder::dimensions(&decoder);
    if w > MAX_SIDE || h > MAX_SIDE {
        return Err(fail(format!("image too large ({w} x {h}, max {MAX_SIDE} per side)")));
    }
    if w == 0 || h == 0 {
        return Err(fail(format!("image has no pixels ({w} x {h})")));
    }
    DynamicImage::from_decoder(decoder).map_err(corrupt)
}

/// Decodes an image and takes one channel of it, per the model's input spec. Float images
/// (TIFF) holding NaN or infinite values are refused: the model would answer NaN, shown as
/// "no tumour".
pub fn decode_image(bytes: &[u8], name: &str, channel: Channel) -> Result<Plane> {
    let plane = match open(bytes, name) {
        Ok(image) => to_plane(&image, channel),
        Err(e) => grey_tiff(bytes).ok_or(e)?,
    };
    let bad = plane.data.iter().filter(|v| !v.is_finite()).count();
    if bad > 0 {
        return Err(Error::Image { name: name.into(), reason: format!("{bad} pixels are not numbers (NaN or infinite); a scan needs finite values") });
    }
    Ok(plane)
}

/// Single-channel TIFFs the `image` crate does not read: 32- and 64-bit float and 32-bit
/// integer grey, as ImageJ and many scanners save a slice. Integers are scaled by their type's
/// range; floats are kept when they lie in [0, 1] and otherwise scaled from their range (NaN
/// and infinities are kept for the caller to refuse). `None` when it is not such a file.
fn grey_tiff(bytes: &[u8]) -> Option<Plane> {
    use tiff::decoder::{Decoder, DecodingResult, Limits};
    let mut decoder = Decoder::new(std::io::Cursor::new(bytes)).ok()?.with_limits({
        let mut limits = Limits::default();
        limits.decoding_buffer_size = MAX_DECODE_BYTES as usize;
        limits
    });
    if !matches!(decoder.colortype().ok()?, tiff::ColorType::Gray(_)) {
        return None;
    }
    let (w, h) = decoder.dimensions().ok()?;
    if w == 0 || h == 0 || w > MAX_SIDE || h > MAX_SIDE {
        return None;
    }
    let data: Vec<f32> = match decoder.read_image().ok()? {
        DecodingResult::F32(v) => v,
        DecodingResult::F64(v) => v.into_iter().map(|x| x as f32).collect(),
        DecodingResult::U32(v) => v.into_iter().map(|x| x as f32 / u32::MAX as f32).collect(),
        DecodingResult::I32(v) => v.into_iter().map(|x| (x as f64 - i32::MIN as f64) as f32 / u32::MAX as f32).collect(),
        _ => return None,
    };
    if data.len() != (w * h) as usize {
        return None;
    }
    let finite = data.iter().filter(|v| v.is_finite());
    let (lo, hi) = finite.fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    let scaled = if lo >= 0.0 && hi <= 1.0 || lo >= hi { data } else { data.into_iter().map(|v| (v - lo) / (hi - lo)).collect() };
    Some(Plane::new(w as usize, h as usize, scaled))
}

/// The chosen channel as floats in [0, 1]. A gray image is its own every channel.
pub fn to_plane(image: &DynamicImage, channel: Channel) -> Plane {
    let (w, h) = (image.width() as usize, image.height() as usize);
    let is_gray = !image.color().has_color();
    let data = match channel.index() {
        Some(c) if !is_gray => image.to_rgb32f().pixels().map(|p| p.0[c]).collect(),
        _ => image.to_luma32f().pixels().map(|p| p.0[0]).collect(),
    };
    Plane::new(w, h, data)
}

/// Decodes a ground-truth mask: binary, any channel count (the maximum over channels is used,
/// so a white-on-black RGB mask works too). A mask drawn only in the alpha channel (colour all
/// black, the outline opaque: what some drawing tools save) is read from its alpha.
pub fn decode_mask(bytes: &[u8], name: &str) -> Result<Mask> {
    let image = open(bytes, name)?;
    let plane = if image.color().has_color() {
        let rgb = image.to_rgb32f();
        Plane::new(rgb.width() as usize, rgb.height() as usize, rgb.pixels().map(|p| p.0.iter().cloned().fold(0.0, f32::max)).collect())
    } else {
        to_plane(&image, Channel::Luma)
    };
    if image.color().has_alpha() && plane.data.iter().all(|&v| v == 0.0) {
        let rgba = image.to_rgba32f();
        let alpha = Plane::new(rgba.width() as usize, rgba.height() as usize, rgba.pixels().map(|p| p.0[3]).collect());
        if alpha.data.iter().any(|&a| a < 1.0) {
            return Mask::from_plane(&alpha, name);
        }
    }
    Mask::from_plane(&plane, name)
}

/// Pages of a TIFF file (1 for anything else, or when the count cannot be read): the decoder
/// reads the first page only, so a stack must be said to be one. Counting stops at 10 000 (a
/// file whose pages loop back counts no further).
pub fn tiff_pages(bytes: &[u8]) -> usize {
    let Ok(mut decoder) = tiff::decoder::Decoder::new(std::io::Cursor::new(bytes)) else { return 1 };
    let mut pages = 1;
    while pages < 10_000 && decoder.more_images() && decoder.next_image().is_ok() {
        pages += 1;
    }
    pages
}

/// Checks that a mask belongs to an image of `width` x `height`.
pub fn check_mask_size(mask: &Mask, width: usize, height: usize, name: &str) -> Result<()> {
    if (mask.width, mask.height) != (width, height) {
        return Err(Error::Mask {
            name: name.into(),
            reason: format!(
                "is {}x{} but its image is {width}x{height}; a mask must have its image's size",
                mask.width, mask.height
            ),
        });
    }
    Ok(())
}

impl crate::protocol::Picture {
    /// The picture as PNG bytes (in the worker: the page carries no image encoder).
    pub fn png(&self) -> Vec<u8> {
        let colour = if self.gray { image::ExtendedColorType::L8 } else { image::ExtendedColorType::Rgba8 };
        encode_png(self.width, self.height, &self.pixels, colour)
    }
}

/// An 8-bit gray PNG of a plane with values in [0, 1].
pub fn encode_png_gray(plane: &Plane) -> Vec<u8> {
    let pixels: Vec<u8> = plane.data.iter().map(|v| (v.clamp(0.0, 1.0) * 255.0).round() as u8).collect();
    encode_png(plane.width, plane.height, &pixels, image::ExtendedColorType::L8)
}

/// An RGBA PNG (for overlays).
pub fn encode_png_rgba(width: usize, height: usize, rgba: Vec<u8>) -> Vec<u8> {
    encode_png(width, height, &rgba, image::ExtendedColorType::Rgba8)
}

/// PNG's encoder called by name: `write_to` with a format would link every encoder the build
/// enables (TIFF's, JPEG's, BMP's).
fn encode_png(width: usize, height: usize, pixels: &[u8], colour: image::ExtendedColorType) -> Vec<u8> {
    use image::ImageEncoder;
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new(&mut out).write_image(pixels, width as u32, height as u32, colour).expect("PNG encoding to memory");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageBuffer, Luma, Rgb};

    #[test]
    fn the_pages_of_a_tiff_stack_are_counted() {
        let mut bytes = Vec::new();
        {
            let mut tif = tiff::encoder::TiffEncoder::new(std::io::Cursor::new(&mut bytes)).unwrap();
            for v in [10u8, 200, 90] {
                tif.write_image::<tiff::encoder::colortype::Gray8>(4, 4, &[v; 16]).unwrap();
            }
        }
        assert_eq!(tiff_pages(&bytes), 3);
        assert_eq!(decode_image(&bytes, "stack.tif", Channel::Luma).unwrap().data[0], 10.0 / 255.0);
        assert_eq!(tiff_pages(b"not a tiff"), 1);
    }

    #[test]
    fn nan_pixels_are_refused_and_alpha_only_masks_are_read() {
        let mut float = image::Rgb32FImage::from_pixel(4, 4, Rgb([0.5, 0.5, 0.5]));
        float.put_pixel(1, 1, Rgb([f32::NAN, 0.2, 0.2]));
        float.put_pixel(2, 1, Rgb([0.2, f32::INFINITY, 0.2]));
        let mut tif = Vec::new();
        image::DynamicImage::ImageRgb32F(float).write_to(&mut std::io::Cursor::new(&mut tif), image::ImageFormat::Tiff).unwrap();
        let err = decode_image(&tif, "nan.tif", Channel::Green).unwrap_err().to_string();
        assert!(err.contains("nan.tif") && err.contains("pixels are not numbers"), "{err}");
        let outline = image::RgbaImage::from_fn(4, 4, |x, _| image::Rgba([0, 0, 0, if x < 2 { 255 } else { 0 }]));
        let mask = decode_mask(&png(outline), "alpha_mask.png").unwrap();
        assert_eq!(mask.area(), 8);
        // An ordinary RGBA mask (colour drawn, alpha opaque) still reads from its colour.
        let drawn = image::RgbaImage::from_fn(4, 4, |x, _| image::Rgba([if x == 0 { 255 } else { 0 }, 0, 0, 255]));
        assert_eq!(decode_mask(&png(drawn), "drawn_mask.png").unwrap().area(), 4);
    }

    fn png<P: image::PixelWithColorType>(img: ImageBuffer<P, Vec<P::Subpixel>>) -> Vec<u8>
    where
        [P::Subpixel]: image::EncodableLayout,
    {
        let mut out = Vec::new();
        img.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png).unwrap();
        out
    }

    /// A PNG that declares `w` x `h` pixels and holds none: the header of a decompression bomb.
    fn png_header(w: u32, h: u32) -> Vec<u8> {
        fn crc(bytes: &[u8]) -> u32 {
            let mut c = !0u32;
            for &b in bytes {
                c ^= b as u32;
                for _ in 0..8 {
                    c = if c & 1 == 1 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
                }
            }
            !c
        }
        let mut ihdr = w.to_be_bytes().to_vec();
        ihdr.extend(h.to_be_bytes());
        ihdr.extend([8, 0, 0, 0, 0]); // 8-bit gray, no interlace
        let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
        // An empty zlib stream as the only pixel data.
        for (kind, data) in [(b"IHDR", ihdr), (b"IDAT", vec![0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]), (b"IEND", vec![])] {
            let mut chunk = kind.to_vec();
            chunk.extend(&data);
            out.extend((data.len() as u32).to_be_bytes());
            out.extend(&chunk);
            out.extend(crc(&chunk).to_be_bytes());
        }
        out
    }

    #[test]
    fn a_huge_declared_size_is_refused_before_decoding() {
        for (w, h) in [(16384, 16384), (60000, 60000), (4097, 1)] {
            let err = decode_image(&png_header(w, h), "bomb.png", Channel::Luma).unwrap_err().to_string();
            assert!(err.contains("bomb.png") && err.contains(&format!("image too large ({w} x {h}, max 4096")), "{err}");
        }
        // At the limit the header passes and the missing pixels are what is reported.
        let err = decode_image(&png_header(4096, 1), "edge.png", Channel::Luma).unwrap_err().to_string();
        assert!(err.contains("edge.png") && err.contains("corrupt"), "{err}");
    }

    #[test]
    fn decodes_8_and_16_bit_gray_and_rgb_channels() {
        let g8 = png(ImageBuffer::<Luma<u8>, _>::from_raw(2, 1, vec![0u8, 255]).unwrap());
        assert_eq!(decode_image(&g8, "a", Channel::Luma).unwrap().data, vec![0.0, 1.0]);
        let g16 = png(ImageBuffer::<Luma<u16>, _>::from_raw(2, 1, vec![0u16, 65535]).unwrap());
        assert_eq!(decode_image(&g16, "b", Channel::Green).unwrap().data, vec![0.0, 1.0]);
        let rgb = png(ImageBuffer::<Rgb<u8>, _>::from_raw(1, 1, vec![0u8, 255, 51]).unwrap());
        assert_eq!(decode_image(&rgb, "c", Channel::Green).unwrap().data, vec![1.0]);
        assert_eq!(decode_image(&rgb, "c", Channel::Blue).unwrap().data, vec![0.2]);
    }

    #[test]
    fn corrupt_files_get_clear_errors() {
        let err = decode_image(b"hello world", "notes.txt", Channel::Luma).unwrap_err().to_string();
        assert!(err.contains("notes.txt") && err.contains("not a supported image"), "{err}");
        let mut truncated = png(ImageBuffer::<Luma<u8>, _>::from_raw(8, 8, vec![7u8; 64]).unwrap());
        truncated.truncate(40);
        let err = decode_image(&truncated, "cut.png", Channel::Luma).unwrap_err().to_string();
        assert!(err.contains("corrupt"), "{err}");
    }

    #[test]
    fn masks_must_be_binary_and_sized_like_their_image() {
        let grey = png(ImageBuffer::<Luma<u8>, _>::from_raw(3, 1, vec![0u8, 128, 255]).unwrap());
        assert!(decode_mask(&grey, "m.png").unwrap_err().to_string().contains("not binary"));
        let ok = png(ImageBuffer::<Luma<u8>, _>::from_raw(3, 1, vec![0u8, 255, 255]).unwrap());
        let mask = decode_mask(&ok, "m.png").unwrap();
        assert_eq!(mask.area(), 2);
        assert!(check_mask_size(&mask, 3, 1, "m.png").is_ok());
        assert!(check_mask_size(&mask, 4, 4, "m.png").unwrap_err().to_string().contains("3x1"));
    }
}
