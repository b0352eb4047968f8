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

/// A device error's causes on one line, each once, without the backtrace note: the GPU stack
/// repeats "The device is poisoned" at every level and ends with "Backtrace: No backtrace
/// available", which tells the person nothing.
pub fn cause_chain(text: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in text.split("Caused by:") {
        let part = part.split("Backtrace:").next().unwrap_or_default().trim().trim_end_matches('.');
        if !part.is_empty() && !parts.contains(&part) {
            parts.push(part);
        }
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_errors_read_as_one_line_of_causes() {
        let raw = "The device is poisoned Caused by: The device is poisoned Caused by: Destroyed: Device was destroyed. Backtrace: No backtrace available";
        assert_eq!(cause_chain(raw), "The device is poisoned: Destroyed: Device was destroyed");
        assert_eq!(cause_chain("mapAsync failed"), "mapAsync failed");
    }
}
