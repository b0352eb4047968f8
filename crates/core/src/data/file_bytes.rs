//! A file as bytes with its path: what the page, the CLI and the tests hand to the readers of
//! images, labelled folders and volumes (its own module, so that those readers need nothing
//! else of one another).

/// A file as the browser (or a test) gives it: its path (with folders, if any) and bytes.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FileBytes {
    pub path: String,
    #[serde(with = "serde_bytes")]
    pub bytes: Vec<u8>,
}

impl FileBytes {
    pub fn new(path: impl Into<String>, bytes: Vec<u8>) -> Self {
        Self { path: path.into().replace('\\', "/"), bytes }
    }
}
