//! Models trained in the page, kept in the browser's own storage (the origin private file
//! system, OPFS): `camseg-models/<key>.bpk` and `<key>.json`. Nothing leaves the machine; a
//! reload finds them again. Browsers without OPFS keep them for the session only, and say so.

use super::js::{call, describe};
use js_sys::{Object, Reflect, Uint8Array};
use wasm_bindgen::JsValue;

const FOLDER: &str = "camseg-models";

fn create() -> JsValue {
    let options = Object::new();
    let _ = Reflect::set(&options, &"create".into(), &true.into());
    options.into()
}

/// The models folder, created on first use.
async fn folder() -> Result<JsValue, String> {
    let window = web_sys::window().ok_or("no window")?;
    let storage = Reflect::get(&window.navigator(), &"storage".into()).map_err(describe)?;
    if storage.is_undefined() {
        return Err("this browser offers no storage for the page".into());
    }
    let root = call(&storage, "getDirectory", &[]).await?;
    call(&root, "getDirectoryHandle", &[FOLDER.into(), create()]).await
}

async fn write(dir: &JsValue, name: &str, bytes: &[u8]) -> Result<(), String> {
    let file = call(dir, "getFileHandle", &[name.into(), create()]).await?;
    let writable = call(&file, "createWritable", &[]).await?;
    call(&writable, "write", &[Uint8Array::from(bytes).into()]).await?;
    call(&writable, "close", &[]).await.map(|_| ())
}

async fn read(dir: &JsValue, name: &str) -> Result<Vec<u8>, String> {
    let file = call(dir, "getFileHandle", &[name.into()]).await?;
    let blob = call(&file, "getFile", &[]).await?;
    let buffer = call(&blob, "arrayBuffer", &[]).await?;
    Ok(Uint8Array::new(&buffer).to_vec())
}

/// Saves a model under `key` (weights first: a card is only ever written beside its weights).
pub async fn save(key: &str, card_json: &str, weights: &[u8]) -> Result<(), String> {
    let dir = folder().await?;
    write(&dir, &format!("{key}.bpk"), weights).await?;
    write(&dir, &format!("{key}.json"), card_json.as_bytes()).await
}

/// Replaces a saved model's card (a rename).
pub async fn save_card(key: &str, card_json: &str) -> Result<(), String> {
    write(&folder().await?, &format!("{key}.json"), card_json.as_bytes()).await
}

pub async fn remove(key: &str) -> Result<(), String> {
    let dir = folder().await?;
    for ext in ["json", "bpk"] {
        call(&dir, "removeEntry", &[format!("{key}.{ext}").into()]).await?;
    }
    Ok(())
}

/// Every saved model as (key, card JSON, weights), oldest key first. A card without its
/// weights (a save cut short) is skipped.
pub async fn load_all() -> Result<Vec<(String, String, Vec<u8>)>, String> {
    let dir = folder().await?;
    // `keys()` returns an async iterator (resolving it as a promise gives it back): next()
    // until done.
    let iterator = call(&dir, "keys", &[]).await?;
    let mut names = Vec::new();
    loop {
        let next = call(&iterator, "next", &[]).await?;
        if Reflect::get(&next, &"done".into()).ok().and_then(|d| d.as_bool()).unwrap_or(true) {
            break;
        }
        if let Some(name) = Reflect::get(&next, &"value".into()).ok().and_then(|v| v.as_string()) {
            names.push(name);
        }
    }
    names.sort();
    let mut out = Vec::new();
    for key in names.iter().filter_map(|n| n.strip_suffix(".json")) {
        if !names.iter().any(|n| n == &format!("{key}.bpk")) {
            continue;
        }
        let card = String::from_utf8_lossy(&read(&dir, &format!("{key}.json")).await?).into_owned();
        out.push((key.to_string(), card, read(&dir, &format!("{key}.bpk")).await?));
    }
    Ok(out)
}
