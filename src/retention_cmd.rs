//! `logship retention`: prunes the old `logstash-*` and `heapster-*` indices of the
//! Elasticsearch the settings choose (the work is in the `logship-retention` crate). Exit 0 when
//! done (or off), 1 when Elasticsearch fails or refuses, 2 for invalid settings or flags.

use std::process::ExitCode;

use logship_config::{load_from_process_env, SettingsArgs};
use std::sync::Arc;

use logship_retention::client::Security;
use logship_retention::{now_from_flag, run, Options};

#[derive(clap::Args)]
pub struct RetentionArgs {
    #[command(flatten)]
    settings: SettingsArgs,
    /// Print what would be deleted and why; delete nothing
    #[arg(long)]
    dry_run: bool,
    /// Compute the ages from this moment instead of the current time (RFC 3339, e.g. 2026-11-22T01:00:00Z)
    #[arg(long, value_name = "RFC3339")]
    now: Option<String>,
}

pub fn run_retention(args: RetentionArgs) -> ExitCode {
    let settings = match load_from_process_env(&args.settings) {
        Ok(s) => s,
        Err(errors) => {
            eprintln!("logship retention: invalid settings:\n{errors}");
            return ExitCode::from(2);
        }
    };
    let now = match now_from_flag(args.now.as_deref()) {
        Ok(now) => now,
        Err(e) => {
            eprintln!("logship retention: {e}");
            return ExitCode::from(2);
        }
    };
    let mut opts = match Options::from_settings(&settings, now, args.dry_run) {
        Ok(opts) => opts,
        Err(e) => {
            eprintln!("logship retention: {e}");
            return ExitCode::from(2);
        }
    };
    // The agent's LOGSHIP_ES_* credentials and TLS apply to retention too.
    let security = crate::es_security::shared_auth(&settings).and_then(|auth| {
        let tls = crate::es_security::tls_config(&settings, &opts.endpoints)?;
        Ok(Security {
            tls: Some(Arc::new(tls)),
            auth,
        })
    });
    opts.security = match security {
        Ok(security) => security,
        Err(e) => {
            eprintln!("logship retention: {e:#}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("logship retention: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let mut out = std::io::stdout().lock();
    match runtime.block_on(run(&opts, &mut out)) {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("logship retention: {e}");
            ExitCode::from(1)
        }
    }
}
