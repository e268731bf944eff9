//! Wiring of the fluent forward protocol: the forward output's settings (`FLUENT_FORWARD_SERVER`
//! and `LOGSHIP_FORWARD_*`), the forward input's listener, and waiting on several outputs.

use std::sync::Arc;

use anyhow::Context;
use logship_collector::forward_input::{self, ForwardInputConfig, ForwardInputStats};
use logship_collector::BatchSender;
use logship_config::{ForwardCompress, Settings};
use logship_forwarder::{Compress, ForwardOutputConfig, TlsClient, TlsSettingNames};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The forward output's settings, when `FLUENT_FORWARD_SERVER` is set. Reads the shared key
/// file, if one is named.
pub fn output_config(settings: &Settings) -> anyhow::Result<Option<ForwardOutputConfig>> {
    let Some(server) = &settings.forward_server else {
        return Ok(None);
    };
    let mut cfg =
        ForwardOutputConfig::new(server.to_string(), settings.state_dir.join("forward-spool"));
    cfg.ack = settings.forward_ack;
    cfg.compress = match settings.forward_compress {
        ForwardCompress::None => Compress::None,
        ForwardCompress::Gzip => Compress::Gzip,
    };
    cfg.shared_key = match (
        &settings.forward_shared_key,
        &settings.forward_shared_key_file,
    ) {
        (Some(key), _) => Some(key.expose().to_owned()),
        (None, Some(path)) => {
            let text = std::fs::read_to_string(path).with_context(|| {
                format!(
                    "LOGSHIP_FORWARD_SHARED_KEY_FILE: cannot read {}",
                    path.display()
                )
            })?;
            Some(text.trim_end_matches(['\n', '\r']).to_owned())
        }
        (None, None) => None,
    };
    cfg.hostname = settings
        .node_name
        .clone()
        .or_else(|| {
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .ok()
                .map(|h| h.trim().to_owned())
        })
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "logship".into());
    if settings.forward_tls {
        if settings.forward_tls_insecure_skip_verify {
            tracing::warn!(
                "LOGSHIP_FORWARD_TLS_INSECURE_SKIP_VERIFY=true: the forward server's certificate is not verified; anyone on the path can read and change what is sent"
            );
        }
        let tls = TlsClient {
            ca_file: settings.forward_tls_ca_file.clone(),
            insecure_skip_verify: settings.forward_tls_insecure_skip_verify,
            ca_file_only: false,
            client_cert: settings
                .forward_tls_client_cert_file
                .clone()
                .zip(settings.forward_tls_client_key_file.clone()),
            names: TlsSettingNames::FORWARD,
        };
        let config = tls.client_config().map_err(|e| anyhow::anyhow!(e))?;
        cfg.tls = Some(Arc::new(config));
    }
    cfg.spool_limit = settings.forward_spool_limit.as_u64();
    // What may wait in memory is the pipe's memory: a quarter of it, so that a slow forward
    // server never holds Elasticsearch back.
    cfg.memory_limit = (settings.mem_buf_limit.bytes() / 4).max(64 << 10);
    cfg.timeout = settings.forward_timeout;
    cfg.backoff_cap = settings.forward_timeout;
    Ok(Some(cfg))
}

/// Starts the forward input when it is on. A port that cannot be bound is an error in the
/// agent's log, not a reason to stop shipping the files. Returns the switch that stops it.
pub fn start_input(
    settings: &Settings,
    runtime: &tokio::runtime::Runtime,
    tx: &BatchSender,
    stats: &Arc<ForwardInputStats>,
) -> Option<watch::Sender<bool>> {
    let addr = settings.forward_listen?;
    if settings.exit_on_eof {
        tracing::info!("forward input off: LOGSHIP_EXIT_ON_EOF runs stop at the end of the files");
        return None;
    }
    let (stop_tx, stop_rx) = watch::channel(false);
    let cfg = ForwardInputConfig::new(addr);
    let input_tx = tx.another_input(settings.mem_buf_limit.bytes());
    match runtime.block_on(forward_input::start(
        cfg,
        input_tx,
        Arc::clone(stats),
        stop_rx,
    )) {
        Ok((bound, _task)) => {
            tracing::info!(addr = %bound, "forward input listening");
            Some(stop_tx)
        }
        Err(e) => {
            tracing::error!(addr = %addr, error = %e,
                "LOGSHIP_FORWARD_LISTEN: cannot listen; the forward input is off (the files are shipped as usual)");
            None
        }
    }
}

type Output = JoinHandle<Result<(), String>>;

/// Waits for two outputs: the first error ends the wait, otherwise both must finish.
pub async fn both(a: Output, b: Output) -> Result<(), String> {
    let flat = |r: Result<Result<(), String>, tokio::task::JoinError>| {
        r.map_err(|e| format!("output task failed: {e}"))
            .and_then(|x| x)
    };
    tokio::pin!(a, b);
    tokio::select! {
        r = &mut a => { flat(r)?; flat(b.await) }
        r = &mut b => { flat(r)?; flat(a.await) }
    }
}
