//! The Kubernetes API double checked against what clients rely on: kubectl reads back exactly
//! what it holds, lists page and filter like the API server, watches resume from a
//! resourceVersion, carry bookmarks, and end with the recorded 410 `Expired` event, and the
//! faults look like the real ones (403 `Status`, connection refused).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::time::Duration;

use logship_testkit::kube::{fixtures, KubeApi, KubeApiOptions};
use serde_json::{json, Value};

fn api_with_fixtures() -> KubeApi {
    let mut pods = fixtures::podlist_items();
    pods.push(fixtures::pod_docker());
    KubeApi::start(KubeApiOptions {
        pods,
        bookmark_every: None,
        ..Default::default()
    })
    .unwrap()
}

/// A plain HTTP/1.1 GET, so that tests see the bytes the server sent.
struct Conn {
    reader: BufReader<TcpStream>,
}

struct Head {
    status: u16,
    headers: Vec<(String, String)>,
}

impl Conn {
    fn get(addr: SocketAddr, target: &str) -> (Conn, Head) {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        write!(
            s,
            "GET {target} HTTP/1.1\r\nHost: {addr}\r\nAccept: application/json\r\n\r\n"
        )
        .unwrap();
        let mut reader = BufReader::new(s);
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let status = line.split(' ').nth(1).unwrap().parse().unwrap();
        let mut headers = Vec::new();
        loop {
            line.clear();
            reader.read_line(&mut line).unwrap();
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            let (k, v) = l.split_once(':').unwrap();
            headers.push((k.to_ascii_lowercase(), v.trim().to_owned()));
        }
        (Conn { reader }, Head { status, headers })
    }

    /// The next chunk of a chunked body; `None` at its end.
    fn chunk(&mut self) -> Option<String> {
        let mut size = String::new();
        self.reader.read_line(&mut size).unwrap();
        let n = usize::from_str_radix(size.trim(), 16).unwrap();
        let mut data = vec![0; n + 2];
        self.reader.read_exact(&mut data).unwrap();
        (n > 0).then(|| String::from_utf8(data[..n].to_vec()).unwrap())
    }

    /// The next event line of a watch; `None` at the end of the stream.
    fn event(&mut self) -> Option<Value> {
        self.chunk().map(|c| {
            assert!(c.ends_with('\n'), "one event per line: {c:?}");
            serde_json::from_str(&c).unwrap()
        })
    }
}

impl Head {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

fn get_json(addr: SocketAddr, target: &str) -> (u16, Value) {
    let (mut conn, head) = Conn::get(addr, target);
    assert_eq!(head.header("content-type"), Some("application/json"));
    let body = match head.header("content-length") {
        Some(n) => {
            let mut b = vec![0; n.parse().unwrap()];
            conn.reader.read_exact(&mut b).unwrap();
            String::from_utf8(b).unwrap()
        }
        None => {
            let mut all = String::new();
            while let Some(c) = conn.chunk() {
                all.push_str(&c);
            }
            all
        }
    };
    (head.status, serde_json::from_str(&body).unwrap())
}

fn kubectl(api: &KubeApi, args: &[&str]) -> Value {
    let home = tempfile::tempdir().unwrap();
    let out = Command::new("kubectl")
        .arg(format!("--server={}", api.url()))
        .arg(format!(
            "--cache-dir={}",
            home.path().join("cache").display()
        ))
        .args(args)
        // kubectl hides managedFields by default; the comparison is of everything held.
        .arg("--show-managed-fields")
        .env("HOME", home.path())
        .env("KUBECONFIG", home.path().join("none"))
        .output()
        .expect("kubectl runs");
    assert!(
        out.status.success(),
        "kubectl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Equal values, or the first path where they differ (whole pods are too long to print).
fn assert_same(got: &Value, want: &Value, path: &str) {
    match (got, want) {
        (Value::Object(g), Value::Object(w)) => {
            let gk: Vec<_> = g.keys().collect();
            let wk: Vec<_> = w.keys().collect();
            assert_eq!(gk, wk, "keys at {path}");
            for (k, v) in g {
                assert_same(v, &w[k], &format!("{path}.{k}"));
            }
        }
        (Value::Array(g), Value::Array(w)) => {
            assert_eq!(g.len(), w.len(), "length at {path}");
            for (i, (a, b)) in g.iter().zip(w).enumerate() {
                assert_same(a, b, &format!("{path}[{i}]"));
            }
        }
        _ => assert_eq!(got, want, "at {path}"),
    }
}

fn without_kind(mut v: Value) -> Value {
    let o = v.as_object_mut().unwrap();
    o.remove("kind");
    o.remove("apiVersion");
    v
}

#[test]
fn kubectl_reads_back_exactly_what_the_server_holds() {
    let api = api_with_fixtures();
    let listed = kubectl(&api, &["get", "pods", "-A", "-o", "json"]);
    let items: Vec<Value> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            assert_eq!(
                (&p["kind"], &p["apiVersion"]),
                (&json!("Pod"), &json!("v1"))
            );
            without_kind(p.clone())
        })
        .collect();
    let held = api.pods();
    assert_eq!(items.len(), 6);
    for (got, want) in items.iter().zip(&held) {
        assert_same(got, want, "");
    }

    let one = kubectl(
        &api,
        &[
            "get",
            "pod",
            "session-db-fdd649d68-cq5sp",
            "-n",
            "socks",
            "-o",
            "json",
        ],
    );
    let mut expected = api.pod("socks", "session-db-fdd649d68-cq5sp").unwrap();
    expected["kind"] = json!("Pod");
    expected["apiVersion"] = json!("v1");
    assert_eq!(one, expected);

    // The held pod is the fixture, with the server's own resourceVersion.
    let mut fixture = fixtures::pod_docker();
    fixture["metadata"]["resourceVersion"] = expected["metadata"]["resourceVersion"].clone();
    assert_eq!(one, fixture);

    let in_ns = kubectl(&api, &["get", "pods", "-n", "kube-system", "-o", "json"]);
    let names: Vec<&str> = in_ns["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["coredns-7d764666f9-qdcxt", "storage-provisioner"]);
    let requests = api.requests();
    // kubectl walked the legacy discovery (this server offers no aggregated discovery), then
    // listed in pages of 500.
    assert!(
        requests.iter().any(|r| r.starts_with("GET /api?")),
        "{requests:?}"
    );
    let lists: Vec<&String> = requests.iter().filter(|r| r.contains("pods")).collect();
    assert_eq!(
        lists,
        [
            "GET /api/v1/pods?limit=500",
            "GET /api/v1/namespaces/socks/pods/session-db-fdd649d68-cq5sp",
            "GET /api/v1/namespaces/kube-system/pods?limit=500",
        ]
    );
}

#[test]
fn lists_filter_by_node_and_page_consistently() {
    let api = api_with_fixtures();
    let addr = api.addr();
    let sel = "fieldSelector=spec.nodeName%3Ddatagen-1-35";
    let (status, all) = get_json(addr, &format!("/api/v1/pods?{sel}"));
    assert_eq!(status, 200);
    assert_eq!(
        (&all["kind"], &all["apiVersion"]),
        (&json!("PodList"), &json!("v1"))
    );
    let rv = all["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(rv, api.resource_version().to_string());
    let items = all["items"].as_array().unwrap();
    assert_eq!(items.len(), 5, "the AKS pod is on another node");
    assert!(
        items.iter().all(|p| p.get("kind").is_none()),
        "list items carry no kind"
    );

    let (_, page1) = get_json(addr, &format!("/api/v1/pods?{sel}&limit=2"));
    assert_eq!(page1["metadata"]["remainingItemCount"], 3);
    let token = page1["metadata"]["continue"].as_str().unwrap().to_owned();
    // A change between pages does not show in the pages of a list already started.
    api.delete_pod("scraper", "e2e-statefulset-0").unwrap();
    let mut got: Vec<Value> = page1["items"].as_array().unwrap().clone();
    let mut token = Some(token);
    while let Some(t) = token.take() {
        let (_, page) = get_json(addr, &format!("/api/v1/pods?{sel}&limit=2&continue={t}"));
        assert_eq!(
            page["metadata"]["resourceVersion"].as_str(),
            Some(rv.as_str())
        );
        got.extend(page["items"].as_array().unwrap().iter().cloned());
        token = page["metadata"]["continue"].as_str().map(str::to_owned);
    }
    assert_eq!(&got, items);

    let (status, bad) = get_json(addr, "/api/v1/pods?fieldSelector=metadata.labels%3Dx");
    assert_eq!((status, &bad["reason"]), (400, &json!("BadRequest")));
    let (status, missing) = get_json(addr, "/api/v1/namespaces/scraper/pods/nope");
    assert_eq!(status, 404);
    assert_eq!(missing["message"], "pods \"nope\" not found");
    let (status, _) = get_json(addr, "/api/v1/nodes");
    assert_eq!(status, 404);
}

#[test]
fn watches_resume_from_a_resource_version_and_follow_the_selector() {
    let api = api_with_fixtures();
    let rv = api.resource_version();
    let (mut w, head) = Conn::get(
        api.addr(),
        &format!("/api/v1/pods?watch=true&fieldSelector=spec.nodeName%3Ddatagen-1-35&resourceVersion={rv}&allowWatchBookmarks=true&timeoutSeconds=290"),
    );
    assert_eq!(head.status, 200);
    assert_eq!(head.header("transfer-encoding"), Some("chunked"));
    let mut new_pod = fixtures::pod();
    new_pod["metadata"]["name"] = json!("ksm-2");
    let added_rv = api.add_pod(new_pod).unwrap();
    api.modify_pod("scraper", "ksm-2", |p| {
        p["metadata"]["labels"]["extra"] = json!("yes")
    })
    .unwrap();
    // Moving to another node takes it out of this watch's selection: DELETED.
    api.modify_pod("scraper", "ksm-2", |p| {
        p["spec"]["nodeName"] = json!("elsewhere")
    })
    .unwrap();
    api.bookmark();
    let events: Vec<Value> = (0..4).map(|_| w.event().unwrap()).collect();
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["ADDED", "MODIFIED", "DELETED", "BOOKMARK"]);
    assert_eq!(events[0]["object"]["kind"], "Pod");
    assert_eq!(
        events[0]["object"]["metadata"]["resourceVersion"],
        added_rv.to_string()
    );
    assert_eq!(events[1]["object"]["metadata"]["labels"]["extra"], "yes");
    let bookmark = &events[3];
    assert_eq!(
        bookmark,
        &json!({"type":"BOOKMARK","object":{"kind":"Pod","apiVersion":"v1",
            "metadata":{"resourceVersion":api.resource_version().to_string(),"creationTimestamp":null},
            "spec":{"containers":null},"status":{}}})
    );

    // A second watch resuming from the first rv replays the same history.
    let (mut again, _) = Conn::get(
        api.addr(),
        &format!(
            "/api/v1/pods?watch=1&fieldSelector=spec.nodeName%3Ddatagen-1-35&resourceVersion={rv}"
        ),
    );
    let replay: Vec<Value> = (0..3).map(|_| again.event().unwrap()).collect();
    assert_eq!(replay, events[..3]);
    assert!(api.wait_for_watches(2, Duration::from_secs(5)));

    // Shapes as recorded from a real server.
    let recorded: Vec<Value> = fixtures::WATCH_EVENTS
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        recorded[2]["object"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        bookmark["object"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>()
    );
    assert_eq!(
        recorded[2]["object"]["metadata"]["creationTimestamp"],
        Value::Null
    );

    // Expired: both watches end with ERROR 410, then the stream ends.
    assert_eq!(api.expire_watches(), 2);
    for conn in [&mut w, &mut again] {
        let e = conn.event().unwrap();
        assert_eq!(e["type"], "ERROR");
        assert_eq!(e["object"]["code"], 410);
        assert_eq!(e["object"]["reason"], "Expired");
        assert_eq!(conn.event(), None);
    }
    // Resuming from before the expiry fails at once, as the recorded body.
    let (mut late, head) = Conn::get(
        api.addr(),
        &format!("/api/v1/pods?watch=true&resourceVersion={rv}"),
    );
    assert_eq!(head.status, 200);
    let e = late.event().unwrap();
    let recorded: Value = serde_json::from_str(fixtures::WATCH_ERROR_410_EXPIRED.trim()).unwrap();
    assert_eq!(e["object"]["reason"], recorded["object"]["reason"]);
    let legacy: Value = serde_json::from_str(fixtures::WATCH_ERROR_410_GONE_LEGACY.trim()).unwrap();
    for r in [&recorded, &legacy] {
        let keys = |v: &Value| {
            v["object"]
                .as_object()
                .unwrap()
                .keys()
                .cloned()
                .collect::<Vec<_>>()
        };
        assert_eq!(keys(&e), keys(r));
        assert_eq!(
            (&e["type"], &e["object"]["code"]),
            (&r["type"], &r["object"]["code"])
        );
    }
    assert_eq!(
        e["object"]["message"],
        format!(
            "too old resource version: {rv} ({})",
            api.resource_version() + 1
        )
    );
    assert_eq!(late.event(), None);
    assert_eq!(api.stats().expired, 3);
}

#[test]
fn initial_events_and_watch_timeouts() {
    let api = api_with_fixtures();
    let (mut w, _) = Conn::get(
        api.addr(),
        "/api/v1/namespaces/kube-system/pods?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&timeoutSeconds=1",
    );
    let names: Vec<String> = (0..2)
        .map(|_| {
            let e = w.event().unwrap();
            assert_eq!(e["type"], "ADDED");
            e["object"]["metadata"]["name"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(names, ["coredns-7d764666f9-qdcxt", "storage-provisioner"]);
    let end = w.event().unwrap();
    assert_eq!(end["type"], "BOOKMARK");
    assert_eq!(
        end["object"]["metadata"]["annotations"]["k8s.io/initial-events-end"],
        "true"
    );
    // timeoutSeconds=1: the server ends the stream by itself.
    assert_eq!(w.event(), None);
}

#[test]
fn forbidden_is_rbac_s_answer_and_discovery_stays_open() {
    let api = KubeApi::start(KubeApiOptions {
        forbidden: true,
        pods: fixtures::podlist_items(),
        ..Default::default()
    })
    .unwrap();
    let (status, body) = get_json(api.addr(), "/api/v1/pods?fieldSelector=spec.nodeName%3Dn");
    assert_eq!(status, 403);
    assert_eq!(
        body,
        json!({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",
            "message":"pods is forbidden: User \"system:serviceaccount:kube-system:logship\" cannot list resource \"pods\" in API group \"\" at the cluster scope",
            "reason":"Forbidden","details":{"kind":"pods"},"code":403})
    );
    let (status, _) = get_json(api.addr(), "/api/v1/pods?watch=true");
    assert_eq!(status, 403);
    let (status, version) = get_json(api.addr(), "/version");
    assert_eq!(
        (status, version["gitVersion"].as_str()),
        (200, Some("v1.32.3"))
    );
    api.set_forbidden(false);
    assert_eq!(get_json(api.addr(), "/api/v1/pods").0, 200);
    assert_eq!(api.stats().forbidden, 2);
}

#[test]
fn down_refuses_connections_and_comes_back_on_the_same_port() {
    let api = KubeApi::start(KubeApiOptions {
        down: true,
        ..Default::default()
    })
    .unwrap();
    let err = TcpStream::connect(api.addr()).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
    api.set_down(false).unwrap();
    let (mut w, _) = Conn::get(api.addr(), "/api/v1/pods?watch=true");
    assert!(api.wait_for_watches(1, Duration::from_secs(5)));
    api.set_down(true).unwrap();
    // The open watch is cut, not ended cleanly.
    let mut rest = String::new();
    assert!(
        w.reader.read_line(&mut rest).map_or(true, |n| n == 0),
        "{rest:?}"
    );
    assert_eq!(
        TcpStream::connect(api.addr()).unwrap_err().kind(),
        std::io::ErrorKind::ConnectionRefused
    );
    api.set_down(false).unwrap();
    assert_eq!(get_json(api.addr(), "/api/v1").0, 200);
}

#[test]
fn kubectl_reads_a_node_back_and_an_unknown_one_is_not_found() {
    let api = KubeApi::start(KubeApiOptions {
        nodes: vec![fixtures::node()],
        bookmark_every: None,
        ..Default::default()
    })
    .unwrap();
    let node = kubectl(&api, &["get", "node", fixtures::NODE, "-o", "json"]);
    assert_same(&node, &fixtures::node(), "");
    let (status, body) = get_json(api.addr(), "/api/v1/nodes/elsewhere");
    assert_eq!(status, 404);
    assert_eq!(body["reason"], "NotFound");
    assert_eq!(body["message"], "nodes \"elsewhere\" not found");
}
