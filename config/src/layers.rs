//! The raw layers: each source (env, file, flags) gives a setting's value as text, tagged with
//! where it came from. Merging keeps, per setting, the value of the last layer that has one.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use crate::key::Key;

/// Where a setting's value came from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum Origin {
    /// Not set anywhere (or set to an empty value): the default.
    #[default]
    Default,
    /// An environment variable.
    Env,
    /// The config file.
    File(PathBuf),
    /// A command-line flag.
    Flag,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Default => f.write_str("default"),
            Origin::Env => f.write_str("env"),
            Origin::File(path) => write!(f, "file {}", path.display()),
            Origin::Flag => f.write_str("flag"),
        }
    }
}

/// A value as written: one string (a list setting splits it on commas) or a TOML array.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RawText {
    One(String),
    Many(Vec<String>),
}

impl RawText {
    /// Empty means "not set": the default applies.
    pub(crate) fn is_empty(&self) -> bool {
        match self {
            RawText::One(s) => s.trim().is_empty(),
            RawText::Many(items) => items.iter().all(|s| s.trim().is_empty()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawValue {
    pub(crate) text: RawText,
    pub(crate) origin: Origin,
}

/// One source's values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Layer(BTreeMap<Key, RawValue>);

impl Layer {
    pub(crate) fn set(&mut self, key: Key, text: RawText, origin: Origin) {
        self.0.insert(key, RawValue { text, origin });
    }

    pub(crate) fn get(&self, key: Key) -> Option<&RawValue> {
        self.0.get(&key)
    }

    /// Layers from weakest to strongest: a later layer's value wins.
    pub(crate) fn merge(layers: impl IntoIterator<Item = Layer>) -> Layer {
        let mut merged = Layer::default();
        for layer in layers {
            merged.0.extend(layer.0);
        }
        merged
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(key: Key, text: &str, origin: Origin) -> Layer {
        let mut layer = Layer::default();
        layer.set(key, RawText::One(text.into()), origin);
        layer
    }

    #[test]
    fn later_layers_win() {
        let file = Origin::File("/f.toml".into());
        let mut env = one(Key::KeepLogDays, "1", Origin::Env);
        env.set(Key::EsServer, RawText::One("env:1".into()), Origin::Env);
        let merged = Layer::merge([
            env,
            one(Key::KeepLogDays, "2", file.clone()),
            one(Key::KeepLogDays, "3", Origin::Flag),
            one(Key::StateDir, "/s", file.clone()),
        ]);
        let get = |k| merged.get(k).cloned();
        assert_eq!(
            get(Key::KeepLogDays).map(|v| (v.text, v.origin)),
            Some((RawText::One("3".into()), Origin::Flag))
        );
        assert_eq!(get(Key::EsServer).map(|v| v.origin), Some(Origin::Env));
        assert_eq!(get(Key::StateDir).map(|v| v.origin), Some(file));
        assert_eq!(get(Key::NodeName), None);
    }

    #[test]
    fn empty_means_unset() {
        assert!(RawText::One("  ".into()).is_empty());
        assert!(RawText::Many(vec![]).is_empty());
        assert!(RawText::Many(vec![" ".into()]).is_empty());
        assert!(!RawText::One("x".into()).is_empty());
        assert_eq!(Origin::File("/a".into()).to_string(), "file /a");
    }
}
