//! Later samples of a real summary, with known increments, so that rate tests have exact
//! expectations: `advance(summary, secs)` is the same kubelet `secs` seconds later.

use serde_json::Value;

/// Bytes per second added to every `rxBytes`.
pub const RX_PER_SEC: u64 = 1500;
/// Bytes per second added to every `txBytes`.
pub const TX_PER_SEC: u64 = 700;
/// Page faults per second added to every `pageFaults`.
pub const FAULTS_PER_SEC: u64 = 10;

/// The summary `secs` seconds later: every `time` (RFC 3339, whole seconds, `Z`) later by
/// `secs`; `usageCoreNanoSeconds` grown by `usageNanoCores × secs` (the CPU ran at the rate the
/// kubelet reported); `rxBytes`, `txBytes` and `pageFaults` grown at the rates above;
/// `majorPageFaults` by one; errors, gauges and start times unchanged.
pub fn advance(summary: &str, secs: u64) -> anyhow::Result<String> {
    let mut v: Value = serde_json::from_str(summary)?;
    walk(&mut v, secs)?;
    Ok(serde_json::to_string(&v)?)
}

fn walk(v: &mut Value, secs: u64) -> anyhow::Result<()> {
    match v {
        Value::Array(items) => {
            for item in items {
                walk(item, secs)?;
            }
        }
        Value::Object(map) => {
            let nano_cores = map.get("usageNanoCores").and_then(Value::as_u64);
            for (key, value) in map.iter_mut() {
                let grow = |value: &mut Value, by: u64| {
                    if let Some(n) = value.as_u64() {
                        *value = Value::from(n + by);
                    }
                };
                match key.as_str() {
                    "time" => {
                        if let Some(t) = value.as_str() {
                            *value = Value::from(later(t, secs)?);
                        }
                    }
                    "usageCoreNanoSeconds" => grow(value, nano_cores.unwrap_or(0) * secs),
                    "rxBytes" => grow(value, RX_PER_SEC * secs),
                    "txBytes" => grow(value, TX_PER_SEC * secs),
                    "pageFaults" => grow(value, FAULTS_PER_SEC * secs),
                    "majorPageFaults" => grow(value, 1),
                    _ => walk(value, secs)?,
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// `YYYY-MM-DDTHH:MM:SSZ` plus `secs` (within the same day: the fixtures' times are mid-day).
fn later(t: &str, secs: u64) -> anyhow::Result<String> {
    let b = t.as_bytes();
    anyhow::ensure!(
        b.len() == 20 && b[19] == b'Z' && b[10] == b'T',
        "time {t:?} is not YYYY-MM-DDTHH:MM:SSZ"
    );
    let num = |r: std::ops::Range<usize>| -> anyhow::Result<u64> { Ok(t[r].parse()?) };
    let total = num(11..13)? * 3600 + num(14..16)? * 60 + num(17..19)? + secs;
    anyhow::ensure!(total < 86_400, "time {t:?} + {secs}s crosses midnight");
    Ok(format!(
        "{}T{:02}:{:02}:{:02}Z",
        &t[..10],
        total / 3600,
        total / 60 % 60,
        total % 60
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_and_times_move_by_known_amounts() {
        let s = r#"{"node":{"nodeName":"n","cpu":{"time":"2026-06-26T10:14:35Z","usageNanoCores":2000,"usageCoreNanoSeconds":5},
                   "network":{"time":"2026-06-26T10:14:35Z","rxBytes":1,"txBytes":2,"rxErrors":0,
                              "interfaces":[{"name":"eth0","rxBytes":1}]},
                   "memory":{"usageBytes":9,"pageFaults":3,"majorPageFaults":0},"startTime":"2026-06-26T10:12:13Z"}}"#;
        let v: Value = serde_json::from_str(&advance(s, 60).unwrap()).unwrap();
        let n = &v["node"];
        assert_eq!(n["cpu"]["time"], "2026-06-26T10:15:35Z");
        assert_eq!(n["cpu"]["usageCoreNanoSeconds"], 5 + 2000 * 60);
        assert_eq!(n["network"]["rxBytes"], 1 + 1500 * 60);
        assert_eq!(n["network"]["interfaces"][0]["rxBytes"], 1 + 1500 * 60);
        assert_eq!(n["network"]["txBytes"], 2 + 700 * 60);
        assert_eq!(n["network"]["rxErrors"], 0);
        assert_eq!(n["memory"]["usageBytes"], 9);
        assert_eq!(n["memory"]["pageFaults"], 603);
        assert_eq!(n["memory"]["majorPageFaults"], 1);
        assert_eq!(n["startTime"], "2026-06-26T10:12:13Z", "start times stay");
        assert!(advance(r#"{"time":"2026-06-26T23:59:30Z"}"#, 60).is_err());
    }
}
