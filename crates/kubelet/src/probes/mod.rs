//! Liveness, readiness and startup probes (exec, httpGet, tcpSocket, grpc),
//! one worker per probe, and the lifecycle hook handlers that share their
//! actions. This file owns the `ProbeManager`: the workers of each pod and
//! the answers the pod worker asks for (ready, started, restart needed).
//!
//! Parts: `worker` (the per-probe loop and its thresholds), `results` (the
//! published results), `prober` (one probe run and its events), `exec`,
//! `http` (with `tls`), `tcp`, `grpc` (the actions), `handler` (postStart/preStop).

pub mod exec;
pub mod grpc;
mod handler;
pub mod http;
pub mod prober;
mod results;
pub mod tcp;
mod tls;
mod worker;

pub use handler::{run_container_handler, run_handler};
pub use prober::{Outcome, ProbeError};
pub use results::{ProbeKind, ProbeResult};

use crate::cri::DynCri;
use informer::Recorder;
use k8s_openapi::api::core::v1::{Container, Pod};
use prober::{Prober, Target};
use results::Results;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use tokio::sync::{Notify, mpsc, watch};
use tokio::task::JoinHandle;
use worker::{PodView, RunFn, Spec};

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
    inner: Arc<Inner>,
}

struct WorkerHandle {
    task: JoinHandle<()>,
    trigger: Arc<Notify>,
}

struct PodEntry {
    view: watch::Sender<PodView>,
    workers: HashMap<(String, ProbeKind), WorkerHandle>,
}

struct Inner {
    results: Arc<Results>,
    recorder: Arc<OnceLock<Recorder>>,
    pods: Mutex<HashMap<String, PodEntry>>,
    created: tokio::time::Instant,
    runner: RunFn,
}

impl Drop for Inner {
    fn drop(&mut self) {
        let pods = self.pods.get_mut().unwrap_or_else(|e| e.into_inner());
        for (_, p) in pods.drain() {
            for w in p.workers.values() {
                w.task.abort();
            }
        }
    }
}

impl ProbeManager {
    /// The receiver yields a pod UID whenever one of its probe results changes,
    /// so the pod worker resyncs (restarts on liveness failure, updates Ready).
    pub fn new(cri: DynCri) -> (Self, mpsc::UnboundedReceiver<String>) {
        let recorder = Arc::new(OnceLock::new());
        let prober = Arc::new(Prober {
            cri,
            recorder: recorder.clone(),
        });
        let runner: RunFn = Arc::new(move |spec: Arc<Spec>, view: PodView, id: String| {
            let prober = prober.clone();
            Box::pin(async move {
                let t = Target {
                    kind: spec.kind,
                    pod: &view.pod,
                    pod_ip: view.pod_ip.as_deref(),
                    container: &spec.container,
                    is_init: spec.is_init,
                    container_id: &id,
                    probe: &spec.probe,
                };
                prober.probe(&t).await
            })
        });
        let (changed, rx) = mpsc::unbounded_channel();
        let inner = Inner {
            results: Arc::new(Results::new(changed)),
            recorder,
            pods: Mutex::new(HashMap::new()),
            created: tokio::time::Instant::now(),
            runner,
        };
        (
            ProbeManager {
                inner: Arc::new(inner),
            },
            rx,
        )
    }

    /// Record Unhealthy / ProbeWarning events through `recorder` (set once; later calls are ignored).
    pub fn with_recorder(self, recorder: Recorder) -> Self {
        let _ = self.inner.recorder.set(recorder);
        self
    }

    fn pods(&self) -> std::sync::MutexGuard<'_, HashMap<String, PodEntry>> {
        self.inner.pods.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Start, keep or stop probe workers to match the pod's running containers.
    pub fn sync_pod(&self, pod: &Arc<Pod>, pod_ip: Option<&str>, running: &[RunningContainer]) {
        let Some(uid) = pod.metadata.uid.clone() else {
            return;
        };
        let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
        if matches!(phase, Some("Succeeded" | "Failed")) {
            self.remove_pod(&uid);
            return;
        }
        let view = PodView {
            pod: pod.clone(),
            pod_ip: pod_ip.map(str::to_string),
            running: running
                .iter()
                .map(|c| (c.name.clone(), c.clone()))
                .collect(),
        };
        let mut pods = self.pods();
        if let Some(entry) = pods.get(&uid) {
            entry.view.send_if_modified(|old| {
                let wake = old.pod_ip != view.pod_ip
                    || old.pod.metadata.deletion_timestamp != view.pod.metadata.deletion_timestamp
                    || old.running.len() != view.running.len()
                    || old.running.iter().any(|(n, c)| {
                        view.running.get(n).map(|v| &v.container_id) != Some(&c.container_id)
                    });
                *old = view;
                wake
            });
            return;
        }
        let (tx, _) = watch::channel(view);
        let mut workers = HashMap::new();
        for (c, is_init) in probed_containers(pod) {
            let kinds = [
                (ProbeKind::Startup, &c.startup_probe),
                (ProbeKind::Liveness, &c.liveness_probe),
                (ProbeKind::Readiness, &c.readiness_probe),
            ];
            for (kind, probe) in kinds {
                let Some(probe) = probe else { continue };
                let spec = Arc::new(Spec {
                    uid: uid.clone(),
                    kind,
                    probe: probe.clone(),
                    container: c.clone(),
                    is_init,
                    has_startup: c.startup_probe.is_some(),
                });
                let trigger = Arc::new(Notify::new());
                let task = tokio::spawn(worker::run(
                    spec,
                    self.inner.results.clone(),
                    self.inner.runner.clone(),
                    tx.subscribe(),
                    trigger.clone(),
                    self.inner.created.elapsed(),
                ));
                workers.insert((c.name.clone(), kind), WorkerHandle { task, trigger });
            }
        }
        pods.insert(uid, PodEntry { view: tx, workers });
    }

    /// Stop every worker of the pod.
    pub fn remove_pod(&self, pod_uid: &str) {
        if let Some(entry) = self.pods().remove(pod_uid) {
            for w in entry.workers.values() {
                w.task.abort();
            }
        }
        self.inner.results.remove_pod(pod_uid);
    }

    /// The running instance of a container and whether it has a probe of `kind`;
    /// `None` when the pod is unknown.
    fn lookup(
        &self,
        pod_uid: &str,
        container: &str,
        kind: ProbeKind,
    ) -> Option<(Option<String>, Option<Arc<Notify>>)> {
        let pods = self.pods();
        let entry = pods.get(pod_uid)?;
        let id = entry
            .view
            .borrow()
            .running
            .get(container)
            .map(|c| c.container_id.clone());
        let worker = entry
            .workers
            .get(&(container.to_string(), kind))
            .map(|w| w.trigger.clone());
        Some((id, worker))
    }

    fn result(&self, uid: &str, container: &str, kind: ProbeKind, id: &str) -> Option<ProbeResult> {
        self.inner.results.get(uid, container, kind, id)
    }

    /// Latest readiness of a container: `None` before the first result
    /// (a container with no readiness probe is ready once started: `Some(true)`).
    /// A container that is not running, or not started, is `Some(false)`
    /// when it has no readiness probe result; `None` for an unknown pod.
    pub fn readiness(&self, pod_uid: &str, container: &str) -> Option<bool> {
        let (id, worker) = self.lookup(pod_uid, container, ProbeKind::Readiness)?;
        let Some(id) = id else {
            return Some(false);
        };
        if self.started(pod_uid, container) != Some(true) {
            return if worker.is_some() { None } else { Some(false) };
        }
        let Some(trigger) = worker else {
            return Some(true);
        };
        match self.result(pod_uid, container, ProbeKind::Readiness, &id) {
            Some(r) => Some(r == ProbeResult::Success),
            None => {
                // Nobody waits a full period for the first readiness answer.
                trigger.notify_one();
                None
            }
        }
    }

    /// Whether the startup probe has succeeded (`Some(true)` with no startup probe).
    /// `None` before its first result (and for an unknown pod); `Some(false)` when
    /// it failed or the container is not running.
    pub fn started(&self, pod_uid: &str, container: &str) -> Option<bool> {
        let (id, worker) = self.lookup(pod_uid, container, ProbeKind::Startup)?;
        let Some(id) = id else {
            return Some(false);
        };
        if worker.is_none() {
            return Some(true);
        }
        self.result(pod_uid, container, ProbeKind::Startup, &id)
            .map(|r| r == ProbeResult::Success)
    }

    /// `Some(false)` when the liveness probe failed `failureThreshold` times
    /// for this container instance: the pod worker restarts it.
    /// `None` with no liveness probe, before its first result, or when not running.
    pub fn liveness(&self, pod_uid: &str, container: &str) -> Option<bool> {
        let (id, _) = self.lookup(pod_uid, container, ProbeKind::Liveness)?;
        self.result(pod_uid, container, ProbeKind::Liveness, &id?)
            .map(|r| r == ProbeResult::Success)
    }

    /// Why the running instance of a container must be killed, if a probe says so:
    /// `Container c failed liveness probe` or `Container c failed startup probe`
    /// (upstream's Killing message; the caller appends `, will be restarted`
    /// when the restart policy restarts it).
    pub fn should_restart(&self, pod_uid: &str, container: &str) -> Option<String> {
        let (id, _) = self.lookup(pod_uid, container, ProbeKind::Liveness)?;
        let id = id?;
        let failed =
            |kind| self.result(pod_uid, container, kind, &id) == Some(ProbeResult::Failure);
        if failed(ProbeKind::Liveness) {
            Some(format!("Container {container} failed liveness probe"))
        } else if failed(ProbeKind::Startup) {
            Some(format!("Container {container} failed startup probe"))
        } else {
            None
        }
    }
}

/// The containers that may carry probes: regular containers and sidecars
/// (init containers with `restartPolicy: Always`), with whether each is an init container.
fn probed_containers(pod: &Pod) -> Vec<(&Container, bool)> {
    let Some(spec) = &pod.spec else {
        return Vec::new();
    };
    let sidecars = spec
        .init_containers
        .iter()
        .flatten()
        .filter(|c| c.restart_policy.as_deref() == Some("Always"))
        .map(|c| (c, true));
    sidecars
        .chain(spec.containers.iter().map(|c| (c, false)))
        .collect()
}
