//! The pod side of the simulated kubelets: one shared Pod informer for every
//! simulated node (KWOK's single watch, not one per node), a work queue of
//! the pods bound to our nodes, and a reconcile that takes each pod one step:
//! Pending → Running (after `pod_start_delay`), Running → Succeeded/Failed for
//! run-to-completion pods, and graceful deletion confirmed as a kubelet does.
//! Writes are bounded by the number of workers; failures back off per pod.

mod ipam;
mod status;

use crate::{SimConfig, node};
use informer::{Informer, ObjectKey, WorkQueue};
use ipam::Ipam;
use jiff::Timestamp;
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::{DeleteParams, Patch, PatchParams, Preconditions};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Seconds a run-to-completion pod runs (overrides `job_run_time`).
pub const RUN_SECONDS_ANNOTATION: &str = "sim.rkube.io/run-seconds";
/// Exit code of the pod's containers when they finish (default 0).
pub const EXIT_CODE_ANNOTATION: &str = "sim.rkube.io/exit-code";
/// Pods by `spec.nodeName`, to rebuild a node's address map after a restart.
const NODE_INDEX: &str = "simnodes/nodeName";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    /// Bound to us, not started yet.
    Seen,
    /// We wrote Running (the watch may not have echoed it yet).
    Running,
    /// We wrote the terminal status.
    Done,
    /// We confirmed the deletion.
    Deleting,
}

/// What this simulation remembers of one pod.
struct Track {
    uid: String,
    node: usize,
    host: Option<u8>,
    stage: Stage,
    seen: Instant,
    /// When the current run of the containers started.
    run_started: Option<Timestamp>,
    restarts: u32,
}

struct Inner {
    cfg: Arc<SimConfig>,
    client: kube::Client,
    pods: Informer<Pod>,
    /// Our node names → index (their addresses derive from it).
    nodes: HashMap<String, usize>,
    ipam: Mutex<Ipam>,
    tracks: Mutex<HashMap<ObjectKey, Track>>,
    queue: WorkQueue<ObjectKey>,
    stopped: AtomicBool,
}

pub struct PodSim {
    inner: Arc<Inner>,
}

impl PodSim {
    pub fn new(factory: &informer::Factory, cfg: Arc<SimConfig>) -> Self {
        let pods = factory.informer_with::<Pod>(|inf| {
            inf.add_index(
                NODE_INDEX,
                Arc::new(|p: &Pod| {
                    p.spec
                        .as_ref()
                        .and_then(|s| s.node_name.clone())
                        .into_iter()
                        .collect()
                }),
            )
        });
        let nodes = (0..cfg.count)
            .map(|i| (node::node_name(&cfg.name_prefix, i), i))
            .collect();
        Self {
            inner: Arc::new(Inner {
                cfg,
                client: factory.client(),
                pods,
                nodes,
                ipam: Mutex::default(),
                tracks: Mutex::default(),
                queue: WorkQueue::new(),
                stopped: AtomicBool::new(false),
            }),
        }
    }

    /// Handle pods until `stop` turns true.
    pub async fn run(self, mut stop: tokio::sync::watch::Receiver<bool>) {
        let inner = self.inner;
        let weak = Arc::downgrade(&inner);
        inner.pods.on_change(move |c| {
            let Some(me) = weak.upgrade() else { return };
            if me.stopped.load(Ordering::Relaxed) {
                return;
            }
            let pod = c.object();
            let ours = pod
                .spec
                .as_ref()
                .and_then(|s| s.node_name.as_deref())
                .is_some_and(|n| me.nodes.contains_key(n));
            if ours {
                me.queue.add(ObjectKey::of(pod.as_ref()));
            }
        });
        let workers = inner.clone();
        let queue = inner.queue.clone();
        let run = queue.run(inner.cfg.concurrency, move |key| {
            let me = workers.clone();
            async move { me.reconcile(key).await }
        });
        tokio::select! {
            _ = crate::stopped(&mut stop) => {}
            _ = run => {}
        }
        // The queue's workers outlive this task: they find the flag and idle.
        inner.stopped.store(true, Ordering::Relaxed);
    }
}

fn api_code(e: &kube::Error) -> Option<u16> {
    match e {
        kube::Error::Api(s) => Some(s.code),
        _ => None,
    }
}

/// A run-to-completion pod (its containers are not restarted on success).
fn runs_to_completion(pod: &Pod) -> bool {
    matches!(
        pod.spec.as_ref().and_then(|s| s.restart_policy.as_deref()),
        Some("Never" | "OnFailure")
    )
}

fn annotation<'a>(pod: &'a Pod, key: &str) -> Option<&'a str> {
    pod.metadata
        .annotations
        .as_ref()?
        .get(key)
        .map(String::as_str)
}

impl Inner {
    fn run_time(&self, pod: &Pod) -> Duration {
        annotation(pod, RUN_SECONDS_ANNOTATION)
            .and_then(|s| s.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(Duration::from_secs_f64)
            .unwrap_or(self.cfg.job_run_time)
    }

    /// Forget a pod that is gone, returning its address.
    fn forget(&self, key: &ObjectKey) {
        let old = self.tracks.lock().expect("tracks lock").remove(key);
        if let Some(Track {
            node,
            host: Some(h),
            ..
        }) = old
        {
            self.ipam.lock().expect("ipam lock").release(node, h);
        }
    }

    fn release_ip(&self, key: &ObjectKey) {
        let mut tracks = self.tracks.lock().expect("tracks lock");
        if let Some(t) = tracks.get_mut(key)
            && let Some(h) = t.host.take()
        {
            self.ipam.lock().expect("ipam lock").release(t.node, h);
        }
    }

    fn set_stage(&self, key: &ObjectKey, stage: Stage) {
        if let Some(t) = self.tracks.lock().expect("tracks lock").get_mut(key) {
            t.stage = stage;
        }
    }

    /// The track of `pod`, new if we had none for this uid (a recreated pod
    /// of the same name drops the old one).
    fn track(
        &self,
        key: &ObjectKey,
        pod: &Pod,
        node: usize,
    ) -> (Stage, Instant, Option<Timestamp>, u32) {
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        let stale = {
            let tracks = self.tracks.lock().expect("tracks lock");
            match tracks.get(key) {
                Some(t) if t.uid == uid => {
                    return (t.stage, t.seen, t.run_started, t.restarts);
                }
                Some(_) => true,
                None => false,
            }
        };
        if stale {
            self.forget(key);
        }
        let status = pod.status.as_ref();
        let cidr = node::node_pod_cidr(node);
        let host = status
            .and_then(|s| s.pod_ip.as_deref())
            .and_then(|ip| ipam::host_of(&cidr, ip));
        let run_started = status
            .and_then(|s| s.container_statuses.as_ref())
            .and_then(|cs| cs.first())
            .and_then(|c| c.state.as_ref()?.running.as_ref()?.started_at.as_ref())
            .or_else(|| status.and_then(|s| s.start_time.as_ref()))
            .map(|t| t.0);
        let restarts = status
            .and_then(|s| s.container_statuses.as_ref())
            .and_then(|cs| cs.first())
            .map(|c| c.restart_count.max(0) as u32)
            .unwrap_or(0);
        let t = Track {
            uid,
            node,
            host,
            stage: Stage::Seen,
            seen: Instant::now(),
            run_started,
            restarts,
        };
        let out = (t.stage, t.seen, t.run_started, t.restarts);
        self.tracks
            .lock()
            .expect("tracks lock")
            .insert(key.clone(), t);
        out
    }

    /// Host numbers in use on `node` by pods that still hold their address.
    fn hosts_in_use(&self, node: usize, name: &str) -> Vec<u8> {
        let cidr = node::node_pod_cidr(node);
        self.pods
            .by_index(NODE_INDEX, name)
            .iter()
            .filter_map(|p| {
                let s = p.status.as_ref()?;
                if matches!(s.phase.as_deref(), Some("Succeeded" | "Failed")) {
                    return None;
                }
                ipam::host_of(&cidr, s.pod_ip.as_deref()?)
            })
            .collect()
    }

    async fn patch(&self, pod: &Pod, body: serde_json::Value) -> Result<(), kube::Error> {
        let api: Api<Pod> = Api::namespaced(
            self.client.clone(),
            pod.metadata.namespace.as_deref().unwrap_or("default"),
        );
        let name = pod.metadata.name.as_deref().unwrap_or_default();
        match api
            .patch_status(name, &PatchParams::default(), &Patch::Merge(body))
            .await
        {
            Ok(_) => Ok(()),
            // Gone, or replaced by a pod of the same name: the watch will tell.
            Err(e) if matches!(api_code(&e), Some(404 | 409)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn reconcile(&self, key: ObjectKey) -> Result<Option<Duration>, kube::Error> {
        if self.stopped.load(Ordering::Relaxed) {
            return Ok(None);
        }
        let Some(pod) = self.pods.get(&key) else {
            self.forget(&key);
            return Ok(None);
        };
        let Some((node_name, node)) = pod
            .spec
            .as_ref()
            .and_then(|s| s.node_name.as_deref())
            .and_then(|n| self.nodes.get_key_value(n))
            .map(|(n, i)| (n.clone(), *i))
        else {
            return Ok(None);
        };
        let (stage, seen, run_started, restarts) = self.track(&key, &pod, node);
        if pod.metadata.deletion_timestamp.is_some() {
            if stage != Stage::Deleting {
                self.confirm_deletion(&pod).await?;
                self.release_ip(&key);
                self.set_stage(&key, Stage::Deleting);
            }
            return Ok(None);
        }
        let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
        if matches!(phase, Some("Succeeded" | "Failed")) || stage == Stage::Done {
            self.release_ip(&key);
            return Ok(None);
        }
        if stage != Stage::Running && phase != Some("Running") {
            let waited = seen.elapsed();
            if waited < self.cfg.pod_start_delay {
                return Ok(Some(self.cfg.pod_start_delay - waited));
            }
            return self.start(&key, &pod, node, &node_name).await;
        }
        if runs_to_completion(&pod) {
            return self
                .finish_or_wait(&key, &pod, node, run_started, restarts)
                .await;
        }
        // A readiness gate may have moved: re-evaluate Ready once the cache
        // shows our Running status.
        let gated = pod
            .spec
            .as_ref()
            .and_then(|s| s.readiness_gates.as_ref())
            .is_some_and(|g| !g.is_empty());
        if gated && phase == Some("Running") {
            let want = status::readiness_gates_message(&pod).is_none();
            if (status::ready_status(&pod) == Some("True")) != want {
                self.patch(&pod, status::ready_patch(&pod, &crate::time::now()))
                    .await?;
            }
        }
        Ok(None)
    }

    /// Pending → Running: an address from the node's CIDR and a full status.
    async fn start(
        &self,
        key: &ObjectKey,
        pod: &Pod,
        node: usize,
        node_name: &str,
    ) -> Result<Option<Duration>, kube::Error> {
        let host = {
            let have = self
                .tracks
                .lock()
                .expect("tracks lock")
                .get(key)
                .and_then(|t| t.host);
            match have {
                Some(h) => h,
                None => {
                    let existing = || self.hosts_in_use(node, node_name);
                    let got = self
                        .ipam
                        .lock()
                        .expect("ipam lock")
                        .allocate(node, existing);
                    let Some(h) = got else {
                        tracing::warn!(pod = %key, node = node_name, "pod CIDR exhausted; retrying");
                        return Ok(Some(Duration::from_secs(5)));
                    };
                    if let Some(t) = self.tracks.lock().expect("tracks lock").get_mut(key) {
                        t.host = Some(h);
                    }
                    h
                }
            }
        };
        let now_ts = Timestamp::now();
        let now = crate::time::time(now_ts);
        let pod_ip = ipam::pod_ip(&node::node_pod_cidr(node), host);
        let host_ip = node::node_internal_ip(node);
        let patch = status::running_patch(
            pod,
            &status::Running {
                host_ip: &host_ip,
                pod_ip: &pod_ip,
                started: &now,
                now: &now,
                restarts: 0,
                last_exit: None,
            },
        );
        self.patch(pod, patch).await?;
        if let Some(t) = self.tracks.lock().expect("tracks lock").get_mut(key) {
            t.stage = Stage::Running;
            t.run_started = Some(now_ts);
        }
        Ok(runs_to_completion(pod).then(|| self.run_time(pod)))
    }

    /// A run-to-completion pod whose run time is up exits: Succeeded, Failed,
    /// or (OnFailure with a non-zero exit) its containers restart.
    async fn finish_or_wait(
        &self,
        key: &ObjectKey,
        pod: &Pod,
        node: usize,
        run_started: Option<Timestamp>,
        restarts: u32,
    ) -> Result<Option<Duration>, kube::Error> {
        let run = self.run_time(pod);
        let now_ts = Timestamp::now();
        let started = run_started.unwrap_or(now_ts);
        let elapsed = now_ts
            .duration_since(started)
            .try_into()
            .unwrap_or(Duration::ZERO);
        if elapsed < run {
            return Ok(Some(run - elapsed));
        }
        let exit = status::Exit {
            code: annotation(pod, EXIT_CODE_ANNOTATION)
                .and_then(|s| s.trim().parse().ok())
                .unwrap_or(0),
        };
        let now = crate::time::time(now_ts);
        let started_s = crate::time::time(started);
        let on_failure =
            pod.spec.as_ref().and_then(|s| s.restart_policy.as_deref()) == Some("OnFailure");
        if exit.code != 0 && on_failure {
            let host = self
                .tracks
                .lock()
                .expect("tracks lock")
                .get(key)
                .and_then(|t| t.host);
            let pod_ip = pod
                .status
                .as_ref()
                .and_then(|s| s.pod_ip.clone())
                .or_else(|| host.map(|h| ipam::pod_ip(&node::node_pod_cidr(node), h)))
                .unwrap_or_default();
            let start_time = pod
                .status
                .as_ref()
                .and_then(|s| s.start_time.as_ref())
                .map(|t| crate::time::time(t.0))
                .unwrap_or_else(|| started_s.clone());
            let host_ip = node::node_internal_ip(node);
            let mut patch = status::running_patch(
                pod,
                &status::Running {
                    host_ip: &host_ip,
                    pod_ip: &pod_ip,
                    started: &now,
                    now: &now,
                    restarts: restarts + 1,
                    last_exit: Some((exit, &started_s, &now)),
                },
            );
            patch["status"]["startTime"] = serde_json::json!(start_time);
            self.patch(pod, patch).await?;
            if let Some(t) = self.tracks.lock().expect("tracks lock").get_mut(key) {
                t.restarts = restarts + 1;
                t.run_started = Some(now_ts);
            }
            return Ok(Some(run));
        }
        self.patch(
            pod,
            status::terminated_patch(pod, exit, &started_s, &now, restarts),
        )
        .await?;
        self.set_stage(key, Stage::Done);
        self.release_ip(key);
        Ok(None)
    }

    /// The containers have stopped: remove the pod for good, as the kubelet
    /// does once a gracefully deleted pod is down (only this pod: uid
    /// precondition).
    async fn confirm_deletion(&self, pod: &Pod) -> Result<(), kube::Error> {
        let api: Api<Pod> = Api::namespaced(
            self.client.clone(),
            pod.metadata.namespace.as_deref().unwrap_or("default"),
        );
        let dp = DeleteParams {
            grace_period_seconds: Some(0),
            preconditions: Some(Preconditions {
                uid: pod.metadata.uid.clone(),
                resource_version: None,
            }),
            ..DeleteParams::default()
        };
        match api
            .delete(pod.metadata.name.as_deref().unwrap_or_default(), &dp)
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if matches!(api_code(&e), Some(404 | 409)) => Ok(()),
            Err(e) => Err(e),
        }
    }
}
