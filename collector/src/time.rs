//! Event times: parsing the RFC 3339 timestamps that container runtimes write, and formatting
//! the UTC forms Elasticsearch documents need.
//!
//! Hand-written rather than chrono because it runs once per line on the hot path and the inputs
//! are a narrow, well-known format (Docker's RFC3339Nano with trailing zeros trimmed, CRI-O's fixed
//! nine digits with a numeric offset).

use std::time::{SystemTime, UNIX_EPOCH};

/// A point in time with nanosecond precision, in seconds since the Unix epoch (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct EventTime {
    pub secs: i64,
    pub nanos: u32,
}

impl EventTime {
    pub fn now() -> EventTime {
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => EventTime {
                secs: d.as_secs() as i64,
                nanos: d.subsec_nanos(),
            },
            Err(_) => EventTime::default(),
        }
    }

    /// Days since 1970-01-01 (UTC), the key of a daily index.
    pub fn day(self) -> i64 {
        self.secs.div_euclid(86_400)
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`. Returns `None` for anything else.
    pub fn parse_rfc3339(s: &str) -> Option<EventTime> {
        let b = s.as_bytes();
        after_minute(b, minute_of(b)?)
    }

    /// `YYYY-MM-DDTHH:MM:SS.mmmZ`: milliseconds always three digits (`.005Z`), which is what ES
    /// parses correctly; the original agent wrote `.5Z` for 5 ms.
    pub fn write_timestamp_millis(self, out: &mut Vec<u8>) {
        let (y, mo, d) = civil_from_days(self.day());
        let sod = self.secs.rem_euclid(86_400) as u32;
        let ms = self.nanos / 1_000_000;
        if (0..=9999).contains(&y) {
            // Every document has one: built on the stack and appended once, rather than pushed
            // byte by byte.
            let y = y as u32;
            let mut b = *b"0000-00-00T00:00:00.000Z";
            put2(&mut b[0..2], y / 100);
            put2(&mut b[2..4], y % 100);
            put2(&mut b[5..7], mo);
            put2(&mut b[8..10], d);
            put2(&mut b[11..13], sod / 3600);
            put2(&mut b[14..16], sod / 60 % 60);
            put2(&mut b[17..19], sod % 60);
            b[20] = b'0' + (ms / 100) as u8;
            put2(&mut b[21..23], ms % 100);
            out.extend_from_slice(&b);
            return;
        }
        push_year(out, y);
        out.push(b'-');
        push2(out, mo);
        out.push(b'-');
        push2(out, d);
        out.push(b'T');
        push2(out, sod / 3600);
        out.push(b':');
        push2(out, sod / 60 % 60);
        out.push(b':');
        push2(out, sod % 60);
        out.push(b'.');
        out.push(b'0' + (ms / 100) as u8);
        out.push(b'0' + (ms / 10 % 10) as u8);
        out.push(b'0' + (ms % 10) as u8);
        out.push(b'Z');
    }

    /// RFC 3339 with nanoseconds, for records whose time the agent had to supply itself.
    pub fn to_rfc3339_nanos(self) -> String {
        let mut out = Vec::with_capacity(30);
        let (y, mo, d) = civil_from_days(self.day());
        let sod = self.secs.rem_euclid(86_400) as u32;
        push_year(&mut out, y);
        out.push(b'-');
        push2(&mut out, mo);
        out.push(b'-');
        push2(&mut out, d);
        out.push(b'T');
        push2(&mut out, sod / 3600);
        out.push(b':');
        push2(&mut out, sod / 60 % 60);
        out.push(b':');
        push2(&mut out, sod % 60);
        out.extend_from_slice(format!(".{:09}Z", self.nanos).as_bytes());
        String::from_utf8_lossy(&out).into_owned()
    }
}

/// The length of `YYYY-MM-DDTHH:MM`, the part of a time [`TimeParser`] remembers.
const MINUTE_TEXT: usize = 16;

/// The seconds from the epoch to the minute a time starts with (`YYYY-MM-DDTHH:MM`, in the
/// time's own zone), if it is one and the time is long enough to be whole.
fn minute_of(b: &[u8]) -> Option<i64> {
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || (b[10] != b'T' && b[10] != b't') {
        return None;
    }
    if b[13] != b':' {
        return None;
    }
    let year = digits(&b[0..4])? as i64;
    let month = digits(&b[5..7])?;
    let day = digits(&b[8..10])?;
    let hour = digits(&b[11..13])?;
    let min = digits(&b[14..16])?;
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    if hour > 23 || min > 59 {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + i64::from(hour * 3600 + min * 60))
}

/// The time whose minute (see [`minute_of`]) is `minute`: `b` from its sixteenth byte on,
/// `:SS[.fraction](Z|±HH:MM)`.
fn after_minute(b: &[u8], minute: i64) -> Option<EventTime> {
    if b.get(MINUTE_TEXT) != Some(&b':') {
        return None;
    }
    let sec = digits(b.get(17..19)?)?;
    if sec > 60 {
        return None;
    }
    let mut i = 19;
    let mut nanos: u32 = 0;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            if i - start < 9 {
                nanos = nanos * 10 + u32::from(b[i] - b'0');
            }
            i += 1;
        }
        let n = i - start;
        if n == 0 {
            return None;
        }
        for _ in n..9 {
            nanos *= 10;
        }
    }
    let offset_secs: i64 = match b.get(i) {
        Some(b'Z') | Some(b'z') if i + 1 == b.len() => 0,
        Some(&sign @ (b'+' | b'-')) if i + 6 == b.len() && b[i + 3] == b':' => {
            let oh = digits(&b[i + 1..i + 3])? as i64;
            let om = digits(&b[i + 4..i + 6])? as i64;
            if oh > 23 || om > 59 {
                return None;
            }
            let off = oh * 3600 + om * 60;
            if sign == b'+' {
                off
            } else {
                -off
            }
        }
        _ => return None,
    };
    let secs = minute + i64::from(sec) - offset_secs;
    Some(EventTime { secs, nanos })
}

/// Parses times ([`EventTime::parse_rfc3339`]) remembering the text of the minute parsed last:
/// a file's lines come in time order and are read many at a time, so nearly all share it with
/// the line before, and only their seconds, fraction and zone are read. (The whole parse was 275
/// instructions a line.) The line decoder keeps one per input thread.
#[derive(Debug)]
pub struct TimeParser {
    /// `YYYY-MM-DDTHH:MM` of `minute`; before the first, bytes no text has (not UTF-8).
    text: [u8; MINUTE_TEXT],
    minute: i64,
}

impl Default for TimeParser {
    fn default() -> Self {
        TimeParser {
            text: [0xff; MINUTE_TEXT],
            minute: 0,
        }
    }
}

impl TimeParser {
    pub fn parse(&mut self, s: &str) -> Option<EventTime> {
        let b = s.as_bytes();
        let text = b.get(..MINUTE_TEXT)?;
        if text != self.text {
            let minute = minute_of(b)?;
            self.text.copy_from_slice(text);
            self.minute = minute;
        }
        after_minute(b, self.minute)
    }
}

/// Writes `@timestamp`s ([`EventTime::write_timestamp_millis`]) from the text of the minute
/// written last: records come in time order, so nearly all share it, and the calendar
/// arithmetic then runs once a minute instead of once per document.
#[derive(Debug, Default)]
pub struct TimestampWriter {
    minute: Option<i64>,
    /// `YYYY-MM-DDTHH:MM:` of `minute`.
    prefix: [u8; 17],
}

impl TimestampWriter {
    pub fn write(&mut self, t: EventTime, out: &mut Vec<u8>) {
        let minute = t.secs.div_euclid(60);
        if self.minute != Some(minute) {
            let start = out.len();
            t.write_timestamp_millis(out);
            // A year outside 0..=9999 makes another length: written, not kept.
            if let Some(prefix) = out.get(start..).filter(|w| w.len() == 24) {
                self.prefix.copy_from_slice(&prefix[..17]);
                self.minute = Some(minute);
            }
            return;
        }
        let sec = t.secs.rem_euclid(60) as u32;
        let ms = t.nanos / 1_000_000;
        let mut tail = *b"00.000Z";
        put2(&mut tail[0..2], sec);
        tail[3] = b'0' + (ms / 100) as u8;
        put2(&mut tail[4..6], ms % 100);
        out.extend_from_slice(&self.prefix);
        out.extend_from_slice(&tail);
    }
}

/// The UTC calendar date of a day number, as `(year, month, day)`.
pub fn date_of_day(day: i64) -> (i64, u32, u32) {
    civil_from_days(day)
}

fn digits(b: &[u8]) -> Option<u32> {
    let mut v = 0u32;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u32::from(c - b'0');
    }
    Some(v)
}

/// Two digits of `v` (below 100) into `b[0..2]`.
fn put2(b: &mut [u8], v: u32) {
    b[0] = b'0' + (v / 10 % 10) as u8;
    b[1] = b'0' + (v % 10) as u8;
}

fn push2(out: &mut Vec<u8>, v: u32) {
    out.push(b'0' + (v / 10 % 10) as u8);
    out.push(b'0' + (v % 10) as u8);
}

fn push_year(out: &mut Vec<u8>, y: i64) {
    if (0..=9999).contains(&y) {
        let y = y as u32;
        out.push(b'0' + (y / 1000) as u8);
        out.push(b'0' + (y / 100 % 10) as u8);
        push2(out, y % 100);
    } else {
        out.extend_from_slice(y.to_string().as_bytes());
    }
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(y) => 29,
        _ => 28,
    }
}

// Howard Hinnant's days_from_civil / civil_from_days: exact for the proleptic Gregorian calendar.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(t: EventTime) -> String {
        let mut v = Vec::new();
        t.write_timestamp_millis(&mut v);
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn parses_docker_nano_times() {
        let t = EventTime::parse_rfc3339("2026-11-22T01:02:03.123456789Z").unwrap();
        assert_eq!(t.nanos, 123_456_789);
        assert_eq!(ts(t), "2026-11-22T01:02:03.123Z");
        assert_eq!(t.secs, 1_795_309_323);
    }

    #[test]
    fn trimmed_fractions_and_whole_seconds() {
        let t = EventTime::parse_rfc3339("2026-11-22T01:02:03.2Z").unwrap();
        assert_eq!(t.nanos, 200_000_000);
        let t = EventTime::parse_rfc3339("2026-11-22T01:02:04Z").unwrap();
        assert_eq!(t.nanos, 0);
        assert_eq!(ts(t), "2026-11-22T01:02:04.000Z");
        let t = EventTime::parse_rfc3339("2026-11-22T01:02:04.005Z").unwrap();
        assert_eq!(ts(t), "2026-11-22T01:02:04.005Z");
        let t = EventTime::parse_rfc3339("2026-11-22T01:02:04.0000000051Z").unwrap();
        assert_eq!(t.nanos, 5);
    }

    #[test]
    fn numeric_offsets_are_converted_to_utc() {
        let t = EventTime::parse_rfc3339("2021-03-29T21:16:20.753110058-04:00").unwrap();
        assert_eq!(ts(t), "2021-03-30T01:16:20.753Z");
        let t = EventTime::parse_rfc3339("2020-02-01T00:30:00.000000000+01:00").unwrap();
        assert_eq!(ts(t), "2020-01-31T23:30:00.000Z");
    }

    #[test]
    fn rejects_malformed_times() {
        for bad in [
            "",
            "2026-11-22",
            "2026-11-22T01:02:03",
            "2026-13-22T01:02:03Z",
            "2026-02-30T01:02:03Z",
            "2026-11-22T24:02:03Z",
            "2026-11-22T01:02:03.Z",
            "2026-11-22T01:02:03Zjunk",
            "2026-11-22T01:02:03+0100",
            "2026-11-2xT01:02:03Z",
        ] {
            assert_eq!(EventTime::parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn leap_days_and_epoch_round_trip() {
        let t = EventTime::parse_rfc3339("2024-02-29T23:59:59.999Z").unwrap();
        assert_eq!(ts(t), "2024-02-29T23:59:59.999Z");
        assert_eq!(date_of_day(t.day()), (2024, 2, 29));
        let t = EventTime::parse_rfc3339("1970-01-01T00:00:00Z").unwrap();
        assert_eq!(t, EventTime { secs: 0, nanos: 0 });
        for day in [-1000i64, 0, 10_957, 20_000, 2_932_896] {
            let (y, m, d) = civil_from_days(day);
            assert_eq!(days_from_civil(y, m, d), day);
        }
    }

    #[test]
    fn timestamps_outside_four_digit_years_are_written_whole() {
        let t = EventTime::parse_rfc3339("0000-01-01T00:00:00.007Z").unwrap();
        assert_eq!(ts(t), "0000-01-01T00:00:00.007Z");
        let t = EventTime::parse_rfc3339("9999-12-31T23:59:59.999Z").unwrap();
        assert_eq!(ts(t), "9999-12-31T23:59:59.999Z");
        let t = EventTime {
            secs: 253_402_300_800, // 10000-01-01
            nanos: 10_000_000,
        };
        assert_eq!(ts(t), "10000-01-01T00:00:00.010Z");
        let t = EventTime {
            secs: -62_167_219_201, // one second before year 0
            nanos: 0,
        };
        assert_eq!(ts(t), "-1-12-31T23:59:59.000Z");
    }

    #[test]
    fn nanos_form_round_trips() {
        let t = EventTime::parse_rfc3339("2026-11-22T01:02:03.000000005Z").unwrap();
        assert_eq!(t.to_rfc3339_nanos(), "2026-11-22T01:02:03.000000005Z");
    }

    #[test]
    fn the_time_parser_reads_every_time_as_the_whole_parse_does() {
        // Times of one minute and the next, each followed by every change of one byte of it
        // (to a byte that times have, or one they never do), and cuts: what the parser
        // remembers of the minute must never make it read a time differently.
        let mut parser = TimeParser::default();
        let bytes = b"0123456789:-.TZz+ \0";
        let mut checked = 0;
        let mut check = |text: &str| {
            assert_eq!(
                parser.parse(text),
                EventTime::parse_rfc3339(text),
                "{text:?}"
            );
            checked += 1;
        };
        check("\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0:00Z");
        for time in [
            "2026-11-22T01:02:03.123456789Z",
            "2026-11-22T01:02:59Z",
            "2026-11-22T01:02:07.5+01:30",
            "2026-11-22T01:03:00.000000001-08:00",
            "2024-02-29T23:59:60.25Z",
        ] {
            check(time);
            for at in 0..time.len() {
                for &b in bytes {
                    let mut changed = time.as_bytes().to_vec();
                    changed[at] = b;
                    check(std::str::from_utf8(&changed).unwrap());
                    check(time);
                }
                check(&time[..at]);
            }
        }
        assert!(checked > 3000);
    }

    #[test]
    fn the_timestamp_writer_matches_the_arithmetic_across_minutes_days_and_years() {
        let mut w = TimestampWriter::default();
        let texts = [
            "2026-11-22T01:02:03.123456789Z",
            "2026-11-22T01:02:59.999Z",
            "2026-11-22T01:03:00Z",
            "2026-11-22T01:02:04.005Z",
            "2026-12-31T23:59:59.5Z",
            "2027-01-01T00:00:00.001Z",
            "1969-12-31T23:59:59.75Z",
            "2027-01-01T00:00:07.010Z",
        ];
        let far = EventTime {
            secs: 400_000_000_000,
            nanos: 0,
        };
        let times = texts.map(|text| EventTime::parse_rfc3339(text).unwrap());
        for t in times.into_iter().chain([far]) {
            let (mut cached, mut direct) = (Vec::new(), Vec::new());
            w.write(t, &mut cached);
            w.write(t, &mut cached);
            t.write_timestamp_millis(&mut direct);
            assert_eq!(cached, [direct.clone(), direct].concat(), "{t:?}");
        }
    }
}
