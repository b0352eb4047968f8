//! The paper's filter experiment at the size of a page: filter labelled images with their own
//! heatmap masks (or a random mask of the same area), fine-tune the current classifier on part
//! of them and compare its accuracy on the rest before and after. The page drives it one step
//! at a time through `camseg-model`'s trainer, so it can draw progress and cancel.

use crate::data::InputSpec;
use crate::filters::Filter;
use crate::masks::Mask;
use crate::plane::Plane;
use crate::train::Sample;
use std::rc::Rc;

/// A labelled image with the mask its own heatmap gives.
pub struct Labelled {
    pub image: Rc<Plane>,
    pub hot: Mask,
    pub label: bool,
}

/// Filtered images, prepared for the model, split into the part fine-tuned on and the part
/// held out to measure accuracy before and after.
pub struct FilteredSets {
    pub train: Vec<Sample>,
    pub held_out: Vec<Sample>,
    /// The filtered images at their own size, in input order, to show.
    pub filtered: Vec<Plane>,
}

/// Seeds the random-mask filters, in the page's runs and previews alike.
pub const SEED: u64 = 7;

/// Every third image is held out: deterministic, so before and after see the same images, and
/// alternating labels (as in the demo set) stay balanced on both sides.
pub fn is_held_out(index: usize) -> bool {
    index % 3 == 2
}

/// Each image filtered with its own mask; `seed` and the image's position place the random
/// baselines, so the first k images of a list filter the same way alone as in the whole list.
pub fn filtered_images(items: &[Labelled], filter: Filter, seed: u64, spec: &InputSpec) -> Vec<Plane> {
    let seen: Vec<_> = items.iter().map(|item| as_seen(&item.image, spec)).collect();
    filter_seen(items, &seen, filter, seed, spec)
}

/// [`filtered_images`] of scans already as the model sees them.
fn filter_seen(items: &[Labelled], seen: &[std::borrow::Cow<'_, Plane>], filter: Filter, seed: u64, spec: &InputSpec) -> Vec<Plane> {
    let level = spec.scan.field_of_view_level;
    items.iter().zip(seen).enumerate().map(|(i, (item, scan))| filter.apply(scan, &item.hot, seed.wrapping_add(i as u64), level)).collect()
}

/// The scan as the model sees it before filtering: with its burnt-in annotations filled where
/// the card asks, so that filters (and a mask-only image, which is no scan) are not filled after.
fn as_seen<'a>(image: &'a Plane, spec: &InputSpec) -> std::borrow::Cow<'a, Plane> {
    if spec.scan.fill_annotations {
        std::borrow::Cow::Owned(crate::data::scan::annotations_filled(image))
    } else {
        std::borrow::Cow::Borrowed(image)
    }
}

/// Filters each image with its own mask (see [`filtered_images`]) and splits.
pub fn filtered_sets(items: &[Labelled], filter: Filter, spec: &InputSpec, seed: u64) -> FilteredSets {
    // Each scan's annotations are filled once: the filters and the normalisation share it.
    let seen: Vec<_> = items.iter().map(|item| as_seen(&item.image, spec)).collect();
    let mut sets = FilteredSets { train: Vec::new(), held_out: Vec::new(), filtered: filter_seen(items, &seen, filter, seed, spec) };
    let unfilled = InputSpec { scan: crate::data::ScanSettings { fill_annotations: false, ..spec.scan }, ..spec.clone() };
    for (i, ((item, filtered), scan)) in items.iter().zip(&sets.filtered).zip(&seen).enumerate() {
        let sample = Sample { input: unfilled.prepare_like(filtered, scan), label: item.label };
        if is_held_out(i) { &mut sets.held_out } else { &mut sets.train }.push(sample);
    }
    sets
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_each_image_with_its_own_mask_and_holds_out_every_third() {
        let images: Vec<Plane> = (0..6).map(|i| Plane::new(2, 1, vec![1.0, i as f32])).collect();
        let hot = Mask::new(2, 1, vec![true, false]);
        let items: Vec<Labelled> = images.iter().enumerate().map(|(i, im)| Labelled { image: Rc::new(im.clone()), hot: hot.clone(), label: i % 2 == 1 }).collect();
        let spec = InputSpec::new(2);
        let sets = filtered_sets(&items, Filter::RemoveHot, &spec, 1);
        assert_eq!((sets.train.len(), sets.held_out.len()), (4, 2));
        assert_eq!(sets.filtered[4].data, vec![0.0, 4.0], "remove-hot blanks the hot pixel only");
        assert_eq!(sets.held_out.iter().map(|s| s.label).collect::<Vec<_>>(), vec![false, true]);
        let kept = filtered_sets(&items, Filter::KeepHot, &spec, 1);
        assert_eq!(kept.filtered[4].data, vec![1.0, 0.0]);
        // A prefix filters as it does inside the whole list (the page's previews rely on it).
        let random = filtered_sets(&items, Filter::KeepRandom, &spec, 1).filtered;
        assert_eq!(filtered_images(&items[..3], Filter::KeepRandom, 1, &spec), random[..3].to_vec());
    }
}
