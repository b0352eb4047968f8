//! Figures for the results document, drawn by the project's own code: a grid of heatmap
//! overlays, and mean Dice against threshold.

use camseg::data::decode::encode_png_rgba;
use camseg::{Error, Result};
use camseg::figures::{dice_vs_threshold_svg, Series};
use std::path::Path;

/// Tiles of equal size into one RGBA PNG, `columns` wide.
pub fn write_grid(path: &Path, tiles: &[(usize, usize, Vec<u8>)], columns: usize) -> Result<()> {
    std::fs::write(path, grid_png(tiles, columns)).map_err(|e| Error::io(path.display(), e))
}

/// The tiles as one PNG, `columns` across, each drawn at the first tile's size (a dataset may
/// mix image sizes: others are resampled, nearest pixel).
fn grid_png(tiles: &[(usize, usize, Vec<u8>)], columns: usize) -> Vec<u8> {
    let (w, h) = tiles.first().map(|t| (t.0, t.1)).unwrap_or((1, 1));
    let columns = columns.max(1);
    let rows = tiles.len().div_ceil(columns).max(1);
    let (gw, gh) = (columns * w, rows * h);
    let mut out = vec![0u8; gw * gh * 4];
    for (k, (tw, th, rgba)) in tiles.iter().enumerate() {
        let (ox, oy) = ((k % columns) * w, (k / columns) * h);
        for y in 0..h {
            for x in 0..w {
                let (sx, sy) = (x * tw / w, y * th / h);
                let src = (sy * tw + sx) * 4;
                let dst = ((oy + y) * gw + ox + x) * 4;
                out[dst..dst + 4].copy_from_slice(&rgba[src..src + 4]);
            }
        }
    }
    encode_png_rgba(gw, gh, out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_grid_of_tiles_of_mixed_sizes_is_drawn_at_the_first_ones_size() {
        let tile = |w: usize, h: usize, v: u8| (w, h, vec![v; w * h * 4]);
        let png = super::grid_png(&[tile(4, 4, 10), tile(8, 6, 200), tile(2, 2, 90)], 2);
        let img = image::load_from_memory(&png).unwrap().to_rgba8();
        assert_eq!(img.dimensions(), (8, 8));
        assert_eq!(img.get_pixel(5, 1).0, [200; 4]);
        assert_eq!(img.get_pixel(1, 5).0, [90; 4]);
    }
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
