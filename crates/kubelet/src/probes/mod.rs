//! Liveness, readiness and startup probes (exec, httpGet, tcpSocket, grpc),
//! one worker per probe, and the lifecycle hook handlers that share their
//! actions. (Interface placeholder: the probes work fills it in.)

use crate::cri::DynCri;
use k8s_openapi::api::core::v1::{LifecycleHandler, Pod};
use std::sync::Arc;
use tokio::sync::mpsc;

/// A running container the probes watch.
#[derive(Clone, Debug)]
pub struct RunningContainer {
    pub name: String,
    pub container_id: String,
    /// When it started (probes wait `initialDelaySeconds` from here).
    pub started_at: jiff::Timestamp,
}

/// Runs probe workers and remembers their latest results.
#[derive(Clone)]
pub struct ProbeManager {
    #[allow(dead_code)]
    cri: DynCri,
    #[allow(dead_code)]
    changed: mpsc::UnboundedSender<String>,
}

impl ProbeManager {
    /// The receiver yields a pod UID whenever one of its probe results changes,
    /// so the pod worker resyncs (restarts on liveness failure, updates Ready).
    pub fn new(cri: DynCri) -> (Self, mpsc::UnboundedReceiver<String>) {
        let (changed, rx) = mpsc::unbounded_channel();
        (ProbeManager { cri, changed }, rx)
    }

    /// Start, keep or stop probe workers to match the pod's running containers.
    pub fn sync_pod(&self, pod: &Arc<Pod>, pod_ip: Option<&str>, running: &[RunningContainer]) {
        let _ = (pod, pod_ip, running);
    }

    /// Stop every worker of the pod.
    pub fn remove_pod(&self, pod_uid: &str) {
        let _ = pod_uid;
    }

    /// Latest readiness of a container: `None` before the first result
    /// (a container with no readiness probe is ready once started: `Some(true)`).
    pub fn readiness(&self, pod_uid: &str, container: &str) -> Option<bool> {
        let _ = (pod_uid, container);
        Some(true)
    }

    /// Whether the startup probe has succeeded (`Some(true)` with no startup probe).
    pub fn started(&self, pod_uid: &str, container: &str) -> Option<bool> {
        let _ = (pod_uid, container);
        Some(true)
    }

    /// `Some(false)` when the liveness probe failed `failureThreshold` times
    /// for this container instance: the pod worker restarts it.
    pub fn liveness(&self, pod_uid: &str, container: &str) -> Option<bool> {
        let _ = (pod_uid, container);
        None
    }
}

/// Run a postStart/preStop handler (exec, httpGet, sleep) against a running container.
/// Errors carry the message upstream puts in FailedPostStartHook/FailedPreStopHook events.
pub async fn run_handler(
    cri: &DynCri,
    pod: &Pod,
    pod_ip: Option<&str>,
    container_id: &str,
    handler: &LifecycleHandler,
) -> Result<(), String> {
    let _ = (cri, pod, pod_ip, container_id, handler);
    Ok(())
}
