use super::*;

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

const MB: usize = 1 << 20;

fn three(m: &Message) {
    assert_eq!(m.tag, "tag.name");
    let got: Vec<(i64, &str)> = m
        .events
        .iter()
        .map(|e| (e.time.secs, e.fields.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (1441588984, r#"{"message":"foo"}"#),
            (1441588985, r#"{"message":"bar"}"#),
            (1441588986, r#"{"message":"baz"}"#),
        ]
    );
}

#[test]
fn every_mode_of_the_fixtures() {
    for frame in [
        &fixture!("forward")[..],
        fixture!("packedforward-bin"),
        fixture!("packedforward-str"),
        fixture!("compressedpackedforward"),
        fixture!("compressedpackedforward-multimember"),
        fixture!("vector-test-compressedpackedforward"),
    ] {
        three(&decode(frame, MB).unwrap().unwrap());
    }
    let m = decode(fixture!("packedforward-bin"), MB).unwrap().unwrap();
    assert_eq!(m.chunk.as_deref(), Some("p8n9gmxTQVC8/nh2wlKKeQ=="));

    let m = decode(fixture!("message-int-time"), MB).unwrap().unwrap();
    assert_eq!(m.events.len(), 1);
    assert_eq!(
        m.events[0].time,
        EventTime {
            secs: 1441588984,
            nanos: 0
        }
    );
    assert_eq!(m.events[0].fields, r#"{"message":"bar"}"#);
    assert_eq!(m.chunk, None);

    let m = decode(fixture!("message-eventtime-chunk"), MB)
        .unwrap()
        .unwrap();
    assert_eq!(
        m.events[0].time,
        EventTime {
            secs: 1441588984,
            nanos: 123456789
        }
    );
    assert_eq!(m.chunk.as_deref(), Some("p8n9gmxTQVC8/nh2wlKKeQ=="));
}

#[test]
fn a_heartbeat_and_other_non_arrays_are_ignored() {
    assert_eq!(decode(fixture!("heartbeat-tcp-nil"), MB), Ok(None));
    assert_eq!(decode(fixture!("ack-response"), MB), Ok(None));
}

#[test]
fn bad_messages_are_refused() {
    for bad in [
        &b"\x91\xa1t"[..],                                 // one element
        b"\x92\x01\x90",                                   // tag not a string
        b"\x93\xa1t\x01\x01",                              // record not a map
        b"\x92\xa1t\x91\x01",                              // entry not [time, record]
        b"\x92\xa1t\xc4\x02\x92\xc0",                      // packed stream with a bad entry
        b"\x92\xa1t\xc0",                                  // second element nil
        b"\x93\xa1t\xc4\x03abc\x81\xaacompressed\xa4gzip", // not gzip
    ] {
        assert!(decode(bad, MB).is_err(), "{bad:x?}");
    }
    // A gzip bomb is stopped at the limit.
    assert!(decode(fixture!("compressedpackedforward"), 10).is_err());
}

#[test]
fn values_become_json() {
    // {"s":"a\"b","b":bin"xy","i":-3,"f":1.5,"n":nil,"a":[true],"m":{1:2},"t":EventTime}
    let mut mp = vec![0x88];
    mp.extend_from_slice(b"\xa1s\xa3a\"b\xa1b\xc4\x02xy\xa1i\xfd\xa1f\xcb");
    mp.extend_from_slice(&1.5f64.to_be_bytes());
    mp.extend_from_slice(
        b"\xa1n\xc0\xa1a\x91\xc3\xa1m\x81\x01\x02\xa1t\xd7\x00\x00\x00\x00\x07\x00\x00\x00\x01",
    );
    let v = rmpv::decode::read_value_ref(&mut &mp[..]).unwrap();
    let mut out = String::new();
    json(&v, &mut out);
    assert_eq!(
        out,
        r#"{"s":"a\"b","b":"xy","i":-3,"f":1.5,"n":null,"a":[true],"m":{"1":2},"t":7}"#
    );
    serde_json::from_str::<serde_json::Value>(&out).unwrap();
}
