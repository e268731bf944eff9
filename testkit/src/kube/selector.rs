//! Field selectors on pods, as the API server reads them: `a=b`, `a==b`, `a!=b`, joined by
//! commas, over the fields it supports for pods (anything else is refused with 400, as there).

use serde_json::Value;

/// The pod fields the API server accepts in a field selector.
const POD_FIELDS: [&str; 10] = [
    "metadata.name",
    "metadata.namespace",
    "spec.nodeName",
    "spec.restartPolicy",
    "spec.schedulerName",
    "spec.serviceAccountName",
    "spec.hostNetwork",
    "status.phase",
    "status.podIP",
    "status.nominatedNodeName",
];

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSelector {
    terms: Vec<(String, bool, String)>,
}

impl FieldSelector {
    /// Parses a selector; the error is the API server's message.
    pub fn parse(text: &str) -> Result<FieldSelector, String> {
        let mut terms = Vec::new();
        for term in text.split(',').filter(|t| !t.is_empty()) {
            let (field, equal, value) = if let Some((f, v)) = term.split_once("!=") {
                (f, false, v)
            } else if let Some((f, v)) = term.split_once("==") {
                (f, true, v)
            } else if let Some((f, v)) = term.split_once('=') {
                (f, true, v)
            } else {
                return Err(format!(
                    "invalid selector: '{text}'; can't understand '{term}'"
                ));
            };
            if !POD_FIELDS.contains(&field) {
                return Err(format!("field label not supported: {field}"));
            }
            terms.push((field.to_owned(), equal, value.to_owned()));
        }
        Ok(FieldSelector { terms })
    }

    pub fn matches(&self, pod: &Value) -> bool {
        self.terms.iter().all(|(field, equal, value)| {
            let mut cur = Some(pod);
            for part in field.split('.') {
                cur = cur.and_then(|v| v.get(part));
            }
            let actual = match cur {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Bool(b)) => b.to_string(),
                _ => String::new(),
            };
            (actual == *value) == *equal
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn selects_like_the_api_server() {
        let pod = json!({"metadata":{"name":"a","namespace":"n"},"spec":{"nodeName":"node-1"}});
        let sel = |t: &str| FieldSelector::parse(t).unwrap().matches(&pod);
        assert!(sel("spec.nodeName=node-1"));
        assert!(sel("spec.nodeName==node-1,metadata.namespace=n"));
        assert!(!sel("spec.nodeName=node-2"));
        assert!(sel("spec.nodeName!=node-2"));
        assert!(sel(""));
        assert!(!sel("status.phase=Running"), "a missing field is empty");
        assert!(sel("status.phase="));
        assert_eq!(
            FieldSelector::parse("metadata.labels=x"),
            Err("field label not supported: metadata.labels".into())
        );
        assert!(FieldSelector::parse("spec.nodeName").is_err());
    }
}
