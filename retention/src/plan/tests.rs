use super::*;
use chrono::NaiveDate;

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn names(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn plan_lists_indices_and_aliases_in_name_order() {
    let indices = names(&[
        "logstash-2026.11.22",
        "logstash-2026.11.19",
        ".kibana_1",
        "heapster-2026.11.01",
        "logstash-foo",
    ]);
    let mut aliases = BTreeMap::new();
    aliases.insert(".kibana_1".to_string(), names(&[".kibana"]));
    aliases.insert(
        "heapster-2026.11.01".to_string(),
        names(&["heapster-cpu", "heapster-cpu-2026.11.01"]),
    );
    let plan = Plan::build(&indices, &aliases, Window::new(d(2026, 11, 22), 3).unwrap());
    let lines: Vec<String> = plan
        .entries
        .iter()
        .map(|e| format!("{}: {}", e.name, plan.reason(e)))
        .collect();
    assert_eq!(
        lines,
        [
            ".kibana: an alias (of .kibana_1), not an index; aliases are never deleted",
            ".kibana_1: not a logstash- or heapster- index",
            "heapster-2026.11.01: dated 2026-11-01, older than 3 days; its aliases go with it: heapster-cpu, heapster-cpu-2026.11.01",
            "heapster-cpu: an alias (of heapster-2026.11.01), not an index; aliases are never deleted",
            "heapster-cpu-2026.11.01: an alias (of heapster-2026.11.01), not an index; aliases are never deleted",
            "logstash-2026.11.19: dated 2026-11-19, older than 3 days",
            "logstash-2026.11.22: dated 2026-11-22, not older than 3 days",
            "logstash-foo: no %Y.%m.%d date in the name",
        ]
    );
    let del: Vec<&str> = plan.to_delete().iter().map(|e| e.name.as_str()).collect();
    assert_eq!(del, ["heapster-2026.11.01", "logstash-2026.11.19"]);
    assert_eq!(plan.counts(), (1, 5));
}

#[test]
fn a_name_listed_as_both_index_and_alias_is_an_alias() {
    let indices = names(&["logstash-2020.01.01", "archive"]);
    let mut aliases = BTreeMap::new();
    aliases.insert("archive".to_string(), names(&["logstash-2020.01.01"]));
    let plan = Plan::build(&indices, &aliases, Window::new(d(2026, 11, 22), 1).unwrap());
    assert!(plan.to_delete().is_empty());
    assert_eq!(plan.entries.len(), 2);
}

#[test]
fn one_day_is_singular() {
    let plan = Plan::build(
        &names(&["logstash-2026.11.21"]),
        &BTreeMap::new(),
        Window::new(d(2026, 11, 22), 1).unwrap(),
    );
    assert_eq!(
        plan.reason(&plan.entries[0]),
        "dated 2026-11-21, older than 1 day"
    );
}

#[test]
fn names_are_encoded_for_the_path() {
    assert_eq!(encode_name("logstash-2026.11.22"), "logstash-2026.11.22");
    assert_eq!(encode_name("a,b/c d%é"), "a%2Cb%2Fc%20d%25%C3%A9");
}

#[test]
fn groups_stay_within_the_limit() {
    // 19 bytes each: 3 fit in 59 bytes (19*3 + 2 commas), not 4.
    let all: Vec<String> = (1..=7).map(|i| format!("logstash-2020.01.0{i}")).collect();
    let refs: Vec<&str> = all.iter().map(String::as_str).collect();
    let g = groups(&refs, 59);
    assert_eq!(
        g.iter().map(Vec::len).collect::<Vec<_>>(),
        [3, 3, 1],
        "{g:?}"
    );
    assert_eq!(g.concat(), refs);
    assert_eq!(
        groups(&refs, 58).iter().map(Vec::len).collect::<Vec<_>>(),
        [2, 2, 2, 1]
    );
    // A name longer than the limit still gets its own group.
    assert_eq!(groups(&refs, 5).len(), 7);
    assert!(groups(&[], 3000).is_empty());
    // The real limit: no group's joined, encoded names exceed 3000 bytes.
    let many: Vec<String> = (0..1000)
        .map(|i| format!("logstash-k8s-{i:04}-2020.01.01"))
        .collect();
    let refs: Vec<&str> = many.iter().map(String::as_str).collect();
    for g in groups(&refs, 3000) {
        let joined: Vec<String> = g.iter().map(|n| encode_name(n)).collect();
        assert!(joined.join(",").len() <= 3000);
    }
}
