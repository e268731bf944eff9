//! Test-only tooling for logship, not part of the product: doubles of the services the agent
//! talks to (an Elasticsearch double with exact accounting and faults, a fast bulk sink, a
//! Kubernetes API server double, a kubelet double, a fluent forward server double), a workload
//! generator and the
//! benchmark driver, so the end-to-end tests and benchmarks in the root package can run the real
//! `logship` binary on 127.0.0.1 and check exactly what arrived.

pub mod bench;
pub mod bulk_sink;
pub mod es;
pub mod forward;
pub mod kube;
pub mod kubelet;
pub mod tls;
pub mod workload;
