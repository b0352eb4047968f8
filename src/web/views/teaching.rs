//! Short explanations for someone who has never heard of a CAM.

use yew::prelude::*;

#[function_component(Teaching)]
pub fn teaching() -> Html {
    html! {
        <section class="explain" id="learn">
            <h2>{ "What is going on here?" }</h2>
            <details open=true>
                <summary>{ "What a Grad-CAM heatmap is" }</summary>
                <p>{ "The network was trained only to answer one question: is there a tumour in this slice? It never saw an outline. Grad-CAM asks it where its answer came from: it takes the feature maps of one convolutional layer, weighs each map by how much nudging it would raise the tumour score (the gradient, averaged over the map), adds them up and keeps the positive part. Bright means \"this region pushed the answer towards tumour\". Grad-CAM++, LayerCAM and HiResCAM weigh the gradients differently; fusion combines two layers with the scan's own brightness (tumours are bright on FLAIR) and keeps only the bright region joined to the heatmap's peak: the classifier says which region, the scan says how far it goes." }</p>
            </details>
            <details>
                <summary>{ "Why the mask covers only part of the tumour" }</summary>
                <p>{ "To say \"tumour\", the classifier needs only the most telling part of it, so that is where the heatmap is hottest; the rest of the tumour may add little to the score. A deep layer is also coarse (a few cells across the image), so its heatmap is blurred when it is enlarged. Thresholding the heatmap therefore gives a mask that is often smaller than, or offset from, the true outline. Dice measures the overlap: 1 is perfect, 0 is no overlap. Move the threshold and watch Dice change." }</p>
            </details>
            <details>
                <summary>{ "What the filter experiment tests" }</summary>
                <p>{ "If the heatmap really marks what the classifier uses, then keeping only the hot region should keep the images easy to classify, and removing it should make them harder. Here each image is filtered with its own heatmap mask, the model is fine-tuned on some of them and tested on the rest. The random-mask filters, with the same area in a random place, are the baseline: a heatmap is informative only if it does better than chance. The paper (Guan and Loew, 2022) found that even with the hot region removed, the classifier still learns from what is left: the dark regions carry information too." }</p>
            </details>
        </section>
    }
}
