//! Figures for the results document, drawn by the project's own code: a grid of heatmap
//! overlays, and mean Dice against threshold.

use camseg::data::decode::encode_png_rgba;
use camseg::{Error, Result};
use camseg::figures::{dice_vs_threshold_svg, Series};
use std::path::Path;

/// Tiles of equal size into one RGBA PNG, `columns` wide.
pub fn write_grid(path: &Path, tiles: &[(usize, usize, Vec<u8>)], columns: usize) -> Result<()> {
    let (w, h) = (tiles[0].0, tiles[0].1);
    let rows = tiles.len().div_ceil(columns);
    let (gw, gh) = (columns * w, rows * h);
    let mut out = vec![0u8; gw * gh * 4];
    for (k, (tw, th, rgba)) in tiles.iter().enumerate() {
        assert_eq!((*tw, *th), (w, h), "grid tiles must share a size");
        let (ox, oy) = ((k % columns) * w, (k / columns) * h);
        for y in 0..h {
            let src = &rgba[y * w * 4..(y + 1) * w * 4];
            let start = ((oy + y) * gw + ox) * 4;
            out[start..start + w * 4].copy_from_slice(src);
        }
    }
    std::fs::write(path, encode_png_rgba(gw, gh, out)).map_err(|e| Error::io(path.display(), e))
}

/// Mean Dice against threshold, one line per (label, values at `thresholds`).
pub fn write_dice_plot(path: &Path, thresholds: &[f32], series: &[(String, Vec<f64>)]) -> Result<()> {
    let series: Vec<Series> = series
        .iter()
        .map(|(label, values)| Series { label: label.clone(), points: thresholds.iter().copied().zip(values.iter().copied()).collect() })
        .collect();
    let svg = dice_vs_threshold_svg(&series, (720, 420))?;
    std::fs::write(path, svg).map_err(|e| Error::io(path.display(), e))
}
