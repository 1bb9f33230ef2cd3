//! Test harness for end-to-end tests of the `rkube` binary: starts a real
//! `rkube server` on a free port with its own data directory, waits until it
//! answers `/readyz`, runs the real `kubectl` against it, and kills the
//! server by PID when dropped. Every test gets its own server so tests run in
//! parallel under nextest without sharing state.

#![allow(dead_code)] // each test binary uses a different subset of the harness

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// How long a server gets to become ready; generous because CI has two cores
/// and many servers start at once.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// Upper bound for one kubectl invocation, so a hung command fails the test
/// instead of hanging the run.
pub const KUBECTL_TIMEOUT: Duration = Duration::from_secs(60);

/// The outcome of one command: exit status, stdout and stderr as text.
#[derive(Debug)]
pub struct Output {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn success(&self) -> bool {
        self.status.success()
    }
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }
    /// Panics with both streams when the command failed: the message is the
    /// whole diagnosis a reader of the CI log gets.
    #[track_caller]
    pub fn ok(self) -> Self {
        assert!(
            self.status.success(),
            "command failed ({}):\nstdout:\n{}\nstderr:\n{}",
            self.status,
            self.stdout,
            self.stderr
        );
        self
    }
    /// Asserts failure and returns the output for checks on stderr.
    #[track_caller]
    pub fn fails(self) -> Self {
        assert!(
            !self.status.success(),
            "command unexpectedly succeeded:\nstdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        self
    }
}

/// Put in `extra` to run the server with its local node agent (real
/// containerd); without it every test server is control plane only.
pub const WITH_AGENT: &str = "--with-agent";

/// A running `rkube server`.
pub struct Server {
    child: Option<Child>,
    /// Owns the temporary directory when the server created it.
    _tmp: Option<tempfile::TempDir>,
    pub data_dir: PathBuf,
    pub kubeconfig: PathBuf,
    pub url: String,
    pub port: u16,
    log: PathBuf,
}

/// Path of the binary under test.
pub fn rkube_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_rkube"))
}

/// A port that was free a moment ago (bind port 0, note it, release it), for
/// tests that must restart a server on the same address.
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local_addr").port()
}

impl Server {
    /// A fresh server with the default (SQLite) datastore in a new temp dir.
    pub fn start() -> Server {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().to_path_buf();
        let mut s = Server::start_in(&dir, 0, &[]);
        s._tmp = Some(tmp);
        s
    }

    /// A fresh server in a new temp dir with extra command-line flags
    /// (e.g. `--sim-nodes 3` for a cluster with simulated nodes).
    pub fn start_with(extra: &[&str]) -> Server {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().to_path_buf();
        let mut s = Server::start_in(&dir, 0, extra);
        s._tmp = Some(tmp);
        s
    }

    /// `kubectl get … -o json` parsed.
    pub fn get_json(&self, args: &[&str]) -> serde_json::Value {
        let mut a = vec!["get"];
        a.extend_from_slice(args);
        a.extend_from_slice(&["-o", "json"]);
        json(&self.kubectl(&a).ok())
    }

    /// Poll `cond` every 250 ms until it holds; panic after `timeout`,
    /// saying what was awaited and showing the server log's tail.
    #[track_caller]
    pub fn eventually(&self, timeout: Duration, what: &str, mut cond: impl FnMut() -> bool) {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if cond() {
                return;
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        let log = self.log_text();
        let tail: Vec<&str> = log.lines().rev().take(40).collect();
        panic!(
            "timed out after {timeout:?} waiting for {what}\nserver log tail:\n{}",
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        );
    }

    /// A server on `data_dir` (kept by the caller, so it can be restarted) on
    /// `port` (0 = any), with extra command-line flags.
    pub fn start_in(data_dir: &Path, port: u16, extra: &[&str]) -> Server {
        std::fs::create_dir_all(data_dir).expect("create data dir");
        let kubeconfig = data_dir.join("kubeconfig");
        // A kubeconfig left by an earlier run must not be mistaken for
        // readiness of this one.
        let _ = std::fs::remove_file(&kubeconfig);
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let log = data_dir.join(format!("server-{stamp}.log"));
        let log_file = std::fs::File::create(&log).expect("create server log");
        let child = Command::new(rkube_bin())
            .arg("server")
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--bind-address", "127.0.0.1"])
            .args(["--https-port", &port.to_string()])
            // No containers unless the test asks for the node (`--with-agent`
            // is the harness's own marker, not a server flag).
            .args((!extra.contains(&WITH_AGENT)).then_some("--disable-agent"))
            .args(extra.iter().filter(|a| **a != WITH_AGENT))
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()),
            )
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().expect("dup log"))
            .stderr(log_file)
            .spawn()
            .expect("spawn rkube server");
        let mut s = Server {
            child: Some(child),
            _tmp: None,
            data_dir: data_dir.to_path_buf(),
            kubeconfig,
            url: String::new(),
            port: 0,
            log,
        };
        s.wait_ready();
        s
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(st)) = child.try_wait()
            {
                panic!("rkube server exited early ({st}):\n{}", self.log_text());
            }
            if self.url.is_empty()
                && let Ok(text) = std::fs::read_to_string(&self.kubeconfig)
                && let Some(url) = text.lines().find_map(|l| l.trim().strip_prefix("server: "))
            {
                self.url = url.trim().to_string();
                self.port = self
                    .url
                    .rsplit(':')
                    .next()
                    .and_then(|p| p.parse().ok())
                    .unwrap_or(0);
            }
            if !self.url.is_empty() {
                let out = run(
                    Command::new("curl").args([
                        "-sk",
                        "--max-time",
                        "2",
                        &format!("{}/readyz", self.url),
                    ]),
                    None,
                    Duration::from_secs(5),
                );
                if out.success() && out.stdout.trim() == "ok" {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "rkube server not ready after {READY_TIMEOUT:?}:\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The server's log so far (stdout and stderr).
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Graceful stop: SIGTERM, then SIGKILL if it does not exit in time.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(15);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Crash: SIGKILL, no chance to flush anything.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Run kubectl with this server's kubeconfig.
    pub fn kubectl(&self, args: &[&str]) -> Output {
        self.kubectl_stdin(args, None)
    }

    /// Run kubectl with `input` on stdin (for `-f -`).
    pub fn kubectl_stdin(&self, args: &[&str], input: Option<&str>) -> Output {
        run(
            Command::new("kubectl")
                .args(args)
                .env("KUBECONFIG", &self.kubeconfig),
            input,
            KUBECTL_TIMEOUT,
        )
    }

    /// Start kubectl in the background (e.g. `get -w`); read it with
    /// [`Background::wait_for`].
    pub fn kubectl_bg(&self, args: &[&str]) -> Background {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("stdout");
        let err = dir.path().join("stderr");
        let child = Command::new("kubectl")
            .args(args)
            .env("KUBECONFIG", &self.kubeconfig)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out).expect("stdout file"))
            .stderr(std::fs::File::create(&err).expect("stderr file"))
            .spawn()
            .expect("spawn kubectl");
        Background {
            child,
            out,
            err,
            _dir: dir,
        }
    }

    /// Write `text` to a file in the data dir and return its path, for
    /// `kubectl apply -f FILE`.
    pub fn file(&self, name: &str, text: &str) -> PathBuf {
        let p = self.data_dir.join(name);
        std::fs::write(&p, text).expect("write manifest");
        p
    }

    /// The base64 CA from the kubeconfig (to compare across restarts).
    pub fn ca_data(&self) -> String {
        let text = std::fs::read_to_string(&self.kubeconfig).expect("kubeconfig");
        text.lines()
            .find_map(|l| l.trim().strip_prefix("certificate-authority-data: "))
            .expect("certificate-authority-data in kubeconfig")
            .to_string()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// A kubectl process running in the background, output going to files.
pub struct Background {
    child: Child,
    out: PathBuf,
    err: PathBuf,
    _dir: tempfile::TempDir,
}

impl Background {
    pub fn stdout(&self) -> String {
        std::fs::read_to_string(&self.out).unwrap_or_default()
    }
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.err).unwrap_or_default()
    }
    /// Wait until stdout satisfies `pred`; returns whether it did in time.
    pub fn wait_for(&self, timeout: Duration, pred: impl Fn(&str) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if pred(&self.stdout()) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        pred(&self.stdout())
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Run a command to completion (killing it after `timeout`), feeding
/// `input` on stdin.
pub fn run(cmd: &mut Command, input: Option<&str>, timeout: Duration) -> Output {
    let mut child = cmd
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
    if let Some(text) = input {
        let mut stdin = child.stdin.take().expect("stdin");
        let text = text.to_string();
        std::thread::spawn(move || {
            let _ = stdin.write_all(text.as_bytes());
        });
    }
    let mut so = child.stdout.take().expect("stdout");
    let mut se = child.stderr.take().expect("stderr");
    let t_out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = so.read_to_string(&mut s);
        s
    });
    let t_err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = se.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break st,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                break child.wait().expect("wait");
            }
        }
    };
    Output {
        status,
        stdout: t_out.join().unwrap_or_default(),
        stderr: t_err.join().unwrap_or_default(),
    }
}

/// The whitespace-separated header row of a `kubectl get` table.
pub fn header(table: &str) -> Vec<String> {
    table
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .map(String::from)
        .collect()
}

/// The row of a `kubectl get` table whose first column is `name`.
pub fn row(table: &str, name: &str) -> Option<Vec<String>> {
    table
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().map(String::from).collect::<Vec<_>>())
        .find(|cols| cols.first().map(String::as_str) == Some(name))
}

/// Parse JSON output of `kubectl ... -o json`.
#[track_caller]
pub fn json(out: &Output) -> serde_json::Value {
    serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}\nstderr:\n{}", out.stdout, out.stderr))
}
