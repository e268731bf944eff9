//! `logship`: the node agent's command line. `run` starts the agent, `check-config` prints the
//! plan the settings resolve to without starting anything, `retention` prunes old indices.

mod agent;
mod allocator;
mod es_security;
mod forward;
mod forward_metrics;
mod http;
mod journald;
mod journald_metrics;
mod kubelet;
mod kubelet_metrics;
mod logging;
mod metrics;
mod retention_cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use logship_config::{load_from_process_env, SettingsArgs};

#[derive(Parser)]
#[command(
    name = "logship",
    version,
    about = "Kubernetes node log agent: tails container logs, enriches them, ships them to Elasticsearch"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the agent: tail the input files and ship every record to the configured output.
    /// Settings come from the environment, then the --config file, then these flags.
    Run(SettingsArgs),
    /// Print the resolved plan (which Elasticsearch, outputs, inputs) and exit: 0 if the
    /// settings are valid, 2 with every error otherwise.
    CheckConfig(SettingsArgs),
    /// Delete the logstash-* and heapster-* indices dated more than KEEP_LOG_DAYS days ago from
    /// the Elasticsearch the settings choose; print one line per index (kept, deleted, skipped).
    Retention(retention_cmd::RetentionArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::CheckConfig(args) => match load_from_process_env(&args) {
            Ok(settings) => {
                print!("{}", settings.plan_text());
                ExitCode::SUCCESS
            }
            Err(errors) => {
                eprintln!("logship: invalid settings:\n{errors}");
                ExitCode::from(2)
            }
        },
        Command::Retention(args) => retention_cmd::run_retention(args),
        Command::Run(args) => {
            allocator::tune();
            let settings = match load_from_process_env(&args) {
                Ok(s) => s,
                Err(errors) => {
                    eprintln!("logship: invalid settings:\n{errors}");
                    return ExitCode::from(2);
                }
            };
            logging::init(&settings);
            match agent::run(settings) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    tracing::error!("{e:#}");
                    eprintln!("logship: {e:#}");
                    ExitCode::from(1)
                }
            }
        }
    }
}
