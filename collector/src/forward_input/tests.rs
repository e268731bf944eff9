use crate::counters;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::*;
use crate::pipe::{pipe, BatchReceiver};

macro_rules! fixture {
    ($name:literal) => {
        include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../testkit/fixtures/forward/",
            $name,
            ".msgpack"
        ))
    };
}

struct Input {
    addr: SocketAddr,
    rx: BatchReceiver,
    stats: Arc<ForwardInputStats>,
    stop: watch::Sender<bool>,
    _file_side: BatchSender,
}

async fn input(cfg: impl FnOnce(&mut ForwardInputConfig)) -> Input {
    let (tx, rx) = pipe(1 << 20, tokio::runtime::Handle::current());
    let mut c = ForwardInputConfig::new("127.0.0.1:0".parse().unwrap());
    cfg(&mut c);
    let stats = Arc::new(ForwardInputStats::default());
    let (stop, stop_rx) = watch::channel(false);
    let (addr, _) = start(c, tx.another_input(1 << 20), Arc::clone(&stats), stop_rx)
        .await
        .unwrap();
    Input {
        addr,
        rx,
        stats,
        stop,
        _file_side: tx,
    }
}

async fn read_some(s: &mut TcpStream, wait: Duration) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; 256];
    match tokio::time::timeout(wait, s.read(&mut buf)).await {
        Ok(Ok(n)) => Some(buf[..n].to_vec()),
        _ => None,
    }
}

#[tokio::test]
async fn the_ack_comes_only_after_the_outputs_settled_the_records() {
    let mut inp = input(|_| {}).await;
    let mut s = TcpStream::connect(inp.addr).await.unwrap();
    s.write_all(fixture!("packedforward-bin")).await.unwrap();
    let batch = inp.rx.recv().await.unwrap();
    assert_eq!(batch.records.len(), 3);
    let r = &batch.records[0];
    assert_eq!(r.source.tag(), "tag.name");
    assert_eq!(r.kind, RecordKind::Event);
    assert!(r.source.pod.is_none());
    let fields: Vec<_> = r.merged.as_ref().unwrap().fields().collect();
    assert_eq!(fields, [("message", "\"foo\"")]);
    assert_eq!(r.time.secs, 1441588984);
    // Not settled yet: no ack.
    assert_eq!(read_some(&mut s, Duration::from_millis(200)).await, None);
    batch.delivery.ack();
    let ack = read_some(&mut s, Duration::from_secs(5)).await.unwrap();
    assert_eq!(ack, fixture!("ack-response"));
    assert_eq!(counters::get(&inp.stats.acks), 1);
    // A message without a chunk gets no answer; a heartbeat neither.
    s.write_all(fixture!("forward")).await.unwrap();
    s.write_all(fixture!("heartbeat-tcp-nil")).await.unwrap();
    let batch = inp.rx.recv().await.unwrap();
    assert_eq!(batch.records.len(), 3);
    batch.delivery.ack();
    assert_eq!(read_some(&mut s, Duration::from_millis(200)).await, None);
    assert_eq!(counters::get(&inp.stats.messages), 2);
    let _ = inp.stop.send(true);
}

#[tokio::test]
async fn garbage_closes_that_connection_only() {
    let mut inp = input(|_| {}).await;
    let mut good = TcpStream::connect(inp.addr).await.unwrap();
    let mut bad = TcpStream::connect(inp.addr).await.unwrap();
    bad.write_all(b"\xc1 this is not msgpack").await.unwrap();
    assert_eq!(
        read_some(&mut bad, Duration::from_secs(5)).await,
        Some(vec![])
    );
    // A message the protocol does not allow (the tag is a number).
    let mut bad2 = TcpStream::connect(inp.addr).await.unwrap();
    bad2.write_all(b"\x92\x01\x90").await.unwrap();
    assert_eq!(
        read_some(&mut bad2, Duration::from_secs(5)).await,
        Some(vec![])
    );
    good.write_all(fixture!("message-int-time")).await.unwrap();
    let batch = inp.rx.recv().await.unwrap();
    assert_eq!(batch.records.len(), 1);
    assert_eq!(counters::get(&inp.stats.malformed), 2);
    let _ = inp.stop.send(true);
}

#[tokio::test]
async fn oversized_messages_and_too_many_connections_are_refused() {
    let mut inp = input(|c| {
        c.max_message = 1000;
        c.max_connections = 2;
    })
    .await;
    // A bin that announces 2000 bytes: refused from its header.
    let mut big = TcpStream::connect(inp.addr).await.unwrap();
    big.write_all(b"\x93\xa1t\xc5\x07\xd0").await.unwrap();
    assert_eq!(
        read_some(&mut big, Duration::from_secs(5)).await,
        Some(vec![])
    );
    // Many small entries adding up to more than the limit.
    let mut many = TcpStream::connect(inp.addr).await.unwrap();
    let mut frame = b"\x92\xa1t\xdc\x01\x00".to_vec();
    for _ in 0..200 {
        frame.extend_from_slice(b"\x92\x01\x81\xa1k\xa5value");
    }
    let _ = many.write_all(&frame).await;
    assert_eq!(
        read_some(&mut many, Duration::from_secs(5)).await,
        Some(vec![])
    );
    assert_eq!(counters::get(&inp.stats.oversized), 2);

    let mut a = TcpStream::connect(inp.addr).await.unwrap();
    let _b = TcpStream::connect(inp.addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut c = TcpStream::connect(inp.addr).await.unwrap();
    assert_eq!(
        read_some(&mut c, Duration::from_secs(5)).await,
        Some(vec![])
    );
    assert_eq!(counters::get(&inp.stats.refused_connections), 1);
    a.write_all(fixture!("forward")).await.unwrap();
    assert_eq!(inp.rx.recv().await.unwrap().records.len(), 3);
    let _ = inp.stop.send(true);
}

#[tokio::test]
async fn the_udp_heartbeat_is_answered() {
    let inp = input(|_| {}).await;
    let udp = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    udp.send_to(&[0x00], inp.addr).await.unwrap();
    let mut buf = [9u8; 4];
    let (n, _) = tokio::time::timeout(Duration::from_secs(5), udp.recv_from(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&buf[..n], &[0x00]);
    let _ = inp.stop.send(true);
}
