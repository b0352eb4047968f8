//! Getting the user's images in: a file picker (images, masks and zips together), a folder
//! picker, and a drop zone. Pairing rules are spelled out where the user looks.

use crate::web::app::Ctx;
use web_sys::DragEvent;
use yew::prelude::*;

const ACCEPT: &str = ".png,.jpg,.jpeg,.tif,.tiff,.bmp,.zip,image/*,application/zip";

#[function_component(InputPanel)]
pub fn input_panel() -> Html {
    let ctx = use_context::<Ctx>().expect("ctx");
    let over = use_state(|| false);
    let on_change = crate::web::files::on_pick(ctx.on_files.clone());
    let on_drop = {
        let (ctx, over) = (ctx.clone(), over.clone());
        Callback::from(move |e: DragEvent| {
            e.prevent_default();
            over.set(false);
            if let Some(list) = e.data_transfer().and_then(|dt| dt.files()) {
                ctx.on_files.emit(crate::web::files::files_of(&list));
            }
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
    let on_clear = {
        let ctx = ctx.clone();
        ctx.on_clear.reform(|_: MouseEvent| ())
    };
    let s = ctx.state();
    html! {
        <section class={classes!("panel", "drop", (*over).then_some("over"))} ondrop={on_drop} ondragover={on_over} ondragleave={on_leave}>
            <div class="row">
                <label class="button primary">{ "Open images, masks or zips…" }
                    <input type="file" multiple=true accept={ACCEPT} data-testid="file-input" onchange={on_change.clone()} />
                </label>
                <label class="button">{ "Open a folder…" }
                    <input type="file" multiple=true webkitdirectory=true data-testid="folder-input" onchange={on_change} />
                </label>
                <button onclick={on_clear} disabled={s.items.is_empty()}>{ "Clear" }</button>
                <span class="note">{ if s.demo { format!("Showing {} built-in phantom images (synthetic, with true masks).", s.items.len()) } else { format!("{} images loaded.", s.items.len()) } }</span>
            </div>
            <p class="hint">{ "…or drop files here. Masks pair with images by name: " }<code>{ "x.png + x_mask.png" }</code>{ ", " }
                <code>{ "images/x.png + masks/x.png" }</code>{ ", or the LGG dataset's " }<code>{ "x.tif + x_mask.tif" }</code>
                { ". PNG, JPEG, TIFF, BMP and zips of them. Images without a mask are classified but not scored. Files are read here and never sent anywhere." }</p>
        </section>
    }
}
