//! Cross-check with the official client: Debian's python3-elasticsearch (elasticsearch-py 7.17)
//! runs tests/py/es_client_check.py against the `es-double` binary of every version.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// Debian's interpreter, which has the apt-installed module (a pyenv one may come first on PATH).
const PYTHON: &str = "/usr/bin/python3";
const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/py/es_client_check.py");

/// The es-double process; killed (by its own pid) when dropped.
struct Server {
    child: Child,
    url: String,
}

impl Server {
    fn spawn(version: &str, port_file: &std::path::Path) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_es-double"))
            .args(["--port", "0", "--version", version, "--port-file"])
            .arg(port_file)
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn es-double");
        // The URL line comes once the socket is bound and the port file written.
        let mut url = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut url)
            .expect("read url");
        Server {
            child,
            url: url.trim().to_string(),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn client_available() -> bool {
    Command::new(PYTHON)
        .args(["-c", "import elasticsearch"])
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

#[test]
fn official_python_client_accepts_the_double() {
    if !client_available() {
        if std::env::var_os("CI").is_some() {
            panic!("{PYTHON} cannot import elasticsearch: .ci/run must install python3-elasticsearch (.ci/install-test-deps.sh does)");
        }
        println!("SKIP official_python_client_accepts_the_double: {PYTHON} cannot import elasticsearch (apt-get install python3-elasticsearch)");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    for version in ["7.17.27", "6.8.23", "8.17.0", "5.6.16", "opensearch-2.13.0"] {
        let port_file = dir.path().join(format!("{version}.port"));
        let server = Server::spawn(version, &port_file);
        let port = std::fs::read_to_string(&port_file).expect("port file");
        assert_eq!(
            server.url,
            format!("http://127.0.0.1:{}", port.trim()),
            "--port-file and the printed URL agree"
        );
        let out = Command::new(PYTHON)
            .arg(SCRIPT)
            .arg(&server.url)
            .arg(version)
            .output()
            .expect("run python");
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert!(out.status.success(), "{version}: {stdout}\n{stderr}");
        assert!(
            stdout.starts_with(&format!("ok: {version}")),
            "{version}: {stdout}"
        );
        println!("{}", stdout.trim());
    }
}
