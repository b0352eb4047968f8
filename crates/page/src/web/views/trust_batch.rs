//! The trust checks of every lesion image, averaged, beside the batch's Dice: a button to run
//! them (one image per worker step), their progress, and the averages once some are in.

use crate::ui::state::trust_batch::TrustBatch;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct TrustBatchProps {
    pub batch: TrustBatch,
    /// Whether the figures are for the model, method and block now chosen.
    pub current: bool,
    pub can_check: bool,
    pub on_check: Callback<()>,
    pub on_cancel: Callback<()>,
}

#[function_component(TrustBatchRow)]
pub fn trust_batch_row(p: &TrustBatchProps) -> Html {
    let b = &p.batch;
    let averages = b.averages().filter(|_| p.current);
    html! {
        <div class="trust-batch" data-testid="trust-batch">
            <div class="row">
                <button data-testid="trust-all" onclick={p.on_check.reform(|_: MouseEvent| ())} disabled={!p.can_check || b.running}
                    title="Every trust check on each lesion image (those with a lesion mask, or else those the model calls lesion): a second or two per image">
                    { "Check every lesion image's heatmap" }</button>
                if b.running {
                    <button data-testid="trust-all-cancel" onclick={p.on_cancel.reform(|_: MouseEvent| ())}>{ "Cancel" }</button>
                    <span class="note" data-testid="trust-all-progress">{ format!("checked {} of {}", b.answers.len(), b.total) }</span>
                } else if b.setting.is_some() && !p.current {
                    <span class="note">{ "The figures were for another model, method or block; check again." }</span>
                }
            </div>
            if let Some(a) = averages {
                <p class="summary" data-testid="trust-averages" data-images={a.images.to_string()}>
                    { format!("Trust, over {} lesion images{}: deletion AUC ", a.images, if a.errors > 0 { format!(" ({} could not be checked)", a.errors) } else { String::new() }) }
                    <strong data-testid="trust-mean-deletion">{ format!("{:.3}", a.deletion_auc) }</strong>{ ", ROAD AUC " }
                    <strong data-testid="trust-mean-road">{ format!("{:.3}", a.road_auc) }</strong>{ " (lower is better), insertion AUC " }
                    <strong data-testid="trust-mean-insertion">{ format!("{:.3}", a.insertion_auc) }</strong>{ " (higher); pointing game " }
                    <strong data-testid="trust-pointing-rate">{ if a.pointing.1 > 0 { format!("{} of {}", a.pointing.0, a.pointing.1) } else { "n/a (no lesion masks)".into() } }</strong>
                    { "; the map fails the randomisation check on " }<strong data-testid="trust-failing">{ format!("{} of {}", a.failing, a.images) }</strong>{ " images." }
                </p>
            }
        </div>
    }
}
