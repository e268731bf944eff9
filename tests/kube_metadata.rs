//! End to end: the real binary enriches container records with their pod's metadata from a
//! Kubernetes API (the test double, reached through a kubeconfig), in fluent-bit's field order,
//! and never stops shipping because of the API: pods added, changed and deleted while their
//! logs flow, an API that is down at start, one that forbids, a watch that ends with 410 Gone,
//! excluded pods. Every test counts exactly: N lines in, N documents out.

mod common;
mod kube_harness;

use common::*;
use kube_harness::*;
use logship_testkit::kube::{fixtures, KubeApiOptions};
use serde_json::{json, Value};

#[test]
fn every_record_carries_its_pods_metadata() {
    let mut h = Harness::new(KubeApiOptions {
        pods: all_fixture_pods(),
        ..Default::default()
    });
    // Another node's pod, absent from this node's watch: its records carry the file-name
    // fields only, after the wait.
    let mut stranger = fixtures::pod();
    stranger["metadata"]["name"] = json!("elsewhere-75b885dc9-97mtr");
    stranger["spec"]["nodeName"] = json!("another-node");
    stranger["status"]["containerStatuses"][0]["containerID"] =
        json!(format!("containerd://{}", container_id(77)));
    h.api.add_pod(stranger.clone()).unwrap();
    // The files appear once the agent knows the node's pods, so only the stranger waits.
    let agent = h.start(&[("LOGSHIP_KUBE_WAIT", "500ms")]);
    assert!(h.api.wait_for_watches(1, LONG), "{}", agent.stderr());
    let mut expectations = Vec::new();
    for pod in h
        .api
        .pods()
        .into_iter()
        .filter(|p| p["spec"]["nodeName"] == NODE)
    {
        for (container, _) in container_ids(&pod) {
            let f = h.file(&pod, &container);
            let msgs = h.write(&f, &format!("{}-{container}", f.pod), 20);
            expectations.push((f, msgs, Some(pod.clone())));
        }
    }
    assert_eq!(
        expectations.len(),
        8,
        "5 one-container pods, session-db's 3"
    );
    let f = h.file(&stranger, "kube-state-metrics");
    let msgs = h.write(&f, "stranger", 5);
    expectations.push((f, msgs, None));
    let plain = h.node.plain_file("not-a-kubelet-name.log");
    h.write(&plain, "plain", 3);
    h.wait_docs(&agent);
    let docs = h.docs();
    for (f, msgs, pod) in &expectations {
        assert_meta(&docs, msgs, f, pod.as_ref());
    }
    assert!(docs["plain-0"].source.get("kubernetes").is_none());
    // One list and one watch for the whole node; nothing per line or per file.
    let requests = h.api.requests();
    let sel = "fieldSelector=spec.nodeName%3Ddatagen-1-35";
    assert_eq!(
        requests.iter().filter(|r| !r.contains(sel)).count(),
        0,
        "{requests:?}"
    );
    assert_eq!(h.api.stats().lists, 1);
    assert_eq!(h.api.stats().gets, 0);
    assert_eq!(metric(&agent, "logship_kube_pods"), Some(6));
    assert_eq!(metric(&agent, "logship_kube_synced"), Some(1));
    assert_eq!(
        metric(&agent, "logship_kube_waits_expired_total"),
        Some(1),
        "the stranger"
    );
    assert_eq!(metric(&agent, "logship_kube_api_errors_total"), Some(0));
    let (status, log) = agent.terminate();
    assert!(status.success(), "{log}");
}

#[test]
fn pods_added_modified_and_deleted_while_their_logs_flow() {
    let mut h = Harness::new(KubeApiOptions::default());
    // New pods' files wait for the pods' events however slow the machine is.
    let agent = h.start(&[("LOGSHIP_KUBE_WAIT", "60s")]);
    assert!(h.api.wait_for_watches(1, LONG), "{}", agent.stderr());

    // Added: a pod the agent learns of by the watch; its file appears afterwards.
    let mut web = on_node(fixtures::pod_docker());
    h.api.add_pod(web.clone()).unwrap();
    web = h.api.pod("socks", "session-db-fdd649d68-cq5sp").unwrap();
    let db = h.file(&web, "session-db");
    let proxy = h.file(&web, "istio-proxy");
    let first = h.write(&db, "added", 30);
    h.wait_docs(&agent);
    assert_meta(&h.docs(), &first, &db, Some(&web));

    // Modified: labels change; once a record shows it, every later one does.
    h.api
        .modify_pod("socks", "session-db-fdd649d68-cq5sp", |p| {
            p["metadata"]["labels"]["version.app/tier"] = json!("v2");
            p["metadata"]["labels"]["pod-template-hash"] = json!("1234");
        })
        .unwrap();
    let web2 = h.api.pod("socks", "session-db-fdd649d68-cq5sp").unwrap();
    let probe = write_until(&mut h, &agent, &db, "probe", &expected(&db, Some(&web2)));
    let after = h.write(&db, "modified", 30);
    h.wait_docs(&agent);
    let docs = h.docs();
    assert_meta(&docs, &after, &db, Some(&web2));
    let old = expected(&db, Some(&web));
    for m in &probe[..probe.len() - 1] {
        assert_eq!(
            kubernetes_of(&docs[m]),
            old,
            "{m}: before the change arrived"
        );
    }

    // Deleted: the StatefulSet-style recreation under the same name (new uid, new container).
    // Records of the old container keep the old pod's metadata; the new one's carry the new.
    h.api
        .delete_pod("socks", "session-db-fdd649d68-cq5sp")
        .unwrap();
    let mut reborn = on_node(fixtures::pod_docker());
    reborn["metadata"]["uid"] = json!("11111111-2222-4333-8444-555555555555");
    reborn["metadata"]["labels"] = json!({"name": "session-db", "incarnation": "2"});
    for (list, i, seed) in [
        ("containerStatuses", 0, 4241),
        ("containerStatuses", 1, 4242),
        ("initContainerStatuses", 0, 4243),
    ] {
        reborn["status"][list][i]["containerID"] =
            json!(format!("docker://{}", container_id(seed)));
    }
    h.api.add_pod(reborn).unwrap();
    let reborn = h.api.pod("socks", "session-db-fdd649d68-cq5sp").unwrap();
    let db2 = h.file(&reborn, "session-db");
    write_until(
        &mut h,
        &agent,
        &db2,
        "reborn",
        &expected(&db2, Some(&reborn)),
    );
    // The agent has seen the deletion (events arrive in order): the old files' last lines,
    // and a file of the deleted pod that shows up only now, still carry its metadata.
    let last = h.write(&db, "last", 20);
    let late = h.write(&proxy, "late", 20);
    h.wait_docs(&agent);
    let docs = h.docs();
    assert_meta(&docs, &last, &db, Some(&web2));
    assert_meta(&docs, &late, &proxy, Some(&web2));
    let (status, log) = agent.terminate();
    assert!(status.success(), "{log}");
}

#[test]
fn an_api_down_at_start_delays_records_by_the_wait_only() {
    let mut h = Harness::new(KubeApiOptions {
        down: true,
        pods: all_fixture_pods(),
        ..Default::default()
    });
    let pods = fixtures::podlist_items();
    let files: Vec<(LogFile, Value)> = pods
        .iter()
        .map(|p| (h.file(p, &container_ids(p)[0].0), p.clone()))
        .collect();
    let mut before = Vec::new();
    for (i, (f, _)) in files.iter().enumerate() {
        before.push(h.write(f, &format!("down{i}"), 25));
    }
    let agent = h.start(&[("LOGSHIP_KUBE_WAIT", "1s")]);
    h.wait_docs(&agent);
    let docs = h.docs();
    for ((f, _), msgs) in files.iter().zip(&before) {
        assert_meta(&docs, msgs, f, None);
    }

    h.api.set_down(false).unwrap();
    // An open watch means the agent listed the pods: what is written now is enriched.
    assert!(h.api.wait_for_watches(1, LONG), "{}", agent.stderr());
    let mut after = Vec::new();
    for (i, (f, _)) in files.iter().enumerate() {
        after.push(h.write(f, &format!("up{i}"), 25));
    }
    h.wait_docs(&agent);
    let docs = h.docs();
    for ((f, pod), msgs) in files.iter().zip(&after) {
        let held = h.api.pod(
            pod["metadata"]["namespace"].as_str().unwrap(),
            pod["metadata"]["name"].as_str().unwrap(),
        );
        assert_meta(&docs, msgs, f, held.as_ref());
    }
    let (status, log) = agent.terminate();
    assert!(status.success(), "{log}");
    assert_eq!(
        log.matches("the Kubernetes API request failed").count(),
        1,
        "{log}"
    );
    assert_eq!(
        log.matches("the Kubernetes API answers again").count(),
        1,
        "{log}"
    );
}

#[test]
fn a_forbidding_api_is_logged_once_and_records_ship_with_file_name_fields() {
    let mut h = Harness::new(KubeApiOptions {
        forbidden: true,
        pods: all_fixture_pods(),
        ..Default::default()
    });
    let pod = fixtures::pod();
    let f = h.file(&pod, "kube-state-metrics");
    let msgs = h.write(&f, "forbidden", 40);
    let agent = h.start(&[("LOGSHIP_KUBE_WAIT", "300ms")]);
    h.wait_docs(&agent);
    assert_meta(&h.docs(), &msgs, &f, None);
    // Retried with backoff, and still logged once.
    assert!(eventually(LONG, || h.api.stats().forbidden >= 3));
    assert!(metric(&agent, "logship_kube_api_errors_total") >= Some(3));
    assert_eq!(metric(&agent, "logship_kube_synced"), Some(0));
    let (status, log) = agent.terminate();
    assert!(status.success(), "{log}");
    assert_eq!(log.matches("403 Forbidden").count(), 1, "{log}");
    assert!(
        log.contains("pods is forbidden: User \\\"system:serviceaccount:kube-system:logship\\\" cannot list resource \\\"pods\\\"")
            || log.contains("pods is forbidden: User \"system:serviceaccount:kube-system:logship\" cannot list resource \"pods\""),
        "{log}"
    );
    assert_eq!(h.api.stats().watches, 0);
}

#[test]
fn a_watch_ended_by_410_gone_relists_without_losing_or_repeating_records() {
    let mut h = Harness::new(KubeApiOptions {
        pods: all_fixture_pods(),
        ..Default::default()
    });
    let ksm = fixtures::pod();
    let f = h.file(&ksm, "kube-state-metrics");
    let coredns = fixtures::podlist_items().remove(1);
    let g = h.file(&coredns, "coredns");
    let agent = h.start(&[]);
    assert!(h.api.wait_for_watches(1, LONG), "{}", agent.stderr());
    let ksm = h
        .api
        .pod("scraper", "e2e-kube-state-metrics-75b885dc9-97mtr")
        .unwrap();
    let a = h.write(&f, "before", 50);
    h.wait_docs(&agent);
    assert_meta(&h.docs(), &a, &f, Some(&ksm));

    assert_eq!(h.api.expire_watches(), 1);
    // Changed while the agent is not watching: only the relist can tell it.
    h.api
        .modify_pod("kube-system", "coredns-7d764666f9-qdcxt", |p| {
            p["metadata"]["labels"]["k8s-app"] = json!("kube-dns-v2");
        })
        .unwrap();
    let b = h.write(&f, "during", 50);
    assert!(
        eventually(LONG, || h.api.stats().lists >= 2),
        "{}",
        agent.stderr()
    );
    let coredns = h
        .api
        .pod("kube-system", "coredns-7d764666f9-qdcxt")
        .unwrap();
    let probe = write_until(
        &mut h,
        &agent,
        &g,
        "relisted",
        &expected(&g, Some(&coredns)),
    );
    let c = h.write(&g, "after", 50);
    h.wait_docs(&agent);
    let docs = h.docs();
    assert_meta(&docs, &b, &f, Some(&ksm));
    assert_meta(&docs, &c, &g, Some(&coredns));
    assert!(!probe.is_empty());
    assert_eq!(h.api.stats().expired, 1);
    let (status, log) = agent.terminate();
    assert!(status.success(), "{log}");
    assert!(
        !log.contains("the Kubernetes API request failed"),
        "a 410 is routine: {log}"
    );
}

#[test]
fn excluded_pods_are_not_shipped_but_their_files_are_settled() {
    let mut pods = fixtures::podlist_items();
    pods[0]["metadata"]["annotations"]["logship.io/exclude"] = json!("true");
    pods[1]["metadata"]["annotations"]["fluentbit.io/exclude"] = json!("true");
    pods[2]["metadata"]["annotations"]["logship.io/exclude"] = json!("false");
    let mut h = Harness::new(KubeApiOptions {
        pods: pods.clone(),
        ..Default::default()
    });
    let files: Vec<LogFile> = pods[..3]
        .iter()
        .map(|p| h.file(p, &container_ids(p)[0].0))
        .collect();
    let line = docker_line("x-0", "stdout", TIME, false);
    for f in &files[..2] {
        f.append(line.repeat(100).as_bytes());
    }
    let kept = h.write(&files[2], "kept", 100);
    // The files exist before the agent lists the pods: they wait for the list, however slow.
    let agent = h.start(&[("LOGSHIP_KUBE_WAIT", "60s")]);
    h.wait_docs(&agent);
    let docs = h.docs();
    let held = h
        .api
        .pod("scraper", pods[2]["metadata"]["name"].as_str().unwrap());
    assert_meta(&docs, &kept, &files[2], held.as_ref());
    // The dropped records count as delivered: the checkpoints of the excluded files reach
    // their ends.
    let size = line.len() as u64 * 100;
    let checkpoints = h.node.state_dir().join("checkpoints.json");
    let settled = |path: &std::path::Path| {
        let text = std::fs::read_to_string(&checkpoints).unwrap_or_default();
        let Some(body) = text.lines().next() else {
            return false;
        };
        let Ok(v) = serde_json::from_str::<Value>(body) else {
            return false;
        };
        v["files"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| c["path"].as_str() == path.to_str() && c["offset"].as_u64() == Some(size))
    };
    for f in &files[..2] {
        assert!(
            eventually(LONG, || settled(&f.link)),
            "{}",
            f.link.display()
        );
    }
    assert_eq!(
        metric(&agent, "logship_kube_excluded_records_total"),
        Some(200)
    );
    let (status, log) = agent.terminate();
    assert!(status.success(), "{log}");
    assert_eq!(h.es.stats().distinct_docs, 100);
}
