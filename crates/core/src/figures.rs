//! Line charts as SVG text, drawn with `plotters`: the CLI writes them to files, the page puts
//! them inline (Dice against threshold for a batch, loss and accuracy while fine-tuning).

use crate::{Error, Result};
use plotters::prelude::*;
use std::ops::Range;

/// One line: a legend label and its (x, y) points. Non-finite points are skipped.
pub struct Series {
    pub label: String,
    pub points: Vec<(f32, f64)>,
}

/// Axes and title of a chart.
pub struct Chart<'a> {
    pub title: &'a str,
    pub x_label: &'a str,
    pub y_label: &'a str,
    pub x: Range<f32>,
    pub y: Range<f64>,
    pub size: (u32, u32),
}

/// The chart as a standalone SVG document.
pub fn line_chart_svg(chart: &Chart, series: &[Series]) -> Result<String> {
    let fail = |e: String| Error::Invalid(format!("cannot draw the chart `{}`: {e}", chart.title));
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, chart.size).into_drawing_area();
        root.fill(&WHITE).map_err(|e| fail(e.to_string()))?;
        let mut c = ChartBuilder::on(&root)
            .caption(chart.title, ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(34)
            .y_label_area_size(44)
            .build_cartesian_2d(chart.x.clone(), chart.y.clone())
            .map_err(|e| fail(e.to_string()))?;
        c.configure_mesh().x_desc(chart.x_label).y_desc(chart.y_label).draw().map_err(|e| fail(e.to_string()))?;
        for (i, s) in series.iter().enumerate() {
            let colour = Palette99::pick(i).to_rgba();
            c.draw_series(LineSeries::new(s.points.iter().copied().filter(|(x, y)| x.is_finite() && y.is_finite()), colour.stroke_width(2)))
                .map_err(|e| fail(e.to_string()))?
                .label(s.label.clone())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], colour.stroke_width(2)));
        }
        if series.iter().any(|s| !s.label.is_empty()) {
            c.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).draw().map_err(|e| fail(e.to_string()))?;
        }
        root.present().map_err(|e| fail(e.to_string()))?;
    }
    Ok(svg)
}

/// Mean Dice against CAM threshold (x in 0..1, y in 0..1), one line per series.
pub fn dice_vs_threshold_svg(series: &[Series], size: (u32, u32)) -> Result<String> {
    let chart = Chart { title: "Mean Dice vs CAM threshold", x_label: "threshold", y_label: "mean Dice", x: 0.0..1.0, y: 0.0..1.0, size };
    line_chart_svg(&chart, series)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_every_series_with_its_label() {
        let series = vec![
            Series { label: "gradcam".into(), points: vec![(0.1, 0.2), (0.5, 0.6), (0.9, f64::NAN)] },
            Series { label: "fusion".into(), points: vec![(0.1, 0.4), (0.5, 0.7)] },
        ];
        let svg = dice_vs_threshold_svg(&series, (400, 300)).unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("gradcam") && svg.contains("fusion"));
        assert!(svg.matches("<polyline").count() >= 2, "{svg}");
    }
}
