//! Checks every length a DICOM file declares against the bytes that are left, before the DICOM
//! crates read it. Their readers size a value's buffer from its header, then read: a 1 KB file
//! whose header claims 2 GB made them zero 2 GB of memory (seconds, and the page's memory for
//! good) before failing (found by `tests/fuzz.rs`).
//!
//! Two parts, because two readers run: the file meta group is read by `FileMetaTable`, which
//! this module walks by hand (it is short and simple: explicit VR little endian, each value
//! consumed to its declared length); the data set is walked by the DICOM parser itself
//! (`DataSetReader`), which yields each header before it reads the value, so the check sees
//! exactly what the parser will read. Hand-mirroring the data-set parser fell out of step on
//! fuzzed files three times; the parser cannot fall out of step with itself.
//!
//! The check only refuses what must fail anyway (a value longer than the file); anything else
//! is left to the readers.

use dicom_core::{Tag, VR};
use dicom_encoding::transfer_syntax::{Codec, TransferSyntaxIndex};
use dicom_parser::dataset::read::DataSetReaderOptions;
use dicom_parser::dataset::{DataSetReader, DataToken};
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;
use std::cell::Cell;
use std::io::Read;
use std::rc::Rc;

/// Fails with a message if an element claims more bytes than the file holds.
pub fn check(bytes: &[u8]) -> Result<(), String> {
    // The readers refuse a file without the DICM code (at 0, or after a preamble).
    let start = match (bytes.get(128..132), bytes.get(..4)) {
        (Some(b"DICM"), _) => 132,
        (_, Some(b"DICM")) => 4,
        _ => return Ok(()),
    };
    let Some((syntax, body)) = check_meta(bytes, start)? else { return Ok(()) };
    check_data_set(&bytes[body..], &syntax)
}

/// The meta group, read as `FileMetaTable` reads it: its first element gives the group's
/// length, then elements (explicit VR little endian) are read, each value to its declared
/// length whatever its VR, until that many bytes are consumed. Returns the transfer syntax and
/// where the data set starts, or `None` where the reader will fail on its own.
fn check_meta(bytes: &[u8], start: usize) -> Result<Option<(String, usize)>, String> {
    let mut pos = start;
    let mut group_length = None;
    let mut syntax = String::new();
    loop {
        if let Some(length) = group_length {
            if pos - start >= 12 + length {
                return Ok(Some((syntax, pos)));
            }
        }
        let (Some(header), Some(code)) = (bytes.get(pos..pos + 4), bytes.get(pos + 4..pos + 6)) else { return Ok(None) };
        let tag = Tag(u16::from_le_bytes([header[0], header[1]]), u16::from_le_bytes([header[2], header[3]]));
        // An unknown VR is read as the parser reads it: two reserved bytes, a 4-byte length.
        let vr = std::str::from_utf8(code).ok().and_then(|c| c.parse::<VR>().ok()).unwrap_or(VR::UN);
        let long = matches!(vr, VR::OB | VR::OD | VR::OF | VR::OL | VR::OV | VR::OW | VR::SQ | VR::UC | VR::UR | VR::UT | VR::UN | VR::SV | VR::UV);
        let (len, header_len) = match long {
            true => (bytes.get(pos + 8..pos + 12).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]])), 12),
            false => (bytes.get(pos + 6..pos + 8).map(|b| u16::from_le_bytes([b[0], b[1]]) as u32), 8),
        };
        let Some(len) = len else { return Ok(None) };
        pos += header_len;
        too_long(tag, len, bytes.len().saturating_sub(pos))?;
        let value = &bytes[pos..pos + len as usize];
        match tag {
            Tag(0x0002, 0x0000) if group_length.is_none() && len == 4 => group_length = Some(u32::from_le_bytes([value[0], value[1], value[2], value[3]]) as usize),
            Tag(0x0002, 0x0000) if group_length.is_none() => return Ok(None),
            _ if group_length.is_none() => return Ok(None),
            Tag(0x0002, 0x0010) => syntax = String::from_utf8_lossy(value).trim_end_matches(['\0', ' ']).to_string(),
            _ => {}
        }
        pos += len as usize;
    }
}

/// The data set, walked by the parser with the options `OpenFileOptions` gives it. Deflated
/// data sets are bounded by the caller (`check_deflated`: their bytes are compressed).
fn check_data_set(body: &[u8], syntax: &str) -> Result<(), String> {
    let Some(ts) = TransferSyntaxRegistry.get(syntax) else { return Ok(()) };
    if !matches!(ts.codec(), Codec::None | Codec::EncapsulatedPixelData(..)) {
        return Ok(());
    }
    let read = Rc::new(Cell::new(0usize));
    let source = Counted { bytes: body, read: read.clone() };
    let Ok(tokens) = DataSetReader::new_with_ts_options(source, ts, DataSetReaderOptions::default()) else { return Ok(()) };
    for token in tokens {
        // A token the parser cannot read ends the walk: the reader will say what is wrong.
        let Ok(token) = token else { return Ok(()) };
        let claimed = match &token {
            DataToken::ElementHeader(h) => h.len.get().map(|len| (h.tag, len)),
            DataToken::ItemStart { len } => len.get().map(|len| (Tag(0xFFFE, 0xE000), len)),
            _ => None,
        };
        if let Some((tag, len)) = claimed {
            too_long(tag, len, body.len() - read.get())?;
        }
    }
    Ok(())
}

fn too_long(tag: Tag, len: u32, left: usize) -> Result<(), String> {
    if len as usize > left {
        return Err(format!("element ({:04X},{:04X}) claims {len} bytes but the file has {left} left (damaged or cut short)", tag.0, tag.1));
    }
    Ok(())
}

/// The data set's bytes, counting what the parser has read (it reads exactly what it needs,
/// unbuffered), so each header is checked against what is left after it.
struct Counted<'a> {
    bytes: &'a [u8],
    read: Rc<Cell<usize>>,
}

impl Read for Counted<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = (&self.bytes[self.read.get()..]).read(out)?;
        self.read.set(self.read.get() + n);
        Ok(n)
    }
}
