//! Compressed pixel data checked against its header before any decoder sees it: the RLE and
//! JPEG decoders write where the stream says and panic when it says more than the header, and
//! deflated data could inflate without bound.

use dicom_core::value::Value;
use dicom_dictionary_std::{tags, uids};
use dicom_object::{DefaultDicomObject, FileMetaTable};
use std::io::Read;

/// How many bytes raw-deflate `data` inflates to, counting no further than `limit + 1`.
fn inflated_len(data: &[u8], limit: u64) -> Result<u64, String> {
    let mut inflated = flate2::read::DeflateDecoder::new(data).take(limit + 1);
    std::io::copy(&mut inflated, &mut std::io::sink()).map_err(|e| format!("the deflated data is damaged ({e})"))
}

/// Refuses a file whose deflated data set would inflate to more than `limit` bytes.
pub(super) fn check_deflated(bytes: &[u8], limit: u64) -> Result<(), String> {
    // The meta group is read below: its lengths are checked first.
    super::lengths::check(bytes)?;
    let start = if bytes.get(128..132) == Some(b"DICM".as_slice()) { 128 } else { 0 };
    let Ok(meta) = FileMetaTable::from_reader(&bytes[start..]) else {
        return Ok(()); // the parser reports it
    };
    let deflated = [uids::DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN, uids::JPIP_REFERENCED_DEFLATE, uids::JPIPHTJ2K_REFERENCED_DEFLATE];
    if !deflated.contains(&meta.transfer_syntax()) {
        return Ok(());
    }
    // "DICM", the group length element (12 bytes), then the rest of the meta group.
    let body = bytes.get(start + 16 + meta.information_group_length as usize..).unwrap_or_default();
    if inflated_len(body, limit)? > limit {
        return Err(format!("the deflated data inflates to more than {limit} bytes, more than any volume camseg reads"));
    }
    Ok(())
}

/// Checks compressed pixel data against the header before it reaches a decoder: the RLE and
/// JPEG decoders write where the stream says and panic when it says more than the header, and
/// deflated frames could inflate without bound.
pub(super) fn check_encoded(obj: &DefaultDicomObject, uid: &str, pixels: usize, bytes_per_sample: usize, frames: usize) -> Result<(), String> {
    let Some(Value::PixelSequence(sequence)) = obj.get(tags::PIXEL_DATA).map(|e| e.value()) else {
        return Ok(());
    };
    let fragments = sequence.fragments();
    if uid == uids::DEFLATED_IMAGE_FRAME_COMPRESSION {
        let limit = (pixels * bytes_per_sample * frames) as u64;
        let mut total = 0;
        for fragment in fragments {
            total += inflated_len(fragment, limit)?;
            if total > limit {
                return Err("the deflated frames hold more pixels than the DICOM header says".into());
            }
        }
        return Ok(());
    }
    if uid == uids::RLE_LOSSLESS {
        return fragments.iter().try_for_each(|f| check_rle(f, pixels, bytes_per_sample));
    }
    let jpeg = [uids::JPEG_BASELINE8_BIT, uids::JPEG_EXTENDED12_BIT, uids::JPEG_LOSSLESS, uids::JPEG_LOSSLESS_SV1];
    if jpeg.contains(&uid) {
        let stream: Vec<u8> = fragments.iter().flatten().copied().collect();
        return check_jpeg(&stream, pixels * bytes_per_sample);
    }
    Ok(())
}

/// One RLE frame: a 64-byte header of segment offsets, then one PackBits segment per byte of a
/// sample; each segment must unpack to at least one byte per pixel.
fn check_rle(fragment: &[u8], pixels: usize, segments_needed: usize) -> Result<(), String> {
    let damaged = |what: &str| Err(format!("RLE pixel data is damaged ({what})"));
    if fragment.len() < 64 {
        return damaged("header too short");
    }
    let word = |i: usize| u32::from_le_bytes([fragment[4 * i], fragment[4 * i + 1], fragment[4 * i + 2], fragment[4 * i + 3]]) as usize;
    let count = word(0);
    if count > 15 || count < segments_needed {
        return damaged("wrong number of segments");
    }
    let mut offsets: Vec<usize> = (1..=count).map(word).collect();
    offsets.push(fragment.len());
    for s in 0..segments_needed {
        let Some(segment) = fragment.get(offsets[s]..offsets[s + 1]) else {
            return damaged("segment outside the data");
        };
        if packbits_len(segment) < Some(pixels) {
            return damaged("segment too short");
        }
    }
    Ok(())
}

/// How many bytes a PackBits segment unpacks to (as the decoder reads it), `None` if cut short.
fn packbits_len(segment: &[u8]) -> Option<usize> {
    let (mut out, mut i) = (0usize, 0usize);
    while i < segment.len() {
        let header = segment[i] as i8;
        i += 1;
        if header >= 0 {
            let run = header as usize + 1;
            out += run.min(segment.len() - i);
            i += run;
        } else if header != -128 {
            segment.get(i)?;
            out += 1 + header.unsigned_abs() as usize;
            i += 1;
        }
    }
    Some(out)
}

/// Every JPEG frame header (SOFn) must describe one component of 2 to 16 bits that fits the
/// frame the DICOM header declares (`frame_bytes`).
fn check_jpeg(stream: &[u8], frame_bytes: usize) -> Result<(), String> {
    let mut i = 0;
    let mut found = false;
    while i + 1 < stream.len() {
        if stream[i] != 0xFF {
            i += 1;
            continue;
        }
        let marker = stream[i + 1];
        // Fill bytes, stuffed zeros, TEM, RSTn, SOI, EOI: no length follows.
        if matches!(marker, 0xFF | 0x00 | 0x01 | 0xD0..=0xD9) {
            i += if marker == 0xFF { 1 } else { 2 };
            continue;
        }
        let Some(length) = stream.get(i + 2..i + 4).map(|b| u16::from_be_bytes([b[0], b[1]]) as usize) else {
            break;
        };
        let is_frame_header = (0xC0..=0xCF).contains(&marker) && !matches!(marker, 0xC4 | 0xC8 | 0xCC);
        if is_frame_header {
            let Some(sof) = stream.get(i + 4..i + 10) else {
                return Err("JPEG pixel data is damaged (frame header cut short)".into());
            };
            let (precision, height, width, components) = (sof[0], u16::from_be_bytes([sof[1], sof[2]]), u16::from_be_bytes([sof[3], sof[4]]), sof[5]);
            if components != 1 || !(2..=16).contains(&precision) {
                return Err(format!("the JPEG image has {components} components of {precision} bits; only one grey channel of 2 to 16 bits is supported"));
            }
            let bytes = if precision > 8 { 2 } else { 1 };
            if height as usize * width as usize * bytes > frame_bytes {
                return Err(format!("the JPEG image ({width}x{height}) is larger than the DICOM header says"));
            }
            found = true;
        }
        i += 2 + length;
    }
    if found {
        Ok(())
    } else {
        Err("JPEG pixel data is damaged (no frame header)".into())
    }
}
