//! Pod workers and pod status: everything the kubelet does to one pod.
//!
//! Parts: `runtime` (what CRI has of a pod), `actions` (what a sync must
//! do, upstream's computePodActions), `backoff` (crash-loop back-off),
//! `sandbox` (the sandbox config), `start` (starting one container),
//! `kill` (stopping containers, terminating and cleaning up a pod),
//! `status` (the API status), `sync` (one sync of one pod).
//!
//! `PodWorkers` holds the pods bound to this node by UID; the agent feeds
//! it from the pod informer and runs `sync(uid)` from a work queue keyed by
//! UID, so one pod is never synced twice at once.

pub mod actions;
pub mod backoff;
pub mod kill;
pub mod phase;
pub mod runtime;
pub mod sandbox;
pub mod start;
pub mod status;
pub mod sync;

use crate::KubeletConfig;
use crate::cri::DynCri;
use crate::images::ImagePuller;
use crate::probes::ProbeManager;
use crate::volumes::VolumeManager;
use k8s_openapi::api::core::v1::{Container, Pod, PodStatus};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("runtime: {0}")]
    Cri(#[from] crate::cri::CriError),
    #[error("api: {0}")]
    Api(#[from] kube::Error),
    #[error("volumes: {0}")]
    Volumes(#[from] crate::volumes::VolumeError),
    #[error("{0}")]
    Other(String),
}

/// A pod this node knows, as the informer last showed it.
#[derive(Clone, Debug)]
pub struct PodEntry {
    pub pod: Arc<Pod>,
    /// The API object is gone (deleted outright or force-deleted).
    pub removed: bool,
}

/// The pod lifecycle of one node; clone freely.
#[derive(Clone)]
pub struct PodWorkers {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub cfg: KubeletConfig,
    pub client: kube::Client,
    pub cri: DynCri,
    pub puller: ImagePuller,
    pub volumes: VolumeManager,
    pub probes: ProbeManager,
    pub recorder: informer::Recorder,
    pub backoff: backoff::Backoff,
    pub pods: Mutex<HashMap<String, PodEntry>>,
    /// uid → container name → why its last start failed.
    pub failures: Mutex<HashMap<String, HashMap<String, status::StartFailure>>>,
    /// uid → the status last written.
    pub written: Mutex<HashMap<String, PodStatus>>,
    /// Static pod uid → the UID of its mirror pod in the API (absent: no
    /// mirror yet, so no status is written).
    pub mirrors: Mutex<HashMap<String, String>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl PodWorkers {
    pub fn new(
        cfg: KubeletConfig,
        client: kube::Client,
        cri: DynCri,
        puller: ImagePuller,
        volumes: VolumeManager,
        probes: ProbeManager,
        recorder: informer::Recorder,
    ) -> Self {
        PodWorkers {
            inner: Arc::new(Inner {
                cfg,
                client,
                cri,
                puller,
                volumes,
                probes,
                recorder,
                backoff: backoff::Backoff::new(),
                pods: Mutex::new(HashMap::new()),
                failures: Mutex::new(HashMap::new()),
                written: Mutex::new(HashMap::new()),
                mirrors: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// The informer saw `pod` added or updated; returns its UID to enqueue.
    pub fn update_pod(&self, pod: Arc<Pod>) -> Option<String> {
        let uid = pod.metadata.uid.clone()?;
        lock(&self.inner.pods).insert(
            uid.clone(),
            PodEntry {
                pod,
                removed: false,
            },
        );
        Some(uid)
    }

    /// The informer saw `pod` deleted from the API; returns its UID to enqueue.
    pub fn remove_pod(&self, pod: &Arc<Pod>) -> Option<String> {
        let uid = pod.metadata.uid.clone()?;
        lock(&self.inner.pods)
            .entry(uid.clone())
            .and_modify(|e| e.removed = true)
            .or_insert(PodEntry {
                pod: pod.clone(),
                removed: true,
            });
        Some(uid)
    }

    /// The UIDs of every pod this node knows (for periodic resyncs).
    pub fn known_uids(&self) -> Vec<String> {
        lock(&self.inner.pods).keys().cloned().collect()
    }

    /// Static pod `uid` now has mirror pod `mirror_uid` (or none); its
    /// status is written to the mirror, afresh after a change.
    pub fn set_mirror_uid(&self, uid: &str, mirror_uid: Option<String>) {
        let mut m = lock(&self.inner.mirrors);
        let changed = m.get(uid) != mirror_uid.as_ref();
        match mirror_uid {
            Some(mu) => m.insert(uid.to_string(), mu),
            None => m.remove(uid),
        };
        if changed {
            lock(&self.inner.written).remove(uid);
        }
    }

    pub fn entry(&self, uid: &str) -> Option<PodEntry> {
        lock(&self.inner.pods).get(uid).cloned()
    }
}

/// The spec hash of a container, kept in the container's annotation so a
/// changed spec (a new image) restarts it and an unchanged one survives an
/// agent restart. FNV-1a over the spec's JSON without resources (resizes
/// do not restart, as upstream).
pub fn container_hash(c: &Container) -> String {
    let mut c = c.clone();
    c.resources = None;
    c.resize_policy = None;
    let bytes = serde_json::to_vec(&c).unwrap_or_default();
    let mut h: u64 = 0xcbf29ce484222325;
    for b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100000001b3);
    }
    format!("{h:x}")
}

/// A pod read from the static pod directory (`kubernetes.io/config.source: file`).
pub fn is_static(pod: &Pod) -> bool {
    pod.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get("kubernetes.io/config.source"))
        .is_some_and(|s| s == "file")
}

/// Upstream's format.Pod: `NAME_NAMESPACE(UID)`.
pub fn format_pod(pod: &Pod) -> String {
    format!(
        "{}_{}({})",
        pod.metadata.name.as_deref().unwrap_or_default(),
        pod.metadata.namespace.as_deref().unwrap_or_default(),
        pod.metadata.uid.as_deref().unwrap_or_default()
    )
}

/// The grace period for stopping `pod`'s containers.
pub fn grace_period(pod: &Pod) -> i64 {
    pod.metadata
        .deletion_grace_period_seconds
        .or_else(|| {
            pod.spec
                .as_ref()
                .and_then(|s| s.termination_grace_period_seconds)
        })
        .unwrap_or(30)
        .max(0)
}
