//! Mutation fuzzing on stable Rust: valid inputs made in code (PNG, zip, NIfTI, DICOM, model
//! cards, weights, heatmaps), mutated at random (bit flips, overwritten and interesting
//! bytes, cuts, repeated chunks) and fed to what the page and the CLI feed them to. Every
//! input must come back as a value or an error, never a panic, and quickly.
//!
//! CI runs a short smoke run (`CAMSEG_FUZZ_SECS`, default 4 s per target). A long run:
//!
//!     CAMSEG_FUZZ_SECS=900 CAMSEG_FUZZ_SEED=7 cargo test --release --test fuzz -- --nocapture
//!
//! A failure prints the target, seed and iteration, and writes the input under
//! `target/tmp/fuzz-failures/` to keep as a regression test.

use camseg::prelude::*;
use camseg::card::ModelCard;
use camseg::data::upload::{collect, FileBytes};
use camseg::data::{encode_png_gray, Channel};
use camseg::plane::Plane;
use std::io::Write;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

/// xorshift64*: small, fast, and the same sequence from the same seed on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// One to eight random edits of `seed`.
fn mutate(seed: &[u8], rng: &mut Rng) -> Vec<u8> {
    const INTERESTING: [&[u8]; 8] = [&[0], &[0xFF], &[0x7F], &[0x80], &[0xFF, 0xFF, 0xFF, 0xFF], &[0x7F, 0xFF, 0xFF, 0xFF], &[0, 0, 0, 0x80], &[0x00, 0x01, 0x00, 0x00]];
    let mut b = seed.to_vec();
    for _ in 0..1 + rng.below(8) {
        let at = rng.below(b.len().max(1));
        match rng.below(6) {
            0 if !b.is_empty() => b[at] ^= 1 << rng.below(8),
            1 if !b.is_empty() => b[at] = rng.next() as u8,
            2 => {
                let v = INTERESTING[rng.below(INTERESTING.len())];
                for (i, &x) in v.iter().enumerate() {
                    if let Some(slot) = b.get_mut(at + i) {
                        *slot = x;
                    }
                }
            }
            3 => b.truncate(at),
            4 if !b.is_empty() => {
                let len = 1 + rng.below(64.min(b.len() - at));
                let chunk = b[at..at + len].to_vec();
                let to = rng.below(b.len());
                b.splice(to..to, chunk);
            }
            _ => b.insert(at.min(b.len()), rng.next() as u8),
        }
    }
    b
}

fn png(size: usize, salt: usize) -> Vec<u8> {
    let data = (0..size * size).map(|i| (((i * 7 + salt) % 251) as f32) / 255.0).collect();
    encode_png_gray(&Plane::new(size, size, data))
}

fn zip_of(files: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, bytes) in files {
        w.start_file(*name, zip::write::SimpleFileOptions::default()).unwrap();
        w.write_all(bytes).unwrap();
    }
    w.finish().unwrap().into_inner()
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// The valid inputs each target starts from.
fn upload_seeds() -> Vec<(String, Vec<u8>)> {
    let geometry = camseg::phantom::volumes::geometry();
    let voxels: Vec<u8> = (0..16 * 16 * 4).map(|i| (i % 200) as u8).collect();
    let nifti = camseg::volume::nifti::write_u8([16, 16, 4], &geometry, &voxels, "fuzz", 0);
    let pixels: Vec<u16> = (0..16 * 16).map(|i| (i * 13 % 4000) as u16).collect();
    use camseg::volume::dicom_writer::{write_slice, SliceSpec, Syntax};
    let slice = |syntax| {
        write_slice(&SliceSpec {
            pixels: &pixels,
            rows: 16,
            cols: 16,
            position: [0.0, 0.0, 0.0],
            orientation: [1.0, 0.0, 0.0, 0.0, 1.0, 0.0],
            spacing: [1.0, 1.0],
            rescale: (1.0, 0.0),
            window: Some((2000.0, 4000.0)),
            instance: 1,
            series_uid: "1.2.3",
            patient_name: "Fuzz^Test",
            patient_id: "0",
            syntax,
        })
    };
    vec![
        ("scan.png".into(), png(16, 0)),
        ("scan.zip".into(), zip_of(&[("images/a.png", png(8, 1)), ("masks/a.png", png(8, 2))])),
        ("scan.nii.gz".into(), gz(&nifti)),
        ("scan.nii".into(), nifti),
        ("scan.dcm".into(), slice(Syntax::ExplicitLittle)),
        ("rle.dcm".into(), slice(Syntax::Rle)),
    ]
}

/// Runs `target` on mutants of `seeds` for `secs` seconds; returns (executions, slowest).
fn fuzz(name: &str, seeds: &[(String, Vec<u8>)], secs: f64, target: impl Fn(&str, Vec<u8>)) -> (u64, Duration) {
    let base: u64 = std::env::var("CAMSEG_FUZZ_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(2026);
    let mut rng = Rng(base.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let (start, mut runs, mut slowest, mut slowest_from) = (Instant::now(), 0u64, Duration::ZERO, String::new());
    while start.elapsed().as_secs_f64() < secs {
        let (file, seed) = &seeds[rng.below(seeds.len())];
        let input = mutate(seed, &mut rng);
        let t = Instant::now();
        if catch_unwind(AssertUnwindSafe(|| target(file, input.clone()))).is_err() {
            let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("fuzz-failures");
            std::fs::create_dir_all(&dir).unwrap();
            let path = dir.join(format!("{name}-{base}-{runs}-{file}"));
            std::fs::write(&path, &input).unwrap();
            panic!("{name}: input {runs} (seed {base}, from {file}) panicked; kept as {}", path.display());
        }
        if t.elapsed() > Duration::from_secs(1) {
            let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("fuzz-slow");
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join(format!("{name}-{base}-{runs}-{file}")), &input).unwrap();
        }
        if t.elapsed() > slowest {
            (slowest, slowest_from) = (t.elapsed(), format!("{file}, {} bytes", input.len()));
        }
        runs += 1;
    }
    eprintln!("fuzz {name}: {runs} inputs in {secs} s, slowest {:.1} ms ({slowest_from})", slowest.as_secs_f64() * 1e3);
    (runs, slowest)
}

fn seconds() -> f64 {
    std::env::var("CAMSEG_FUZZ_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(4.0)
}

#[test]
fn uploads_of_damaged_files_never_panic() {
    let seeds = upload_seeds();
    let (runs, slowest) = fuzz("upload", &seeds, seconds(), |file, bytes| {
        // Each file goes where the page's worker sends it: volumes to their readers, the rest
        // through pairing and decoding.
        if file.contains(".nii") {
            if let Ok(v) = camseg::volume::nifti::read(file, &bytes) {
                assert!(v.data.iter().all(|x| x.is_finite()), "a NIfTI volume with non-finite voxels was accepted");
            }
        } else if file.ends_with(".dcm") {
            let f = FileBytes::new(file, bytes);
            let (volumes, _problems) = camseg::volume::dicom::read_series("series", &[&f]);
            assert!(volumes.iter().all(|v| v.data.iter().all(|x| x.is_finite())));
        } else {
            let upload = collect(vec![FileBytes::new(file, bytes)], Channel::Green);
            // Whatever loads is a real image; whatever does not is named.
            assert!(upload.loaded.iter().all(|l| l.image.data.iter().all(|v| v.is_finite())));
            assert!(upload.problems.iter().all(|p| !p.is_empty()));
        }
    });
    assert!(runs > 10, "the fuzzer barely ran: {runs}");
    assert!(slowest < Duration::from_secs(5), "an input took {slowest:?}");
}

#[test]
fn damaged_cards_and_weights_are_refused_or_load() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("static/models");
    let card = std::fs::read(root.join("phantom.json")).unwrap();
    let weights = std::fs::read(root.join("phantom.bpk")).unwrap();
    let device = burn::tensor::Device::flex();
    let seeds = vec![("card".to_string(), card.clone()), ("weights".to_string(), weights.clone())];
    let good_card = ModelCard::from_json(std::str::from_utf8(&card).unwrap()).unwrap();
    // Every outcome is a model or a refusal that says what is wrong; both must be seen.
    let (loaded, refused) = (std::cell::Cell::new(0u32), std::cell::Cell::new(0u32));
    let judge = |outcome: camseg::Result<camseg::model::Classifier>| match outcome {
        Ok(model) => {
            assert_eq!(model.blocks(), good_card.architecture.blocks());
            loaded.set(loaded.get() + 1);
        }
        Err(e) => {
            assert!(e.to_string().len() > 10, "a refusal must say why: {e:?}");
            refused.set(refused.get() + 1);
        }
    };
    let (runs, _) = fuzz("card", &seeds, seconds(), |which, bytes| {
        if which == "card" {
            // A card that parses is bounded (validate), so loading the real weights beside it
            // either works or says why.
            match ModelCard::from_json(&String::from_utf8_lossy(&bytes)) {
                Ok(c) => judge(c.load_checked(weights.clone(), &device)),
                Err(e) => assert!(e.to_string().len() > 10, "a refused card must say why: {e:?}"),
            }
        } else {
            // As the page's worker and the CLI do: load, then check the values.
            judge(good_card.load_checked(bytes, &device));
        }
    });
    assert!(loaded.get() > 0 && refused.get() > 0, "loaded {}, refused {}", loaded.get(), refused.get());
    assert!(runs > 10);
}

#[test]
fn floods_on_any_floats_never_panic() {
    let seeds = vec![("plane".to_string(), (0..24 * 24).flat_map(|i| ((i % 17) as f32 / 17.0).to_le_bytes()).collect())];
    let (runs, _) = fuzz("floods", &seeds, seconds(), |_, bytes| {
        let values: Vec<f32> = bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
        let side = (values.len() as f64).sqrt() as usize;
        let plane = Plane::new(side, side, values[..side * side].to_vec());
        for out in [camseg::cam::refine::fill_holes(&plane), camseg::cam::refine::peak_component(&plane), camseg::cam::refine::broad_peak_component(&plane, 2)] {
            assert!(out.data.iter().all(|v| v.is_finite()), "a flood left a non-finite value");
        }
        let dark = camseg::data::ScanSettings { lesion_polarity: camseg::data::Polarity::Dark, rim_band_px: 0, ..Default::default() };
        for scan in [camseg::data::ScanSettings::default(), dark] {
            let _ = camseg::cam::fusion::shaped(&plane, &camseg::cam::intensity::prior(&plane, &scan), &scan);
        }
        let _ = camseg::data::scan::annotations_filled(&plane);
    });
    assert!(runs > 10);
}

/// Kept from the 30-minute run (seed 11): pixel-data item headers pasted into an RLE file's
/// data set put the hand-written length walk out of step with the parser, which then zeroed
/// 2-4 GB (2-4 s) before failing. The data set is now walked by the parser itself.
#[test]
fn pasted_item_headers_are_refused_at_once() {
    let seeds = upload_seeds();
    let rle = &seeds.iter().find(|(name, _)| name == "rle.dcm").unwrap().1;
    let hex = |h: &str| (0..h.len()).step_by(2).map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap()).collect::<Vec<u8>>();
    for (at, pasted) in [(588, "fffffffffeff00e000000000feff00e044020000"), (513, "fffeff00e000000000feff00e0440200")] {
        let mut bytes = rle.clone();
        bytes.splice(at..at, hex(pasted));
        let started = Instant::now();
        let f = FileBytes::new("kept.dcm", bytes);
        let (volumes, problems) = camseg::volume::dicom::read_series("series", &[&f]);
        assert!(volumes.is_empty() && problems[0].contains("claims"), "{problems:?}");
        assert!(started.elapsed() < Duration::from_millis(200), "{:?}", started.elapsed());
    }
}
