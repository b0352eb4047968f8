//! Short explanations for someone who has never heard of a CAM.

use yew::prelude::*;

#[function_component(Teaching)]
pub fn teaching() -> Html {
    html! {
        <section class="explain" id="learn">
            <h2>{ "What is going on here?" }</h2>
            <details open=true>
                <summary>{ "What a Grad-CAM heatmap is" }</summary>
                <p>{ "The network was trained only to answer one question: is there a tumour in this slice? It never saw an outline. Grad-CAM asks it where its answer came from: it takes the feature maps of one convolutional layer, weighs each map by how much nudging it would raise the tumour score (the gradient, averaged over the map), adds them up and keeps the positive part. Bright means \"this region pushed the answer towards tumour\". Grad-CAM++, LayerCAM and HiResCAM weigh the gradients differently; multi-layer LayerCAM averages several layers, and \"LayerCAM + random walk\" spreads that map over pixels the classifier's own early filters see as alike, so that it stays inside the region it started in. Occlusion asks the model instead of its layers: it covers the image with a grey square, one place at a time, and heats the places where covering lowers p(tumour) (about 226 passes of the model per image, so it is slow, but it needs no gradient and works on any classifier). The default, fusion, is a classifier-seeded intensity segmentation: two layers' Grad-CAM++ times the scan's own brightness rule (the model card says whether lesions are bright, as tumours are on FLAIR, or dark, as most breast masses are on ultrasound), then only the region joined to the heatmap's peak, holes filled: the classifier says which region, the scan says how far it goes." }</p>
            </details>
            <details open=true>
                <summary>{ "What the classifier adds, and what it does not" }</summary>
                <p>{ "On brain MRI (the LGG model). Measured on real MRI of patients the model never saw (docs/results.md). A rule with no classifier at all, \"intensity only\" in the method list (the brightest region of the head, scalp band dropped, holes filled), already reaches a mean Dice of 0.69 on the validation patients and 0.68 on the test patients. Fusion, which lets the classifier pick the region, scores 0.69 and 0.71: on validation the classifier adds nothing measurable to the outline (+0.001, 95% interval -0.02 to +0.02), on test +0.04 (+0.01 to +0.07). The classifier alone, without the brightness rule, outlines less well: its multi-layer LayerCAM, shaped the same way, reaches 0.43 and 0.48, and spread by the random walk on its own features 0.58 and 0.55 (the paper's Grad-CAM: 0.33 and 0.31). What the classifier does add is whether there is a tumour at all: the intensity rule draws a mask on 94% of tumour-free slices; gated by the classifier's answer (masks only where p \u{2265} 0.5, this page's default), 5%." }</p>
            </details>
            <details>
                <summary>{ "On breast ultrasound, the classifier has to draw" }</summary>
                <p>{ "On ultrasound (the BUSI model) lesions are dark on a speckled background, and a darkness rule with no classifier outlines them poorly: mean Dice 0.17 on the validation clusters and 0.17 on the test clusters. The classifier's own maps do better: LayerCAM spread by the random walk on its features (the default) reaches 0.45 and 0.47 (the paper's Grad-CAM: 0.38 and 0.35), +0.28 and +0.29 over the rule. Its map peaks inside the lesion on 66% and 68% of lesion images (the pointing game). The network is the first four blocks of EfficientNet-Lite0, started from weights learnt on ImageNet photographs and fine-tuned on 432 BUSI images: its lesion / normal AUC is 0.99 on validation and 0.96 on test (only 15 normal test images), where the earlier model, a plain network trained from scratch, reached 0.92 and 0.84. Its p ran high at first; the last layer's bias was then moved, on the validation images, so that p = 0.5 sits where lesion and normal images are best told apart: on test it calls 94% of lesion images lesions and 73% of normal images normal. Pretraining made the classifier better at saying whether; its maps still cover only part of most lesions (docs/results.md, section 5)." }</p>
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
