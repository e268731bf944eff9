//! The deployment files against the agent they deploy: the things that break silently.
//!
//! A ConfigMap key the agent does not know is an env var nobody reads; a probe on the wrong path
//! restarts every agent forever; a log directory mounted at another path inside the container
//! leaves every `/var/log/containers` symlink dangling; a misspelt field is dropped by the API
//! server's client without a word. Each test here ties a manifest under `deploy/` (or the Kibana
//! saved objects under `docs/kibana/`) to the real binary or to the Kubernetes API types.
//!
//! `kubectl apply --dry-run=client` needs an API server even with `--validate=false` (it asks
//! the server for its resource list), so the schema check is offline instead: every document is
//! read into the `k8s-openapi` type of its kind and written back, and any field that does not
//! survive the round trip is reported. `kubectl kustomize` (which needs no server) checks the
//! kustomization when kubectl is installed.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use k8s_openapi::serde::de::DeserializeOwned;
use k8s_openapi::serde::Serialize;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_logship");

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn deploy_dir() -> PathBuf {
    repo().join("deploy")
}

/// One YAML document of a file under `deploy/`.
struct Manifest {
    file: String,
    doc: Value,
}

impl Manifest {
    fn kind(&self) -> &str {
        self.doc["kind"].as_str().unwrap_or("")
    }

    fn name(&self) -> &str {
        self.doc["metadata"]["name"].as_str().unwrap_or("")
    }

    fn namespace(&self) -> &str {
        self.doc["metadata"]["namespace"].as_str().unwrap_or("")
    }
}

fn yaml_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(deploy_dir())
        .expect("read deploy/")
        .map(|e| e.expect("deploy/ entry").path())
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
        .collect();
    files.sort();
    files
}

fn file_name(path: &Path) -> String {
    path.file_name().unwrap().to_string_lossy().into_owned()
}

/// Every document of every YAML file under `deploy/` (empty documents skipped).
fn manifests() -> Vec<Manifest> {
    let mut all = Vec::new();
    for path in yaml_files() {
        let text = std::fs::read_to_string(&path).expect("read manifest");
        let docs: Vec<Value> = serde_saphyr::from_multiple(&text)
            .unwrap_or_else(|e| panic!("{}: not valid YAML: {e}", path.display()));
        for doc in docs.into_iter().filter(|d| !d.is_null()) {
            all.push(Manifest {
                file: file_name(&path),
                doc,
            });
        }
    }
    all
}

fn find<'a>(all: &'a [Manifest], kind: &str, name: &str) -> &'a Manifest {
    all.iter()
        .find(|m| m.kind() == kind && m.name() == name)
        .unwrap_or_else(|| panic!("deploy/ has no {kind} {name}"))
}

fn daemonset(all: &[Manifest]) -> &Manifest {
    find(all, "DaemonSet", "logship")
}

fn settings_configmap(all: &[Manifest]) -> &Manifest {
    find(all, "ConfigMap", "logship-settings")
}

fn pod_spec(ds: &Manifest) -> &Value {
    &ds.doc["spec"]["template"]["spec"]
}

fn agent_container(ds: &Manifest) -> &Value {
    let containers = pod_spec(ds)["containers"].as_array().expect("containers");
    containers
        .iter()
        .find(|c| c["name"] == "logship")
        .expect("a container named logship")
}

/// The ConfigMap's data, every value a string (Kubernetes refuses anything else).
fn settings(all: &[Manifest]) -> BTreeMap<String, String> {
    let cm = settings_configmap(all);
    cm.doc["data"]
        .as_object()
        .expect("logship-settings has data")
        .iter()
        .map(|(k, v)| {
            let v = v.as_str().unwrap_or_else(|| {
                panic!(
                    "{}: {k}: {v} must be a quoted string in a ConfigMap",
                    cm.file
                )
            });
            (k.clone(), v.to_owned())
        })
        .collect()
}

/// What `logship run --help` says: every setting's env name and its default ("" when none).
fn agent_settings() -> BTreeMap<String, String> {
    let out = Command::new(BIN)
        .args(["run", "--help"])
        .output()
        .expect("run logship run --help");
    assert!(out.status.success(), "logship run --help failed");
    let help = String::from_utf8(out.stdout).expect("help is UTF-8");
    let mut known = BTreeMap::new();
    for line in help.lines() {
        let Some((_, rest)) = line.split_once("[env: ") else {
            continue;
        };
        let (name, rest) = rest.split_once(']').expect("[env: NAME]");
        let default = rest
            .split_once("[default: ")
            .map(|(_, d)| d.split_once(']').expect("[default: VALUE]").0)
            .unwrap_or("");
        known.insert(name.to_owned(), default.to_owned());
    }
    assert!(
        known.contains_key("ES_SERVER") && known.contains_key("LOGSHIP_HTTP_ADDR"),
        "could not read the settings from `logship run --help`:\n{help}"
    );
    known
}

/// The names in `keys` that are not settings of the agent.
fn unknown<'a>(
    keys: impl IntoIterator<Item = &'a str>,
    known: &BTreeMap<String, String>,
) -> Vec<&'a str> {
    keys.into_iter()
        .filter(|k| !known.contains_key(*k))
        .collect()
}

/// The value the agent will use for a setting: the ConfigMap's, or the default when the
/// ConfigMap leaves it out or empty (an empty value means "not set").
fn effective(
    name: &str,
    cm: &BTreeMap<String, String>,
    known: &BTreeMap<String, String>,
) -> String {
    match cm.get(name) {
        Some(v) if !v.is_empty() => v.clone(),
        _ => known.get(name).cloned().unwrap_or_default(),
    }
}

fn port_of(addr: &str) -> u16 {
    addr.rsplit_once(':')
        .and_then(|(_, p)| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {addr:?}"))
}

/// A probe's or Service's port (a number or a port name) as a number.
fn resolve_port(port: &Value, container: &Value) -> u16 {
    if let Some(n) = port.as_u64() {
        return n as u16;
    }
    let name = port.as_str().expect("a port is a number or a name");
    container["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["name"] == name)
        .and_then(|p| p["containerPort"].as_u64())
        .unwrap_or_else(|| panic!("no container port named {name:?}")) as u16
}

// ---------------------------------------------------------------------------------------------
// Schema: every document is a Kubernetes object whose every field is known.

fn round_trip<T: DeserializeOwned + Serialize>(doc: &Value) -> Result<Value, String> {
    let typed: T = serde_json::from_value(doc.clone()).map_err(|e| e.to_string())?;
    serde_json::to_value(&typed).map_err(|e| e.to_string())
}

/// Fields of `orig` that are missing or different in `back`: what the API types did not know.
fn lost(orig: &Value, back: &Value, path: &str, out: &mut Vec<String>) {
    match (orig, back) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in a {
                match b.get(k) {
                    Some(w) => lost(v, w, &format!("{path}.{k}"), out),
                    None => out.push(format!("{path}.{k} (unknown field)")),
                }
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (v, w)) in a.iter().zip(b).enumerate() {
                lost(v, w, &format!("{path}[{i}]"), out);
            }
        }
        _ if orig == back => {}
        _ => out.push(format!("{path}: {orig} became {back}")),
    }
}

fn check_schema(m: &Manifest) -> Result<(), String> {
    use k8s_openapi::api::{apps, batch, core, rbac};
    let back = match (m.doc["apiVersion"].as_str().unwrap_or(""), m.kind()) {
        ("apps/v1", "DaemonSet") => round_trip::<apps::v1::DaemonSet>(&m.doc),
        ("apps/v1", "Deployment") => round_trip::<apps::v1::Deployment>(&m.doc),
        ("v1", "ConfigMap") => round_trip::<core::v1::ConfigMap>(&m.doc),
        ("v1", "Secret") => round_trip::<core::v1::Secret>(&m.doc),
        ("v1", "Service") => round_trip::<core::v1::Service>(&m.doc),
        ("v1", "ServiceAccount") => round_trip::<core::v1::ServiceAccount>(&m.doc),
        ("batch/v1", "CronJob") => round_trip::<batch::v1::CronJob>(&m.doc),
        ("batch/v1", "Job") => round_trip::<batch::v1::Job>(&m.doc),
        ("rbac.authorization.k8s.io/v1", "ClusterRole") => round_trip::<rbac::v1::ClusterRole>(&m.doc),
        ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding") => {
            round_trip::<rbac::v1::ClusterRoleBinding>(&m.doc)
        }
        ("rbac.authorization.k8s.io/v1", "Role") => round_trip::<rbac::v1::Role>(&m.doc),
        ("rbac.authorization.k8s.io/v1", "RoleBinding") => round_trip::<rbac::v1::RoleBinding>(&m.doc),
        (api, kind) => {
            return Err(format!(
                "{kind} {api}: not a kind this test knows (an old apiVersion, or add it to check_schema)"
            ))
        }
    }?;
    let mut diffs = Vec::new();
    lost(&m.doc, &back, "", &mut diffs);
    if diffs.is_empty() {
        Ok(())
    } else {
        Err(diffs.join("; "))
    }
}

#[test]
fn every_manifest_is_a_kubernetes_object_with_known_fields() {
    let all = manifests();
    assert!(!all.is_empty(), "no manifests under deploy/");
    let mut problems = Vec::new();
    for m in all.iter().filter(|m| m.kind() != "Kustomization") {
        if m.name().is_empty() {
            problems.push(format!("{}: a {} without metadata.name", m.file, m.kind()));
            continue;
        }
        if let Err(e) = check_schema(m) {
            problems.push(format!("{}: {} {}: {e}", m.file, m.kind(), m.name()));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_schema_check_catches_a_misspelt_field() {
    let all = manifests();
    let mut doc = daemonset(&all).doc.clone();
    doc["spec"]["template"]["spec"]["containers"][0]["securityContext"]["readOnlyRootFileSystem"] =
        Value::Bool(true);
    let m = Manifest {
        file: "daemonset.yaml".into(),
        doc,
    };
    let err = check_schema(&m).expect_err("a misspelt field must be reported");
    assert!(err.contains("readOnlyRootFileSystem"), "{err}");
}

#[test]
fn the_kustomization_lists_every_manifest_and_builds() {
    let all = manifests();
    let k = find(&all, "Kustomization", "");
    let listed: BTreeSet<String> = k.doc["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .map(|r| r.as_str().expect("a resource is a file name").to_owned())
        .collect();
    let files: BTreeSet<String> = yaml_files()
        .iter()
        .map(|p| file_name(p))
        .filter(|f| f != "kustomization.yaml")
        .collect();
    assert_eq!(
        listed, files,
        "kustomization.yaml resources vs the files in deploy/"
    );

    // Every image of ours is one the kustomization can retarget; another name would silently
    // keep pulling the default.
    let images: BTreeSet<&str> = k.doc["images"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i["name"].as_str())
        .collect();
    for (file, image) in
        logship_containers(&all).map(|(m, c)| (&m.file, c["image"].as_str().unwrap_or("")))
    {
        let repo = image.rsplit_once(':').map_or(image, |(r, _)| r);
        assert!(
            images.contains(repo),
            "{file}: image {image} is not in kustomization images {images:?}"
        );
    }

    if Command::new("kubectl")
        .arg("version")
        .arg("--client")
        .output()
        .is_err()
    {
        eprintln!("kubectl is not installed: `kubectl kustomize deploy/` not checked");
        return;
    }
    let out = Command::new("kubectl")
        .arg("kustomize")
        .arg(deploy_dir())
        .output()
        .expect("run kubectl kustomize");
    assert!(
        out.status.success(),
        "kubectl kustomize deploy/ failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let built: Vec<Value> =
        serde_saphyr::from_multiple(&String::from_utf8(out.stdout).expect("UTF-8"))
            .expect("kustomize output is YAML");
    let built_kinds: BTreeSet<(String, String)> = built
        .iter()
        .map(|d| {
            (
                d["kind"].as_str().unwrap_or("").to_owned(),
                d["metadata"]["name"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    for m in all.iter().filter(|m| m.kind() != "Kustomization") {
        assert!(
            built_kinds.contains(&(m.kind().to_owned(), m.name().to_owned())),
            "{} {} missing from kubectl kustomize's output",
            m.kind(),
            m.name()
        );
    }
}

static NULL: Value = Value::Null;

/// Every container under deploy/ that runs the logship image, with the manifest it is in.
fn logship_containers(all: &[Manifest]) -> impl Iterator<Item = (&Manifest, &Value)> {
    all.iter().flat_map(|m| {
        let spec = match m.kind() {
            "DaemonSet" | "Deployment" | "Job" => &m.doc["spec"]["template"]["spec"],
            "CronJob" => &m.doc["spec"]["jobTemplate"]["spec"]["template"]["spec"],
            _ => &NULL,
        };
        ["initContainers", "containers"]
            .into_iter()
            .flat_map(move |key| spec[key].as_array().into_iter().flatten())
            .filter(|c| c["image"].as_str().is_some_and(|i| i.contains("logship")))
            .map(move |c| (m, c))
    })
}

// ---------------------------------------------------------------------------------------------
// Settings: the ConfigMap speaks the agent's language.

#[test]
fn every_setting_in_the_manifests_is_one_the_agent_knows() {
    let all = manifests();
    let known = agent_settings();
    let cm = settings(&all);

    // The check itself: a name the agent does not read is caught.
    assert_eq!(
        unknown(["ES_SERVER", "LOGSHIP_NOT_A_SETTING"], &known),
        ["LOGSHIP_NOT_A_SETTING"]
    );

    let bad = unknown(cm.keys().map(String::as_str), &known);
    assert!(
        bad.is_empty(),
        "configmap.yaml: the agent reads no such setting: {bad:?}"
    );
    for (m, c) in logship_containers(&all) {
        let names = c["env"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["name"].as_str());
        let bad = unknown(names, &known);
        assert!(
            bad.is_empty(),
            "{}: env the agent does not read: {bad:?}",
            m.file
        );
        for from in c["envFrom"].as_array().into_iter().flatten() {
            let name = from["configMapRef"]["name"]
                .as_str()
                .expect("envFrom a ConfigMap");
            let target = find(&all, "ConfigMap", name);
            assert_eq!(
                target.namespace(),
                m.namespace(),
                "{}: envFrom {name} in another namespace",
                m.file
            );
        }
    }
}

#[test]
fn the_configmap_ships_the_agents_defaults_and_they_are_valid() {
    let all = manifests();
    let known = agent_settings();
    let cm = settings(&all);
    // Every cluster setting is there (users look for them by these names).
    for name in [
        "LOG_NODE_COUNT",
        "IN_CLUSTER_ES",
        "ELK_SERVICE_HOSTS",
        "ES_SERVER",
        "FLUENT_FORWARD_SERVER",
        "KEEP_LOG_DAYS",
        "KUBE_LOG_LEVEL",
        "LOGSHIP_LOG",
    ] {
        assert!(cm.contains_key(name), "configmap.yaml lacks {name}");
    }
    // The file shows the defaults; a copy that drifted from the agent would override a changed
    // default without anyone noticing.
    for (name, value) in &cm {
        if let Some(default) = known.get(name) {
            assert_eq!(
                value, default,
                "configmap.yaml: {name} differs from the agent's default"
            );
        }
    }

    // The agent accepts them. No ES is set by default, so the output is stdout for the check.
    let out = Command::new(BIN)
        .arg("check-config")
        .env_clear()
        .envs(&cm)
        .env("NODE_NAME", "node-1")
        .env("LOGSHIP_OUTPUT", "stdout")
        .output()
        .expect("run logship check-config");
    assert!(
        out.status.success(),
        "logship check-config refuses configmap.yaml:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

// ---------------------------------------------------------------------------------------------
// The DaemonSet.

#[test]
fn probes_and_scrape_annotations_point_at_the_agents_endpoint() {
    let all = manifests();
    let known = agent_settings();
    let cm = settings(&all);
    let ds = daemonset(&all);
    let c = agent_container(ds);
    let port = port_of(&effective("LOGSHIP_HTTP_ADDR", &cm, &known));

    let probe = |kind: &str| {
        let get = &c[kind]["httpGet"];
        assert!(get.is_object(), "{kind} is not an httpGet probe");
        assert!(
            get["scheme"].is_null() || get["scheme"] == "HTTP",
            "{kind}: the agent serves plain HTTP"
        );
        assert_eq!(
            resolve_port(&get["port"], c),
            port,
            "{kind} port vs LOGSHIP_HTTP_ADDR"
        );
        get["path"].as_str().expect("probe path").to_owned()
    };
    let live = probe("livenessProbe");
    let ready = probe("readinessProbe");
    assert_eq!(live, "/healthz");
    assert_eq!(ready, "/readyz");

    let ann = &ds.doc["spec"]["template"]["metadata"]["annotations"];
    assert_eq!(ann["prometheus.io/scrape"], "true");
    assert_eq!(
        ann["prometheus.io/port"],
        port.to_string().as_str(),
        "prometheus.io/port vs LOGSHIP_HTTP_ADDR"
    );
    assert_eq!(ann["prometheus.io/path"], "/metrics");

    // The metrics Service, if any, reaches the same port.
    for svc in all
        .iter()
        .filter(|m| m.kind() == "Service" && m.name() == "logship-metrics")
    {
        for p in svc.doc["spec"]["ports"].as_array().expect("ports") {
            assert_eq!(
                resolve_port(&p["targetPort"], c),
                port,
                "{}: targetPort",
                svc.file
            );
        }
    }

    // The paths are the ones the agent serves: start it with the ConfigMap's settings (local
    // input and output) and ask them.
    let dir = tempfile::tempdir().expect("temp dir");
    let free = TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .unwrap()
        .port();
    let log = dir.path().join("agent.log");
    let mut agent = Agent(
        Command::new(BIN)
            .arg("run")
            .env_clear()
            .envs(&cm)
            .env("LOGSHIP_OUTPUT", "stdout")
            .env(
                "LOGSHIP_INPUT_GLOB",
                format!("{}/*.log", dir.path().display()),
            )
            .env("LOGSHIP_STATE_DIR", dir.path().join("state"))
            .env("LOGSHIP_HTTP_ADDR", format!("127.0.0.1:{free}"))
            .env("LOGSHIP_FORWARD_LISTEN", "127.0.0.1:0")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("agent log"))
            .spawn()
            .expect("start logship run"),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    for path in [live.as_str(), ready.as_str(), "/metrics"] {
        loop {
            let status = http_get(free, path);
            if status == Some(200) {
                break;
            }
            let exited = agent.0.try_wait().expect("wait for the agent");
            if exited.is_some() || Instant::now() > deadline {
                let stderr = std::fs::read_to_string(&log).unwrap_or_default();
                panic!("GET {path}: {status:?}, expected 200 (agent exit: {exited:?})\n{stderr}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    drop(agent);
}

/// Kills the agent when the test ends, however it ends.
struct Agent(Child);

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The status of `GET path`, or None when nothing answers.
fn http_get(port: u16, path: &str) -> Option<u16> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut head = String::new();
    s.read_to_string(&mut head).ok()?;
    head.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn host_paths_are_mounted_where_the_agent_looks() {
    let all = manifests();
    let known = agent_settings();
    let cm = settings(&all);
    let ds = daemonset(&all);
    let spec = pod_spec(ds);
    let c = agent_container(ds);
    let volumes: BTreeMap<&str, &Value> = spec["volumes"]
        .as_array()
        .expect("volumes")
        .iter()
        .map(|v| (v["name"].as_str().expect("volume name"), v))
        .collect();
    let state_dir = effective("LOGSHIP_STATE_DIR", &cm, &known);

    // (host path, mount path, read-only) of every hostPath mount.
    let mut mounts = Vec::new();
    for m in c["volumeMounts"].as_array().expect("volumeMounts") {
        let vol = volumes[m["name"].as_str().expect("mount name")];
        if let Some(host) = vol["hostPath"]["path"].as_str() {
            let mount = m["mountPath"].as_str().expect("mountPath");
            let ro = m["readOnly"].as_bool().unwrap_or(false);
            // Symlinks (/var/log/containers -> /var/log/pods -> .../containers/<id>) resolve
            // inside the container only if every host path is at the same path there.
            assert_eq!(host, mount, "hostPath {host} is mounted at {mount}");
            if mount == state_dir {
                assert!(!ro, "the state dir {state_dir} must be writable");
                assert_eq!(
                    vol["hostPath"]["type"], "DirectoryOrCreate",
                    "state dir volume type"
                );
            } else {
                assert!(ro, "{mount}: log directories are mounted read-only");
            }
            mounts.push(mount.to_owned());
        }
    }
    for needed in ["/var/log", "/var/lib/docker/containers", state_dir.as_str()] {
        assert!(
            mounts.iter().any(|m| m == needed),
            "no hostPath mount at {needed}: {mounts:?}"
        );
    }
    // Every input glob lies under a mount.
    for glob in effective("LOGSHIP_INPUT_GLOB", &cm, &known).split(',') {
        let glob = glob.trim();
        assert!(
            mounts.iter().any(|m| glob.starts_with(&format!("{m}/"))),
            "LOGSHIP_INPUT_GLOB {glob} is not under any hostPath mount {mounts:?}"
        );
    }

    // The journald input, which the DaemonSet turns on, finds the journal it reads.
    let journald_on = c["env"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["name"] == "LOGSHIP_JOURNALD")
        .and_then(|e| e["value"].as_str())
        == Some("true");
    assert!(
        journald_on,
        "the DaemonSet ships docker's and kubelet's journal"
    );
    let journal_dir = effective("LOGSHIP_JOURNAL_DIR", &cm, &known);
    let journals = if journal_dir.is_empty() {
        vec!["/var/log/journal".to_owned(), "/run/log/journal".to_owned()]
    } else {
        vec![journal_dir]
    };
    for journal in journals {
        assert!(
            mounts
                .iter()
                .any(|m| journal == *m || journal.starts_with(&format!("{m}/"))),
            "the journal {journal} is not under any hostPath mount {mounts:?}"
        );
    }

    // The node name comes from the downward API.
    let node = c["env"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["name"] == "NODE_NAME")
        .expect("NODE_NAME in env");
    assert_eq!(node["valueFrom"]["fieldRef"]["fieldPath"], "spec.nodeName");
    // And the node's IP, where the kubelet metrics source finds the kubelet.
    let ip = c["env"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["name"] == "NODE_IP")
        .expect("NODE_IP in env");
    assert_eq!(ip["valueFrom"]["fieldRef"]["fieldPath"], "status.hostIP");
}

#[test]
fn the_daemonset_runs_everywhere_safely_and_rolls_one_node_at_a_time() {
    let all = manifests();
    let ds = daemonset(&all);
    let spec = pod_spec(ds);
    let c = agent_container(ds);

    // Every node, like the original: a toleration without a key tolerates every taint.
    let everywhere = spec["tolerations"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|t| t["operator"] == "Exists" && t["key"].is_null() && t["effect"].is_null());
    assert!(
        everywhere,
        "no `operator: Exists` toleration without key and effect"
    );
    assert_eq!(spec["priorityClassName"], "system-node-critical");

    let update = &ds.doc["spec"]["updateStrategy"];
    assert_eq!(update["type"], "RollingUpdate");
    assert_eq!(update["rollingUpdate"]["maxUnavailable"], 1);
    // Two agents on one node would share the state dir.
    assert!(
        matches!(update["rollingUpdate"]["maxSurge"].as_u64(), None | Some(0)),
        "maxSurge must be 0"
    );

    // The agent drains for up to 10 s after SIGTERM; the kubelet must wait longer.
    let grace = spec["terminationGracePeriodSeconds"]
        .as_u64()
        .expect("terminationGracePeriodSeconds");
    assert!(
        grace > 10,
        "terminationGracePeriodSeconds {grace} leaves no time to drain"
    );

    let sc = &c["securityContext"];
    assert_eq!(sc["runAsUser"], 0, "root-owned 0640 logs need uid 0");
    assert_eq!(sc["allowPrivilegeEscalation"], false);
    assert_eq!(sc["readOnlyRootFilesystem"], true);
    assert_eq!(sc["capabilities"]["drop"], serde_json::json!(["ALL"]));
    assert!(
        sc["capabilities"]["add"].is_null(),
        "no capability is needed"
    );

    let res = &c["resources"];
    for key in ["requests", "limits"] {
        for what in ["cpu", "memory"] {
            assert!(
                res[key][what].is_string(),
                "resources.{key}.{what} is not set"
            );
        }
    }

    // The ServiceAccount exists where the DaemonSet runs, and is bound to a ClusterRole that
    // can read what the agent reads.
    let sa = spec["serviceAccountName"]
        .as_str()
        .expect("serviceAccountName");
    let account = find(&all, "ServiceAccount", sa);
    assert_eq!(
        account.namespace(),
        ds.namespace(),
        "ServiceAccount {sa} namespace"
    );
    let bound_roles: Vec<&str> = all
        .iter()
        .filter(|m| m.kind() == "ClusterRoleBinding")
        .filter(|m| {
            m.doc["subjects"].as_array().into_iter().flatten().any(|s| {
                s["kind"] == "ServiceAccount" && s["name"] == sa && s["namespace"] == ds.namespace()
            })
        })
        .filter_map(|m| m.doc["roleRef"]["name"].as_str())
        .collect();
    // Pods and namespaces for the kubernetes metadata; the Node object and the kubelet's
    // /stats/summary (authorized as `get nodes/stats`) for the kubelet metrics.
    let wanted: [(&str, &[&str]); 4] = [
        ("pods", &["get", "list", "watch"]),
        ("namespaces", &["get", "list", "watch"]),
        ("nodes", &["get"]),
        ("nodes/stats", &["get"]),
    ];
    for (resource, verbs) in wanted {
        let granted = bound_roles.iter().any(|role| {
            find(&all, "ClusterRole", role).doc["rules"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|r| {
                    let has = |key: &str, v: &str| {
                        r[key]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .any(|x| x == v || x == "*")
                    };
                    has("resources", resource) && verbs.iter().all(|verb| has("verbs", verb))
                })
        });
        assert!(
            granted,
            "ServiceAccount {sa} may not {} {resource}",
            verbs.join("/")
        );
    }

    // Every logship container runs a subcommand the binary has.
    for (m, c) in logship_containers(&all) {
        let args: Vec<&str> = c["command"]
            .as_array()
            .into_iter()
            .flatten()
            .skip(1) // the binary itself, when the entrypoint is overridden
            .chain(c["args"].as_array().into_iter().flatten())
            .filter_map(Value::as_str)
            .collect();
        let sub = args.first().copied().unwrap_or("run");
        let ok = Command::new(BIN)
            .args([sub, "--help"])
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(ok, "{}: logship has no subcommand {sub:?}", m.file);
    }
}

// ---------------------------------------------------------------------------------------------
// Kibana saved objects.

#[test]
fn kibana_saved_objects_import_line_by_line() {
    let path = repo().join("docs/kibana/saved-objects.ndjson");
    let text = std::fs::read_to_string(&path).expect("read saved-objects.ndjson");
    let objects: Vec<Value> = text
        .lines()
        .enumerate()
        .map(|(i, line)| {
            serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("saved-objects.ndjson line {}: {e}", i + 1))
        })
        .collect();

    let mut ids = BTreeSet::new();
    for o in &objects {
        for key in ["id", "type"] {
            assert!(o[key].is_string(), "an object without {key}: {o}");
        }
        assert!(
            o["attributes"]["title"].is_string(),
            "an object without a title: {o}"
        );
        assert!(
            ids.insert((o["type"].as_str(), o["id"].as_str())),
            "duplicate id {}",
            o["id"]
        );
    }

    let patterns: BTreeMap<&str, (&str, &str)> = objects
        .iter()
        .filter(|o| o["type"] == "index-pattern")
        .map(|o| {
            let a = &o["attributes"];
            (
                a["title"].as_str().unwrap(),
                (
                    a["timeFieldName"].as_str().unwrap_or(""),
                    o["id"].as_str().unwrap(),
                ),
            )
        })
        .collect();
    let expected = [
        ("logstash-*", "@timestamp"),
        ("heapster-cpu-*", "CpuMetricsTimestamp"),
        ("heapster-memory-*", "MemoryMetricsTimestamp"),
        ("heapster-network-*", "NetworkMetricsTimestamp"),
        ("heapster-filesystem-*", "FilesystemMetricsTimestamp"),
    ];
    for (title, time) in expected {
        assert_eq!(
            patterns.get(title).map(|p| p.0),
            Some(time),
            "index pattern {title}"
        );
    }

    let search = objects
        .iter()
        .find(|o| o["type"] == "search" && o["attributes"]["title"] == "log message")
        .expect("the saved search \"log message\"");
    let a = &search["attributes"];
    assert_eq!(
        a["columns"],
        serde_json::json!([
            "kubernetes.pod_name",
            "kubernetes.namespace_name",
            "kubernetes.docker_id",
            "log",
            "stream",
            "time"
        ])
    );
    assert_eq!(a["sort"], serde_json::json!([["@timestamp", "desc"]]));
    // The search finds its index pattern through a reference named in searchSourceJSON.
    let source: Value = serde_json::from_str(
        a["kibanaSavedObjectMeta"]["searchSourceJSON"]
            .as_str()
            .expect("searchSourceJSON"),
    )
    .expect("searchSourceJSON is JSON");
    let ref_name = source["indexRefName"].as_str().expect("indexRefName");
    let reference = search["references"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["name"] == ref_name)
        .expect("the reference indexRefName names");
    assert_eq!(reference["type"], "index-pattern");
    assert_eq!(
        reference["id"], patterns["logstash-*"].1,
        "the search is on logstash-*"
    );
}
