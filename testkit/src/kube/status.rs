//! `Status` bodies, byte for byte in apimachinery's layout (kind, apiVersion, metadata, status,
//! message, reason, details, code), which clients parse to tell a 403 from a 410.

/// A failure `Status` with its HTTP code; `details` is the JSON of the details object.
pub fn failure(code: u16, reason: &str, message: &str, details: &str) -> String {
    format!(
        r#"{{"kind":"Status","apiVersion":"v1","metadata":{{}},"status":"Failure","message":{},"reason":"{reason}","details":{details},"code":{code}}}"#,
        json_string(message)
    )
}

/// The in-stream `Status` of a watch that is too old (no `details`, as the watch cache sends).
pub fn expired(requested: u64, oldest: u64) -> String {
    format!(
        r#"{{"kind":"Status","apiVersion":"v1","metadata":{{}},"status":"Failure","message":"too old resource version: {requested} ({oldest})","reason":"Expired","code":410}}"#
    )
}

pub fn not_found_path() -> String {
    failure(
        404,
        "NotFound",
        "the server could not find the requested resource",
        "{}",
    )
}

pub fn pod_not_found(name: &str) -> String {
    failure(
        404,
        "NotFound",
        &format!("pods \"{name}\" not found"),
        &format!(r#"{{"name":{},"kind":"pods"}}"#, json_string(name)),
    )
}

pub fn node_not_found(name: &str) -> String {
    failure(
        404,
        "NotFound",
        &format!("nodes \"{name}\" not found"),
        &format!(r#"{{"name":{},"kind":"nodes"}}"#, json_string(name)),
    )
}

/// RBAC's answer to the agent's service account without the ClusterRole.
pub fn forbidden(verb: &str, namespace: Option<&str>, name: Option<&str>) -> String {
    let scope = match namespace {
        Some(ns) => format!("in the namespace \"{ns}\""),
        None => "at the cluster scope".to_owned(),
    };
    let what = match name {
        Some(n) => format!("pods \"{n}\""),
        None => "pods".to_owned(),
    };
    let details = match name {
        Some(n) => format!(r#"{{"name":{},"kind":"pods"}}"#, json_string(n)),
        None => r#"{"kind":"pods"}"#.to_owned(),
    };
    failure(
        403,
        "Forbidden",
        &format!(
            "{what} is forbidden: User \"system:serviceaccount:kube-system:logship\" cannot {verb} resource \"pods\" in API group \"\" {scope}"
        ),
        &details,
    )
}

pub fn bad_request(message: &str) -> String {
    failure(400, "BadRequest", message, "{}")
}

pub fn method_not_allowed() -> String {
    failure(
        405,
        "MethodNotAllowed",
        "the server does not allow this method on the requested resource",
        "{}",
    )
}

pub fn json_string(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kube::fixtures::WATCH_ERROR_410_EXPIRED;

    #[test]
    fn the_expired_status_is_the_recorded_one() {
        let line = format!(r#"{{"type":"ERROR","object":{}}}"#, expired(1, 3171407));
        assert_eq!(line, WATCH_ERROR_410_EXPIRED.trim_end());
    }

    #[test]
    fn bodies_are_json() {
        for body in [
            forbidden("list", None, None),
            forbidden("get", Some("ns"), Some("p\"q")),
            pod_not_found("x"),
            not_found_path(),
            bad_request("a \"b\""),
            method_not_allowed(),
        ] {
            let v: serde_json::Value = serde_json::from_str(&body).unwrap();
            assert_eq!(v["kind"], "Status", "{body}");
        }
    }
}
