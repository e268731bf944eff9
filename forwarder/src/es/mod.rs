//! The Elasticsearch `_bulk` output.

pub mod bulk_request;
pub mod client;
pub mod flavor;
pub mod output;
pub mod response;

pub use client::EsTarget;
pub use output::{run_elasticsearch, EsOutputConfig};
