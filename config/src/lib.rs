//! The settings of logship: the model, loading, validation and the choice of Elasticsearch.
//!
//! Settings come in layers, later ones winning: built-in defaults, then environment variables
//! (the QingCloud cluster settings such as `ES_SERVER` and `KEEP_LOG_DAYS`, and the operational
//! `LOGSHIP_*` ones), then an optional TOML file (`--config` or `LOGSHIP_CONFIG`), then
//! command-line flags. An empty value means "not set". [`load`] parses every setting into a
//! typed [`Settings`], collects *all* errors (each names the setting, the bad value and what is
//! expected) and resolves the Elasticsearch destination with [`resolve_destination`], the one
//! place the precedence of DESIGN §3 lives. [`Settings::plan_text`] describes the result for
//! `logship check-config`.
//!
//! This crate does no I/O beyond reading the config file: it does not connect to anything, open
//! the state directory or check that globs match files. The binary does that with the
//! [`Settings`] it gets from here.

mod destination;
mod endpoint;
mod env;
mod error;
mod file;
mod flags;
mod key;
mod layers;
mod plan;
mod resolve;
mod settings;
mod values;

use std::path::PathBuf;

pub use destination::{resolve_destination, DestinationSource, EsPlan, NoDestination};
pub use endpoint::{EsEndpoint, HostPort, Scheme};
pub use error::{ConfigError, ConfigErrors};
pub use flags::SettingsArgs;
pub use key::{Key, CONFIG_ENV};
pub use layers::Origin;
pub use settings::{Settings, Sources};
pub use values::{
    format_duration, parse_bool, parse_duration, read_secret_file, ByteSize, ForwardCompress,
    KeepLogDays, Output, ReadFrom, Secret, ValueError,
};

/// Loads the settings: defaults < `env` < the config file < `args`. `env` looks a variable up
/// (tests pass a map). Returns every error found, not just the first.
pub fn load(
    args: &SettingsArgs,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Settings, ConfigErrors> {
    let mut errors = Vec::new();
    let config_file = args
        .config
        .clone()
        .filter(|path| !path.as_os_str().is_empty())
        .or_else(|| env::config_file_from_env(env).map(PathBuf::from));
    let mut layers = vec![env::env_layer(env)];
    if let Some(path) = &config_file {
        layers.push(file::file_layer(path, &mut errors));
    }
    layers.push(flags::flag_layer(args));
    resolve::resolve(&layers::Layer::merge(layers), config_file, errors)
}

/// [`load`] with the process environment (a value that is not UTF-8 is read lossily, so it is
/// reported as invalid rather than ignored).
pub fn load_from_process_env(args: &SettingsArgs) -> Result<Settings, ConfigErrors> {
    load(args, &|name| {
        std::env::var_os(name).map(|v| v.to_string_lossy().into_owned())
    })
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod kubelet_tests;
