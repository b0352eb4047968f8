//! Getting the user's images in: a file picker (images, masks and zips together), a folder
//! picker, and a drop zone. Pairing rules are spelled out where the user looks. The built-in
//! demo sets are picked here too, and the one shown is named with its licence and attribution.

use crate::ui::state::DemoSet;
use crate::web::files::{self, Picked};
use web_sys::DragEvent;
use yew::prelude::*;

const ACCEPT: &str = ".png,.jpg,.jpeg,.tif,.tiff,.bmp,.zip,.nii,.gz,.dcm,image/*,application/zip,application/dicom";

/// What the input panel shows (how many images, and which demo set if one is shown) and what
/// it can ask for.
#[derive(Properties, PartialEq)]
pub struct InputProps {
    pub images: usize,
    /// The demo set shown, or `None` for the person's own images.
    pub demo: Option<DemoSet>,
    pub on_files: Callback<Vec<Picked>>,
    pub on_clear: Callback<()>,
    pub on_demo: Callback<DemoSet>,
    pub on_problem: Callback<String>,
}

#[function_component(InputPanel)]
pub fn input_panel(p: &InputProps) -> Html {
    let over = use_state(|| false);
    let on_change = files::on_pick(p.on_files.clone());
    let on_drop = {
        let over = over.clone();
        files::on_drop(p.on_files.clone(), p.on_problem.clone()).reform(move |e: DragEvent| {
            over.set(false);
            e
        })
    };
    let on_over = {
        let over = over.clone();
        Callback::from(move |e: DragEvent| {
            e.prevent_default();
            over.set(true);
        })
    };
    let on_leave = {
        let over = over.clone();
        Callback::from(move |_: DragEvent| over.set(false))
    };
    let on_clear = p.on_clear.reform(|_: MouseEvent| ());
    let on_demo = {
        let on_demo = p.on_demo.clone();
        Callback::from(move |e: Event| {
            if let Some(set) = DemoSet::parse(&e.target_unchecked_into::<web_sys::HtmlSelectElement>().value()) {
                on_demo.emit(set);
            }
        })
    };
    let about = if let Some(set) = p.demo {
        html! {
            <div class="demo-about" data-testid="demo-about" data-demo={set.name()}>
                <p class="note">{ format!("Showing the {} built-in {}: {}.", p.images, set.label(), set.about()) }</p>
                if let Some((text, citations)) = set.attribution() {
                    <details class="attribution" data-testid="demo-attribution">
                        <summary>{ text }</summary>
                        <ul>{ for citations.iter().map(|c| html! { <li>{ *c }</li> }) }</ul>
                        <p><a href={format!("demo/{}/LICENCE.md", set.name())}>{ "Licence and how these slices were picked" }</a></p>
                    </details>
                }
            </div>
        }
    } else {
        html! {}
    };
    html! {
        <section class={classes!("panel", "drop", (*over).then_some("over"))} ondrop={on_drop} ondragover={on_over} ondragleave={on_leave}>
            <div class="row">
                <label class="button primary">{ "Open images, volumes, masks or zips…" }
                    <input type="file" multiple=true accept={ACCEPT} data-testid="file-input" onchange={on_change.clone()} />
                </label>
                <label class="button">{ "Open a folder…" }
                    <input type="file" multiple=true webkitdirectory=true data-testid="folder-input" onchange={on_change} />
                </label>
                <button onclick={on_clear} disabled={p.images == 0}>{ "Clear" }</button>
                <label>{ "Demo images: " }
                    <select data-testid="demo-set" onchange={on_demo}>
                        { for DemoSet::ALL.iter().map(|d| html! { <option value={d.name()} selected={p.demo == Some(*d)}>{ d.label() }</option> }) }
                        if p.demo.is_none() { <option value="" selected=true disabled=true>{ "(your images)" }</option> }
                    </select>
                </label>
                if p.demo.is_none() { <span class="note">{ format!("{} images loaded.", p.images) }</span> }
            </div>
            { about }
            <p class="hint">{ "…or drop files here. Masks pair with images by name: " }<code>{ "x.png + x_mask.png" }</code>{ ", " }
                <code>{ "images/x.png + masks/x.png" }</code>{ ", or the LGG dataset's " }<code>{ "x.tif + x_mask.tif" }</code>
                { ". PNG, JPEG, TIFF, BMP and zips of them. Volumes: NIfTI (" }<code>{ "x.nii.gz + x_mask.nii.gz" }</code>{ ", also " }<code>{ "_seg" }</code>
                { ") and DICOM series (open the folder; labels as " }<code>{ "folder_mask.nii.gz" }</code>{ " beside it). Images without a mask are classified but not scored. Files are read here and never sent anywhere." }</p>
        </section>
    }
}
