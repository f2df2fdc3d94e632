//! Config plumbing every daemon shares: where a value came from, and errors that
//! point at the spot (`file:line: key: what is wrong`).

pub mod value;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A place in a config file: the operator's editor jumps straight to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    /// The file as the operator named it (or as an `include:` resolved it).
    pub file: Arc<Path>,
    /// 1-based line number.
    pub line: u32,
}

impl Location {
    /// A location in `file` at `line` (1-based).
    pub fn new(file: impl Into<Arc<Path>>, line: u32) -> Self {
        Self {
            file: file.into(),
            line,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)
    }
}

/// A value with the place it was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Located<T> {
    /// Where the value was written.
    pub location: Location,
    /// The value itself.
    pub value: T,
}

/// What is wrong with a config entry.
#[derive(Debug, thiserror::Error)]
pub enum ConfigErrorKind {
    /// The key is not one this daemon knows.
    #[error("unknown option")]
    Unknown,
    /// The key is known but its value cannot be used.
    #[error("invalid value: {0}")]
    Invalid(String),
    /// The key is real (the original daemon has it) but we do not implement it.
    #[error("not supported: {0}")]
    Unsupported(String),
    /// The file (or an included one) could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file that could not be read.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file is not well formed (unterminated quote, bad JSON, ...).
    #[error("syntax error: {0}")]
    Syntax(String),
}

/// A config error naming file, line and key, as operators expect.
#[derive(Debug, thiserror::Error)]
pub struct ConfigError {
    /// Where, when known (a missing file has no line).
    pub location: Option<Location>,
    /// The key (directive, JSON path) the error is about; empty when none applies.
    pub key: String,
    /// What is wrong.
    pub kind: ConfigErrorKind,
}

impl ConfigError {
    /// An error at `location` about `key`.
    pub fn at(location: &Location, key: impl Into<String>, kind: ConfigErrorKind) -> Self {
        Self {
            location: Some(location.clone()),
            key: key.into(),
            kind,
        }
    }

    /// An `Invalid` error at `location` about `key`.
    pub fn invalid(location: &Location, key: impl Into<String>, why: impl Into<String>) -> Self {
        Self::at(location, key, ConfigErrorKind::Invalid(why.into()))
    }

    /// A file that could not be read.
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        Self {
            location: None,
            key: String::new(),
            kind: ConfigErrorKind::Io {
                path: path.to_path_buf(),
                source,
            },
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(location) = &self.location {
            write!(f, "{location}: ")?;
        }
        if !self.key.is_empty() {
            write!(f, "{}: ", self.key)?;
        }
        write!(f, "{}", self.kind)
    }
}

/// A named warning about a key that is accepted but has no effect (or a reduced one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigWarning {
    /// Where the key was written.
    pub location: Location,
    /// The key.
    pub key: String,
    /// Why it is only a warning, and what happens instead.
    pub message: String,
}

impl fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.location, self.key, self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_names_file_line_and_key() {
        let location = Location::new(Path::new("/etc/unbound/unbound.conf"), 12);
        let error = ConfigError::invalid(&location, "num-threads", "expected a positive integer");
        assert_eq!(
            error.to_string(),
            "/etc/unbound/unbound.conf:12: num-threads: invalid value: expected a positive integer"
        );
    }
}
