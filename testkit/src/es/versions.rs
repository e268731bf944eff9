//! The server versions the double can be, and what differs between them as a client sees it.
//!
//! The rules are those of the shared Python double (`bench/es_double.py`), which was checked
//! against real servers; OpenSearch behaves like the ES 7.10.2 it forked from, except where noted.

use std::fmt;
use std::str::FromStr;

/// Which server the double pretends to be. `GET /` answers with that version's real body.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum EsVersion {
    Es5_6_16,
    Es6_8_23,
    #[default]
    Es7_17_27,
    Es8_17_0,
    OpenSearch2_13_0,
}

impl EsVersion {
    pub const ALL: [EsVersion; 5] = [
        EsVersion::Es5_6_16,
        EsVersion::Es6_8_23,
        EsVersion::Es7_17_27,
        EsVersion::Es8_17_0,
        EsVersion::OpenSearch2_13_0,
    ];

    /// The name used on the command line and in `/_double/health`.
    pub fn key(self) -> &'static str {
        match self {
            EsVersion::Es5_6_16 => "5.6.16",
            EsVersion::Es6_8_23 => "6.8.23",
            EsVersion::Es7_17_27 => "7.17.27",
            EsVersion::Es8_17_0 => "8.17.0",
            EsVersion::OpenSearch2_13_0 => "opensearch-2.13.0",
        }
    }

    /// `version.number` of the root body.
    pub fn number(self) -> &'static str {
        match self {
            EsVersion::OpenSearch2_13_0 => "2.13.0",
            other => other.key(),
        }
    }

    pub fn is_opensearch(self) -> bool {
        self == EsVersion::OpenSearch2_13_0
    }

    /// The exact bytes of a real `GET /` of this version (see fixtures/README.md).
    pub fn root_body(self) -> &'static str {
        match self {
            EsVersion::Es5_6_16 => include_str!("../../fixtures/es/root-es5.6.16.json"),
            EsVersion::Es6_8_23 => include_str!("../../fixtures/es/root-es6.8.23.json"),
            EsVersion::Es7_17_27 => include_str!("../../fixtures/es/root-es7.17.27.json"),
            EsVersion::Es8_17_0 => include_str!("../../fixtures/es/root-es8.17.0.json"),
            EsVersion::OpenSearch2_13_0 => {
                include_str!("../../fixtures/es/root-opensearch2.13.0.json")
            }
        }
    }

    pub(crate) fn parts(self) -> (u32, u32, u32) {
        match self {
            EsVersion::Es5_6_16 => (5, 6, 16),
            EsVersion::Es6_8_23 => (6, 8, 23),
            EsVersion::Es7_17_27 => (7, 17, 27),
            EsVersion::Es8_17_0 => (8, 17, 0),
            EsVersion::OpenSearch2_13_0 => (2, 13, 0),
        }
    }
}

impl fmt::Display for EsVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

impl FromStr for EsVersion {
    type Err = String;
    fn from_str(s: &str) -> Result<EsVersion, String> {
        let v = match s.trim().to_ascii_lowercase().as_str() {
            "5" | "5.6" | "es5" | "5.6.16" => EsVersion::Es5_6_16,
            "6" | "6.8" | "es6" | "6.8.23" => EsVersion::Es6_8_23,
            "7" | "7.17" | "es7" | "7.17.27" => EsVersion::Es7_17_27,
            "8" | "8.17" | "es8" | "8.17.0" => EsVersion::Es8_17_0,
            "opensearch" | "opensearch-2" | "os2" | "opensearch-2.13.0" | "opensearch2.13.0"
            | "2.13.0" => EsVersion::OpenSearch2_13_0,
            _ => {
                let known: Vec<&str> = EsVersion::ALL.iter().map(|v| v.key()).collect();
                return Err(format!(
                    "unknown version {s:?}; choose one of {}",
                    known.join(", ")
                ));
            }
        };
        Ok(v)
    }
}

/// How bulk actions treat `_type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Types {
    /// 5.x/6.x: "type is missing" without it.
    Required,
    /// 7.x: accepted, `_doc` when absent.
    Optional,
    /// 8.x and OpenSearch 2: an unknown parameter.
    Removed,
}

/// Everything version-dependent, computed once.
#[derive(Clone, Debug)]
pub(crate) struct Profile {
    pub version: EsVersion,
    /// The ES generation whose behaviour applies (OpenSearch: 7.10.2).
    pub esv: (u32, u32, u32),
    pub os: bool,
    pub major: u32,
    pub types: Types,
    /// 5.x keeps several mapping types per index.
    pub multi_types: bool,
    pub seq_no: bool,
    /// 5.x items carry `"created": bool`.
    pub created_flag: bool,
    pub product_header: bool,
    pub strict_content_type: bool,
    pub strict_dups: bool,
    pub trailing_newline: bool,
    pub errors_first: bool,
    /// 8.8+: `document_parsing_exception` with a `[line:col]` prefix.
    pub doc_parsing: bool,
    pub default_shards: u32,
    pub dataset_size: bool,
    pub parse_exc: &'static str,
    pub json_ctype: &'static str,
    pub cluster_name: String,
    pub node_name: String,
}

impl Profile {
    pub(crate) fn new(version: EsVersion) -> Profile {
        let v = version.parts();
        let os = version.is_opensearch();
        let esv = if os { (7, 10, 2) } else { v };
        let es8 = !os && v.0 >= 8;
        let types = if esv < (7, 0, 0) {
            Types::Required
        } else if es8 || (os && v.0 >= 2) {
            Types::Removed
        } else {
            Types::Optional
        };
        let root: serde_json::Value = serde_json::from_str(version.root_body()).unwrap_or_default();
        let text = |k: &str, dflt: &str| {
            root.get(k)
                .and_then(|x| x.as_str())
                .unwrap_or(dflt)
                .to_string()
        };
        Profile {
            version,
            esv,
            os,
            major: v.0,
            types,
            multi_types: esv < (6, 0, 0),
            seq_no: esv >= (6, 0, 0),
            created_flag: esv < (6, 0, 0),
            product_header: !os && v >= (7, 14, 0),
            strict_content_type: esv >= (6, 0, 0),
            strict_dups: esv >= (6, 0, 0),
            trailing_newline: esv >= (6, 0, 0),
            errors_first: es8,
            doc_parsing: !os && v >= (8, 8, 0),
            default_shards: if esv < (7, 0, 0) { 5 } else { 1 },
            dataset_size: !os && v >= (8, 11, 0),
            parse_exc: if es8 {
                "x_content_parse_exception"
            } else {
                "json_parse_exception"
            },
            json_ctype: if es8 {
                "application/json"
            } else {
                "application/json; charset=UTF-8"
            },
            cluster_name: text("cluster_name", "elasticsearch"),
            node_name: text("name", "node-1"),
        }
    }

    pub(crate) fn resp_type(&self) -> bool {
        self.types != Types::Removed
    }

    /// Root field names ES refuses inside a document ("... is a metadata field ...").
    pub(crate) fn is_metadata_field(&self, k: &str) -> bool {
        let (esv, os) = (self.esv, self.os);
        match k {
            "_id" | "_index" | "_source" | "_routing" | "_field_names" | "_version" => true,
            "_type" => esv < (8, 0, 0) || os,
            "_uid" | "_all" => esv < (7, 0, 0),
            "_parent" | "_timestamp" | "_ttl" => esv < (6, 0, 0),
            "_seq_no" | "_primary_term" => esv >= (6, 0, 0),
            "_ignored" => esv >= (6, 4, 0),
            "_data_stream_timestamp" => !os && esv >= (7, 9, 0),
            "_tier" => !os && esv >= (7, 10, 0),
            "_doc_count" => !os && esv >= (7, 11, 0),
            _ => false,
        }
    }

    /// Query parameters `_bulk` accepts; anything else is a 400.
    pub(crate) fn bulk_param_ok(&self, p: &str) -> bool {
        const COMMON: [&str; 15] = [
            "pipeline",
            "refresh",
            "routing",
            "timeout",
            "wait_for_active_shards",
            "_source",
            "_source_excludes",
            "_source_includes",
            "pretty",
            "human",
            "error_trace",
            "filter_path",
            "source",
            "source_content_type",
            "master_timeout",
        ];
        if COMMON.contains(&p) {
            return true;
        }
        match p {
            "type" => self.types != Types::Removed,
            "require_alias" => self.esv >= (7, 10, 0),
            "require_data_stream" | "list_executed_pipelines" | "include_source_on_error" => {
                !self.os && self.major >= 8
            }
            "fields" | "consistency" => self.esv < (6, 0, 0),
            _ => false,
        }
    }

    /// Keys an action line's metadata object may hold.
    pub(crate) fn bulk_field_ok(&self, k: &str) -> bool {
        const COMMON: [&str; 15] = [
            "_index",
            "_id",
            "routing",
            "_routing",
            "op_type",
            "version",
            "version_type",
            "if_seq_no",
            "if_primary_term",
            "retry_on_conflict",
            "_retry_on_conflict",
            "pipeline",
            "_source",
            "require_alias",
            "dynamic_templates",
        ];
        if k == "require_alias" {
            return self.esv >= (7, 10, 0);
        }
        if COMMON.contains(&k) {
            return true;
        }
        match k {
            "_type" => self.types != Types::Removed,
            "_version" | "_version_type" | "parent" | "_parent" | "fields" | "_timestamp"
            | "timestamp" | "_ttl" | "ttl" => self.esv < (7, 0, 0),
            "require_data_stream" | "list_executed_pipelines" => !self.os && self.major >= 8,
            _ => false,
        }
    }

    /// Why ES refuses this index name, if it does.
    pub(crate) fn index_name_problem(&self, name: &str) -> Option<String> {
        const BAD: [char; 11] = ['\\', '/', '*', '?', '"', '<', '>', '|', ' ', ',', '#'];
        if name.is_empty() {
            return Some("must not be empty".into());
        }
        if name != name.to_lowercase() {
            return Some("must be lowercase".into());
        }
        if name.contains(BAD) || (self.esv >= (8, 0, 0) && name.contains(':')) {
            return Some(
                "must not contain the following characters [ , \", *, \\, <, |, ,, >, /, ?]".into(),
            );
        }
        if name.starts_with(['_', '-', '+']) {
            return Some("must not start with '_', '-', or '+'".into());
        }
        if name == "." || name == ".." {
            return Some("must not be '.' or '..'".into());
        }
        if name.len() > 255 {
            return Some(format!("index name is too long, ({} > 255)", name.len()));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_and_roots_match() {
        for v in EsVersion::ALL {
            assert_eq!(v.key().parse::<EsVersion>().unwrap(), v);
            let root: serde_json::Value = serde_json::from_str(v.root_body()).unwrap();
            assert_eq!(root["version"]["number"], v.number());
        }
        assert_eq!(
            "os2".parse::<EsVersion>().unwrap(),
            EsVersion::OpenSearch2_13_0
        );
        assert!("9.0.0".parse::<EsVersion>().is_err());
    }

    #[test]
    fn rules() {
        let p = Profile::new(EsVersion::OpenSearch2_13_0);
        assert_eq!(p.types, Types::Removed);
        assert!(!p.product_header);
        assert!(p.is_metadata_field("_type"));
        assert!(!p.is_metadata_field("_tier"));
        let p = Profile::new(EsVersion::Es8_17_0);
        assert!(p.errors_first && p.doc_parsing && !p.is_metadata_field("_type"));
        assert_eq!(
            p.index_name_problem("a:b").as_deref(),
            Some("must not contain the following characters [ , \", *, \\, <, |, ,, >, /, ?]")
        );
        let p = Profile::new(EsVersion::Es5_6_16);
        assert_eq!(p.types, Types::Required);
        assert!(!p.trailing_newline && !p.strict_dups);
        assert_eq!(
            p.index_name_problem("_x").as_deref(),
            Some("must not start with '_', '-', or '+'")
        );
    }
}
