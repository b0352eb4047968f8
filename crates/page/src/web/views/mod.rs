//! The page's views, one per thing it shows. The page component reads the state from the
//! [`Ctx`](super::ctx::Ctx) and hands each view typed props of what it shows and callbacks for
//! what it can ask; no view holds state of its own beyond DOM handles.

mod batch;
mod finetune;
mod image;
mod input;
mod models;
mod steps;
mod teaching;
mod train;
mod trust;
mod trust_batch;
mod volume;

use super::ctx::Ctx;
use yew::prelude::*;

/// A number with `digits` decimals, or a dash when there is none.
pub fn fmt(value: Option<f64>, digits: usize) -> String {
    value.filter(|v| v.is_finite()).map(|v| format!("{v:.digits$}")).unwrap_or_else(|| "–".into())
}

/// An SVG the project drew itself (plotters), placed inline.
pub fn inline_svg(svg: String) -> Html {
    Html::from_html_unchecked(AttrValue::from(svg))
}

/// Saves the table as CSV, as it stands when asked.
fn csv_download(ctx: &Ctx) -> Callback<()> {
    let ctx = ctx.clone();
    Callback::from(move |_| {
        if let Err(e) = super::files::download("camseg-results.csv", "text/csv", ctx.state().csv().as_bytes()) {
            ctx.dispatch(crate::ui::state::Action::Failed(e));
        }
    })
}

#[function_component(Page)]
pub fn page() -> Html {
    let ctx = use_context::<Ctx>().expect("the app provides a Ctx");
    let s = ctx.state();
    // The filter experiment's previews: filtered when its images, their heatmaps, the filter or
    // the cut change, not per render.
    let previews = {
        let deps = (s.finetune.filter, s.view.threshold.to_string(), s.generation, s.tune_items().into_iter().take(finetune::PREVIEWS).collect::<Vec<_>>());
        let state = s.clone();
        use_memo(deps, move |_| state.tune_previews(finetune::PREVIEWS))
    };
    let busy = s.busy.as_ref().map(|b| {
        html! { <span class="busy">{ format!("{} {}/{} ", b.what, b.done, b.total) }<progress data-testid="busy" max={b.total.to_string()} value={b.done.to_string()}></progress></span> }
    });
    let dismiss = {
        let ctx = ctx.clone();
        Callback::from(move |_| ctx.dispatch(crate::ui::state::Action::Dismissed))
    };
    // Shown only while a volume's slice is on screen.
    let volume_panel = s.current_slice().map(|(volume, slice)| {
        let (dice, done) = s.volume_dice(volume);
        html! {
            <volume::VolumeView volume={volume.clone()} {slice} {dice} {done}
                threshold={s.view.threshold} shown_slice_only={s.shown_slice_only}
                on_select={ctx.dispatch_with(crate::ui::state::Action::Selected)}
                on_step={ctx.dispatch_with(crate::ui::state::Action::SliceStep)}
                on_reslice={ctx.on_reslice.clone()} on_export={ctx.on_export_mask.clone()}
                on_shown_only={ctx.dispatch_with(crate::ui::state::Action::ShownSliceOnly)}
                on_problem={ctx.dispatch_with(crate::ui::state::Action::Failed)} />
        }
    });
    html! {
        <main>
            <header>
                <h1>{ "camseg" }</h1>
                <p class="lede">{ "Tumour masks from a classifier's heatmaps (Grad-CAM and friends), computed in your browser. Nothing you load leaves this machine." }</p>
            </header>
            <models::ModelPanel backend={s.backend} backend_note={s.backend_note.clone()} workers={s.workers.clone()} models={s.models.clone()} model={s.model}
                demos={s.models.iter().filter_map(|m| s.demo_for_model(m.id).map(|d| (m.id, d))).collect::<Vec<_>>()}
                on_choose={ctx.dispatch_with(crate::ui::state::Action::ModelChosen)} on_demo={ctx.on_demo.clone()}
                on_model_files={ctx.on_model_files.clone()} on_use_cpu={ctx.on_use_cpu.clone()}
                on_download={ctx.on_download_model.clone()} on_rename={ctx.on_model_rename.clone()}
                on_delete={ctx.on_model_delete.clone()} />
            <div class="statusline">
                <span class="status" data-testid="status">{ &s.status }</span>{ busy }
                <span data-testid="first-heatmap-ms" hidden=true>{ s.first_heatmap_ms.map(|m| format!("{m:.0}")).unwrap_or_default() }</span>
            </div>
            <div class="error-row">
                <div class="error" data-testid="error" role="alert">{ s.error.clone().unwrap_or_default() }</div>
                if s.error.is_some() { <button onclick={dismiss} aria-label="dismiss the message">{ "×" }</button> }
            </div>
            <input::InputPanel images={s.items.len()} demo={s.demo.then_some(s.demo_set)}
                on_files={ctx.on_files.clone()} on_clear={ctx.on_clear.clone()} on_demo={ctx.on_demo.clone()}
                on_problem={ctx.dispatch_with(crate::ui::state::Action::Failed)} />
            { volume_panel }
            <div class="views">
                <image::ImageView item={s.current().cloned()} view={s.view.clone()} method={s.method} block={s.block} blocks={s.blocks()}
                    on_setting={ctx.dispatch_with(|a: crate::ui::state::Action| a)} on_problem={ctx.dispatch_with(crate::ui::state::Action::Failed)}
                    on_save={ctx.on_save_picture.clone()} />
                <batch::BatchView rows={s.rows()} curve={s.dice_curve(false)} gated_curve={s.dice_curve(true)}
                    threshold={s.view.threshold} sort={s.sort} selected={s.selected}
                    trust={html! { <trust_batch::TrustBatchRow batch={s.trust_batch.clone()} current={s.trust_batch.is_for(s.model, s.method, s.block)}
                        can_check={!s.items.is_empty() && s.current_model().is_some_and(|m| m.ready) && s.method.is_some()}
                        on_check={ctx.on_trust_all.clone()} on_cancel={ctx.on_trust_all_cancel.clone()} /> }}
                    on_sort={ctx.dispatch_with(crate::ui::state::Action::SortedBy)}
                    on_select={ctx.dispatch_with(crate::ui::state::Action::Selected)}
                    on_csv={csv_download(&ctx)} />
            </div>
            <trust::TrustView check={s.trust.clone()} selected={s.selected} colour_map={s.view.colour_map}
                can_check={s.selected.is_some() && s.current_model().is_some_and(|m| m.ready) && s.method.is_some()}
                on_check={ctx.on_trust.clone()} />
            <steps::StepsView steps={s.steps.clone()} selected={s.selected} channel={s.steps_channel}
                image={s.selected.and_then(|id| s.items.iter().find(|i| i.id == id)).map(|i| i.image.clone())}
                threshold={s.view.threshold} colour_map={s.view.colour_map} method={s.method} block={s.block}
                can_ask={s.selected.is_some() && s.current_model().is_some_and(|m| m.ready) && s.method.is_some_and(|m| m.base().is_some())}
                on_ask={ctx.on_explain.clone()} on_channel={ctx.dispatch_with(crate::ui::state::Action::ChannelPicked)} />
            <finetune::FineTuneView tune={s.finetune.clone()} previews={previews} colour_map={s.view.colour_map} has_images={!s.items.is_empty()}
                on_filter={ctx.dispatch_with(crate::ui::state::Action::FilterChosen)} on_epochs={ctx.dispatch_with(crate::ui::state::Action::EpochsChosen)}
                on_start={ctx.on_finetune.clone()} on_cancel={ctx.on_cancel.clone()} on_keep={ctx.on_keep.clone()} />
            <train::TrainView
                training={s.training.clone()}
                models={s.models.iter().filter(|m| m.ready).map(|m| (m.id, m.card.name.clone())).collect::<Vec<_>>()}
                on_files={ctx.on_train_files.clone()}
                on_options={ctx.on_train_options.clone()}
                on_epochs={ctx.dispatch_with(|n| crate::ui::state::Action::Train(crate::ui::state::training::TrainAction::EpochsChosen(n)))}
                on_from={ctx.dispatch_with(|m| crate::ui::state::Action::Train(crate::ui::state::training::TrainAction::FromChosen(m)))}
                on_scan={ctx.dispatch_with(|k| crate::ui::state::Action::Train(crate::ui::state::training::TrainAction::ScanChosen(k)))}
                on_balance_gate={ctx.dispatch_with(|on| crate::ui::state::Action::Train(crate::ui::state::training::TrainAction::BalanceGateChosen(on)))}
                on_start={ctx.on_train_start.clone()}
                on_cancel={ctx.on_train_cancel.clone()}
                on_problems={ctx.dispatch_with(crate::ui::state::Action::Failed)} />
            <teaching::Teaching />
        </main>
    }
}
