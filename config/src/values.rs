//! Value types with invariants and the parsers of the value syntax: integers in a range,
//! booleans, durations, byte sizes, `KEEP_LOG_DAYS`, the output and where to start reading.
//!
//! Every parser returns a [`ValueError`] whose message quotes the bad value and says what is
//! expected, e.g. `"31" is out of range: expected an integer from 0 to 30`. The caller puts the
//! setting's name in front.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

/// A value that does not parse or is out of range. The message quotes the value and says what
/// is expected; it does not name the setting.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ValueError(String);

impl ValueError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        ValueError(message.into())
    }
}

/// Parses an integer from `min` to `max`; `expected` completes "expected …".
pub(crate) fn parse_int(
    text: &str,
    min: i128,
    max: i128,
    expected: &str,
) -> Result<i128, ValueError> {
    let n: i128 = text
        .trim()
        .parse()
        .map_err(|_| ValueError::new(format!("{text:?} is not an integer: expected {expected}")))?;
    if n < min || n > max {
        return Err(ValueError::new(format!(
            "{text:?} is out of range: expected {expected}"
        )));
    }
    Ok(n)
}

/// Parses `true/false`, `on/off`, `yes/no` or `1/0`, in any case.
pub fn parse_bool(text: &str) -> Result<bool, ValueError> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "on" | "yes" | "1" => Ok(true),
        "false" | "off" | "no" | "0" => Ok(false),
        _ => Err(ValueError::new(format!(
            "{text:?} is not a boolean: expected true/false, on/off, yes/no or 1/0"
        ))),
    }
}

/// Splits `"5 MiB"` into `("5", "mib")`: a decimal number and a lowercased unit.
fn split_number(text: &str) -> (&str, String) {
    let t = text.trim();
    let end = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    (&t[..end], t[end..].trim().to_ascii_lowercase())
}

/// `number × unit`, rounded down, for a decimal `number` such as `1.5`; `None` if it is not a
/// plain decimal number or overflows.
fn scale(number: &str, unit: u128) -> Option<u128> {
    let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && frac.is_empty() {
        return None;
    }
    let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    if !digits(whole) || !digits(frac) || frac.len() > 18 {
        return None;
    }
    let whole: u128 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let mut value = whole.checked_mul(unit)?;
    if !frac.is_empty() {
        let denominator = 10u128.pow(frac.len() as u32);
        let frac: u128 = frac.parse().ok()?;
        value = value.checked_add(frac.checked_mul(unit)? / denominator)?;
    }
    Some(value)
}

const DURATION_SYNTAX: &str = "a duration such as 500ms, 1s, 2m, 1h or a number of seconds";

/// Parses `500ms`, `1s`, `2m`, `1h` or a bare number of seconds (decimals allowed: `0.5`).
pub fn parse_duration(text: &str) -> Result<Duration, ValueError> {
    let bad = || {
        ValueError::new(format!(
            "{text:?} is not a duration: expected {DURATION_SYNTAX}"
        ))
    };
    let (number, unit) = split_number(text);
    let nanos_per_unit: u128 = match unit.as_str() {
        "ms" => 1_000_000,
        "" | "s" => 1_000_000_000,
        "m" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        _ => return Err(bad()),
    };
    let nanos = scale(number, nanos_per_unit).ok_or_else(bad)?;
    let secs = u64::try_from(nanos / 1_000_000_000).map_err(|_| bad())?;
    Ok(Duration::new(secs, (nanos % 1_000_000_000) as u32))
}

/// Parses a duration from `min` to `max`.
pub(crate) fn parse_duration_in(
    text: &str,
    min: Duration,
    max: Duration,
) -> Result<Duration, ValueError> {
    let d = parse_duration(text)?;
    if d < min || d > max {
        return Err(ValueError::new(format!(
            "{text:?} is out of range: expected a duration from {} to {}",
            format_duration(min),
            format_duration(max)
        )));
    }
    Ok(d)
}

/// Formats a duration in the largest unit that divides it: `1h`, `2m`, `1s`, `500ms`.
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if d.as_nanos() != ms * 1_000_000 {
        return format!("{}ns", d.as_nanos());
    }
    match ms {
        0 => "0s".to_string(),
        ms if ms % 3_600_000 == 0 => format!("{}h", ms / 3_600_000),
        ms if ms % 60_000 == 0 => format!("{}m", ms / 60_000),
        ms if ms % 1_000 == 0 => format!("{}s", ms / 1_000),
        ms => format!("{ms}ms"),
    }
}

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;
const GIB: u64 = 1024 * MIB;
const TIB: u64 = 1024 * GIB;

/// A number of bytes. Parsed from `512`, `64KiB`, `5MiB`, `1GiB`, `64KB`, `5m`…: every unit
/// is a power of 1024, as in fluent-bit, and units are case-insensitive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ByteSize(u64);

impl ByteSize {
    /// `n` bytes.
    pub const fn from_bytes(n: u64) -> Self {
        ByteSize(n)
    }

    /// `n` KiB.
    pub const fn kib(n: u64) -> Self {
        ByteSize(n * KIB)
    }

    /// `n` MiB.
    pub const fn mib(n: u64) -> Self {
        ByteSize(n * MIB)
    }

    /// `n` GiB.
    pub const fn gib(n: u64) -> Self {
        ByteSize(n * GIB)
    }

    /// The size in bytes (saturating at `usize::MAX` on 32-bit targets).
    pub fn bytes(self) -> usize {
        usize::try_from(self.0).unwrap_or(usize::MAX)
    }

    /// The size in bytes, as a `u64`.
    pub const fn as_u64(self) -> u64 {
        self.0
    }

    /// Parses a size from `min` to `max`.
    pub(crate) fn parse_in(
        text: &str,
        min: ByteSize,
        max: ByteSize,
    ) -> Result<ByteSize, ValueError> {
        let size: ByteSize = text.parse()?;
        if size < min || size > max {
            return Err(ValueError::new(format!(
                "{text:?} is out of range: expected a size from {min} to {max}"
            )));
        }
        Ok(size)
    }
}

impl FromStr for ByteSize {
    type Err = ValueError;

    fn from_str(text: &str) -> Result<Self, ValueError> {
        let bad = || {
            ValueError::new(format!(
                "{text:?} is not a size: expected a number of bytes with an optional unit, \
                 such as 512, 64KiB, 5MiB or 1GiB"
            ))
        };
        let (number, unit) = split_number(text);
        let unit = match unit.as_str() {
            "" | "b" => 1,
            "k" | "kb" | "kib" => KIB,
            "m" | "mb" | "mib" => MIB,
            "g" | "gb" | "gib" => GIB,
            "t" | "tb" | "tib" => TIB,
            _ => return Err(bad()),
        };
        let n = scale(number, u128::from(unit)).ok_or_else(bad)?;
        u64::try_from(n).map(ByteSize).map_err(|_| bad())
    }
}

impl fmt::Display for ByteSize {
    /// The largest unit that divides the size: `5MiB`, `64KiB`, `1000B`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0;
        match n {
            0 => write!(f, "0B"),
            n if n % TIB == 0 => write!(f, "{}TiB", n / TIB),
            n if n % GIB == 0 => write!(f, "{}GiB", n / GIB),
            n if n % MIB == 0 => write!(f, "{}MiB", n / MIB),
            n if n % KIB == 0 => write!(f, "{}KiB", n / KIB),
            n => write!(f, "{n}B"),
        }
    }
}

/// `KEEP_LOG_DAYS`: how many days of logs the retention job keeps, 0 to 30; 0 never deletes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeepLogDays(u8);

impl KeepLogDays {
    /// The largest value the setting accepts.
    pub const MAX: u8 = 30;

    /// `days` if it is from 0 to 30.
    pub fn new(days: u8) -> Option<Self> {
        (days <= Self::MAX).then_some(KeepLogDays(days))
    }

    /// The number of days.
    pub fn get(self) -> u8 {
        self.0
    }

    /// True for 0: retention never deletes anything.
    pub fn disabled(self) -> bool {
        self.0 == 0
    }
}

impl Default for KeepLogDays {
    fn default() -> Self {
        KeepLogDays(3)
    }
}

impl FromStr for KeepLogDays {
    type Err = ValueError;

    fn from_str(text: &str) -> Result<Self, ValueError> {
        let n = parse_int(text, 0, i128::from(Self::MAX), "an integer from 0 to 30")?;
        Ok(KeepLogDays(n as u8))
    }
}

impl fmt::Display for KeepLogDays {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// `LOGSHIP_OUTPUT`: where the documents go.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Output {
    /// Elasticsearch, chosen by the precedence of DESIGN §3.
    #[default]
    Elasticsearch,
    /// The ES documents as NDJSON on standard output; no ES is needed.
    Stdout,
    /// The ES documents as NDJSON appended to a file; no ES is needed.
    File(PathBuf),
}

impl FromStr for Output {
    type Err = ValueError;

    fn from_str(text: &str) -> Result<Self, ValueError> {
        let t = text.trim();
        let lower = t.to_ascii_lowercase();
        if lower == "elasticsearch" {
            return Ok(Output::Elasticsearch);
        }
        if lower == "stdout" {
            return Ok(Output::Stdout);
        }
        if lower.starts_with("file:") {
            let path = t["file:".len()..].trim();
            if path.is_empty() {
                return Err(ValueError::new(format!(
                    "{text:?} has no path: expected file:PATH, e.g. file:/tmp/docs.ndjson"
                )));
            }
            return Ok(Output::File(PathBuf::from(path)));
        }
        Err(ValueError::new(format!(
            "{text:?} is not a known output: expected elasticsearch, stdout or file:PATH"
        )))
    }
}

impl fmt::Display for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Output::Elasticsearch => f.write_str("elasticsearch"),
            Output::Stdout => f.write_str("stdout"),
            Output::File(path) => write!(f, "file:{}", path.display()),
        }
    }
}

/// `LOGSHIP_READ_FROM`: where to start reading a file seen for the first time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReadFrom {
    /// From its first byte.
    #[default]
    Head,
    /// From its current end: only lines written from now on.
    Tail,
}

impl FromStr for ReadFrom {
    type Err = ValueError;

    fn from_str(text: &str) -> Result<Self, ValueError> {
        match text.trim().to_ascii_lowercase().as_str() {
            "head" => Ok(ReadFrom::Head),
            "tail" => Ok(ReadFrom::Tail),
            _ => Err(ValueError::new(format!(
                "{text:?} is not a start position: expected head or tail"
            ))),
        }
    }
}

impl fmt::Display for ReadFrom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ReadFrom::Head => "head",
            ReadFrom::Tail => "tail",
        })
    }
}

/// Parses `LOGSHIP_RETRY_LIMIT`: `forever` (`None`) or an integer ≥ 1.
pub fn parse_retry_limit(text: &str) -> Result<Option<u32>, ValueError> {
    if text.trim().eq_ignore_ascii_case("forever") {
        return Ok(None);
    }
    let expected = "forever or an integer from 1 to 4294967295";
    let n = parse_int(text, 1, i128::from(u32::MAX), expected).map_err(|e| {
        if text.trim().parse::<i128>().is_err() {
            ValueError::new(format!(
                "{text:?} is not a retry limit: expected {expected}"
            ))
        } else {
            e
        }
    })?;
    Ok(Some(n as u32))
}

/// `LOGSHIP_FORWARD_COMPRESS`: how the forward output sends its chunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ForwardCompress {
    /// Forward mode, uncompressed.
    #[default]
    None,
    /// CompressedPackedForward, gzip.
    Gzip,
}

impl FromStr for ForwardCompress {
    type Err = ValueError;

    fn from_str(text: &str) -> Result<Self, ValueError> {
        match text.trim().to_ascii_lowercase().as_str() {
            "none" | "off" => Ok(ForwardCompress::None),
            "gzip" => Ok(ForwardCompress::Gzip),
            _ => Err(ValueError::new(format!(
                "{text:?} is not a compression: expected none or gzip"
            ))),
        }
    }
}

impl fmt::Display for ForwardCompress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ForwardCompress::None => "none",
            ForwardCompress::Gzip => "gzip",
        })
    }
}

/// A secret (the forward `shared_key`): shown as `***` by `Debug` and `Display`, so it is
/// never printed by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(text: impl Into<String>) -> Secret {
        Secret(text.into())
    }

    /// The secret itself, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Reads a secret from a file (a mounted Kubernetes Secret): the file's trailing newline is
/// not part of it. The error names the setting and the path, never the content.
pub fn read_secret_file(key: crate::key::Key, path: &std::path::Path) -> Result<Secret, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let text = text.trim_end_matches(['\n', '\r']);
            if text.is_empty() {
                Err(format!("{key}: {} is empty", path.display()))
            } else {
                Ok(Secret::new(text))
            }
        }
        Err(e) => Err(format!("{key}: cannot read {}: {e}", path.display())),
    }
}

/// Parses `LOGSHIP_FORWARD_LISTEN`: `off` (`None`) or `IP:port`.
pub fn parse_listen(text: &str) -> Result<Option<std::net::SocketAddr>, ValueError> {
    let t = text.trim();
    if ["off", "false", "no", "none"].contains(&t.to_ascii_lowercase().as_str()) {
        return Ok(None);
    }
    t.parse().map(Some).map_err(|_| {
        ValueError::new(format!(
            "{text:?} is not a listen address: expected IP:port, e.g. 0.0.0.0:24224, or off"
        ))
    })
}

#[cfg(test)]
mod tests;
