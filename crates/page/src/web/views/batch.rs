//! Every loaded image in one sortable table, the batch's accuracy and mean Dice (and the trust
//! checks' averages beside them), its
//! Dice-vs-threshold curve, and CSV export. A row click (or Enter on a focused row) shows
//! that image.

use super::{fmt, inline_svg};
use crate::figures::{dice_vs_threshold_svg, Series};
use crate::masks::Threshold;
use crate::protocol::ItemId;
use crate::ui::state::{BatchSummary, Row, SortKey};
use yew::prelude::*;

/// What the batch panel shows (each image's row, the Dice curves, the sort) and what it can
/// ask for. The rows and curves are look-ups of results scored once, on arrival.
#[derive(Properties, PartialEq)]
pub struct BatchProps {
    pub rows: Vec<Row>,
    /// Mean Dice at each threshold, as cut and gated by the answer, and at Otsu's.
    pub curve: (Vec<(f32, f64)>, Option<f64>),
    pub gated_curve: (Vec<(f32, f64)>, Option<f64>),
    pub threshold: Threshold,
    pub sort: Option<(SortKey, bool)>,
    pub selected: Option<ItemId>,
    /// The trust checks' row for the batch.
    pub trust: Html,
    pub on_sort: Callback<SortKey>,
    pub on_select: Callback<ItemId>,
    pub on_csv: Callback<()>,
}

/// "gated": Dice with the mask emptied where the model says no tumour (a miss scores 0).
const COLUMNS: [(SortKey, &str); 6] = [
    (SortKey::File, "file"),
    (SortKey::Probability, "probability"),
    (SortKey::Predicted, "predicted"),
    (SortKey::Truth, "true class"),
    (SortKey::Dice, "Dice"),
    (SortKey::GatedDice, "gated"),
];

fn class(v: Option<bool>) -> &'static str {
    match v {
        Some(true) => "tumour",
        Some(false) => "no tumour",
        None => "–",
    }
}

#[function_component(BatchView)]
pub fn batch_view(p: &BatchProps) -> Html {
    // The chart is redrawn only when its points change.
    let summary = BatchSummary::of(&p.rows);
    let ((curve, otsu), (gated_curve, gated_otsu)) = (p.curve.clone(), p.gated_curve.clone());
    let chart = use_memo((curve, gated_curve), |(curve, gated)| {
        let series = [Series { label: "as cut".into(), points: curve.clone() }, Series { label: "gated by the answer".into(), points: gated.clone() }];
        (!curve.is_empty()).then(|| dice_vs_threshold_svg(&series, (420, 260)).ok()).flatten()
    });
    let rate = |gated: bool| summary.false_mask_rate(gated).map(|r| format!("{:.0}%", 100.0 * r)).unwrap_or_else(|| "–".into());
    let on_csv = p.on_csv.reform(|_: MouseEvent| ());
    let header = |(key, label): (SortKey, &'static str)| {
        let on_sort = p.on_sort.clone();
        let arrow = match p.sort {
            Some((k, true)) if k == key => " ▲",
            Some((k, false)) if k == key => " ▼",
            _ => "",
        };
        let sort = match p.sort {
            Some((k, true)) if k == key => "ascending",
            Some((k, false)) if k == key => "descending",
            _ => "none",
        };
        // A button, so the keyboard sorts too.
        html! { <th aria-sort={sort}><button class="sort" onclick={Callback::from(move |_: MouseEvent| on_sort.emit(key))} title="sort">{ label }{ arrow }</button></th> }
    };
    let row = |r: &Row| {
        let id = r.id;
        let selected = Some(id) == p.selected;
        let wrong = matches!((r.predicted, r.truth), (Some(p), Some(t)) if p != t);
        let show = {
            let on_select = p.on_select.clone();
            move || {
                on_select.emit(id);
                if let Some(el) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.get_element_by_id("image-view")) {
                    el.scroll_into_view();
                }
            }
        };
        let on_click = {
            let show = show.clone();
            Callback::from(move |_: MouseEvent| show())
        };
        // Enter or Space on a focused row shows it, as a click does.
        let on_key = Callback::from(move |e: KeyboardEvent| {
            if e.key() == "Enter" || e.key() == " " {
                e.prevent_default();
                show();
            }
        });
        html! {
            <tr class={classes!(selected.then_some("selected"), wrong.then_some("wrong"))} tabindex="0" aria-selected={selected.to_string()}
                title="show this image (click, or Enter)" onclick={on_click} onkeydown={on_key}>
                <td>{ r.file.clone() }</td>
                <td>{ r.probability.map(|p| format!("{p:.3}")).unwrap_or_else(|| "…".into()) }</td>
                <td>{ class(r.predicted) }</td>
                <td>{ class(r.truth) }</td>
                <td>{ fmt(r.dice, 3) }</td>
                <td>{ fmt(r.gated_dice, 3) }</td>
            </tr>
        }
    };
    html! {
        <section class="panel batch-view">
            <h2>{ "All images" }</h2>
            <p class="summary">
                { format!("{} images, {} analysed. Accuracy ", summary.images, summary.analysed) }
                <strong data-testid="accuracy">{ fmt(summary.accuracy, 3) }</strong>{ format!(" over {} with a known class; mean Dice ", summary.with_class) }
                <strong data-testid="mean-dice">{ fmt(summary.mean_dice, 4) }</strong>{ " as cut, " }
                <strong data-testid="mean-gated-dice" data-gated-dice={fmt(summary.mean_gated_dice, 6)}>{ fmt(summary.mean_gated_dice, 4) }</strong>
                { format!(" gated (a tumour the model misses scores 0), over {} with a tumour mask, at threshold {}.", summary.scored, p.threshold) }
            </p>
            <p class="summary" data-testid="false-masks" data-negatives={summary.negatives.to_string()} data-ungated={summary.negative_masks.to_string()} data-gated={summary.negative_masks_gated.to_string()}>
                { format!("Slices with no tumour in their mask that still get a predicted mask: {} of {} ", summary.negative_masks, summary.negatives) }
                <strong data-testid="false-mask-rate">{ rate(false) }</strong>{ format!(" as cut, {} of {} ", summary.negative_masks_gated, summary.negatives) }
                <strong data-testid="false-mask-rate-gated">{ rate(true) }</strong>{ " gated." }
            </p>
            { p.trust.clone() }
            <div class="row">
                <button onclick={on_csv} data-testid="export-csv" disabled={p.rows.is_empty()}>{ "Export CSV" }</button>
            </div>
            <div class="table-box">
                <table data-testid="batch-table">
                    <thead><tr>{ for COLUMNS.into_iter().map(header) }</tr></thead>
                    <tbody>{ for p.rows.iter().map(row) }</tbody>
                </table>
            </div>
            if let Some(svg) = (*chart).clone() {
                <figure class="chart" data-testid="dice-curve">
                    { inline_svg(svg) }
                    <figcaption>{ format!("Mean Dice of this batch at each threshold, as cut and gated (Otsu: {}, gated {}).", fmt(otsu, 3), fmt(gated_otsu, 3)) }</figcaption>
                </figure>
            }
        </section>
    }
}
