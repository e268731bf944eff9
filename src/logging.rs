//! The agent's own log, on stderr (stdout may carry documents): the level follows
//! `KUBE_LOG_LEVEL` unless `LOGSHIP_LOG` gives a tracing filter; `LOGSHIP_LOG_FORMAT=json`
//! writes one JSON object per line for log collectors that parse them.

use logship_config::Settings;
use tracing_subscriber::EnvFilter;

pub fn init(settings: &Settings) {
    let filter = settings.effective_log_filter();
    let mut full = filter.clone();
    if !filter.contains("kube_") {
        // kube-rs's watcher warns at every retry (a 403 every few seconds, for ever); logship
        // reports each kind of API failure once itself. Naming a kube_ crate lifts this.
        full.push_str(",kube_runtime=error,kube_client=error");
    }
    let filter = EnvFilter::try_new(&full).unwrap_or_else(|e| {
        eprintln!("logship: LOGSHIP_LOG: {filter:?} is not a valid filter ({e}); using \"warn\"");
        EnvFilter::new("warn")
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    if settings.log_json {
        builder.json().with_current_span(false).init();
    } else {
        // Colours only for a person at a terminal; collected logs stay plain.
        builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init();
    }
}
