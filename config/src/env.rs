//! The environment layer, the weakest: one variable per setting, named as in DESIGN §2. An
//! empty value means "not set" (the QingCloud env template writes empty strings).

use crate::key::{Key, CONFIG_ENV};
use crate::layers::{Layer, Origin, RawText};

/// Reads every setting's variable through `env`.
pub(crate) fn env_layer(env: &dyn Fn(&str) -> Option<String>) -> Layer {
    let mut layer = Layer::default();
    for key in Key::ALL {
        if let Some(value) = non_empty(env(key.env())) {
            layer.set(key, RawText::One(value), Origin::Env);
        }
    }
    layer
}

/// The config file named by `LOGSHIP_CONFIG`, if set and not empty.
pub(crate) fn config_file_from_env(env: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    non_empty(env(CONFIG_ENV))
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn reads_set_variables_and_skips_empty_ones() {
        let vars: HashMap<&str, &str> = [
            ("KEEP_LOG_DAYS", "5"),
            ("ES_SERVER", ""),
            ("FLUENT_FORWARD_SERVER", "  "),
            ("LOGSHIP_STATE_DIR", "/s"),
            ("keep_log_days", "7"),
            ("LOGSHIP_CONFIG", "/etc/l.toml"),
        ]
        .into_iter()
        .collect();
        let env = |k: &str| vars.get(k).map(|v| v.to_string());
        let layer = env_layer(&env);
        let text = |k| layer.get(k).map(|v| (v.text.clone(), v.origin.clone()));
        assert_eq!(
            text(Key::KeepLogDays),
            Some((RawText::One("5".into()), Origin::Env))
        );
        assert_eq!(
            text(Key::StateDir),
            Some((RawText::One("/s".into()), Origin::Env))
        );
        assert_eq!(text(Key::EsServer), None);
        assert_eq!(text(Key::FluentForwardServer), None);
        assert_eq!(config_file_from_env(&env), Some("/etc/l.toml".into()));
        assert_eq!(config_file_from_env(&|_| Some(String::new())), None);
    }
}
