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
