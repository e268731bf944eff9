//! Shared pieces of the end-to-end tests: a node-like log directory written line by line with
//! known content, and the real `logship` binary started as a child process.

#![allow(dead_code)]

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_logship");

/// A fake node: real files under `pods/`, kubelet-style symlinks under `containers/`.
pub struct Node {
    pub dir: tempfile::TempDir,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Docker,
    Cri,
}

impl Node {
    pub fn new() -> Node {
        let dir = tempfile::tempdir().expect("temp dir");
        fs::create_dir_all(dir.path().join("containers")).expect("mkdir");
        fs::create_dir_all(dir.path().join("pods")).expect("mkdir");
        Node { dir }
    }

    pub fn glob(&self) -> String {
        format!("{}/containers/*.log", self.dir.path().display())
    }

    pub fn state_dir(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    /// What an agent under test is given: ship to `es_url`, tail this node's files, keep its
    /// state here, and flush and look for files every 100 ms (the tests wait on both).
    pub fn agent_env(&self, es_url: String) -> Vec<(&'static str, String)> {
        vec![
            ("ES_SERVER", es_url),
            ("LOGSHIP_INPUT_GLOB", self.glob()),
            ("LOGSHIP_STATE_DIR", self.state_dir().display().to_string()),
            ("LOGSHIP_FLUSH_INTERVAL", "100ms".into()),
            ("LOGSHIP_REFRESH_INTERVAL", "100ms".into()),
        ]
    }

    /// A container log file with its symlink; returns the file to write to.
    pub fn container(&self, pod: &str, ns: &str, container: &str, id_seed: u32) -> LogFile {
        let id = container_id(id_seed);
        let real_dir = self
            .dir
            .path()
            .join("pods")
            .join(format!("{ns}_{pod}_uid{id_seed}"))
            .join(container);
        fs::create_dir_all(&real_dir).expect("mkdir");
        let real = real_dir.join("0.log");
        File::create(&real).expect("create");
        let link = self
            .dir
            .path()
            .join("containers")
            .join(format!("{pod}_{ns}_{container}-{id}.log"));
        std::os::unix::fs::symlink(&real, &link).expect("symlink");
        LogFile {
            path: real,
            link,
            docker_id: id,
            pod: pod.to_owned(),
        }
    }

    /// A container log file for a given container id, to match a pod's status in the API.
    pub fn container_with_id(&self, pod: &str, ns: &str, container: &str, id: &str) -> LogFile {
        let real_dir = self
            .dir
            .path()
            .join("pods")
            .join(format!("{ns}_{pod}_{}", &id[..12]))
            .join(container);
        fs::create_dir_all(&real_dir).expect("mkdir");
        let real = real_dir.join("0.log");
        File::create(&real).expect("create");
        let link = self
            .dir
            .path()
            .join("containers")
            .join(format!("{pod}_{ns}_{container}-{id}.log"));
        std::os::unix::fs::symlink(&real, &link).expect("symlink");
        LogFile {
            path: real,
            link,
            docker_id: id.to_owned(),
            pod: pod.to_owned(),
        }
    }

    /// A plain file directly in `containers/` (not kubelet's naming).
    pub fn plain_file(&self, name: &str) -> LogFile {
        let path = self.dir.path().join("containers").join(name);
        File::create(&path).expect("create");
        LogFile {
            link: path.clone(),
            path,
            docker_id: String::new(),
            pod: String::new(),
        }
    }
}

pub fn container_id(seed: u32) -> String {
    let mut s = String::new();
    let mut x = (seed as u64)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(1);
    while s.len() < 64 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s.push_str(&format!("{:016x}", x));
    }
    s.truncate(64);
    s
}

pub struct LogFile {
    pub path: PathBuf,
    pub link: PathBuf,
    pub docker_id: String,
    pub pod: String,
}

impl LogFile {
    pub fn append(&self, bytes: &[u8]) {
        let mut f = OpenOptions::new()
            .append(true)
            .open(&self.path)
            .expect("open");
        f.write_all(bytes).expect("write");
    }

    pub fn tag(&self) -> String {
        let p = self.link.to_string_lossy();
        format!("kube.{}", p.trim_start_matches('/').replace('/', "."))
    }
}

/// `env` with `key` set to `value`, in place when it is there already.
pub fn with_env(
    mut env: Vec<(&'static str, String)>,
    key: &'static str,
    value: impl Into<String>,
) -> Vec<(&'static str, String)> {
    match env.iter_mut().find(|(k, _)| *k == key) {
        Some(entry) => entry.1 = value.into(),
        None => env.push((key, value.into())),
    }
    env
}

/// A Docker json-file line for `msg` (a newline is added unless `partial`).
pub fn docker_line(msg: &str, stream: &str, time: &str, partial: bool) -> String {
    let log = if partial {
        msg.to_owned()
    } else {
        format!("{msg}\n")
    };
    format!(
        "{{\"log\":{},\"stream\":\"{stream}\",\"time\":\"{time}\"}}\n",
        serde_json::to_string(&log).expect("json")
    )
}

pub fn cri_line(msg: &str, stream: &str, time: &str, partial: bool) -> String {
    format!(
        "{time} {stream} {} {msg}\n",
        if partial { "P" } else { "F" }
    )
}

pub fn line(format: Format, msg: &str, stream: &str, time: &str) -> String {
    match format {
        Format::Docker => docker_line(msg, stream, time, false),
        Format::Cri => cri_line(msg, stream, time, false),
    }
}

/// The `log` field as the agent ships it for a message (Docker keeps the newline, CRI has none).
pub fn shipped_log(format: Format, msg: &str) -> String {
    match format {
        Format::Docker => format!("{msg}\n"),
        Format::Cri => msg.to_owned(),
    }
}

/// The real agent, as a child process with a hermetic environment.
pub struct Agent {
    child: Option<Child>,
    stderr: PathBuf,
    pub stdout: PathBuf,
}

impl Agent {
    pub fn start(dir: &Path, args: &[&str], env: &[(&str, String)]) -> Agent {
        let stderr = dir.join(format!("agent-{}.stderr", unique()));
        let stdout = dir.join(format!("agent-{}.stdout", unique()));
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("LOGSHIP_HTTP_ADDR", "127.0.0.1:0")
            // Tests run agents side by side: none takes the forward port unless it asks.
            .env("LOGSHIP_FORWARD_LISTEN", "off")
            .env("LOGSHIP_LOG", "info")
            .stdin(Stdio::null())
            .stdout(File::create(&stdout).expect("stdout file"))
            .stderr(File::create(&stderr).expect("stderr file"));
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("start logship");
        Agent {
            child: Some(child),
            stderr,
            stdout,
        }
    }

    pub fn pid(&self) -> i32 {
        self.child.as_ref().map_or(0, |c| c.id() as i32)
    }

    pub fn stderr(&self) -> String {
        fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// SIGTERM, then waits for the exit (the agent drains within its grace period).
    pub fn terminate(mut self) -> (ExitStatus, String) {
        let mut child = self.child.take().expect("running");
        unsafe {
            libc::kill(child.id() as i32, libc::SIGTERM);
        }
        let status = wait_timeout(&mut child, Duration::from_secs(30));
        (status, self.stderr())
    }

    /// SIGKILL: no chance to drain or record anything.
    pub fn kill9(mut self) {
        let mut child = self.child.take().expect("running");
        unsafe {
            libc::kill(child.id() as i32, libc::SIGKILL);
        }
        wait_timeout(&mut child, Duration::from_secs(10));
    }

    /// Peak resident memory so far (VmHWM), in bytes.
    pub fn peak_rss(&self) -> u64 {
        let status = fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024)
    }

    /// Resident anonymous memory now (RssAnon: heap, stacks; not the binary's pages), in bytes.
    pub fn anon_rss(&self) -> u64 {
        let status = fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("RssAnon:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024)
    }

    /// Waits for the agent to exit by itself.
    pub fn wait(mut self, timeout: Duration) -> (ExitStatus, String) {
        let mut child = self.child.take().expect("running");
        let status = wait_timeout(&mut child, timeout);
        (status, self.stderr())
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn wait_timeout(child: &mut Child, timeout: Duration) -> ExitStatus {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("logship did not exit within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// Polls `cond` until it holds or `timeout` passes; returns whether it held.
pub fn eventually(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// The address the agent's HTTP endpoint bound (it logs it at start-up).
pub fn http_addr(agent: &Agent) -> Option<String> {
    let log = agent.stderr();
    let line = log.lines().find(|l| l.contains("serving /metrics"))?;
    let start = line.find("addr")? + "addr".len();
    let rest: String = line[start..]
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ':')
        .collect();
    Some(rest)
}

/// A metric's value from `/metrics` (`name{labels} value`, labels as written), if present.
pub fn metric_value(agent: &Agent, series: &str) -> Option<f64> {
    let addr = http_addr(agent)?;
    let (_, text) = http_get(&addr, "/metrics");
    text.lines().find_map(|l| {
        l.strip_prefix(series)?
            .strip_prefix(' ')?
            .trim()
            .parse()
            .ok()
    })
}

/// A plain HTTP/1.1 GET: (status, body).
pub fn http_get(addr: &str, path: &str) -> (u16, String) {
    use std::io::Read;
    let Ok(mut s) = std::net::TcpStream::connect(addr) else {
        return (0, String::new());
    };
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut resp = String::new();
    s.read_to_string(&mut resp).expect("read");
    let status = resp
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = resp
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// `logship check-config` with exactly `env`: (exit code, stdout and stderr together).
pub fn check_config(env: &[(&'static str, String)]) -> (i32, String) {
    let out = Command::new(BIN)
        .arg("check-config")
        .env_clear()
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .expect("check-config");
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}
