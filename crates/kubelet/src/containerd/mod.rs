//! Runs the node's own containerd: writes its config under the agent's data
//! dir (runc, cgroupfs, CNI, restrict_oom_score_adj), starts it, waits for
//! CRI to answer, and restarts it (with back-off) if it dies. Shims outlive
//! containerd by design, so a restart keeps the pods running; their
//! sockets land in `/run/containerd/s` whatever the state dir is.

pub mod config;

use crate::cri::{Cri, remote::RemoteCri};
use config::Layout;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};
use tokio::sync::watch;
use tokio::task::JoinHandle;

#[derive(Debug, thiserror::Error)]
pub enum ContainerdError {
    #[error("containerd: {0}")]
    Failed(String),
}

#[derive(Clone, Debug)]
pub struct ContainerdConfig {
    /// containerd's root, state, config and socket live under here.
    pub data_dir: PathBuf,
    pub pause_image: String,
    pub cni_bin_dir: PathBuf,
    /// The node's pod subnet for the CNI bridge (e.g. `10.42.0.0/24`).
    pub pod_cidr: String,
    /// The CNI bridge's name (`cni0`; tests use their own).
    pub bridge: String,
}

/// How long containerd gets to answer CRI after it starts (it takes ~0.6 s).
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a stop waits for containerd to exit after SIGTERM.
const STOP_GRACE: Duration = Duration::from_secs(10);
const BACKOFF_START: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// A process that ran this long was healthy: its crash starts back-off afresh.
const HEALTHY_RUN: Duration = Duration::from_secs(60);

/// A supervised containerd process (killed when stopped or dropped).
pub struct Containerd {
    socket: PathBuf,
    layout: Layout,
    /// The running process's PID (0 between restarts).
    pid: Arc<AtomicI32>,
    stop_tx: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl Containerd {
    /// Write the config, start containerd, wait until CRI answers.
    pub async fn start(cfg: ContainerdConfig) -> Result<Containerd, ContainerdError> {
        let layout = Layout::new(&cfg.data_dir);
        write_files(&cfg, &layout).await?;
        let mut child = spawn(&layout)?;
        if let Err(e) = wait_ready(&layout, &mut child).await {
            let _ = child.kill().await;
            return Err(e);
        }
        let pid = Arc::new(AtomicI32::new(child.id().map_or(0, |p| p as i32)));
        let (stop_tx, stop_rx) = watch::channel(false);
        let task = tokio::spawn(supervise(layout.clone(), child, pid.clone(), stop_rx));
        tracing::info!(socket = %layout.socket.display(), "containerd is ready");
        Ok(Containerd {
            socket: layout.socket.clone(),
            layout,
            pid,
            stop_tx,
            task: Some(task),
        })
    }

    /// The socket path.
    pub fn socket(&self) -> &std::path::Path {
        &self.socket
    }

    /// The CRI endpoint, `unix:///…/containerd.sock`.
    pub fn endpoint(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    /// containerd's log file.
    pub fn log_path(&self) -> &Path {
        &self.layout.log
    }

    /// The PID of the running containerd (None between restarts).
    pub fn pid(&self) -> Option<u32> {
        match self.pid.load(Ordering::SeqCst) {
            p if p > 0 => Some(p as u32),
            _ => None,
        }
    }

    /// SIGTERM containerd, SIGKILL it if it has not exited after a grace
    /// period, and stop supervising it.
    pub async fn stop(&mut self) {
        let _ = self.stop_tx.send(true);
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(STOP_GRACE + Duration::from_secs(2), &mut task)
                .await
                .is_err()
        {
            task.abort();
            signal(&self.pid, Signal::SIGKILL);
        }
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            // The aborted task drops the Child (kill_on_drop), but do not
            // rely on the runtime still polling: kill by PID now.
            signal(&self.pid, Signal::SIGKILL);
        }
    }
}

fn signal(pid: &AtomicI32, sig: Signal) {
    let p = pid.load(Ordering::SeqCst);
    if p > 0 {
        let _ = kill(Pid::from_raw(p), sig);
    }
}

async fn write_files(cfg: &ContainerdConfig, l: &Layout) -> Result<(), ContainerdError> {
    let io = |what: &Path, e: std::io::Error| {
        ContainerdError::Failed(format!("writing {}: {e}", what.display()))
    };
    for d in l.dirs() {
        tokio::fs::create_dir_all(d).await.map_err(|e| io(d, e))?;
    }
    let port = free_port()?;
    let toml = config::containerd_toml(cfg, l, port);
    tokio::fs::write(&l.config, toml)
        .await
        .map_err(|e| io(&l.config, e))?;
    let conflist = l.cni_conf_dir.join(config::CNI_CONFLIST);
    tokio::fs::write(&conflist, config::cni_conflist(cfg, l))
        .await
        .map_err(|e| io(&conflist, e))?;
    Ok(())
}

/// A free loopback port for the CRI streaming server: containerd builds
/// its exec/attach URLs from the configured address, so port 0 would end up
/// in them literally.
fn free_port() -> Result<u16, ContainerdError> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| ContainerdError::Failed(format!("no free loopback port: {e}")))
}

fn spawn(l: &Layout) -> Result<Child, ContainerdError> {
    // A stale socket from a killed containerd makes it fail to listen.
    let _ = std::fs::remove_file(&l.socket);
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&l.log)
        .map_err(|e| ContainerdError::Failed(format!("opening {}: {e}", l.log.display())))?;
    let log2 = log
        .try_clone()
        .map_err(|e| ContainerdError::Failed(format!("log file: {e}")))?;
    Command::new("containerd")
        .arg("--config")
        .arg(&l.config)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log2)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| ContainerdError::Failed(format!("starting containerd: {e}")))
}

/// Poll CRI `Version` until it answers; fail early if the process exits.
async fn wait_ready(l: &Layout, child: &mut Child) -> Result<(), ContainerdError> {
    let endpoint = format!("unix://{}", l.socket.display());
    let deadline = Instant::now() + READY_TIMEOUT;
    let mut last = String::from("no answer");
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(ContainerdError::Failed(format!(
                "exited during start ({status}); log: {}\n{}",
                l.log.display(),
                log_tail(&l.log).await
            )));
        }
        if l.socket.exists() {
            let attempt = async {
                let cri = RemoteCri::connect(&endpoint).await?;
                cri.version().await
            };
            match tokio::time::timeout(Duration::from_secs(2), attempt).await {
                Ok(Ok(_)) => return Ok(()),
                Ok(Err(e)) => last = e.to_string(),
                Err(_) => last = "Version timed out".into(),
            }
        }
        if Instant::now() > deadline {
            return Err(ContainerdError::Failed(format!(
                "CRI did not answer within {}s ({last}); log: {}\n{}",
                READY_TIMEOUT.as_secs(),
                l.log.display(),
                log_tail(&l.log).await
            )));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn log_tail(path: &Path) -> String {
    let text = tokio::fs::read_to_string(path).await.unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

/// Wait for the process; restart it with back-off when it dies, until told to stop.
async fn supervise(l: Layout, child: Child, pid: Arc<AtomicI32>, mut stop: watch::Receiver<bool>) {
    let mut child = Some(child);
    let mut backoff = BACKOFF_START;
    let mut started = Instant::now();
    loop {
        if let Some(c) = child.as_mut() {
            tokio::select! {
                status = c.wait() => {
                    if started.elapsed() > HEALTHY_RUN {
                        backoff = BACKOFF_START;
                    }
                    tracing::warn!(?status, ?backoff, log = %l.log.display(), "containerd exited; restarting");
                }
                _ = stop.changed() => {
                    terminate(c).await;
                    pid.store(0, Ordering::SeqCst);
                    return;
                }
            }
        }
        child = None;
        pid.store(0, Ordering::SeqCst);
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = stop.changed() => return,
        }
        backoff = (backoff * 2).min(BACKOFF_MAX);
        match spawn(&l) {
            Ok(c) => {
                pid.store(c.id().map_or(0, |p| p as i32), Ordering::SeqCst);
                started = Instant::now();
                child = Some(c);
            }
            Err(e) => tracing::error!(error = %e, "restarting containerd"),
        }
    }
}

async fn terminate(child: &mut Child) {
    if let Some(p) = child.id() {
        let _ = kill(Pid::from_raw(p as i32), Signal::SIGTERM);
        if tokio::time::timeout(STOP_GRACE, child.wait()).await.is_ok() {
            return;
        }
    }
    let _ = child.kill().await;
}
