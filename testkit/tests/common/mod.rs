//! A deliberately dumb HTTP/1.1 client over TcpStream: it sends exactly the bytes a test asks
//! for and reports exactly what came back, including a reset or a silent close.

#![allow(dead_code)]

use std::io::{self, BufRead, BufReader, Read, Write};

use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use logship_testkit::es::{EsDouble, EsOptions, EsVersion};
use serde_json::json;

#[derive(Debug)]
pub struct Resp {
    pub status_line: String,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
}

/// A kept-alive connection.
pub struct Conn {
    reader: BufReader<TcpStream>,
}

impl Conn {
    pub fn open(addr: SocketAddr) -> Conn {
        let s = TcpStream::connect(addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(20)))
            .expect("timeout");
        Conn {
            reader: BufReader::new(s),
        }
    }

    pub fn send_raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.reader.get_mut().write_all(bytes)
    }

    pub fn request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> io::Result<Resp> {
        let mut req = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n");
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        if !body.is_empty() || matches!(method, "POST" | "PUT") {
            req.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        req.push_str("\r\n");
        let mut bytes = req.into_bytes();
        bytes.extend_from_slice(body);
        self.send_raw(&bytes)?;
        self.read_response(method == "HEAD")
    }

    /// Reads one response; an EOF before the status line is `UnexpectedEof`.
    pub fn read_response(&mut self, head: bool) -> io::Result<Resp> {
        let mut status_line = String::new();
        if self.reader.read_line(&mut status_line)? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "closed before a response",
            ));
        }
        let status_line = status_line.trim_end().to_string();
        let status = status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            self.reader.read_line(&mut line)?;
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                headers.push((k.trim().to_string(), v.trim().to_string()));
            }
        }
        let len: usize = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; if head { 0 } else { len }];
        self.reader.read_exact(&mut body)?;
        Ok(Resp {
            status_line,
            status,
            headers,
            body,
        })
    }

    /// True when the server closed or reset the connection: a read gets EOF or an error.
    pub fn is_closed(&mut self) -> bool {
        let mut b = [0u8; 1];
        !matches!(self.reader.read(&mut b), Ok(n) if n > 0)
    }
}

pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> io::Result<Resp> {
    Conn::open(addr).request(method, path, headers, body)
}

pub fn get(addr: SocketAddr, path: &str) -> Resp {
    request(addr, "GET", path, &[], b"").expect("GET")
}

pub fn post_json(addr: SocketAddr, path: &str, body: &str) -> Resp {
    request(
        addr,
        "POST",
        path,
        &[("Content-Type", "application/json")],
        body.as_bytes(),
    )
    .expect("POST")
}

pub fn bulk(addr: SocketAddr, path: &str, body: &str) -> Resp {
    request(
        addr,
        "POST",
        path,
        &[("Content-Type", "application/x-ndjson")],
        body.as_bytes(),
    )
    .expect("bulk")
}

pub fn start(version: EsVersion) -> EsDouble {
    EsDouble::start(EsOptions {
        id_seed: Some(1),
        ..EsOptions::version(version)
    })
    .expect("start")
}

/// The body with `"took":N` set to 0, so whole responses can be compared exactly.
pub fn no_took(body: &str) -> String {
    let Some(i) = body.find("\"took\":") else {
        return body.to_string();
    };
    let rest = &body[i + 7..];
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    format!("{}\"took\":0{}", &body[..i], &rest[digits..])
}

/// Object keys in the order they appear in a compact JSON text (values must not contain `":`).
pub fn keys_in_order(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(end) = rest.find("\":") {
        let start = rest[..end].rfind('"').map_or(0, |i| i + 1);
        out.push(rest[start..end].to_string());
        rest = &rest[end + 2..];
    }
    out
}

pub const SHARDS: &str = r#""_shards":{"total":2,"successful":1,"failed":0}"#;

pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/fixtures/es/{name}", env!("CARGO_MANIFEST_DIR"))).expect("fixture")
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).expect("gzip");
    enc.finish().expect("gzip")
}

pub fn error_body(status: u16, etype: &str, reason: &str) -> String {
    let e = format!(r#"{{"type":"{etype}","reason":{}}}"#, json!(reason));
    format!(
        r#"{{"error":{{"root_cause":[{e}],"type":"{etype}","reason":{}}},"status":{status}}}"#,
        json!(reason)
    )
}
