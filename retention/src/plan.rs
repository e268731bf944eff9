//! The plan of one run: every index and alias of the cluster with its decision and the reason,
//! and the deletions cut into groups whose request line stays short. Pure: the listing comes in,
//! lines of text come out.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::select::{decide, Decision, NameDate, Window, PREFIXES};

/// Why an index or alias is left alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skip {
    /// Not `logstash-*` or `heapster-*`.
    OtherPrefix,
    /// No `%Y.%m.%d` date in the name.
    NoDate,
    /// The date text is not a calendar date.
    BadDate(String),
    /// An alias, with the indices it points to: an alias is never a target.
    Alias(Vec<String>),
}

/// What happens to one name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Keep(chrono::NaiveDate),
    /// Deleted, with the aliases that go with the index.
    Delete(chrono::NaiveDate, Vec<String>),
    Skip(Skip),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub action: Action,
}

/// The cluster's indices and aliases, each with its action, in name order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub window: Window,
    pub entries: Vec<Entry>,
}

impl Plan {
    /// `indices` are the concrete indices; `aliases` maps each index to its aliases.
    pub fn build(
        indices: &[String],
        aliases: &BTreeMap<String, Vec<String>>,
        window: Window,
    ) -> Plan {
        let mut by_alias: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for (index, names) in aliases {
            for alias in names {
                by_alias.entry(alias).or_default().push(index.clone());
            }
        }
        let mut entries: Vec<Entry> = Vec::new();
        for name in indices {
            // ES never lets an index and an alias share a name; should a listing say otherwise,
            // the name is treated as an alias, which is never deleted.
            if by_alias.contains_key(name.as_str()) {
                continue;
            }
            let action = match decide(name, &window) {
                Decision::Keep(date) => Action::Keep(date),
                Decision::Delete(date) => {
                    let goes_with = aliases.get(name).cloned().unwrap_or_default();
                    Action::Delete(date, goes_with)
                }
                Decision::Skip(NameDate::OtherPrefix) => Action::Skip(Skip::OtherPrefix),
                Decision::Skip(NameDate::BadDate(text)) => Action::Skip(Skip::BadDate(text)),
                Decision::Skip(_) => Action::Skip(Skip::NoDate),
            };
            entries.push(Entry {
                name: name.clone(),
                action,
            });
        }
        for (alias, targets) in by_alias {
            entries.push(Entry {
                name: alias.to_string(),
                action: Action::Skip(Skip::Alias(targets)),
            });
        }
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        Plan { window, entries }
    }

    /// The indices to delete, in name order.
    pub fn to_delete(&self) -> Vec<&Entry> {
        self.entries
            .iter()
            .filter(|e| matches!(e.action, Action::Delete(..)))
            .collect()
    }

    /// How many entries are kept and skipped.
    pub fn counts(&self) -> (usize, usize) {
        let kept = self
            .entries
            .iter()
            .filter(|e| matches!(e.action, Action::Keep(_)))
            .count();
        let skipped = self
            .entries
            .iter()
            .filter(|e| matches!(e.action, Action::Skip(_)))
            .count();
        (kept, skipped)
    }

    /// Why the entry gets its action, for its line of output.
    pub fn reason(&self, entry: &Entry) -> String {
        let days = self.window.keep_days();
        let unit = if days == 1 { "day" } else { "days" };
        match &entry.action {
            Action::Keep(date) => format!("dated {date}, not older than {days} {unit}"),
            Action::Delete(date, goes_with) => {
                let mut s = format!("dated {date}, older than {days} {unit}");
                if !goes_with.is_empty() {
                    let _ = write!(s, "; its aliases go with it: {}", goes_with.join(", "));
                }
                s
            }
            Action::Skip(Skip::OtherPrefix) => {
                format!("not a {} index", PREFIXES.join(" or "))
            }
            Action::Skip(Skip::NoDate) => "no %Y.%m.%d date in the name".to_string(),
            Action::Skip(Skip::BadDate(text)) => {
                format!("{text} in the name is not a calendar date")
            }
            Action::Skip(Skip::Alias(targets)) => format!(
                "an alias (of {}), not an index; aliases are never deleted",
                targets.join(", ")
            ),
        }
    }
}

/// An index name as it goes in a URL path: everything but `A-Za-z0-9-._~` percent-encoded, so
/// a `,` or `/` could never split or redirect the expression.
pub fn encode_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// Cuts the names into groups whose encoded, comma-joined length is at most `max_bytes` (a
/// name longer than that on its own still gets a group). Keeps the order.
pub fn groups<'a>(names: &[&'a str], max_bytes: usize) -> Vec<Vec<&'a str>> {
    let mut out: Vec<Vec<&str>> = Vec::new();
    let mut len = 0;
    for name in names {
        let n = encode_name(name).len();
        match out.last_mut() {
            Some(group) if len + 1 + n <= max_bytes => {
                group.push(name);
                len += 1 + n;
            }
            _ => {
                out.push(vec![name]);
                len = n;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
