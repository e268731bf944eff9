//! Which Elasticsearch (DESIGN §3): one pure function, so logs, metrics and retention all use
//! the same plan.
//!
//! | log nodes > 0 | ELK linked | ES_SERVER set | destination |
//! |---|---|---|---|
//! | yes | any | any | `IN_CLUSTER_ES` |
//! | no | yes | any | `ELK_SERVICE_HOSTS`, failing over in order |
//! | no | no | yes | `ES_SERVER` |
//! | no | no | no | [`NoDestination`] (the original's error 101) |
//!
//! A setting that is set but loses is not an error; the plan says which ones were ignored.

use std::fmt;

use crate::endpoint::EsEndpoint;

/// The setting that chose the Elasticsearch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DestinationSource {
    /// `LOG_NODE_COUNT` > 0: the in-cluster ES at `IN_CLUSTER_ES`.
    InCluster,
    /// `ELK_SERVICE_HOSTS`: the linked ELK service's ES.
    ElkService,
    /// `ES_SERVER`: an Elasticsearch run by the user.
    EsServer,
}

impl DestinationSource {
    /// The env name of the setting that holds the endpoints.
    pub fn env(self) -> &'static str {
        match self {
            DestinationSource::InCluster => "IN_CLUSTER_ES",
            DestinationSource::ElkService => "ELK_SERVICE_HOSTS",
            DestinationSource::EsServer => "ES_SERVER",
        }
    }
}

impl fmt::Display for DestinationSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DestinationSource::InCluster => "the in-cluster ES (LOG_NODE_COUNT > 0, IN_CLUSTER_ES)",
            DestinationSource::ElkService => "the linked ELK service's ES (ELK_SERVICE_HOSTS)",
            DestinationSource::EsServer => "the user's Elasticsearch (ES_SERVER)",
        })
    }
}

/// The resolved Elasticsearch destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EsPlan {
    /// The endpoints to use, in fail-over order; never empty.
    pub endpoints: Vec<EsEndpoint>,
    /// Which setting chose them.
    pub chosen: DestinationSource,
    /// Settings that were set but lost, one human-readable note each, e.g.
    /// `ES_SERVER=http://es:9200 ignored: LOG_NODE_COUNT=2 > 0 selects the in-cluster ES`.
    pub ignored: Vec<String>,
}

/// No Elasticsearch is configured: the original's error 101.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "no Elasticsearch to send to (error 101): set LOG_NODE_COUNT > 0 to use the in-cluster ES \
     at IN_CLUSTER_ES, or link an ELK service with ELK_SERVICE_HOSTS, or set ES_SERVER to your \
     Elasticsearch (host:port or URL); or set LOGSHIP_OUTPUT to stdout or file:PATH to run \
     without Elasticsearch"
)]
pub struct NoDestination;

/// Chooses the Elasticsearch by the precedence of DESIGN §3: log nodes, then ELK, then
/// `ES_SERVER`. `elk_hosts` empty means no ELK service is linked.
pub fn resolve_destination(
    log_node_count: u32,
    in_cluster_es: &EsEndpoint,
    elk_hosts: &[EsEndpoint],
    es_server: Option<&EsEndpoint>,
) -> Result<EsPlan, NoDestination> {
    let mut ignored = Vec::new();
    let elk_list = || list(elk_hosts);
    if log_node_count > 0 {
        let why = format!("LOG_NODE_COUNT={log_node_count} > 0 selects the in-cluster ES");
        if !elk_hosts.is_empty() {
            ignored.push(format!("ELK_SERVICE_HOSTS={} ignored: {why}", elk_list()));
        }
        if let Some(es) = es_server {
            ignored.push(format!("ES_SERVER={es} ignored: {why}"));
        }
        return Ok(EsPlan {
            endpoints: vec![in_cluster_es.clone()],
            chosen: DestinationSource::InCluster,
            ignored,
        });
    }
    if !elk_hosts.is_empty() {
        if let Some(es) = es_server {
            ignored.push(format!(
                "ES_SERVER={es} ignored: ELK_SERVICE_HOSTS={} selects the linked ELK service's ES",
                elk_list()
            ));
        }
        return Ok(EsPlan {
            endpoints: elk_hosts.to_vec(),
            chosen: DestinationSource::ElkService,
            ignored,
        });
    }
    match es_server {
        Some(es) => Ok(EsPlan {
            endpoints: vec![es.clone()],
            chosen: DestinationSource::EsServer,
            ignored,
        }),
        None => Err(NoDestination),
    }
}

fn list(endpoints: &[EsEndpoint]) -> String {
    endpoints
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests;
