//! Which Elasticsearch the agent talks to, from `GET /`, and what that means for `_bulk` action
//! lines: the mapping type is `log` on ES 5 (the original's `Type log`), `_doc` on ES 6, and
//! absent on ES 7+ and OpenSearch (ES 8 and OpenSearch 2 reject it).

use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EsFlavor {
    pub version: String,
    pub major: u32,
    pub opensearch: bool,
}

#[derive(Deserialize)]
struct Root {
    version: RootVersion,
}

#[derive(Deserialize)]
struct RootVersion {
    number: String,
    #[serde(default)]
    distribution: Option<String>,
}

impl EsFlavor {
    pub fn from_root(body: &[u8]) -> Result<EsFlavor, String> {
        let root: Root = serde_json::from_slice(body)
            .map_err(|e| format!("GET / did not answer an Elasticsearch root document: {e}"))?;
        let major = root
            .version
            .number
            .split('.')
            .next()
            .and_then(|m| m.parse::<u32>().ok())
            .ok_or_else(|| format!("unreadable version number {:?}", root.version.number))?;
        Ok(EsFlavor {
            opensearch: root.version.distribution.as_deref() == Some("opensearch"),
            version: root.version.number,
            major,
        })
    }

    /// Whether an index may hold several mapping types (ES 5 and older): heapster's metrics
    /// documents then carry their family as `_type`, as heapster wrote them.
    pub fn types_per_family(&self) -> bool {
        !self.opensearch && self.major <= 5
    }

    /// The `_type` to put in action lines, if any.
    pub fn mapping_type(&self) -> Option<&'static str> {
        if self.opensearch {
            return None;
        }
        match self.major {
            0..=5 => Some("log"),
            6 => Some("_doc"),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapping_type_by_version() {
        let f = |body: &str| EsFlavor::from_root(body.as_bytes()).unwrap();
        let es5 = f(r#"{"version":{"number":"5.6.16"}}"#);
        assert_eq!((es5.major, es5.mapping_type()), (5, Some("log")));
        assert!(es5.types_per_family());
        assert!(!f(r#"{"version":{"number":"6.8.23"}}"#).types_per_family());
        assert_eq!(
            f(r#"{"version":{"number":"6.8.23"}}"#).mapping_type(),
            Some("_doc")
        );
        assert_eq!(
            f(r#"{"version":{"number":"7.17.27"}}"#).mapping_type(),
            None
        );
        assert_eq!(f(r#"{"version":{"number":"8.17.0"}}"#).mapping_type(), None);
        let os = f(r#"{"version":{"distribution":"opensearch","number":"2.13.0"}}"#);
        assert!(os.opensearch);
        assert_eq!(os.mapping_type(), None);
        assert!(EsFlavor::from_root(b"<html>").is_err());
        assert!(EsFlavor::from_root(br#"{"version":{"number":"x"}}"#).is_err());
    }
}
