//! Figures for the results document, drawn by the project's own code: a grid of heatmap
//! overlays, and mean Dice against threshold.

use camseg::data::decode::encode_png_rgba;
use camseg::{Error, Result};
use plotters::prelude::*;
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
    let fail = |e: String| Error::Invalid(format!("{}: {e}", path.display()));
    let root = SVGBackend::new(path, (720, 420)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| fail(e.to_string()))?;
    let mut chart = ChartBuilder::on(&root)
        .caption("Mean Dice vs CAM threshold", ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(44)
        .build_cartesian_2d(0.0f32..1.0f32, 0.0f64..1.0f64)
        .map_err(|e| fail(e.to_string()))?;
    chart.configure_mesh().x_desc("threshold").y_desc("mean Dice").draw().map_err(|e| fail(e.to_string()))?;
    for (i, (label, values)) in series.iter().enumerate() {
        let colour = Palette99::pick(i).to_rgba();
        chart
            .draw_series(LineSeries::new(thresholds.iter().copied().zip(values.iter().copied()).filter(|(_, v)| v.is_finite()), colour.stroke_width(2)))
            .map_err(|e| fail(e.to_string()))?
            .label(label.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], colour.stroke_width(2)));
    }
    chart.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).draw().map_err(|e| fail(e.to_string()))?;
    root.present().map_err(|e| fail(e.to_string()))
}
