//! What every view gets: the page's state (a [`Store`] for Yew's reducer) and the work it can
//! ask for. Apart from the app that fills it, so that views depend on this, not on the app.

use super::files::Picked;
use crate::data::labelled::LabelOptions;
use crate::protocol::{ModelId, VolumeId};
use crate::ui::state::{Action, DemoSet, PageState};
use crate::volume::{View, Window};
use std::rc::Rc;
use yew::prelude::*;

#[derive(Clone, Default, PartialEq)]
pub struct Store(pub PageState);

impl Reducible for Store {
    type Action = Action;
    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        Rc::new(Store(self.0.clone().reduce(action)))
    }
}

/// What every view gets: the state, and the work it can ask for.
#[derive(Clone, PartialEq)]
pub struct Ctx {
    pub store: UseReducerHandle<Store>,
    pub on_files: Callback<Vec<Picked>>,
    pub on_clear: Callback<()>,
    pub on_model_files: Callback<Vec<Picked>>,
    pub on_use_cpu: Callback<()>,
    pub on_finetune: Callback<()>,
    pub on_cancel: Callback<()>,
    pub on_keep: Callback<()>,
    pub on_download_model: Callback<()>,
    /// Cut a volume again: another view or window.
    pub on_reslice: Callback<(VolumeId, View, Window)>,
    /// Save a volume's predicted mask as NIfTI (gated by the answer when true).
    pub on_export_mask: Callback<(VolumeId, bool)>,
    /// Save a picture of the image on screen as PNG (the worker encodes it).
    pub on_save_picture: Callback<crate::protocol::Picture>,
    /// Show a built-in demo set instead of the images shown.
    pub on_demo: Callback<DemoSet>,
    /// A labelled folder (or zip) to train on, and other label options for it.
    pub on_train_files: Callback<Vec<Picked>>,
    pub on_train_options: Callback<LabelOptions>,
    pub on_train_start: Callback<()>,
    pub on_train_cancel: Callback<()>,
    /// Rename or delete a model trained here (and kept in the browser).
    pub on_model_rename: Callback<(ModelId, String)>,
    pub on_model_delete: Callback<ModelId>,
    /// Run every trust check on the image on screen.
    pub on_trust: Callback<()>,
    /// Take the heatmap on screen apart, step by step.
    pub on_explain: Callback<()>,
    /// Run the trust checks on every lesion image, or stop them.
    pub on_trust_all: Callback<()>,
    pub on_trust_all_cancel: Callback<()>,
}

impl Ctx {
    pub fn state(&self) -> &PageState {
        &self.store.0
    }
    pub fn dispatch(&self, action: Action) {
        self.store.dispatch(action)
    }
    /// A callback that dispatches the action made of its value.
    pub fn dispatch_with<T: 'static>(&self, make: impl Fn(T) -> Action + 'static) -> Callback<T> {
        let store = self.store.clone();
        Callback::from(move |value| store.dispatch(make(value)))
    }
}
