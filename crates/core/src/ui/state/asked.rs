//! A question about the image on screen (the Trust panel's checks, how its heatmap is made):
//! the latest one asked, for one image, method and block, and its answer. Plain data with a
//! pure update; the work runs in the worker.

use crate::cam::CamMethod;
use crate::protocol::ItemId;
use std::rc::Rc;

#[derive(Clone, Debug, PartialEq)]
pub struct Asked<T> {
    pub request: u64,
    pub item: Option<ItemId>,
    pub method: Option<CamMethod>,
    pub block: usize,
    pub pending: bool,
    /// Shared, so that views can tell an answer from the next by identity, and renders do
    /// not copy its maps.
    pub result: Option<Rc<T>>,
    pub error: Option<String>,
}

impl<T> Default for Asked<T> {
    fn default() -> Self {
        Asked { request: 0, item: None, method: None, block: 0, pending: false, result: None, error: None }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Asking<T> {
    Requested { request: u64, item: ItemId, method: CamMethod, block: usize },
    Answered { request: u64, result: Result<T, String> },
}

impl<T> Asked<T> {
    pub fn reduce(self, action: Asking<T>) -> Asked<T> {
        match action {
            Asking::Requested { request, item, method, block } => Asked { request, item: Some(item), method: Some(method), block, pending: true, result: None, error: None },
            Asking::Answered { request, result } if request == self.request => match result {
                Ok(t) => Asked { pending: false, result: Some(Rc::new(t)), error: None, ..self },
                Err(e) => Asked { pending: false, result: None, error: Some(e), ..self },
            },
            Asking::Answered { .. } => self,
        }
    }

    /// The answer for `item`, if the latest question was about it.
    pub fn for_item(&self, item: Option<ItemId>) -> Option<&Rc<T>> {
        self.result.as_ref().filter(|_| self.item.is_some() && self.item == item)
    }

    /// Whether the answer on hand is for this image, method and block (nothing to ask again).
    pub fn answers(&self, item: Option<ItemId>, method: CamMethod, block: usize) -> bool {
        self.for_item(item).is_some() && self.method == Some(method) && self.block == block
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_latest_request_is_answered() {
        let t = Asked::<u8>::default().reduce(Asking::Requested { request: 2, item: ItemId(5), method: CamMethod::GradCam, block: 3 });
        assert!(t.pending);
        let t = t.reduce(Asking::Answered { request: 1, result: Err("old".into()) });
        assert!(t.pending && t.error.is_none(), "an older answer is dropped");
        let t = t.reduce(Asking::Answered { request: 2, result: Err("the image is no longer loaded".into()) });
        assert!(!t.pending && t.error.is_some());
        assert!(t.for_item(Some(ItemId(5))).is_none());
        let t = t.reduce(Asking::Requested { request: 3, item: ItemId(5), method: CamMethod::GradCam, block: 3 }).reduce(Asking::Answered { request: 3, result: Ok(7) });
        assert_eq!(t.for_item(Some(ItemId(5))).map(|r| **r), Some(7));
        assert!(t.answers(Some(ItemId(5)), CamMethod::GradCam, 3));
        assert!(!t.answers(Some(ItemId(5)), CamMethod::GradCam, 2) && !t.answers(Some(ItemId(6)), CamMethod::GradCam, 3));
    }
}
