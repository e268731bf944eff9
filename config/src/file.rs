//! The config-file layer: a flat TOML table whose keys are the settings' TOML keys
//! (`keep_log_days = 3`, `es_server = "es:9200"`, `input_glob = ["/a/*.log", "/b/*.log"]`).
//!
//! Strings, integers, floats and booleans are taken as text and parsed like an env value, so
//! `keep_log_days = 3` and `keep_log_days = "3"` are the same. An array is accepted for the
//! list settings. An unknown key is an error, with a suggestion when one is close.

use std::path::Path;

use crate::error::ConfigError;
use crate::key::Key;
use crate::layers::{Layer, Origin, RawText};
use crate::values::ValueError;

/// Reads and parses the file; problems are pushed to `errors` and the rest of the file is used.
pub(crate) fn file_layer(path: &Path, errors: &mut Vec<ConfigError>) -> Layer {
    match std::fs::read_to_string(path) {
        Ok(text) => parse_file(&text, path, errors),
        Err(e) => {
            errors.push(ConfigError::FileRead {
                path: path.to_path_buf(),
                reason: e.to_string(),
            });
            Layer::default()
        }
    }
}

/// Parses the file's text; `path` is only used in messages and origins.
pub(crate) fn parse_file(text: &str, path: &Path, errors: &mut Vec<ConfigError>) -> Layer {
    let mut layer = Layer::default();
    let table: toml::Table = match toml::from_str(text) {
        Ok(table) => table,
        Err(e) => {
            let message: Vec<&str> = e
                .message()
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect();
            let message = message.join("; ");
            let reason = match e.span() {
                Some(span) => format!("{}: {message}", position(text, span.start)),
                None => message,
            };
            errors.push(ConfigError::FileSyntax {
                path: path.to_path_buf(),
                reason,
            });
            return layer;
        }
    };
    let origin = Origin::File(path.to_path_buf());
    let mut entries: Vec<_> = table.into_iter().collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, value) in entries {
        let Some(key) = Key::from_toml_key(&name) else {
            let suggestion = suggest(&name);
            errors.push(ConfigError::UnknownKey {
                path: path.to_path_buf(),
                key: name,
                suggestion,
            });
            continue;
        };
        match raw_text(key, value) {
            Ok(text) => layer.set(key, text, origin.clone()),
            Err(error) => {
                errors.push(ConfigError::Value {
                    key,
                    origin: origin.clone(),
                    item: None,
                    error,
                });
            }
        }
    }
    layer
}

fn raw_text(key: Key, value: toml::Value) -> Result<RawText, ValueError> {
    match value {
        toml::Value::String(s) => Ok(RawText::One(s)),
        toml::Value::Array(items) if key.is_list() => items
            .into_iter()
            .enumerate()
            .map(|(i, item)| match item {
                toml::Value::String(s) => Ok(s),
                other => Err(ValueError::new(format!(
                    "item {} ({other}) is not a string: expected a list of strings",
                    i + 1
                ))),
            })
            .collect::<Result<_, _>>()
            .map(RawText::Many),
        toml::Value::Array(_) => Err(ValueError::new(
            "a list is not accepted here: expected one value",
        )),
        toml::Value::Table(_) => Err(ValueError::new(
            "a table is not accepted here: expected one value",
        )),
        other => Ok(RawText::One(other.to_string())),
    }
}

/// `line L, column C` of a byte offset.
fn position(text: &str, offset: usize) -> String {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |s| s.chars().count()) + 1;
    format!("line {line}, column {column}")
}

/// The TOML key meant by an unknown `name`: the env-name or dashed form of a key, or one within
/// two edits of it.
fn suggest(name: &str) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase().replace('-', "_");
    let normal = lower.strip_prefix("logship_").unwrap_or(&lower);
    if let Some(key) = Key::from_toml_key(normal) {
        return Some(key.toml_key());
    }
    Key::ALL
        .into_iter()
        .map(|k| (edit_distance(normal, k.toml_key()), k.toml_key()))
        .filter(|(d, _)| *d <= 2)
        .min()
        .map(|(_, k)| k)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut row = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            row.push((prev[j] + cost).min(prev[j + 1] + 1).min(row[j] + 1));
        }
        prev = row;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests;
