use super::*;
use std::path::PathBuf;

fn parse(text: &str) -> (Layer, Vec<String>) {
    let mut errors = Vec::new();
    let layer = parse_file(text, Path::new("/etc/logship.toml"), &mut errors);
    (layer, errors.iter().map(ToString::to_string).collect())
}

fn text(layer: &Layer, key: Key) -> Option<RawText> {
    layer.get(key).map(|v| v.text.clone())
}

#[test]
fn values_of_every_toml_type_become_text() {
    let (layer, errors) = parse(
        r#"
        keep_log_days = 5
        kube_log_level = "2"
        replace_dots = false
        flush_interval = 0.5
        es_server = "es:9200"
        input_glob = ["/a/*.log", "/b/*.log"]
        elk_service_hosts = "a:9200,b:9200"
        "#,
    );
    assert_eq!(errors, Vec::<String>::new());
    let one = |s: &str| Some(RawText::One(s.into()));
    assert_eq!(text(&layer, Key::KeepLogDays), one("5"));
    assert_eq!(text(&layer, Key::KubeLogLevel), one("2"));
    assert_eq!(text(&layer, Key::ReplaceDots), one("false"));
    assert_eq!(text(&layer, Key::FlushInterval), one("0.5"));
    assert_eq!(text(&layer, Key::EsServer), one("es:9200"));
    assert_eq!(text(&layer, Key::ElkServiceHosts), one("a:9200,b:9200"));
    assert_eq!(
        text(&layer, Key::InputGlob),
        Some(RawText::Many(vec!["/a/*.log".into(), "/b/*.log".into()]))
    );
    let origin = layer.get(Key::KeepLogDays).map(|v| v.origin.clone());
    assert_eq!(
        origin,
        Some(Origin::File(PathBuf::from("/etc/logship.toml")))
    );
}

#[test]
fn unknown_keys_are_errors_with_suggestions() {
    let (layer, errors) = parse(
        "KEEP_LOG_DAYS = 3\nkeep-log-days = 3\nkeep_log_dayz = 3\nwhatever = 1\n[elasticsearch]\nhost = \"x\"\nstate_dir = \"/s\"\n",
    );
    assert_eq!(
        errors,
        [
            r#"config file /etc/logship.toml: unknown key "KEEP_LOG_DAYS": did you mean "keep_log_days"?"#,
            r#"config file /etc/logship.toml: unknown key "elasticsearch": not a logship setting"#,
            r#"config file /etc/logship.toml: unknown key "keep-log-days": did you mean "keep_log_days"?"#,
            r#"config file /etc/logship.toml: unknown key "keep_log_dayz": did you mean "keep_log_days"?"#,
            r#"config file /etc/logship.toml: unknown key "whatever": not a logship setting"#,
        ]
    );
    assert_eq!(text(&layer, Key::KeepLogDays), None);
    assert_eq!(
        text(&layer, Key::StateDir),
        None,
        "state_dir is inside [elasticsearch]"
    );
}

#[test]
fn wrong_shapes_are_errors() {
    let (_, errors) =
        parse("keep_log_days = [3]\nes_server = { host = \"x\" }\ninput_glob = [\"/a\", 3]\n");
    assert_eq!(
        errors,
        [
            "ES_SERVER (es_server in /etc/logship.toml): a table is not accepted here: expected one value",
            "LOGSHIP_INPUT_GLOB (input_glob in /etc/logship.toml): item 2 (3) is not a string: expected a list of strings",
            "KEEP_LOG_DAYS (keep_log_days in /etc/logship.toml): a list is not accepted here: expected one value",
        ]
    );
}

#[test]
fn syntax_errors_give_the_position_on_one_line() {
    let (_, errors) = parse("state_dir = \"/s\"\nkeep_log_days = = 3\n");
    assert_eq!(errors.len(), 1);
    assert_eq!(
        errors[0],
        "config file /etc/logship.toml: not valid TOML: line 2, column 17: invalid string; expected `\"`, `'`"
    );
}

#[test]
fn unreadable_file() {
    let mut errors = Vec::new();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing.toml");
    let layer = file_layer(&path, &mut errors);
    assert_eq!(layer, Layer::default());
    let msg = errors[0].to_string();
    assert!(
        msg.starts_with(&format!("config file {}: cannot read it: ", path.display())),
        "{msg}"
    );
}

#[test]
fn edit_distances() {
    assert_eq!(edit_distance("kitten", "sitting"), 3);
    assert_eq!(edit_distance("", "ab"), 2);
    assert_eq!(suggest("LOGSHIP_STATE_DIR"), Some("state_dir"));
    assert_eq!(suggest("es_servr"), Some("es_server"));
    assert_eq!(suggest("zzz"), None);
}
