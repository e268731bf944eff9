//! RFC 3339 times as container runtimes write them, without a date-time dependency.
//!
//! Docker's json-file driver and containerd's CRI logger both print Go's `time.RFC3339Nano`
//! in UTC: nanoseconds with trailing zeros trimmed (and the dot dropped when the fraction is
//! zero). The generator needs exactly that shape, and the bench needs index dates.

use anyhow::{bail, Context};

/// 2026-11-22T01:02:03.123456789Z, the reference generator's base time.
pub const DEFAULT_START_NS: i64 = 1_795_309_323_123_456_789;

/// Days since 1970-01-01 -> (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// (year, month, day) -> days since 1970-01-01.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Appends `ns` (nanoseconds since the epoch, UTC) as Go's RFC3339Nano.
pub fn push_rfc3339_nano(out: &mut String, ns: i64) {
    use std::fmt::Write;
    let secs = ns.div_euclid(1_000_000_000);
    let frac = ns.rem_euclid(1_000_000_000);
    let (y, mo, d) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    // Writing into a String cannot fail.
    let _ = write!(
        out,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        y,
        mo,
        d,
        sod / 3600,
        (sod / 60) % 60,
        sod % 60
    );
    if frac != 0 {
        let mut digits = format!("{frac:09}");
        while digits.ends_with('0') {
            digits.pop();
        }
        out.push('.');
        out.push_str(&digits);
    }
    out.push('Z');
}

pub fn rfc3339_nano(ns: i64) -> String {
    let mut s = String::with_capacity(30);
    push_rfc3339_nano(&mut s, ns);
    s
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` into nanoseconds since the epoch.
pub fn parse_rfc3339(s: &str) -> anyhow::Result<i64> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        bail!("not an RFC 3339 time: {s:?}");
    }
    let num = |r: std::ops::Range<usize>| -> anyhow::Result<i64> {
        s.get(r)
            .filter(|t| t.bytes().all(|c| c.is_ascii_digit()))
            .and_then(|t| t.parse::<i64>().ok())
            .with_context(|| format!("not an RFC 3339 time: {s:?}"))
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        bail!("time out of range: {s:?}");
    }
    let mut i = 19;
    let mut frac: i64 = 0;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            if i - start < 9 {
                frac = frac * 10 + i64::from(b[i] - b'0');
            }
            i += 1;
        }
        if i == start {
            bail!("empty fraction in {s:?}");
        }
        for _ in (i - start)..9 {
            frac *= 10;
        }
    }
    let offset_s = match &s[i..] {
        "Z" | "z" => 0,
        tz if tz.len() == 6 && (tz.starts_with('+') || tz.starts_with('-')) => {
            let oh = num(i + 1..i + 3)?;
            let om = num(i + 4..i + 6)?;
            let sign = if tz.starts_with('-') { -1 } else { 1 };
            sign * (oh * 3600 + om * 60)
        }
        _ => bail!("bad zone in {s:?}"),
    };
    let days = days_from_civil(y, mo as u32, d as u32);
    let secs = days * 86_400 + h * 3600 + mi * 60 + se - offset_s;
    Ok(secs * 1_000_000_000 + frac)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_go() {
        assert_eq!(
            rfc3339_nano(DEFAULT_START_NS),
            "2026-11-22T01:02:03.123456789Z"
        );
        assert_eq!(
            rfc3339_nano(1_795_309_323_120_000_000),
            "2026-11-22T01:02:03.12Z"
        );
        assert_eq!(
            rfc3339_nano(1_795_309_323_000_000_000),
            "2026-11-22T01:02:03Z"
        );
        assert_eq!(rfc3339_nano(0), "1970-01-01T00:00:00Z");
        assert_eq!(
            rfc3339_nano(951_782_400_000_000_001),
            "2000-02-29T00:00:00.000000001Z"
        );
    }

    #[test]
    fn parses_back() {
        for ns in [
            DEFAULT_START_NS,
            0,
            951_782_400_000_000_001,
            1_700_000_000_500_000_000,
        ] {
            assert_eq!(parse_rfc3339(&rfc3339_nano(ns)).ok(), Some(ns));
        }
        assert_eq!(
            parse_rfc3339("2026-11-22T02:02:03.5+01:00").ok(),
            Some(1_795_309_323_500_000_000)
        );
        assert!(parse_rfc3339("2026-13-01T00:00:00Z").is_err());
        assert!(parse_rfc3339("yesterday").is_err());
    }
}
