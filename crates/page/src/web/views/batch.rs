//! Every loaded image in one sortable table, the batch's accuracy and mean Dice (and the trust
//! checks' averages beside them), its
//! Dice-vs-threshold curve, and CSV export. A row click (or Enter on a focused row) shows
//! that image.

use super::{fmt, inline_svg};
use crate::figures::{dice_vs_threshold_svg, Series};
use crate::ui::state::{Action, BatchSummary, SortKey};
use crate::web::ctx::Ctx;
use crate::web::files;
use yew::prelude::*;

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
pub fn batch_view() -> Html {
    let ctx = use_context::<Ctx>().expect("ctx");
    let s = ctx.state();
    // Rows are look-ups (each result was scored once, on arrival); the chart is redrawn only
    // when its points change.
    let rows = s.rows();
    let summary = BatchSummary::of(&rows);
    let (curve, otsu) = s.dice_curve(false);
    let (gated_curve, gated_otsu) = s.dice_curve(true);
    let chart = use_memo((curve, gated_curve), |(curve, gated)| {
        let series = [Series { label: "as cut".into(), points: curve.clone() }, Series { label: "gated by the answer".into(), points: gated.clone() }];
        (!curve.is_empty()).then(|| dice_vs_threshold_svg(&series, (420, 260)).ok()).flatten()
    });
    let rate = |gated: bool| summary.false_mask_rate(gated).map(|r| format!("{:.0}%", 100.0 * r)).unwrap_or_else(|| "–".into());
    let on_csv = {
        let ctx = ctx.clone();
        Callback::from(move |_: MouseEvent| {
            if let Err(e) = files::download("camseg-results.csv", "text/csv", ctx.state().csv().as_bytes()) {
                ctx.dispatch(Action::Failed(e));
            }
        })
    };
    let header = |(key, label): (SortKey, &'static str)| {
        let ctx = ctx.clone();
        let arrow = match s.sort {
            Some((k, true)) if k == key => " ▲",
            Some((k, false)) if k == key => " ▼",
            _ => "",
        };
        let sort = match s.sort {
            Some((k, true)) if k == key => "ascending",
            Some((k, false)) if k == key => "descending",
            _ => "none",
        };
        // A button, so the keyboard sorts too.
        html! { <th aria-sort={sort}><button class="sort" onclick={Callback::from(move |_: MouseEvent| ctx.dispatch(Action::SortedBy(key)))} title="sort">{ label }{ arrow }</button></th> }
    };
    let row = |r: crate::ui::state::Row| {
        let id = r.id;
        let selected = Some(id) == s.selected;
        let wrong = matches!((r.predicted, r.truth), (Some(p), Some(t)) if p != t);
        let show = {
            let ctx = ctx.clone();
            move || {
                ctx.dispatch(Action::Selected(id));
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
                <td>{ r.file }</td>
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
                { format!(" gated (a tumour the model misses scores 0), over {} with a tumour mask, at threshold {}.", summary.scored, s.view.threshold) }
            </p>
            <p class="summary" data-testid="false-masks" data-negatives={summary.negatives.to_string()} data-ungated={summary.negative_masks.to_string()} data-gated={summary.negative_masks_gated.to_string()}>
                { format!("Slices with no tumour in their mask that still get a predicted mask: {} of {} ", summary.negative_masks, summary.negatives) }
                <strong data-testid="false-mask-rate">{ rate(false) }</strong>{ format!(" as cut, {} of {} ", summary.negative_masks_gated, summary.negatives) }
                <strong data-testid="false-mask-rate-gated">{ rate(true) }</strong>{ " gated." }
            </p>
            <super::trust_batch::TrustBatchRow batch={s.trust_batch.clone()} current={s.trust_batch.is_for(s.model, s.method, s.block)}
                can_check={!s.items.is_empty() && s.current_model().is_some_and(|m| m.ready) && s.method.is_some()}
                on_check={ctx.on_trust_all.clone()} on_cancel={ctx.on_trust_all_cancel.clone()} />
            <div class="row">
                <button onclick={on_csv} data-testid="export-csv" disabled={s.items.is_empty()}>{ "Export CSV" }</button>
            </div>
            <div class="table-box">
                <table data-testid="batch-table">
                    <thead><tr>{ for COLUMNS.into_iter().map(header) }</tr></thead>
                    <tbody>{ for rows.into_iter().map(row) }</tbody>
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
