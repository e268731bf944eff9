use super::*;

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

#[test]
fn dates_in_names() {
    let cases: &[(&str, NameDate)] = &[
        ("logstash-2026.11.22", NameDate::Date(d(2026, 11, 22))),
        ("heapster-2026.11.01", NameDate::Date(d(2026, 11, 1))),
        ("heapster-cpu-2026.11.01", NameDate::Date(d(2026, 11, 1))),
        (
            "logstash-k8s-2026.01.31-000001",
            NameDate::Date(d(2026, 1, 31)),
        ),
        // Regex search semantics: the first match, even inside a longer run of digits.
        ("logstash-12026.01.011", NameDate::Date(d(2026, 1, 1))),
        (
            "logstash-2026.13.01-2026.01.01",
            NameDate::BadDate("2026.13.01".into()),
        ),
        (
            "logstash-2026.02.30",
            NameDate::BadDate("2026.02.30".into()),
        ),
        (
            "logstash-2026.00.10",
            NameDate::BadDate("2026.00.10".into()),
        ),
        (
            "logstash-0000.01.01",
            NameDate::BadDate("0000.01.01".into()),
        ),
        ("logstash-2028.02.29", NameDate::Date(d(2028, 2, 29))),
        (
            "logstash-2026.02.29",
            NameDate::BadDate("2026.02.29".into()),
        ),
        ("logstash-foo", NameDate::NoDate),
        ("logstash-", NameDate::NoDate),
        ("logstash-2026-11-22", NameDate::NoDate),
        ("logstash-2026.1.22", NameDate::NoDate),
        ("logstash-26.11.22", NameDate::NoDate),
        ("logstash-2026.11.2", NameDate::NoDate),
        ("logstash-é2026.11.22", NameDate::Date(d(2026, 11, 22))),
        ("heapster-cpu", NameDate::NoDate),
        (".kibana", NameDate::OtherPrefix),
        ("mylogstash-2020.01.01", NameDate::OtherPrefix),
        ("logstash2020.01.01", NameDate::OtherPrefix),
        ("Logstash-2020.01.01", NameDate::OtherPrefix),
        ("heapster_2020.01.01", NameDate::OtherPrefix),
        (".ds-logstash-2020.01.01-000001", NameDate::OtherPrefix),
    ];
    for (name, want) in cases {
        assert_eq!(&name_date(name), want, "{name}");
    }
}

/// (today, keep days, oldest date kept): today and the N-1 days before are kept.
#[test]
fn windows_across_month_and_year_boundaries() {
    let cases = [
        (d(2026, 11, 22), 1, d(2026, 11, 22)),
        (d(2026, 11, 22), 3, d(2026, 11, 20)),
        (d(2026, 11, 22), 30, d(2026, 10, 24)),
        (d(2026, 3, 1), 2, d(2026, 2, 28)),
        (d(2028, 3, 1), 2, d(2028, 2, 29)),
        (d(2026, 3, 1), 30, d(2026, 1, 31)),
        (d(2027, 1, 1), 1, d(2027, 1, 1)),
        (d(2027, 1, 1), 2, d(2026, 12, 31)),
        (d(2027, 1, 2), 3, d(2026, 12, 31)),
    ];
    for (today, keep, oldest) in cases {
        let w = Window::new(today, keep).unwrap();
        assert_eq!(w.oldest_kept(), oldest, "{today} keep {keep}");
        assert!(!w.expired(oldest), "{today} keep {keep}");
        assert!(w.expired(oldest.pred_opt().unwrap()), "{today} keep {keep}");
    }
    assert_eq!(Window::new(d(2026, 11, 22), 0), None);
}

#[test]
fn decisions() {
    let w = Window::new(d(2026, 11, 22), 3).unwrap();
    let cases: &[(&str, Decision)] = &[
        ("logstash-2026.11.22", Decision::Keep(d(2026, 11, 22))),
        ("logstash-2026.11.21", Decision::Keep(d(2026, 11, 21))),
        ("logstash-2026.11.20", Decision::Keep(d(2026, 11, 20))),
        ("logstash-2026.11.19", Decision::Delete(d(2026, 11, 19))),
        ("heapster-cpu-2026.11.01", Decision::Delete(d(2026, 11, 1))),
        ("logstash-2027.01.01", Decision::Keep(d(2027, 1, 1))),
        ("logstash-foo", Decision::Skip(NameDate::NoDate)),
        (".kibana", Decision::Skip(NameDate::OtherPrefix)),
        (
            "logstash-2026.02.30",
            Decision::Skip(NameDate::BadDate("2026.02.30".into())),
        ),
    ];
    for (name, want) in cases {
        assert_eq!(&decide(name, &w), want, "{name}");
    }
}
