//! Configuration errors. Loading collects every error it finds, so a user fixes them all in one
//! go; [`ConfigErrors`] displays one per line.

use std::fmt;
use std::path::PathBuf;

use crate::destination::NoDestination;
use crate::key::Key;
use crate::layers::Origin;
use crate::values::ValueError;

/// One thing wrong with the configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A setting's value does not parse or is out of range, e.g.
    /// `KEEP_LOG_DAYS: "31" is out of range: expected an integer from 0 to 30`.
    #[error("{}: {error}", label(*.key, .origin, *.item))]
    Value {
        /// The setting.
        key: Key,
        /// Where the value came from; a file or a flag is named in the message.
        origin: Origin,
        /// For a list, the 1-based position of the bad item.
        item: Option<usize>,
        /// What is wrong, quoting the value.
        error: ValueError,
    },
    /// The config file cannot be read.
    #[error("config file {}: cannot read it: {reason}", .path.display())]
    FileRead {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        reason: String,
    },
    /// The config file is not valid TOML.
    #[error("config file {}: not valid TOML: {reason}", .path.display())]
    FileSyntax {
        /// The file.
        path: PathBuf,
        /// Where and what, on one line.
        reason: String,
    },
    /// The config file has a key that is not a setting.
    #[error("config file {}: unknown key {key:?}{}", .path.display(), hint(.suggestion))]
    UnknownKey {
        /// The file.
        path: PathBuf,
        /// The key as written.
        key: String,
        /// The setting's key the user probably meant.
        suggestion: Option<&'static str>,
    },
    /// Output is `elasticsearch` but no Elasticsearch is configured (the original's error 101).
    #[error(transparent)]
    NoDestination(#[from] NoDestination),
}

/// The setting as the user wrote it: `KEEP_LOG_DAYS`, `KEEP_LOG_DAYS (--keep-log-days)` or
/// `KEEP_LOG_DAYS (keep_log_days in /etc/logship.toml)`, then ` item N` for a list item.
fn label(key: Key, origin: &Origin, item: Option<usize>) -> String {
    let mut s = match origin {
        Origin::Default | Origin::Env => key.env().to_string(),
        Origin::Flag => format!("{} ({})", key.env(), key.flag()),
        Origin::File(path) => format!("{} ({} in {})", key.env(), key.toml_key(), path.display()),
    };
    if let Some(n) = item {
        s.push_str(&format!(" item {n}"));
    }
    s
}

fn hint(suggestion: &Option<&'static str>) -> String {
    match suggestion {
        Some(key) => format!(": did you mean {key:?}?"),
        None => ": not a logship setting".to_string(),
    }
}

/// Every error found while loading the settings, in the order found. Displays one per line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(Vec<ConfigError>);

impl ConfigErrors {
    pub(crate) fn new(errors: Vec<ConfigError>) -> Self {
        ConfigErrors(errors)
    }

    /// The errors, in the order found (never empty when returned by `load`).
    pub fn errors(&self) -> &[ConfigError] {
        &self.0
    }

    /// How many errors.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True if there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl IntoIterator for ConfigErrors {
    type Item = ConfigError;
    type IntoIter = std::vec::IntoIter<ConfigError>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}
