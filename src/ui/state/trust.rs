//! The Trust panel's state: the latest check asked for (one image, one method and block) and
//! its answer. Plain data with a pure update; the checks run in the worker.

use crate::cam::CamMethod;
use crate::faithfulness::ImageTrust;
use crate::protocol::ItemId;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct TrustCheck {
    pub request: u64,
    pub item: Option<ItemId>,
    pub method: Option<CamMethod>,
    pub block: usize,
    pub pending: bool,
    pub result: Option<ImageTrust>,
    pub error: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum TrustAction {
    Requested { request: u64, item: ItemId, method: CamMethod, block: usize },
    Answered { request: u64, result: Result<ImageTrust, String> },
}

impl TrustCheck {
    pub fn reduce(self, action: TrustAction) -> TrustCheck {
        match action {
            TrustAction::Requested { request, item, method, block } => TrustCheck { request, item: Some(item), method: Some(method), block, pending: true, result: None, error: None },
            TrustAction::Answered { request, result } if request == self.request => match result {
                Ok(t) => TrustCheck { pending: false, result: Some(t), error: None, ..self },
                Err(e) => TrustCheck { pending: false, result: None, error: Some(e), ..self },
            },
            TrustAction::Answered { .. } => self,
        }
    }

    /// The answer for `item`, if the latest check was of it.
    pub fn for_item(&self, item: Option<ItemId>) -> Option<&ImageTrust> {
        self.result.as_ref().filter(|_| self.item.is_some() && self.item == item)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_latest_request_is_answered() {
        let t = TrustCheck::default().reduce(TrustAction::Requested { request: 2, item: ItemId(5), method: CamMethod::GradCam, block: 3 });
        assert!(t.pending);
        let t = t.reduce(TrustAction::Answered { request: 1, result: Err("old".into()) });
        assert!(t.pending && t.error.is_none(), "an older answer is dropped");
        let t = t.reduce(TrustAction::Answered { request: 2, result: Err("the image is no longer loaded".into()) });
        assert!(!t.pending && t.error.is_some());
        assert!(t.for_item(Some(ItemId(5))).is_none());
    }
}
