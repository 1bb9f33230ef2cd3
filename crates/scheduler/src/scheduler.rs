//! The scheduler process: feeds the cache and the queue from the shared
//! Node and Pod informers, runs one scheduling cycle at a time, binds in
//! background tasks (`pods/binding`), and reports failures on the pod
//! (PodScheduled=False with upstream's message) and as events.

use crate::cache::{Cache, counts_on_node};
use crate::config::SchedulerConfig;
use crate::cycle::{Algorithm, CycleError, NO_NODES_MSG, run_post_filter};
use crate::framework::{PodInfo, Snapshot};
use crate::profile::Profile;
use crate::queue::{Admission, ClusterEvent, QueuedPod, SchedulingQueue};
use informer::{Change, EventType, Factory, Recorder};
use k8s_openapi::api::core::v1::{Binding, Node, ObjectReference, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Patch, PatchParams, PostParams};
use kube::{Api, Client};
use serde_json::json;
use std::collections::HashSet;
use std::sync::Arc;

pub const SCHEDULING_GATED_MSG: &str = "Scheduling is blocked due to non-empty scheduling gates";

struct Scheduler {
    profile: Profile,
    cache: Cache,
    queue: Arc<SchedulingQueue>,
    client: Client,
    recorder: Recorder,
    /// API calls in flight (binds and condition patches). Unbounded, a
    /// burst of thousands of pods opened one HTTP/1.1 connection each and
    /// ran the process out of file descriptors.
    api_slots: Arc<tokio::sync::Semaphore>,
}

/// How many binds and status patches the scheduler has in flight at once.
const API_CONCURRENCY: usize = 128;

/// Run the scheduler until the process ends. A profile that cannot be
/// built is logged and the scheduler does not start.
pub async fn run(factory: Factory, config: SchedulerConfig) {
    let profile = match Profile::build(&config, Some(&factory)) {
        Ok(p) => p,
        Err(e) => {
            tracing::error!("scheduler not started: {e}");
            return;
        }
    };
    let client = factory.client();
    let sched = Arc::new(Scheduler {
        profile,
        cache: Cache::new(),
        queue: Arc::new(SchedulingQueue::new(
            config.pod_initial_backoff,
            config.pod_max_backoff,
        )),
        recorder: Recorder::new(client.clone(), "default-scheduler"),
        client,
        api_slots: Arc::new(tokio::sync::Semaphore::new(API_CONCURRENCY)),
    });
    let nodes = factory.informer::<Node>();
    let pods = factory.informer::<Pod>();
    let s = sched.clone();
    nodes.on_change(move |c| s.on_node(c));
    let s = sched.clone();
    pods.on_change(move |c| s.on_pod(c));
    nodes.wait_synced().await;
    pods.wait_synced().await;
    tracing::info!(
        nodes = sched.cache.node_count(),
        pods = sched.cache.pod_count(),
        "scheduler started"
    );
    tokio::spawn(sched.queue.clone().run_flusher());
    tokio::spawn(report_backlog(sched.clone(), pods.clone()));
    let mut alg = Algorithm::default();
    let mut snapshot = Snapshot::default();
    loop {
        // A bind slot first, then a pod: when binds fall behind, pods wait in
        // the queue (a pointer each) rather than as thousands of spawned bind
        // tasks holding assumed copies, and are scheduled against a fresher
        // snapshot when a slot frees.
        let Ok(slot) = sched.api_slots.clone().acquire_owned().await else {
            return;
        };
        let qp = sched.queue.pop().await;
        sched.schedule_one(&mut alg, &mut snapshot, qp, slot).await;
    }
}

/// Every 30 s while pods wait: the queue's sizes, and how many unbound pods
/// of ours the queue does not know at all (which would be a bug: such a pod
/// is never scheduled). Logged for diagnosis at scale.
async fn report_backlog(sched: Arc<Scheduler>, pods: informer::Informer<Pod>) {
    loop {
        tokio::time::sleep(std::time::Duration::from_secs(30)).await;
        let (active, backoff, unschedulable) = sched.queue.lens();
        let in_flight = sched.queue.in_flight();
        let mut pending = 0usize;
        let mut unknown = 0usize;
        for p in pods.list() {
            if is_ours(&p, &sched.profile.scheduler_name) {
                pending += 1;
                let uid = p.metadata.uid.as_deref().unwrap_or("");
                if !sched.queue.knows(uid) && !sched.cache.is_assumed(uid) {
                    unknown += 1;
                }
            }
        }
        if pending == 0 && active + backoff + unschedulable + in_flight == 0 {
            continue;
        }
        if unknown > 0 {
            tracing::warn!(
                pending,
                active,
                backoff,
                unschedulable,
                in_flight,
                unknown,
                "scheduler backlog: unbound pods unknown to the queue"
            );
        } else {
            tracing::info!(
                pending,
                active,
                backoff,
                unschedulable,
                in_flight,
                "scheduler backlog"
            );
        }
    }
}

fn is_ours(pod: &Pod, scheduler_name: &str) -> bool {
    let Some(spec) = pod.spec.as_ref() else {
        return false;
    };
    let name = spec.scheduler_name.as_deref().unwrap_or("");
    let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
    (name.is_empty() || name == scheduler_name)
        && spec.node_name.as_deref().unwrap_or("").is_empty()
        && pod.metadata.deletion_timestamp.is_none()
        && !matches!(phase, Some("Succeeded") | Some("Failed"))
}

fn has_condition(pod: &Pod, reason: &str, message: &str) -> bool {
    pod.status
        .iter()
        .flat_map(|s| s.conditions.iter().flatten())
        .any(|c| {
            c.type_ == "PodScheduled"
                && c.status == "False"
                && c.reason.as_deref() == Some(reason)
                && c.message.as_deref().unwrap_or("") == message
        })
}

impl Scheduler {
    fn on_node(&self, c: &Change<Node>) {
        match c {
            Change::Added(n) => {
                self.cache.add_or_update_node(n.clone());
                self.queue.on_event(ClusterEvent::NodeAdd);
            }
            Change::Updated { old, new } => {
                self.cache.add_or_update_node(new.clone());
                // Heartbeats change only conditions and times: no retry for those.
                let alloc = |n: &Node| n.status.as_ref().and_then(|s| s.allocatable.clone());
                if old.spec != new.spec
                    || old.metadata.labels != new.metadata.labels
                    || alloc(old) != alloc(new)
                {
                    self.queue.on_event(ClusterEvent::NodeUpdate);
                }
            }
            Change::Deleted(n) => {
                if let Some(name) = n.metadata.name.as_deref() {
                    self.cache.remove_node(name);
                }
            }
        }
    }

    fn on_pod(&self, c: &Change<Pod>) {
        match c {
            Change::Added(p) => self.pod_seen(None, p),
            Change::Updated { old, new } => self.pod_seen(Some(old), new),
            Change::Deleted(p) => {
                let uid = p.metadata.uid.as_deref().unwrap_or("");
                self.queue.delete(uid);
                if counts_on_node(p).is_some() {
                    self.cache.remove_pod(p);
                    self.queue.on_event(ClusterEvent::AssignedPodDelete);
                }
            }
        }
    }

    fn pod_seen(&self, old: Option<&Arc<Pod>>, new: &Arc<Pod>) {
        let uid = new.metadata.uid.as_deref().unwrap_or("");
        let assigned = new
            .spec
            .as_ref()
            .and_then(|s| s.node_name.as_deref())
            .is_some_and(|n| !n.is_empty());
        if assigned {
            self.queue.delete(uid);
            let was_counted = old.is_some_and(|o| counts_on_node(o).is_some());
            self.cache.add_or_update_pod(new);
            let counted = counts_on_node(new).is_some();
            if was_counted && !counted {
                self.queue.on_event(ClusterEvent::AssignedPodDelete);
            } else if counted && !was_counted {
                self.queue.on_event(ClusterEvent::AssignedPodAdd);
            } else if counted && old.is_some_and(|o| o.metadata.labels != new.metadata.labels) {
                self.queue.on_event(ClusterEvent::AssignedPodUpdate);
            }
            return;
        }
        if !is_ours(new, &self.profile.scheduler_name) {
            self.queue.delete(uid);
            return;
        }
        let gate = self.profile.run_pre_enqueue(&PodInfo::new(new.clone()));
        let gate = (!gate.is_success()).then(|| gate.reasons.join(", "));
        let spec_changed = old.is_none_or(|o| {
            o.spec != new.spec
                || o.metadata.labels != new.metadata.labels
                || o.metadata.annotations != new.metadata.annotations
        });
        if let Admission::Gated(_) = self.queue.add_or_update(new.clone(), gate, spec_changed)
            && !has_condition(new, "SchedulingGated", SCHEDULING_GATED_MSG)
        {
            self.patch_condition(new, "SchedulingGated", SCHEDULING_GATED_MSG);
        }
    }

    async fn schedule_one(
        self: &Arc<Self>,
        alg: &mut Algorithm,
        snap: &mut Snapshot,
        qp: QueuedPod,
        slot: tokio::sync::OwnedSemaphorePermit,
    ) {
        let uid = qp.uid().to_string();
        if self.cache.is_assumed(&uid) {
            self.queue.done(&uid);
            return;
        }
        self.cache.update_snapshot(snap);
        let pi = PodInfo::new(qp.pod.clone());
        let (state, result) = alg.schedule(&self.profile, &pi, snap);
        match result {
            Ok(node) => self.assume_and_bind(qp, pi, node, slot),
            Err(CycleError::Unschedulable(mut fit)) => {
                let nominated = run_post_filter(&self.profile, &state, &pi, snap, &mut fit).await;
                if let Some(n) = &nominated {
                    tracing::debug!(pod = pi.name(), node = %n, "preemption nominated a node");
                }
                let plugins = fit.plugins();
                self.fail(qp, "Unschedulable", fit.message(), plugins, false);
            }
            Err(CycleError::NoNodes) => self.fail(
                qp,
                "Unschedulable",
                NO_NODES_MSG.into(),
                HashSet::new(),
                false,
            ),
            Err(CycleError::Internal(e)) => {
                self.fail(qp, "SchedulerError", e, HashSet::new(), true)
            }
        }
    }

    fn assume_and_bind(
        self: &Arc<Self>,
        qp: QueuedPod,
        pi: PodInfo,
        node: String,
        slot: tokio::sync::OwnedSemaphorePermit,
    ) {
        let mut bound = (*pi.pod).clone();
        if let Some(spec) = bound.spec.as_mut() {
            spec.node_name = Some(node.clone());
        }
        let assumed = PodInfo {
            pod: Arc::new(bound),
            ..pi
        };
        self.cache.assume(Arc::new(assumed), &node);
        let me = self.clone();
        tokio::spawn(async move {
            me.bind(qp, node).await;
            drop(slot);
        });
    }

    async fn bind(&self, qp: QueuedPod, node: String) {
        let pod = qp.pod.clone();
        let ns = pod.metadata.namespace.clone().unwrap_or_default();
        let name = pod.metadata.name.clone().unwrap_or_default();
        let uid = qp.uid().to_string();
        let binding = Binding {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                namespace: Some(ns.clone()),
                uid: pod.metadata.uid.clone(),
                ..Default::default()
            },
            target: ObjectReference {
                api_version: Some("v1".into()),
                kind: Some("Node".into()),
                name: Some(node.clone()),
                ..Default::default()
            },
        };
        let api: Api<Pod> = Api::namespaced(self.client.clone(), &ns);
        let r = api
            .create_subresource::<_, serde_json::Value>(
                "binding",
                &name,
                &PostParams::default(),
                &binding,
            )
            .await;
        match r {
            Ok(_) => {
                self.queue.done(&uid);
                self.recorder.event(
                    &*pod,
                    EventType::Normal,
                    "Scheduled",
                    format!("Successfully assigned {ns}/{name} to {node}"),
                );
            }
            Err(kube::Error::Api(s)) if s.code == 404 => {
                self.cache.forget(&uid);
                self.queue.done(&uid);
            }
            Err(e) => {
                tracing::debug!(pod = %name, "binding failed: {e}");
                self.cache.forget(&uid);
                self.fail(
                    qp,
                    "SchedulerError",
                    format!("binding rejected: {e}"),
                    HashSet::new(),
                    true,
                );
            }
        }
    }

    fn fail(
        &self,
        qp: QueuedPod,
        reason: &str,
        message: String,
        plugins: HashSet<&'static str>,
        error: bool,
    ) {
        let pod = qp.pod.clone();
        self.queue.requeue_failed(qp, plugins, error);
        self.recorder.event(
            &*pod,
            EventType::Warning,
            "FailedScheduling",
            message.clone(),
        );
        if !has_condition(&pod, reason, &message) {
            self.patch_condition(&pod, reason, &message);
        }
    }

    /// Set PodScheduled=False with `reason`/`message`, in the background.
    fn patch_condition(&self, pod: &Pod, reason: &str, message: &str) {
        let ns = pod.metadata.namespace.clone().unwrap_or_default();
        let name = pod.metadata.name.clone().unwrap_or_default();
        let api: Api<Pod> = Api::namespaced(self.client.clone(), &ns);
        let now = jiff::Timestamp::now()
            .strftime("%Y-%m-%dT%H:%M:%SZ")
            .to_string();
        let patch = json!({"status": {"conditions": [{
            "type": "PodScheduled",
            "status": "False",
            "reason": reason,
            "message": message,
            "lastProbeTime": null,
            "lastTransitionTime": now,
        }]}});
        let slots = self.api_slots.clone();
        tokio::spawn(async move {
            let _slot = slots.acquire_owned().await;
            if let Err(e) = api
                .patch_status(&name, &PatchParams::default(), &Patch::Strategic(patch))
                .await
            {
                tracing::warn!(pod = %name, "setting PodScheduled failed: {e}");
            }
        });
    }
}
