use super::*;

fn hp_err(text: &str) -> String {
    text.parse::<HostPort>().expect_err(text).to_string()
}

fn es_err(text: &str) -> String {
    text.parse::<EsEndpoint>().expect_err(text).to_string()
}

fn es(text: &str) -> EsEndpoint {
    text.parse().expect(text)
}

const HP: &str = "expected host:port with a port from 1 to 65535";
const ES: &str = "expected host:port with a port from 1 to 65535, or an http(s):// URL";

#[test]
fn host_port_good() {
    let hp: HostPort = "fluentd.logging:24224".parse().unwrap();
    assert_eq!((hp.host(), hp.port()), ("fluentd.logging", 24224));
    assert_eq!(hp.to_string(), "fluentd.logging:24224");
    let hp: HostPort = " 10.0.0.1:1 ".parse().unwrap();
    assert_eq!((hp.host(), hp.port()), ("10.0.0.1", 1));
    let hp: HostPort = "[fd00::1]:65535".parse().unwrap();
    assert_eq!((hp.host(), hp.port()), ("fd00::1", 65535));
    assert_eq!(hp.to_string(), "[fd00::1]:65535");
    assert_eq!(
        HostPort::new("a", 5).map(|h| h.to_string()),
        Ok("a:5".into())
    );
}

#[test]
fn host_port_bad() {
    let cases = [
        ("es:0", "port 0 is out of range"),
        ("es:65536", "port 65536 is out of range"),
        ("es:99999", "port 99999 is out of range"),
        ("es:99999999999999", "port 99999999999999 is out of range"),
        ("es:abc", r#"port "abc" is not a number"#),
        ("es:-1", r#"port "-1" is not a number"#),
        ("es:", "missing port"),
        ("es", "missing port"),
        (":9200", "empty host"),
        (
            "a b:9200",
            r#"host "a b" has a character not allowed in a host name"#,
        ),
        (
            "fd00::1:9200",
            "an IPv6 address must be in brackets, e.g. [fd00::1]:9200",
        ),
        ("[fd00::1:9200", "the IPv6 address has no closing bracket"),
        ("[nope]:9200", r#""nope" is not an IPv6 address"#),
        ("[fd00::1]", "missing port"),
        ("[fd00::1]x", "unexpected text after the IPv6 address"),
        ("http://es:9200", "a URL is not accepted here"),
    ];
    for (text, problem) in cases {
        assert_eq!(hp_err(text), format!("{text:?}: {problem}: {HP}"), "{text}");
    }
    assert_eq!(hp_err(""), format!(r#""" is empty: {HP}"#));
    assert!(HostPort::new("", 1).is_err());
    assert!(HostPort::new("a", 0).is_err());
    assert!(HostPort::new("a:b", 1).is_err());
}

#[test]
fn es_server_example_message() {
    assert_eq!(
        es_err("es:99999"),
        r#""es:99999": port 99999 is out of range: expected host:port with a port from 1 to 65535, or an http(s):// URL"#
    );
}

#[test]
fn bare_host_port_means_http() {
    let e = es("elasticsearch-logging.kube-system:9200");
    assert_eq!(e.scheme(), Scheme::Http);
    assert_eq!(
        e.base_url(),
        "http://elasticsearch-logging.kube-system:9200"
    );
    assert_eq!(e.host_port(), "elasticsearch-logging.kube-system:9200");
    assert_eq!(e.path_prefix(), "");
    assert_eq!((e.username(), e.password()), (None, None));
    assert_eq!(
        e,
        EsEndpoint::from(
            "elasticsearch-logging.kube-system:9200"
                .parse::<HostPort>()
                .unwrap()
        )
    );
}

#[test]
fn urls() {
    let e = es("https://es.example.com:9243/logs/es/");
    assert_eq!(e.scheme(), Scheme::Https);
    assert_eq!((e.host(), e.port()), ("es.example.com", 9243));
    assert_eq!(e.path_prefix(), "/logs/es");
    assert_eq!(e.base_url(), "https://es.example.com:9243/logs/es");
    assert_eq!(e.to_string(), "https://es.example.com:9243/logs/es");

    assert_eq!(es("http://es").base_url(), "http://es:80");
    assert_eq!(es("HTTPS://es/").base_url(), "https://es:443");
    assert_eq!(es("http://es:9200/").path_prefix(), "");
    let v6 = es("http://[fd00::1]:9200");
    assert_eq!(
        (v6.host(), v6.host_port()),
        ("fd00::1", "[fd00::1]:9200".to_string())
    );
    assert_eq!(es("[fd00::1]:9200").base_url(), "http://[fd00::1]:9200");
}

#[test]
fn credentials_are_decoded_and_hidden() {
    let e = es("https://elastic:s%40cr%3At@es.example.com:9243");
    assert_eq!(e.username(), Some("elastic"));
    assert_eq!(e.password(), Some("s@cr:t"));
    assert_eq!(e.base_url(), "https://es.example.com:9243");
    assert_eq!(e.to_string(), "https://elastic:***@es.example.com:9243");
    let debug = format!("{e:?}");
    assert!(!debug.contains("s@cr:t"), "{debug}");
    assert!(debug.contains("***"), "{debug}");

    let e = es("http://user@es:9200");
    assert_eq!((e.username(), e.password()), (Some("user"), None));
    assert_eq!(e.to_string(), "http://user@es:9200");
    let e = es("http://u:p:q@es:9200");
    assert_eq!(e.password(), Some("p:q"));
}

#[test]
fn bad_es_endpoints() {
    let cases = [
        ("ftp://es:21", r#"unsupported scheme "ftp""#),
        ("http://es:99999", "port 99999 is out of range"),
        ("http://es:0/x", "port 0 is out of range"),
        ("http://:9200", "empty host"),
        ("http://", r#"is empty"#),
        (
            "http://es:9200/?pretty",
            "a query or fragment is not allowed",
        ),
        (
            "http://u:%zz@es:9200",
            "the user or password has a bad %-escape",
        ),
        (
            "http://u:%+1@es:9200",
            "the user or password has a bad %-escape",
        ),
        ("http://es:9200/a b", "the path has a space"),
        ("es:9200/prefix", r#"port "9200/prefix" is not a number"#),
        ("es", "missing port"),
    ];
    for (text, problem) in cases {
        let msg = es_err(text);
        if problem == "is empty" {
            assert_eq!(msg, format!(r#""http://" is empty: {ES}"#));
        } else {
            assert_eq!(msg, format!("{text:?}: {problem}: {ES}"), "{text}");
        }
    }
}
