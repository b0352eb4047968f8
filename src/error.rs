//! One error type for every bad input, with messages meant for the person who gave it.

/// What went wrong, said so that a user can act on it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read image {name}: {reason}")]
    Image { name: String, reason: String },
    #[error("mask {name}: {reason}")]
    Mask { name: String, reason: String },
    #[error("dataset {path}: {reason}")]
    Dataset { path: String, reason: String },
    #[error("model: {0}")]
    Model(String),
    #[error("device: {0}")]
    Device(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn io(path: impl std::fmt::Display, source: std::io::Error) -> Self {
        Error::Io { path: path.to_string(), source }
    }
}
