//! Which indices retention deletes: an index name, its date, the decision. Pure functions over
//! names and dates, so the rules are one table of tests.
//!
//! The rules are those of the original's Curator action (reference §4): the name must match
//! `^(logstash-|heapster-)`, and the first `\d{4}\.\d{2}\.\d{2}` in it is read as `%Y.%m.%d`
//! (Curator's `TimestringSearch`: a regex search anywhere in the name, then `strptime` on the
//! match). The date is a UTC calendar day.

use chrono::{Days, NaiveDate};

/// The prefixes of the indices retention manages (logs and Heapster's metrics).
pub const PREFIXES: [&str; 2] = ["logstash-", "heapster-"];

/// How many days to keep, and the day it is: today and the `keep - 1` days before it are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    today: NaiveDate,
    keep: u8,
}

impl Window {
    /// `None` for 0 days: retention is off and decides nothing.
    pub fn new(today: NaiveDate, keep_days: u8) -> Option<Window> {
        (keep_days > 0).then_some(Window {
            today,
            keep: keep_days,
        })
    }

    /// Today, UTC.
    pub fn today(&self) -> NaiveDate {
        self.today
    }

    /// The number of days kept, 1 or more.
    pub fn keep_days(&self) -> u8 {
        self.keep
    }

    /// The oldest date kept: today minus `keep - 1` days.
    pub fn oldest_kept(&self) -> NaiveDate {
        self.today
            .checked_sub_days(Days::new(u64::from(self.keep) - 1))
            .unwrap_or(NaiveDate::MIN)
    }

    /// Whether an index of this date is deleted: its date is before [`Window::oldest_kept`].
    pub fn expired(&self, date: NaiveDate) -> bool {
        date < self.oldest_kept()
    }
}

/// What the name says about the index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameDate {
    /// The name does not start with `logstash-` or `heapster-`.
    OtherPrefix,
    /// No `dddd.dd.dd` after the prefix.
    NoDate,
    /// The first `dddd.dd.dd` is not a calendar date, e.g. `2026.02.30`.
    BadDate(String),
    /// The date in the name.
    Date(NaiveDate),
}

/// Reads the date in an index name the way Curator does.
pub fn name_date(name: &str) -> NameDate {
    let Some(rest) = PREFIXES.iter().find_map(|p| name.strip_prefix(p)) else {
        return NameDate::OtherPrefix;
    };
    let Some(found) = first_date_text(rest) else {
        return NameDate::NoDate;
    };
    match parse_ymd(found) {
        Some(date) => NameDate::Date(date),
        None => NameDate::BadDate(found.to_string()),
    }
}

/// The leftmost `dddd.dd.dd` (ASCII digits). Like a regex search, a longer run of digits
/// still yields a match inside it (`x12026.01.011` finds `2026.01.01`).
fn first_date_text(s: &str) -> Option<&str> {
    let b = s.as_bytes();
    let shape = |w: &[u8]| {
        w.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'.',
            _ => c.is_ascii_digit(),
        })
    };
    // The window is ASCII when it matches, so the slice is on char boundaries.
    (0..b.len().saturating_sub(9))
        .find(|&i| shape(&b[i..i + 10]))
        .and_then(|i| s.get(i..i + 10))
}

/// `strptime("%Y.%m.%d")` on a `dddd.dd.dd` text: Python has no year 0, so neither do we.
fn parse_ymd(text: &str) -> Option<NaiveDate> {
    let num = |range: std::ops::Range<usize>| text.get(range)?.parse::<u32>().ok();
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if y == 0 {
        return None;
    }
    NaiveDate::from_ymd_opt(i32::try_from(y).ok()?, m, d)
}

/// The decision for one index name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Dated within the window (or in the future).
    Keep(NaiveDate),
    /// Dated before the window.
    Delete(NaiveDate),
    /// Never touched: another prefix, no date, or not a calendar date.
    Skip(NameDate),
}

/// Decides for one concrete index (aliases are the caller's business: they are never deleted).
pub fn decide(name: &str, window: &Window) -> Decision {
    match name_date(name) {
        NameDate::Date(date) if window.expired(date) => Decision::Delete(date),
        NameDate::Date(date) => Decision::Keep(date),
        other => Decision::Skip(other),
    }
}

#[cfg(test)]
mod tests;
