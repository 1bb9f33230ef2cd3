//! The Job controller: runs a Job's pods to completion as upstream's does.
//! Pods carry the `batch.kubernetes.io/job-tracking` finalizer until the
//! controller has counted them (through `status.uncountedTerminatedPods`, so
//! no pod is ever counted twice or lost); failures back off before a
//! replacement (10 s doubling, capped at 6 min); a Job ends through
//! `SuccessCriteriaMet` / `FailureTarget` first and gets its terminal
//! `Complete` / `Failed` condition once none of its pods still runs.
//!
//! This file wires informers and the work queue; `sync` is the reconcile,
//! `tracking` counts finished pods, `pods` and `policy` are pure helpers.

pub mod pods;
pub mod policy;
mod sync;
mod tracking;

use informer::{Change, Factory, Informer, ObjectKey, Recorder, WorkQueue};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("kubernetes API: {0}")]
    Kube(#[from] kube::Error),
}

/// Tunables; `Default` is upstream's.
#[derive(Clone, Debug)]
pub struct Config {
    pub workers: usize,
    /// Delay before the first replacement of a failed pod; doubles per failure.
    pub pod_failure_backoff: Duration,
    pub max_pod_failure_backoff: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            workers: 5,
            pod_failure_backoff: Duration::from_secs(10),
            max_pod_failure_backoff: Duration::from_secs(360),
        }
    }
}

/// Consecutive pod failures of one Job and when the last was counted.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BackoffRecord {
    pub failures: u32,
    pub last: Instant,
}

pub(crate) struct Ctx {
    pub client: kube::Client,
    pub jobs: Informer<Job>,
    pub pods: Informer<Pod>,
    pub recorder: Recorder,
    pub config: Config,
    /// Job uid → its backoff record.
    pub backoff: Mutex<HashMap<String, BackoffRecord>>,
}

pub async fn run(factory: Factory) {
    run_with(factory, Config::default()).await
}

pub async fn run_with(factory: Factory, config: Config) {
    let jobs = factory.informer::<Job>();
    let pods = crate::replica_common::pods::indexed_informer::<Pod>(&factory);
    let queue: WorkQueue<ObjectKey> = WorkQueue::new();
    {
        let q = queue.clone();
        jobs.on_change(move |c: &Change<Job>| q.add(ObjectKey::of(c.object().as_ref())));
    }
    {
        let q = queue.clone();
        let jobs = jobs.clone();
        pods.on_change(move |c: &Change<Pod>| {
            let mut owners = Vec::new();
            if let Change::Updated { old, .. } = c {
                owners.push(owner_key(old, &jobs));
            }
            owners.push(owner_key(c.object(), &jobs));
            for k in owners.into_iter().flatten() {
                q.add(k);
            }
        });
    }
    jobs.wait_synced().await;
    pods.wait_synced().await;
    let ctx = Arc::new(Ctx {
        client: factory.client(),
        recorder: Recorder::new(factory.client(), "job-controller"),
        jobs,
        pods,
        backoff: Mutex::default(),
        config: config.clone(),
    });
    queue
        .run(config.workers, move |key| {
            let ctx = ctx.clone();
            async move { sync::sync(&ctx, &key).await }
        })
        .await;
}

/// The key of the Job controlling `pod`, found by name and checked by uid.
fn owner_key(pod: &Pod, jobs: &Informer<Job>) -> Option<ObjectKey> {
    let uid = pods::controller_uid(pod)?;
    let name = pod
        .metadata
        .owner_references
        .as_ref()?
        .iter()
        .find(|o| o.uid == uid)?
        .name
        .clone();
    let ns = pod.metadata.namespace.clone().unwrap_or_default();
    let job = jobs.get_named(Some(&ns), &name);
    match job {
        Some(j) if j.metadata.uid.as_deref() != Some(uid) => None,
        _ => Some(ObjectKey::new(ns, name)),
    }
}
