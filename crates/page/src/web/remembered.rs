//! Backend measurements of earlier visits, one per GPU adapter, in the browser's local storage:
//! the next visit on that adapter starts on the faster backend without timing again. A browser
//! that keeps nothing simply measures each visit.

use crate::protocol::Measured;

const KEY: &str = "camseg-backend-measured";

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

/// Every adapter measured so far (none when nothing is kept or it cannot be read).
pub fn measured() -> Vec<Measured> {
    storage().and_then(|s| s.get_item(KEY).ok()?).and_then(|json| serde_json::from_str(&json).ok()).unwrap_or_default()
}

/// Keeps `m`, replacing an earlier measurement of its adapter.
pub fn remember(m: &Measured) {
    let mut all = measured();
    all.retain(|old| old.adapter != m.adapter);
    all.push(m.clone());
    if let (Some(storage), Ok(json)) = (storage(), serde_json::to_string(&all)) {
        if storage.set_item(KEY, &json).is_err() {
            web_sys::console::warn_1(&"camseg: the backend measurement could not be kept".into());
        }
    }
}
