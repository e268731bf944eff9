//! `es-double [--port N] [--port-file F] [--version 7.17.27]`: the Elasticsearch double as a
//! process, for scripts and manual runs. Prints its URL, then serves until killed.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use logship_testkit::es::{EsDouble, EsOptions, EsVersion, Faults, DEFAULT_MAX_CONTENT_LENGTH};

#[derive(Parser)]
#[command(about = "Elasticsearch test double (127.0.0.1 only); control API under /_double/")]
struct Args {
    /// Port to listen on; 0 picks a free one.
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Write the bound port here (atomically) once listening.
    #[arg(long)]
    port_file: Option<PathBuf>,
    /// 5.6.16 | 6.8.23 | 7.17.27 | 8.17.0 | opensearch-2.13.0
    #[arg(long, default_value = "7.17.27")]
    version: EsVersion,
    /// Bodies above this many bytes get 413.
    #[arg(long, default_value_t = DEFAULT_MAX_CONTENT_LENGTH)]
    max_content_length: usize,
    /// Initial faults, as JSON (the fields of POST /_double/faults).
    #[arg(long)]
    faults: Option<String>,
    /// Seed for generated ids.
    #[arg(long)]
    id_seed: Option<u64>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let faults: Faults = match &args.faults {
        Some(j) => serde_json::from_str(j).context("--faults")?,
        None => Faults::default(),
    };
    let opts = EsOptions {
        version: args.version,
        port: Some(args.port),
        max_content_length: args.max_content_length,
        faults,
        id_seed: args.id_seed,
        ..EsOptions::default()
    };
    let es = EsDouble::start(opts)?;
    if let Some(path) = &args.port_file {
        // Readers poll for the file: it must never be seen half written.
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, format!("{}\n", es.addr().port()))
            .with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))?;
    }
    let mut out = std::io::stdout();
    writeln!(out, "{}", es.url())?;
    out.flush()?;
    loop {
        std::thread::park();
    }
}
