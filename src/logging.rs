//! The agent's own log, on stderr (stdout may carry documents): the level follows
//! `KUBE_LOG_LEVEL` unless `LOGSHIP_LOG` gives a tracing filter.

use logship_config::Settings;
use tracing_subscriber::EnvFilter;

pub fn init(settings: &Settings) {
    let filter = settings.effective_log_filter();
    let filter = EnvFilter::try_new(&filter).unwrap_or_else(|e| {
        eprintln!("logship: LOGSHIP_LOG: {filter:?} is not a valid filter ({e}); using \"warn\"");
        EnvFilter::new("warn")
    });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}
