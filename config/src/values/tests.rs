use super::*;

fn err<T: std::fmt::Debug>(r: Result<T, ValueError>) -> String {
    r.expect_err("should fail").to_string()
}

#[test]
fn keep_log_days() {
    assert_eq!("0".parse::<KeepLogDays>().unwrap().get(), 0);
    assert!("0".parse::<KeepLogDays>().unwrap().disabled());
    assert_eq!("30".parse::<KeepLogDays>().unwrap().get(), 30);
    assert_eq!(" 7 ".parse::<KeepLogDays>().unwrap().get(), 7);
    assert_eq!(KeepLogDays::default().get(), 3);
    assert!(!KeepLogDays::default().disabled());
    assert_eq!(
        err("31".parse::<KeepLogDays>()),
        r#""31" is out of range: expected an integer from 0 to 30"#
    );
    assert_eq!(
        err("-1".parse::<KeepLogDays>()),
        r#""-1" is out of range: expected an integer from 0 to 30"#
    );
    assert_eq!(
        err("abc".parse::<KeepLogDays>()),
        r#""abc" is not an integer: expected an integer from 0 to 30"#
    );
    assert_eq!(
        err("3.5".parse::<KeepLogDays>()),
        r#""3.5" is not an integer: expected an integer from 0 to 30"#
    );
    assert_eq!(KeepLogDays::new(30).map(KeepLogDays::get), Some(30));
    assert_eq!(KeepLogDays::new(31), None);
}

#[test]
fn integers() {
    assert_eq!(parse_int("64", 1, 64, "x"), Ok(64));
    assert_eq!(
        err(parse_int("0", 1, 64, "an integer from 1 to 64")),
        r#""0" is out of range: expected an integer from 1 to 64"#
    );
    assert_eq!(
        err(parse_int("", 1, 64, "an integer from 1 to 64")),
        r#""" is not an integer: expected an integer from 1 to 64"#
    );
}

#[test]
fn bools() {
    for t in ["true", "TRUE", "On", "yes", "1", " true "] {
        assert_eq!(parse_bool(t), Ok(true), "{t}");
    }
    for t in ["false", "False", "off", "NO", "0"] {
        assert_eq!(parse_bool(t), Ok(false), "{t}");
    }
    assert_eq!(
        err(parse_bool("maybe")),
        r#""maybe" is not a boolean: expected true/false, on/off, yes/no or 1/0"#
    );
    assert!(parse_bool("2").is_err());
}

#[test]
fn durations() {
    let ms = Duration::from_millis;
    assert_eq!(parse_duration("500ms"), Ok(ms(500)));
    assert_eq!(parse_duration("1s"), Ok(ms(1000)));
    assert_eq!(parse_duration("2m"), Ok(ms(120_000)));
    assert_eq!(parse_duration("1h"), Ok(ms(3_600_000)));
    assert_eq!(parse_duration("5"), Ok(ms(5000)));
    assert_eq!(parse_duration("0.5"), Ok(ms(500)));
    assert_eq!(parse_duration("1.5s"), Ok(ms(1500)));
    assert_eq!(parse_duration("10 MS"), Ok(ms(10)));
    let bad = r#" is not a duration: expected a duration such as 500ms, 1s, 2m, 1h or a number of seconds"#;
    for t in ["", "abc", "1d", "-1s", "1.2.3s", "s", ".", "1 s s"] {
        assert_eq!(err(parse_duration(t)), format!("{t:?}{bad}"), "{t}");
    }
}

#[test]
fn duration_ranges() {
    let (min, max) = (Duration::from_millis(10), Duration::from_secs(60));
    assert_eq!(parse_duration_in("10ms", min, max), Ok(min));
    assert_eq!(parse_duration_in("60s", min, max), Ok(max));
    assert_eq!(
        err(parse_duration_in("5ms", min, max)),
        r#""5ms" is out of range: expected a duration from 10ms to 1m"#
    );
    assert_eq!(
        err(parse_duration_in("61", min, max)),
        r#""61" is out of range: expected a duration from 10ms to 1m"#
    );
}

#[test]
fn format_durations() {
    assert_eq!(format_duration(Duration::ZERO), "0s");
    assert_eq!(format_duration(Duration::from_millis(1500)), "1500ms");
    assert_eq!(format_duration(Duration::from_secs(90)), "90s");
    assert_eq!(format_duration(Duration::from_secs(7200)), "2h");
    assert_eq!(format_duration(Duration::from_nanos(1500)), "1500ns");
}

#[test]
fn sizes() {
    let p = |t: &str| t.parse::<ByteSize>().map(ByteSize::as_u64);
    assert_eq!(p("512"), Ok(512));
    assert_eq!(p("512B"), Ok(512));
    assert_eq!(p("64KiB"), Ok(64 * 1024));
    assert_eq!(p("64kb"), Ok(64 * 1024));
    assert_eq!(p("64k"), Ok(64 * 1024));
    assert_eq!(p("5MiB"), Ok(5 << 20));
    assert_eq!(p("5 MB"), Ok(5 << 20));
    assert_eq!(p("5m"), Ok(5 << 20));
    assert_eq!(p("1GiB"), Ok(1 << 30));
    assert_eq!(p("1g"), Ok(1 << 30));
    assert_eq!(p("4GB"), Ok(4 << 30));
    assert_eq!(p("1.5k"), Ok(1536));
    assert_eq!(ByteSize::mib(5).bytes(), 5 << 20);
    let bad = " is not a size: expected a number of bytes with an optional unit, such as 512, 64KiB, 5MiB or 1GiB";
    for t in ["", "abc", "5 MiBs", "-1", "5PiB", "99999999999999999999TiB"] {
        assert_eq!(err(t.parse::<ByteSize>()), format!("{t:?}{bad}"), "{t}");
    }
}

#[test]
fn size_ranges_and_display() {
    let (min, max) = (ByteSize::kib(1), ByteSize::mib(100));
    assert_eq!(ByteSize::parse_in("1KiB", min, max), Ok(min));
    assert_eq!(
        err(ByteSize::parse_in("200MiB", min, max)),
        r#""200MiB" is out of range: expected a size from 1KiB to 100MiB"#
    );
    assert_eq!(
        err(ByteSize::parse_in("512", min, max)),
        r#""512" is out of range: expected a size from 1KiB to 100MiB"#
    );
    assert_eq!(ByteSize::from_bytes(0).to_string(), "0B");
    assert_eq!(ByteSize::from_bytes(1000).to_string(), "1000B");
    assert_eq!(ByteSize::from_bytes(1536).to_string(), "1536B");
    assert_eq!(ByteSize::kib(64).to_string(), "64KiB");
    assert_eq!(ByteSize::gib(4).to_string(), "4GiB");
}

#[test]
fn outputs() {
    assert_eq!("elasticsearch".parse(), Ok(Output::Elasticsearch));
    assert_eq!("STDOUT".parse(), Ok(Output::Stdout));
    assert_eq!(
        "file:/tmp/Docs.ndjson".parse(),
        Ok(Output::File(PathBuf::from("/tmp/Docs.ndjson")))
    );
    assert_eq!(Output::File(PathBuf::from("/x")).to_string(), "file:/x");
    assert_eq!(
        err("file:".parse::<Output>()),
        r#""file:" has no path: expected file:PATH, e.g. file:/tmp/docs.ndjson"#
    );
    assert_eq!(
        err("kafka".parse::<Output>()),
        r#""kafka" is not a known output: expected elasticsearch, stdout or file:PATH"#
    );
}

#[test]
fn read_from() {
    assert_eq!("head".parse(), Ok(ReadFrom::Head));
    assert_eq!("Tail".parse(), Ok(ReadFrom::Tail));
    assert_eq!(
        err("middle".parse::<ReadFrom>()),
        r#""middle" is not a start position: expected head or tail"#
    );
}

#[test]
fn retry_limit() {
    assert_eq!(parse_retry_limit("forever"), Ok(None));
    assert_eq!(parse_retry_limit("Forever"), Ok(None));
    assert_eq!(parse_retry_limit("1"), Ok(Some(1)));
    assert_eq!(parse_retry_limit("4294967295"), Ok(Some(u32::MAX)));
    let expected = "expected forever or an integer from 1 to 4294967295";
    assert_eq!(
        err(parse_retry_limit("0")),
        format!(r#""0" is out of range: {expected}"#)
    );
    assert_eq!(
        err(parse_retry_limit("never")),
        format!(r#""never" is not a retry limit: {expected}"#)
    );
}
