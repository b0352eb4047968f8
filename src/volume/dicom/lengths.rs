//! A walk over a DICOM file's element headers that checks every declared length against the
//! bytes that are left, before the DICOM crates parse it. Their parser sizes a value's buffer
//! from its header, then reads: a 1 KB file whose header claims 2 GB made it zero 2 GB of
//! memory (seconds, and the page's memory) before failing (found by `tests/fuzz.rs`).
//!
//! The walk only refuses what must fail anyway (a value longer than the file); anything it
//! does not follow is left to the parser.

use dicom_dictionary_std::StandardDataDictionary;
use dicom_core::dictionary::DataDictionary;
use dicom_core::{Tag, VR};

const IMPLICIT_LITTLE: &str = "1.2.840.10008.1.2";
const EXPLICIT_BIG: &str = "1.2.840.10008.1.2.2";
/// Deflated data sets are bounded by `check_deflated` instead (their bytes are compressed).
const DEFLATED: [&str; 3] = ["1.2.840.10008.1.2.1.99", "1.2.840.10008.1.2.4.95", "1.2.840.10008.1.2.4.205"];
const UNDEFINED: u32 = u32::MAX;

/// Fails with a message if an element claims more bytes than the file holds.
pub fn check(bytes: &[u8]) -> Result<(), String> {
    // The parser itself refuses a file without the DICM code (at 0, or after a preamble).
    let start = match (bytes.get(128..132), bytes.get(..4)) {
        (Some(b"DICM"), _) => 132,
        (_, Some(b"DICM")) => 4,
        _ => return Ok(()),
    };
    let mut walk = Walk { bytes, pos: start, explicit: true, big: false, fragments: false, implicit_depth: 0 };
    // The file meta group (explicit VR little endian) is read as the parser reads it: its
    // first element gives the group's length, and elements are read until that many bytes
    // are consumed, whatever their tags; the data set starts where that stops.
    let Some((Tag(0x0002, 0x0000), value)) = walk.next()? else { return Ok(()) };
    let Ok(group_length) = <[u8; 4]>::try_from(value).map(u32::from_le_bytes) else { return Ok(()) };
    let meta_start = walk.pos;
    let mut syntax = String::new();
    while walk.pos - meta_start < group_length as usize {
        match walk.next()? {
            Some((tag, value)) if tag == Tag(0x0002, 0x0010) => {
                syntax = String::from_utf8_lossy(value).trim_end_matches(['\0', ' ']).to_string();
            }
            Some(_) => {}
            None => return Ok(()),
        }
    }
    if DEFLATED.contains(&syntax.as_str()) {
        return Ok(());
    }
    walk.explicit = syntax != IMPLICIT_LITTLE;
    walk.big = syntax == EXPLICIT_BIG;
    while walk.next()?.is_some() {}
    Ok(())
}

struct Walk<'a> {
    bytes: &'a [u8],
    pos: usize,
    explicit: bool,
    big: bool,
    /// Inside encapsulated pixel data: items hold raw fragments, not elements.
    fragments: bool,
    /// Open undefined-length UN elements of an explicit-VR data set: their content is
    /// implicit VR (PS3.5 6.2.2), until the matching sequence delimiter.
    implicit_depth: usize,
}

impl<'a> Walk<'a> {
    fn u16_at(&self, at: usize) -> Option<u16> {
        let b: [u8; 2] = self.bytes.get(at..at + 2)?.try_into().ok()?;
        Some(if self.big { u16::from_be_bytes(b) } else { u16::from_le_bytes(b) })
    }

    fn u32_at(&self, at: usize) -> Option<u32> {
        let b: [u8; 4] = self.bytes.get(at..at + 4)?.try_into().ok()?;
        Some(if self.big { u32::from_be_bytes(b) } else { u32::from_le_bytes(b) })
    }

    /// The next header: its tag and, when the walk steps over it, its value. `None` at the end
    /// or where the walk stops following (the parser will say what is wrong there).
    fn next(&mut self) -> Result<Option<(Tag, &'a [u8])>, String> {
        let (Some(group), Some(element)) = (self.u16_at(self.pos), self.u16_at(self.pos + 2)) else {
            return Ok(None);
        };
        let tag = Tag(group, element);
        let (len, header, vr) = if group == 0xFFFE {
            // Items and delimiters: a tag and a 4-byte length, whatever the syntax.
            (self.u32_at(self.pos + 4), 8, None)
        } else if self.explicit && self.implicit_depth == 0 {
            let Some(code) = self.bytes.get(self.pos + 4..self.pos + 6) else { return Ok(None) };
            // An unknown VR is read as the parser reads it: two reserved bytes, a 4-byte length.
            let vr = std::str::from_utf8(code).ok().and_then(|c| c.parse::<VR>().ok()).unwrap_or(VR::UN);
            if matches!(vr, VR::OB | VR::OD | VR::OF | VR::OL | VR::OV | VR::OW | VR::SQ | VR::UC | VR::UR | VR::UT | VR::UN | VR::SV | VR::UV) {
                (self.u32_at(self.pos + 8), 12, Some(vr))
            } else {
                (self.u16_at(self.pos + 6).map(u32::from), 8, Some(vr))
            }
        } else {
            let vr = StandardDataDictionary.by_tag(tag).map(|e| e.vr.relaxed());
            (self.u32_at(self.pos + 4), 8, vr)
        };
        let Some(len) = len else { return Ok(None) };
        self.pos += header;
        let left = self.bytes.len().saturating_sub(self.pos);
        if len != UNDEFINED && len as usize > left {
            return Err(format!(
                "element ({group:04X},{element:04X}) claims {len} bytes but the file has {left} left (damaged or cut short)"
            ));
        }
        let is_item = tag == Tag(0xFFFE, 0xE000);
        let is_delimiter = tag == Tag(0xFFFE, 0xE00D) || tag == Tag(0xFFFE, 0xE0DD);
        if tag == Tag(0xFFFE, 0xE0DD) {
            if self.fragments {
                self.fragments = false;
            } else {
                self.implicit_depth = self.implicit_depth.saturating_sub(1);
            }
        }
        // Containers are walked into, not over: their elements have lengths of their own.
        let container = vr == Some(VR::SQ) || (is_item && !self.fragments) || len == UNDEFINED;
        if len == UNDEFINED && tag == Tag(0x7FE0, 0x0010) {
            self.fragments = true;
        } else if len == UNDEFINED && vr == Some(VR::UN) && self.explicit && self.implicit_depth == 0 {
            self.implicit_depth += 1;
        }
        if container || is_delimiter {
            return Ok(Some((tag, &[])));
        }
        // The parser reads numbers whole: of a value of an odd or uneven length it consumes
        // only the whole numbers (and counts the rest as read), so the next header starts there.
        let size = match vr {
            Some(VR::US | VR::OW | VR::SS) => 2,
            Some(VR::AT | VR::FL | VR::OF | VR::SL | VR::OL | VR::UL) => 4,
            Some(VR::FD | VR::OD | VR::SV | VR::OV | VR::UV) => 8,
            _ => 1,
        };
        let consumed = len as usize / size * size;
        let value = &self.bytes[self.pos..self.pos + consumed];
        self.pos += consumed;
        Ok(Some((tag, value)))
    }
}
