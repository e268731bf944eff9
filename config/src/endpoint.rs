//! Network addresses: [`HostPort`] (`host:port`, the forward server) and [`EsEndpoint`]
//! (`host:port` or an `http(s)://` URL, an Elasticsearch).
//!
//! Unlike the original's `^[^\:]+:[0-9]{1,5}$`, a port must be from 1 to 65535, and an IPv6
//! address is accepted in brackets (`[fd00::1]:9200`).

use std::fmt;
use std::net::Ipv6Addr;
use std::str::FromStr;

use crate::values::ValueError;

const HOST_PORT: &str = "host:port with a port from 1 to 65535";
const HOST_PORT_OR_URL: &str = "host:port with a port from 1 to 65535, or an http(s):// URL";

/// A `host:port` address. The host is a name or an IP address (an IPv6 address without its
/// brackets); the port is from 1 to 65535.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HostPort {
    host: String,
    port: u16,
}

impl HostPort {
    /// Checks the host (not empty, no spaces or URL punctuation) and the port (not 0).
    pub fn new(host: impl Into<String>, port: u16) -> Result<Self, ValueError> {
        let host = host.into();
        let text = format!("{host}:{port}");
        check_host(&host, &text, HOST_PORT)?;
        if port == 0 {
            return Err(fail(&text, "port 0 is out of range", HOST_PORT));
        }
        Ok(HostPort { host, port })
    }

    /// The host name or IP address, without brackets.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port, 1 to 65535.
    pub fn port(&self) -> u16 {
        self.port
    }
}

impl FromStr for HostPort {
    type Err = ValueError;

    fn from_str(text: &str) -> Result<Self, ValueError> {
        if text.contains("://") {
            return Err(fail(text, "a URL is not accepted here", HOST_PORT));
        }
        let (host, port) = split_host_port(text.trim(), text, None, HOST_PORT)?;
        Ok(HostPort { host, port })
    }
}

impl fmt::Display for HostPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", bracketed(&self.host), self.port)
    }
}

/// `http` or `https`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Scheme {
    /// Plain HTTP (what a bare `host:port` means).
    #[default]
    Http,
    /// HTTP over TLS.
    Https,
}

impl Scheme {
    /// `"http"` or `"https"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }

    /// The port a URL without one means: 80 or 443.
    pub fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An Elasticsearch endpoint: `host:port` (plain HTTP) or
/// `http(s)://[user[:password]@]host[:port][/path/prefix]`.
///
/// A URL without a port gets its scheme's port (80 or 443). The user and password may be
/// percent-encoded in the URL; they are stored decoded. `Display` and `Debug` show the password
/// as `***`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct EsEndpoint {
    scheme: Scheme,
    host: String,
    port: u16,
    path_prefix: String,
    username: Option<String>,
    password: Option<String>,
}

impl EsEndpoint {
    /// Plain HTTP to `host:port` with no path prefix and no credentials.
    pub(crate) fn http(host: &str, port: u16) -> Self {
        EsEndpoint {
            scheme: Scheme::Http,
            host: host.to_string(),
            port,
            path_prefix: String::new(),
            username: None,
            password: None,
        }
    }

    /// `http` or `https`.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The host name or IP address, without brackets.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port, 1 to 65535.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The path prefix: empty, or starting with `/` and without a trailing `/`.
    pub fn path_prefix(&self) -> &str {
        &self.path_prefix
    }

    /// The user for HTTP basic authentication, decoded.
    pub fn username(&self) -> Option<&str> {
        self.username.as_deref()
    }

    /// The password for HTTP basic authentication, decoded. Never print it.
    pub fn password(&self) -> Option<&str> {
        self.password.as_deref()
    }

    /// `scheme://host:port/prefix`, without credentials and without a trailing slash; append
    /// `/_bulk` etc. to it.
    pub fn base_url(&self) -> String {
        format!("{}://{}{}", self.scheme, self.host_port(), self.path_prefix)
    }

    /// `host:port`, with the host in brackets if it is an IPv6 address.
    pub fn host_port(&self) -> String {
        format!("{}:{}", bracketed(&self.host), self.port)
    }
}

impl From<HostPort> for EsEndpoint {
    fn from(hp: HostPort) -> Self {
        EsEndpoint::http(&hp.host, hp.port)
    }
}

impl FromStr for EsEndpoint {
    type Err = ValueError;

    fn from_str(text: &str) -> Result<Self, ValueError> {
        let t = text.trim();
        let Some((scheme, rest)) = t.split_once("://") else {
            let (host, port) = split_host_port(t, text, None, HOST_PORT_OR_URL)?;
            return Ok(EsEndpoint::http(&host, port));
        };
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "http" => Scheme::Http,
            "https" => Scheme::Https,
            _ => {
                let problem = format!("unsupported scheme {scheme:?}");
                return Err(fail(text, &problem, HOST_PORT_OR_URL));
            }
        };
        if rest.contains(['?', '#']) {
            let problem = "a query or fragment is not allowed";
            return Err(fail(text, problem, HOST_PORT_OR_URL));
        }
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let (userinfo, host_port) = match authority.rsplit_once('@') {
            Some((userinfo, host_port)) => (Some(userinfo), host_port),
            None => (None, authority),
        };
        let default_port = Some(scheme.default_port());
        let (host, port) = split_host_port(host_port, text, default_port, HOST_PORT_OR_URL)?;
        let (username, password) = match userinfo {
            None => (None, None),
            Some(info) => {
                let (user, pass) = match info.split_once(':') {
                    Some((user, pass)) => (user, Some(pass)),
                    None => (info, None),
                };
                let decode = |s: &str| {
                    percent_decode(s).ok_or_else(|| {
                        let problem = "the user or password has a bad %-escape";
                        fail(text, problem, HOST_PORT_OR_URL)
                    })
                };
                (Some(decode(user)?), pass.map(decode).transpose()?)
            }
        };
        if path.chars().any(char::is_whitespace) {
            return Err(fail(text, "the path has a space", HOST_PORT_OR_URL));
        }
        Ok(EsEndpoint {
            scheme,
            host,
            port,
            path_prefix: path.trim_end_matches('/').to_string(),
            username,
            password,
        })
    }
}

impl fmt::Display for EsEndpoint {
    /// The URL with the password replaced by `***`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://", self.scheme)?;
        if let Some(user) = &self.username {
            f.write_str(user)?;
            if self.password.is_some() {
                f.write_str(":***")?;
            }
            f.write_str("@")?;
        }
        write!(f, "{}{}", self.host_port(), self.path_prefix)
    }
}

impl fmt::Debug for EsEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EsEndpoint")
            .field("scheme", &self.scheme)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("path_prefix", &self.path_prefix)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .finish()
    }
}

/// `"<text>": <problem>: expected <expected>`.
fn fail(text: &str, problem: &str, expected: &str) -> ValueError {
    ValueError::new(format!("{text:?}: {problem}: expected {expected}"))
}

fn bracketed(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

/// Splits `host:port` or `[v6]:port`; the port may be left out only when `default_port` is set.
/// Errors quote `original`.
fn split_host_port(
    s: &str,
    original: &str,
    default_port: Option<u16>,
    expected: &str,
) -> Result<(String, u16), ValueError> {
    let bad = |problem: &str| fail(original, problem, expected);
    if s.is_empty() {
        return Err(ValueError::new(format!(
            "{original:?} is empty: expected {expected}"
        )));
    }
    let (host, port) = if let Some(inner) = s.strip_prefix('[') {
        let (v6, after) = inner
            .split_once(']')
            .ok_or_else(|| bad("the IPv6 address has no closing bracket"))?;
        if v6.parse::<Ipv6Addr>().is_err() {
            return Err(bad(&format!("{v6:?} is not an IPv6 address")));
        }
        match after.strip_prefix(':') {
            Some(port) => (v6, Some(port)),
            None if after.is_empty() => (v6, None),
            None => return Err(bad("unexpected text after the IPv6 address")),
        }
    } else {
        match s.rsplit_once(':') {
            Some((host, _)) if host.contains(':') => {
                return Err(bad(
                    "an IPv6 address must be in brackets, e.g. [fd00::1]:9200",
                ));
            }
            Some((host, port)) => (host, Some(port)),
            None => (s, None),
        }
    };
    check_host(host, original, expected)?;
    let port = match (port, default_port) {
        (Some(port), _) => parse_port(port).map_err(|problem| bad(&problem))?,
        (None, Some(default)) => default,
        (None, None) => return Err(bad("missing port")),
    };
    Ok((host.to_string(), port))
}

fn check_host(host: &str, original: &str, expected: &str) -> Result<(), ValueError> {
    if host.is_empty() {
        return Err(fail(original, "empty host", expected));
    }
    if host.contains(|c: char| c.is_whitespace() || "/@?#[]\\\"'".contains(c)) {
        let problem = format!("host {host:?} has a character not allowed in a host name");
        return Err(fail(original, &problem, expected));
    }
    if host.contains(':') && host.parse::<Ipv6Addr>().is_err() {
        let problem = format!("{host:?} is not an IPv6 address");
        return Err(fail(original, &problem, expected));
    }
    Ok(())
}

fn parse_port(port: &str) -> Result<u16, String> {
    if port.is_empty() {
        return Err("missing port".to_string());
    }
    if !port.chars().all(|c| c.is_ascii_digit()) {
        return Err(format!("port {port:?} is not a number"));
    }
    match port.parse::<u32>() {
        Ok(n @ 1..=65535) => Ok(n as u16),
        _ => Err(format!("port {port} is out of range")),
    }
}

/// Decodes `%XX` escapes; `None` for a bad escape or bytes that are not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            if !hex.chars().all(|c| c.is_ascii_hexdigit()) {
                return None;
            }
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests;
