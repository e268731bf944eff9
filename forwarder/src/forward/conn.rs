//! A connection to the forward server: TCP, optionally TLS (Fluentd's `<transport tls>`), the
//! optional `shared_key` handshake (HELO, PING, PONG with SHA-512 digests) inside it, and
//! reading the server's msgpack messages (acks) as they come.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use ring::digest::{digest, SHA512};
use rmpv::Value;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_rustls::TlsConnector;

use super::msgpack;

/// Server messages longer than this are not acks: the connection is dropped.
const MAX_MESSAGE: usize = 1 << 20;

/// Reads whole msgpack values from a stream.
pub struct MsgReader<R> {
    rd: R,
    buf: Vec<u8>,
}

impl<R: AsyncRead + Unpin> MsgReader<R> {
    pub fn new(rd: R) -> MsgReader<R> {
        MsgReader {
            rd,
            buf: Vec::new(),
        }
    }

    /// The next value; `None` when the peer closed the connection between values.
    pub async fn next(&mut self) -> io::Result<Option<Value>> {
        loop {
            if !self.buf.is_empty() {
                let mut cur = &self.buf[..];
                match rmpv::decode::read_value_with_max_depth(&mut cur, 32) {
                    Ok(v) => {
                        let used = self.buf.len() - cur.len();
                        self.buf.drain(..used);
                        return Ok(Some(v));
                    }
                    Err(e) if incomplete(&e) => {}
                    Err(e) => return Err(io::Error::new(io::ErrorKind::InvalidData, e)),
                }
                if self.buf.len() > MAX_MESSAGE {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "the server sent a message larger than 1 MiB",
                    ));
                }
            }
            let mut chunk = [0u8; 4096];
            let n = self.rd.read(&mut chunk).await?;
            if n == 0 {
                return if self.buf.is_empty() {
                    Ok(None)
                } else {
                    Err(io::ErrorKind::UnexpectedEof.into())
                };
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
}

fn incomplete(e: &rmpv::decode::Error) -> bool {
    use rmpv::decode::Error;
    match e {
        Error::InvalidMarkerRead(e) | Error::InvalidDataRead(e) => {
            e.kind() == io::ErrorKind::UnexpectedEof
        }
        _ => false,
    }
}

/// What the handshake needs.
pub struct Auth<'a> {
    pub shared_key: &'a str,
    pub hostname: &'a str,
}

/// A byte stream to the server, plain or TLS.
pub trait Transport: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Transport for T {}

pub type ServerReader = MsgReader<ReadHalf<Box<dyn Transport>>>;
pub type ServerWriter = WriteHalf<Box<dyn Transport>>;

/// Connects (with TLS when `tls` is given, and authenticates), within `limit` for each step.
pub async fn connect(
    server: &str,
    tls: Option<&Arc<rustls::ClientConfig>>,
    auth: Option<Auth<'_>>,
    limit: Duration,
) -> Result<(ServerReader, ServerWriter), String> {
    let stream = match timeout(limit, TcpStream::connect(server)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => return Err(format!("cannot connect to {server}: {e}")),
        Err(_) => return Err(format!("cannot connect to {server}: timed out")),
    };
    let _ = stream.set_nodelay(true);
    let stream: Box<dyn Transport> = match tls {
        None => Box::new(stream),
        Some(config) => {
            let name = server_name(server)?;
            let connector = TlsConnector::from(Arc::clone(config));
            match timeout(limit, connector.connect(name, stream)).await {
                Ok(Ok(s)) => Box::new(s),
                Ok(Err(e)) => return Err(format!("TLS with {server}: {e}")),
                Err(_) => return Err(format!("TLS with {server}: timed out")),
            }
        }
    };
    let (rd, mut wr) = tokio::io::split(stream);
    let mut rd = MsgReader::new(rd);
    if let Some(auth) = auth {
        handshake(&mut rd, &mut wr, &auth, limit).await?;
    }
    Ok((rd, wr))
}

/// The name the server's certificate must carry: the host of `host:port` (a name or an IP
/// address, IPv6 in brackets).
fn server_name(server: &str) -> Result<ServerName<'static>, String> {
    let host = match server.rsplit_once(':') {
        Some((host, _port)) => host,
        None => server,
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    ServerName::try_from(host.to_owned())
        .map_err(|e| format!("TLS with {server}: {host:?} is not a valid server name: {e}"))
}

async fn handshake(
    rd: &mut ServerReader,
    wr: &mut ServerWriter,
    auth: &Auth<'_>,
    limit: Duration,
) -> Result<(), String> {
    let helo = read(rd, limit, "HELO").await?;
    let Some(options) = message_of(&helo, "HELO").and_then(|m| m.get(1)) else {
        return Err(format!("expected HELO from the forward server, got {helo}"));
    };
    let nonce = field(options, "nonce")
        .and_then(bytes_of)
        .ok_or("the forward server's HELO has no nonce")?;
    if field(options, "auth")
        .and_then(bytes_of)
        .is_some_and(|a| !a.is_empty())
    {
        return Err(
            "the forward server asks for a username and password, which logship does not support"
                .into(),
        );
    }
    let salt: [u8; 16] = rand::random();
    let mut ping = Vec::new();
    msgpack::array_len(&mut ping, 6);
    msgpack::str(&mut ping, "PING");
    msgpack::str(&mut ping, auth.hostname);
    msgpack::bin(&mut ping, &salt);
    msgpack::str(
        &mut ping,
        &shared_key_digest(&salt, auth.hostname, &nonce, auth.shared_key),
    );
    msgpack::str(&mut ping, "");
    msgpack::str(&mut ping, "");
    let send = async {
        wr.write_all(&ping).await?;
        wr.flush().await
    };
    match timeout(limit, send).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(format!("sending PING: {e}")),
        Err(_) => return Err("sending PING: timed out".into()),
    }
    let pong = read(rd, limit, "PONG").await?;
    let Some(parts) = message_of(&pong, "PONG") else {
        return Err(format!("expected PONG from the forward server, got {pong}"));
    };
    if parts.get(1).and_then(Value::as_bool) != Some(true) {
        let reason = parts.get(2).and_then(Value::as_str).unwrap_or("");
        return Err(format!(
            "the forward server refused the shared key (LOGSHIP_FORWARD_SHARED_KEY): {reason}"
        ));
    }
    let server_host = parts.get(3).and_then(Value::as_str).unwrap_or("");
    let want = shared_key_digest(&salt, server_host, &nonce, auth.shared_key);
    if parts.get(4).and_then(Value::as_str) != Some(want.as_str()) {
        return Err(
            "the forward server's PONG digest is wrong: it does not know the shared key".into(),
        );
    }
    Ok(())
}

async fn read(rd: &mut ServerReader, limit: Duration, what: &str) -> Result<Value, String> {
    match timeout(limit, rd.next()).await {
        Ok(Ok(Some(v))) => Ok(v),
        Ok(Ok(None)) => Err(format!(
            "the forward server closed the connection before {what}"
        )),
        Ok(Err(e)) => Err(format!("reading {what}: {e}")),
        Err(_) => Err(format!(
            "no {what} from the forward server within {limit:?} (does it expect a shared_key?)"
        )),
    }
}

/// The array of a handshake message of type `kind`.
pub fn message_of<'a>(v: &'a Value, kind: &str) -> Option<&'a [Value]> {
    let items = v.as_array()?;
    (items.first()?.as_str()? == kind).then_some(&items[..])
}

/// A value of a msgpack map by string key.
pub fn field<'a>(map: &'a Value, key: &str) -> Option<&'a Value> {
    map.as_map()?
        .iter()
        .find(|(k, _)| k.as_str() == Some(key))
        .map(|(_, v)| v)
}

/// A str or bin value's bytes.
pub fn bytes_of(v: &Value) -> Option<Vec<u8>> {
    match v {
        Value::String(s) => Some(s.as_bytes().to_vec()),
        Value::Binary(b) => Some(b.clone()),
        _ => None,
    }
}

/// Lowercase hex SHA-512 of `salt || hostname || nonce || key`: both digests of the handshake
/// have this form (the client's with its hostname, the server's with the server's).
pub fn shared_key_digest(salt: &[u8], hostname: &str, nonce: &[u8], key: &str) -> String {
    let mut data = Vec::with_capacity(salt.len() + hostname.len() + nonce.len() + key.len());
    data.extend_from_slice(salt);
    data.extend_from_slice(hostname.as_bytes());
    data.extend_from_slice(nonce);
    data.extend_from_slice(key.as_bytes());
    let d = digest(&SHA512, &data);
    let mut hex = String::with_capacity(128);
    for b in d.as_ref() {
        hex.push_str(&format!("{b:02x}"));
    }
    hex
}

/// The id in an `{"ack": id}` answer.
pub fn ack_of(v: &Value) -> Option<&str> {
    field(v, "ack")?.as_str()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_certificate_name_is_the_host_of_host_port() {
        assert!(matches!(
            server_name("127.0.0.1:24224"),
            Ok(ServerName::IpAddress(_))
        ));
        assert!(matches!(
            server_name("[::1]:24224"),
            Ok(ServerName::IpAddress(_))
        ));
        match server_name("fluentd.logging.svc:24224") {
            Ok(ServerName::DnsName(n)) => assert_eq!(n.as_ref(), "fluentd.logging.svc"),
            other => panic!("{other:?}"),
        }
        assert!(server_name("bad_name!:24224").is_err());
    }

    #[test]
    fn digests_match_the_worked_examples() {
        // shared/fixtures/forward/examples.md
        let nonce: Vec<u8> = (0x10..0x20).collect();
        let salt: Vec<u8> = (0x30..0x40).collect();
        assert_eq!(
            shared_key_digest(&salt, "client.example.com", &nonce, "secret"),
            "aea0582574dbfdf70706972eed70be30337fe823d778d74bbcf0b59508a682ac3680041313418a38fc8be6d9cd39739e7040f917ef6978529d5298f8cbb3ccc0"
        );
        assert_eq!(
            shared_key_digest(&salt, "server.example.com", &nonce, "secret"),
            "d607ab451ac54dc0fa4809ba96896b1def46a1fb446d9813b7381b723707297459aec234417a0fef72312d14ed6f40be51bef4a49e88093ec11a6afcea7d9046"
        );
    }

    #[tokio::test]
    async fn values_are_read_whole_across_reads() {
        // The fixture's ack response, split in two reads, then a clean end.
        let ack: &[u8] = b"\x81\xa3ack\xb8p8n9gmxTQVC8/nh2wlKKeQ==";
        let (mut a, b) = tokio::io::duplex(64);
        let mut rd = MsgReader::new(b);
        let writer = tokio::spawn(async move {
            a.write_all(&ack[..7]).await.unwrap();
            tokio::time::sleep(Duration::from_millis(20)).await;
            a.write_all(&ack[7..]).await.unwrap();
        });
        let v = rd.next().await.unwrap().unwrap();
        assert_eq!(ack_of(&v), Some("p8n9gmxTQVC8/nh2wlKKeQ=="));
        writer.await.unwrap();
        assert!(rd.next().await.unwrap().is_none());
    }
}
