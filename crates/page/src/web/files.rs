//! Files in and out of the page, all local: reading what the user picks or drops, and saving
//! results through a `blob:` link (nothing is uploaded anywhere).

use crate::data::upload::FileBytes;
use js_sys::{Array, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Blob, BlobPropertyBag, File, FileList, HtmlAnchorElement, Url};

/// A file the person gave, with its path inside what they picked (folder names included: they
/// pair images with masks and group DICOM series).
#[derive(Clone, Debug, PartialEq)]
pub struct Picked {
    pub path: String,
    pub file: File,
}

/// The files of a picker or a drop, taken out of its (live) list at once: clearing the picker
/// afterwards, so the same file can be picked again, would empty the list. A picked folder's
/// files carry their `webkitRelativePath`.
pub fn files_of(list: &FileList) -> Vec<Picked> {
    (0..list.length())
        .filter_map(|i| list.item(i))
        .map(|file| {
            let relative = js_sys::Reflect::get(&file, &"webkitRelativePath".into()).ok().and_then(|v| v.as_string()).unwrap_or_default();
            Picked { path: if relative.is_empty() { file.name() } else { relative }, file }
        })
        .collect()
}

/// The entries of a drop (`DataTransferItem.webkitGetAsEntry`), taken during the drop event:
/// after it the items are gone. `None` unless a folder was dropped (plain files are read from
/// the drop's file list, as before).
pub fn dropped_entries(data: &web_sys::DataTransfer) -> Option<Vec<JsValue>> {
    let items = js_sys::Reflect::get(data, &"items".into()).ok()?;
    let count = js_sys::Reflect::get(&items, &"length".into()).ok()?.as_f64()? as u32;
    let entries: Vec<JsValue> = (0..count)
        .filter_map(|i| js_sys::Reflect::get_u32(&items, i).ok())
        .filter_map(|item| call(&item, "webkitGetAsEntry", &[]).ok())
        .filter(|entry| !entry.is_null() && !entry.is_undefined())
        .collect();
    entries.iter().any(|e| flag(e, "isDirectory")).then_some(entries)
}

fn call(target: &JsValue, method: &str, args: &[JsValue]) -> Result<JsValue, JsValue> {
    let f: js_sys::Function = js_sys::Reflect::get(target, &method.into())?.dyn_into()?;
    f.apply(target, &args.iter().collect::<Array>())
}

fn flag(target: &JsValue, name: &str) -> bool {
    js_sys::Reflect::get(target, &name.into()).ok().and_then(|v| v.as_bool()).unwrap_or(false)
}

/// Calls a callback-style method (`method(onSuccess, onError)`) and awaits its result.
async fn callback(target: &JsValue, method: &str) -> Result<JsValue, String> {
    let mut failed = None;
    let promise = js_sys::Promise::new(&mut |resolve, reject| {
        if let Err(e) = call(target, method, &[resolve.into(), reject.into()]) {
            failed = Some(e);
        }
    });
    if let Some(e) = failed {
        return Err(format!("{e:?}"));
    }
    wasm_bindgen_futures::JsFuture::from(promise).await.map_err(|e| format!("{e:?}"))
}

/// Every file under dropped entries, folders walked, with paths from the drop's root (a
/// dropped study folder keeps its series folders, so DICOM series group as they were).
pub async fn walk_dropped(entries: Vec<JsValue>) -> (Vec<Picked>, Vec<String>) {
    let (mut files, mut problems, mut stack) = (Vec::new(), Vec::new(), entries);
    while let Some(entry) = stack.pop() {
        let path = js_sys::Reflect::get(&entry, &"fullPath".into()).ok().and_then(|v| v.as_string()).unwrap_or_default();
        let path = path.trim_start_matches('/').to_string();
        if flag(&entry, "isDirectory") {
            let Ok(reader) = call(&entry, "createReader", &[]) else { continue };
            // A reader hands out a folder's entries in batches until it returns none.
            loop {
                match callback(&reader, "readEntries").await {
                    Ok(batch) if Array::from(&batch).length() > 0 => stack.extend(Array::from(&batch).iter()),
                    Ok(_) => break,
                    Err(e) => {
                        problems.push(format!("{path}: cannot read the folder ({e})"));
                        break;
                    }
                }
            }
        } else {
            match callback(&entry, "file").await {
                Ok(file) => files.push(Picked { path, file: file.unchecked_into() }),
                Err(e) => problems.push(format!("{path}: cannot read the file ({e})")),
            }
        }
    }
    (files, problems)
}

/// A drop zone's `drop` handler: a dropped folder is walked (its files keep their paths, so
/// class folders and DICOM series stay what they were), plain files are taken as they are.
/// Files that cannot be read are reported through `problems`.
pub fn on_drop(target: yew::Callback<Vec<Picked>>, problems: yew::Callback<String>) -> yew::Callback<web_sys::DragEvent> {
    yew::Callback::from(move |e: web_sys::DragEvent| {
        e.prevent_default();
        let Some(data) = e.data_transfer() else { return };
        if let Some(entries) = dropped_entries(&data) {
            let (target, problems) = (target.clone(), problems.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let (picked, failed) = walk_dropped(entries).await;
                if !failed.is_empty() {
                    problems.emit(failed.join("\n"));
                }
                target.emit(picked);
            });
        } else if let Some(list) = data.files() {
            target.emit(files_of(&list));
        }
    })
}

/// A file picker's `change` handler that hands its files to `target`, then clears the picker
/// (so picking the same file again fires again).
pub fn on_pick(target: yew::Callback<Vec<Picked>>) -> yew::Callback<web_sys::Event> {
    yew::Callback::from(move |e: web_sys::Event| {
        let Some(input) = e.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) else { return };
        if let Some(list) = input.files() {
            target.emit(files_of(&list));
        }
        input.set_value("");
    })
}

/// Reads files into memory, with their paths.
pub async fn read_files(list: Vec<Picked>) -> Vec<Result<FileBytes, String>> {
    let mut out = Vec::new();
    for Picked { path, file } in list {
        let read = gloo::file::futures::read_as_bytes(&gloo::file::Blob::from(web_sys::Blob::from(file))).await;
        out.push(read.map(|bytes| FileBytes::new(path.clone(), bytes)).map_err(|e| format!("{path}: cannot read the file ({e})")));
    }
    out
}

/// Reads files into memory: those read, and one message per file that could not be.
pub async fn read_all(list: Vec<Picked>) -> (Vec<FileBytes>, Vec<String>) {
    let (mut read, mut problems) = (Vec::new(), Vec::new());
    for file in read_files(list).await {
        match file {
            Ok(f) => read.push(f),
            Err(e) => problems.push(e),
        }
    }
    (read, problems)
}

/// Offers `bytes` as a download named `name`.
pub fn download(name: &str, mime: &str, bytes: &[u8]) -> Result<(), String> {
    let parts = Array::of1(&Uint8Array::from(bytes));
    let options = BlobPropertyBag::new();
    options.set_type(mime);
    let blob = Blob::new_with_u8_array_sequence_and_options(&parts, &options).map_err(|_| "cannot make the file".to_string())?;
    let url = Url::create_object_url_with_blob(&blob).map_err(|_| "cannot make a download link".to_string())?;
    let document = web_sys::window().and_then(|w| w.document()).ok_or("no document")?;
    let a: HtmlAnchorElement = document.create_element("a").map_err(|_| "no link")?.dyn_into().map_err(|_| "no link")?;
    a.set_href(&url);
    a.set_download(name);
    a.click();
    // The click has started the download; the URL can go once the browser has read it.
    gloo::timers::callback::Timeout::new(10_000, move || {
        let _ = Url::revoke_object_url(&url);
    })
    .forget();
    Ok(())
}

/// Files served beside the page, all requested at once (the browser runs the requests in
/// parallel), in the order asked.
pub async fn fetch_all(urls: &[String]) -> crate::Result<Vec<Vec<u8>>> {
    use crate::Error;
    use wasm_bindgen_futures::JsFuture;
    let window = web_sys::window().ok_or_else(|| Error::Invalid("no window".into()))?;
    let fail = |url: &str, why: String| Error::Invalid(format!("cannot load {url}: {why}"));
    let requests: Array = urls.iter().map(|u| window.fetch_with_str(u)).collect();
    let responses = JsFuture::from(js_sys::Promise::all(&requests)).await.map_err(|e| fail("the app's files", format!("{e:?}")))?;
    let responses: Vec<web_sys::Response> = Array::from(&responses).iter().map(|r| r.unchecked_into()).collect();
    let bodies = Array::new();
    for (url, response) in urls.iter().zip(&responses) {
        if !response.ok() {
            return Err(fail(url, format!("HTTP {}", response.status())));
        }
        let body: js_sys::Promise = response.array_buffer().map_err(|e| fail(url, format!("{e:?}")))?;
        bodies.push(&body);
    }
    let bodies = JsFuture::from(js_sys::Promise::all(&bodies)).await.map_err(|e| fail("the app's files", format!("{e:?}")))?;
    Ok(Array::from(&bodies).iter().map(|b| Uint8Array::new(&b).to_vec()).collect())
}
