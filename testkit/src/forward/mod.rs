//! A fluent forward server double for end-to-end tests: it accepts the forward protocol as
//! Fluentd's `in_forward` does (optionally over TLS and behind the `shared_key` handshake), checks every
//! message strictly ([`check`]), keeps every event and the raw messages (for an independent
//! decoder), answers `{"ack": chunk}`, and injects faults: down, slow reading, late acks, no
//! acks, a connection closed in the middle of a message.
//!
//! Like the ES double it runs on its own thread with its own tokio runtime and binds 127.0.0.1,
//! so synchronous tests point the agent at [`ForwardServer::addr`] and block in
//! [`ForwardServer::wait_for_events`].

pub mod check;

use std::net::SocketAddr;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::Context;
use rmpv::Value;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, watch};
use tokio_rustls::TlsAcceptor;

pub use check::{Event, Message};

/// Faults; change them at any time with [`ForwardServer::set_faults`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Faults {
    /// Connections are accepted and closed at once (and open ones are closed when it turns on).
    pub down: bool,
    /// Pause between reads: a slow server.
    pub read_delay: Duration,
    /// Wait this long before each ack.
    pub ack_delay: Duration,
    /// Never ack (the events are still kept).
    pub never_ack: bool,
    /// The next N messages: read part of the message, then close the connection (the
    /// events are not kept).
    pub close_mid_message_next: u32,
}

#[derive(Clone, Debug, Default)]
pub struct ForwardOptions {
    /// `None`: a free port.
    pub port: Option<u16>,
    /// Ask clients for the `shared_key` handshake with this key.
    pub shared_key: Option<String>,
    /// Serve TLS with this configuration (see [`crate::tls::TestPki`]); `None`: plain TCP.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    pub faults: Faults,
}

/// Counts of what happened.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub connections: u64,
    pub messages: u64,
    pub events: u64,
    pub acks: u64,
    /// Messages whose chunk id had been seen before (sent again after a lost ack).
    pub repeated_chunks: u64,
    pub closed_mid_message: u64,
    pub handshakes_ok: u64,
    pub handshakes_failed: u64,
    /// TLS handshakes that failed (the client did not trust the certificate, or spoke plain
    /// TCP to a TLS port).
    pub tls_failed: u64,
}

#[derive(Default)]
struct State {
    events: Vec<Event>,
    messages: Vec<Message>,
    violations: Vec<String>,
    chunks: std::collections::HashSet<String>,
    stats: Stats,
    faults: Faults,
}

struct Shared {
    state: Mutex<State>,
    changed: Condvar,
    down: watch::Sender<bool>,
    shared_key: Option<String>,
    tls: Option<TlsAcceptor>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A running double. Dropping it stops the server and closes its connections.
pub struct ForwardServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl ForwardServer {
    pub fn start(opts: ForwardOptions) -> anyhow::Result<ForwardServer> {
        let port = opts.port.unwrap_or(0);
        let listener = std::net::TcpListener::bind(("127.0.0.1", port))
            .with_context(|| format!("binding 127.0.0.1:{port}"))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                faults: opts.faults.clone(),
                ..State::default()
            }),
            changed: Condvar::new(),
            down: watch::Sender::new(opts.faults.down),
            shared_key: opts.shared_key,
            tls: opts.tls.map(TlsAcceptor::from),
        });
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("forward-double")
            .enable_all()
            .build()?;
        let (stop_tx, stop_rx) = oneshot::channel();
        let sh = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("forward-double".into())
            .spawn(move || {
                rt.block_on(async move {
                    match TcpListener::from_std(listener) {
                        Ok(l) => serve(l, sh, stop_rx).await,
                        Err(e) => eprintln!("forward-double: cannot use the listener: {e}"),
                    }
                });
                rt.shutdown_timeout(Duration::from_secs(2));
            })?;
        Ok(ForwardServer {
            addr,
            shared,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every event kept, in arrival order.
    pub fn events(&self) -> Vec<Event> {
        self.shared.lock().events.clone()
    }

    /// Every message kept, in arrival order (raw bytes included).
    pub fn messages(&self) -> Vec<Message> {
        self.shared.lock().messages.clone()
    }

    /// Everything that broke the protocol; a test expects none.
    pub fn violations(&self) -> Vec<String> {
        self.shared.lock().violations.clone()
    }

    pub fn stats(&self) -> Stats {
        self.shared.lock().stats.clone()
    }

    pub fn set_faults(&self, faults: Faults) {
        let down = faults.down;
        self.shared.lock().faults = faults;
        self.shared
            .down
            .send_if_modified(|cur| std::mem::replace(cur, down) != down);
    }

    /// Forgets events, messages and counts (not the faults).
    pub fn clear(&self) {
        let mut st = self.shared.lock();
        st.events.clear();
        st.messages.clear();
        st.violations.clear();
        st.chunks.clear();
        st.stats = Stats::default();
    }

    /// Waits until at least `n` events are kept.
    pub fn wait_for_events(&self, n: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut st = self.shared.lock();
        while st.events.len() < n {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            st = match self.shared.changed.wait_timeout(st, deadline - now) {
                Ok((g, _)) => g,
                Err(e) => e.into_inner().0,
            };
        }
        true
    }
}

impl Drop for ForwardServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn serve(listener: TcpListener, shared: Arc<Shared>, mut stop: oneshot::Receiver<()>) {
    loop {
        let stream = tokio::select! {
            r = listener.accept() => match r {
                Ok((s, _)) => s,
                Err(_) => continue,
            },
            _ = &mut stop => return,
        };
        if shared.lock().faults.down {
            drop(stream);
            continue;
        }
        shared.lock().stats.connections += 1;
        let sh = Arc::clone(&shared);
        let mut down = shared.down.subscribe();
        tokio::spawn(async move {
            tokio::select! {
                _ = connection(stream, &sh) => {}
                _ = down.wait_for(|d| *d) => {}
            }
        });
    }
}

fn violation(shared: &Shared, what: String) {
    shared.lock().violations.push(what);
    shared.changed.notify_all();
}

trait Transport: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Transport for T {}

/// Reads whole msgpack values from the connection.
struct Reader {
    stream: Box<dyn Transport>,
    buf: Vec<u8>,
}

impl Reader {
    /// The next value and its bytes; `None` at the end of the connection.
    async fn next(&mut self, shared: &Shared) -> Option<(Vec<u8>, Value)> {
        loop {
            if !self.buf.is_empty() {
                let mut rd = &self.buf[..];
                match rmpv::decode::read_value(&mut rd) {
                    Ok(v) => {
                        let used = self.buf.len() - rd.len();
                        let raw: Vec<u8> = self.buf.drain(..used).collect();
                        return Some((raw, v));
                    }
                    Err(e) if incomplete(&e) => {}
                    Err(e) => {
                        violation(shared, format!("malformed msgpack: {e}"));
                        return None;
                    }
                }
            }
            let (delay, cut) = {
                let mut st = shared.lock();
                let cut = st.faults.close_mid_message_next > 0 && !self.buf.is_empty();
                if cut {
                    st.faults.close_mid_message_next -= 1;
                    st.stats.closed_mid_message += 1;
                }
                (st.faults.read_delay, cut)
            };
            if cut {
                return None;
            }
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            let mut chunk = [0u8; 16 << 10];
            match self.stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
    }
}

fn incomplete(e: &rmpv::decode::Error) -> bool {
    use rmpv::decode::Error;
    match e {
        Error::InvalidMarkerRead(e) | Error::InvalidDataRead(e) => {
            e.kind() == std::io::ErrorKind::UnexpectedEof
        }
        _ => false,
    }
}

async fn connection(stream: TcpStream, shared: &Arc<Shared>) {
    let _ = stream.set_nodelay(true);
    let stream: Box<dyn Transport> = match &shared.tls {
        None => Box::new(stream),
        Some(acceptor) => match acceptor.accept(stream).await {
            Ok(s) => Box::new(s),
            Err(_) => {
                shared.lock().stats.tls_failed += 1;
                shared.changed.notify_all();
                return;
            }
        },
    };
    let mut rd = Reader {
        stream,
        buf: Vec::new(),
    };
    if let Some(key) = &shared.shared_key {
        if !handshake(&mut rd, key, shared).await {
            shared.lock().stats.handshakes_failed += 1;
            return;
        }
        shared.lock().stats.handshakes_ok += 1;
    }
    while let Some((raw, value)) = rd.next(shared).await {
        if value.is_nil() {
            continue;
        }
        match check::check(&raw, &value) {
            Err(why) => {
                violation(shared, why);
                return;
            }
            Ok((message, events)) => {
                let chunk = message.chunk.clone();
                let (ack_delay, never_ack) = {
                    let mut st = shared.lock();
                    st.stats.messages += 1;
                    st.stats.events += events.len() as u64;
                    if let Some(c) = &chunk {
                        if !st.chunks.insert(c.clone()) {
                            st.stats.repeated_chunks += 1;
                        }
                    }
                    st.events.extend(events);
                    st.messages.push(message);
                    (st.faults.ack_delay, st.faults.never_ack)
                };
                shared.changed.notify_all();
                let Some(chunk) = chunk else { continue };
                if never_ack {
                    continue;
                }
                if !ack_delay.is_zero() {
                    tokio::time::sleep(ack_delay).await;
                }
                let mut ack = Vec::new();
                let _ = rmpv::encode::write_value(
                    &mut ack,
                    &Value::Map(vec![(Value::from("ack"), Value::from(chunk))]),
                );
                if rd.stream.write_all(&ack).await.is_err() || rd.stream.flush().await.is_err() {
                    return;
                }
                shared.lock().stats.acks += 1;
            }
        }
    }
}

/// HELO, PING, PONG (fluentd's in_forward with `<security> shared_key`).
async fn handshake(rd: &mut Reader, key: &str, shared: &Shared) -> bool {
    let nonce: [u8; 16] = rand::random();
    let helo = Value::Array(vec![
        Value::from("HELO"),
        Value::Map(vec![
            (Value::from("nonce"), Value::Binary(nonce.to_vec())),
            (Value::from("auth"), Value::from("")),
            (Value::from("keepalive"), Value::from(true)),
        ]),
    ]);
    let mut out = Vec::new();
    let _ = rmpv::encode::write_value(&mut out, &helo);
    if rd.stream.write_all(&out).await.is_err() || rd.stream.flush().await.is_err() {
        return false;
    }
    let Some((_, ping)) = rd.next(shared).await else {
        return false;
    };
    let parts = ping.as_array().cloned().unwrap_or_default();
    if parts.len() != 6 || parts[0].as_str() != Some("PING") {
        violation(shared, format!("expected PING, got {ping}"));
        return false;
    }
    let host = parts[1].as_str().unwrap_or_default().to_owned();
    let salt = match &parts[2] {
        Value::Binary(b) => b.clone(),
        Value::String(s) => s.as_bytes().to_vec(),
        _ => Vec::new(),
    };
    let ok = parts[3].as_str() == Some(digest(&salt, &host, &nonce, key).as_str());
    let server_host = "forward-double";
    let pong = Value::Array(vec![
        Value::from("PONG"),
        Value::from(ok),
        Value::from(if ok { "" } else { "shared_key mismatch" }),
        Value::from(server_host),
        Value::from(if ok {
            digest(&salt, server_host, &nonce, key)
        } else {
            String::new()
        }),
    ]);
    let mut out = Vec::new();
    let _ = rmpv::encode::write_value(&mut out, &pong);
    let _ = rd.stream.write_all(&out).await;
    let _ = rd.stream.flush().await;
    ok
}

/// Lowercase hex SHA-512 of `salt || host || nonce || key`.
pub fn digest(salt: &[u8], host: &str, nonce: &[u8], key: &str) -> String {
    let mut data = salt.to_vec();
    data.extend_from_slice(host.as_bytes());
    data.extend_from_slice(nonce);
    data.extend_from_slice(key.as_bytes());
    ring::digest::digest(&ring::digest::SHA512, &data)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
