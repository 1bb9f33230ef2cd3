//! What the ReplicaSet and ReplicationController controllers share: one
//! controller generic over the owner kind ([`ReplicaOwner`]), which keeps
//! the owner's pods at its replica count (claiming, slow-start creation,
//! ranked deletion, expectations) and writes its status. The two kinds
//! differ only in how their spec and selector are read.

pub mod claim;
pub mod expectations;
pub mod pods;
mod sync;

use apimachinery::selectors::LabelSelector;
use expectations::Expectations;
use informer::{Change, Factory, Informer, ObjectKey, Recorder, WorkQueue};
use k8s_openapi::api::core::v1::{Pod, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::{Client, Resource};
use pods::{controller_ref, indexed_informer};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;

/// Upstream's `burstReplicas`: at most this many creates or deletes per sync.
pub const BURST_REPLICAS: usize = 500;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("kube: {0}")]
    Kube(#[from] kube::Error),
    #[error("encoding: {0}")]
    Json(#[from] serde_json::Error),
    #[error("{0}")]
    Manage(String),
    #[error("original {kind} {key} is gone: got uid {got}, wanted {wanted}")]
    OwnerGone {
        kind: &'static str,
        key: ObjectKey,
        got: String,
        wanted: String,
    },
}

/// A kind that owns replicas of a pod template.
pub trait ReplicaOwner:
    Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
    + Clone
    + Serialize
    + DeserializeOwned
    + Debug
    + Send
    + Sync
    + 'static
{
    /// The event source, e.g. `replicaset-controller`.
    const COMPONENT: &'static str;
    fn label_selector(&self) -> Result<LabelSelector, String>;
    fn desired_replicas(&self) -> i32;
    fn min_ready_seconds(&self) -> i32;
    fn pod_template(&self) -> Option<&PodTemplateSpec>;
    /// The `status` object, in its JSON form (both kinds share its shape).
    fn status_json(&self) -> serde_json::Value;
}

/// The status both kinds share.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplicaStatus {
    #[serde(default)]
    pub replicas: i32,
    pub fully_labeled_replicas: Option<i32>,
    pub ready_replicas: Option<i32>,
    pub available_replicas: Option<i32>,
    pub terminating_replicas: Option<i32>,
    pub observed_generation: Option<i64>,
    pub conditions: Option<Vec<ReplicaCondition>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplicaCondition {
    #[serde(rename = "type")]
    pub type_: String,
    pub status: String,
    pub reason: Option<String>,
    pub message: Option<String>,
    pub last_transition_time: Option<Time>,
}

impl ReplicaStatus {
    /// Zero counts and empty lists are absent, as upstream's `omitempty`
    /// writes them, so a status read back compares equal to a computed one.
    fn normalized(mut self) -> Self {
        for f in [
            &mut self.fully_labeled_replicas,
            &mut self.ready_replicas,
            &mut self.available_replicas,
        ] {
            if *f == Some(0) {
                *f = None;
            }
        }
        if self.conditions.as_ref().is_some_and(Vec::is_empty) {
            self.conditions = None;
        }
        self
    }
}

pub(crate) struct Ctx<K: ReplicaOwner> {
    client: Client,
    owners: Informer<K>,
    pods: Informer<Pod>,
    queue: WorkQueue<ObjectKey>,
    expectations: Expectations,
    recorder: Recorder,
}

/// Run the controller for `K` with `workers` workers until the process ends.
pub async fn run<K: ReplicaOwner>(factory: Factory, workers: usize) {
    let ctx = Arc::new(Ctx::<K> {
        client: factory.client(),
        owners: factory.informer::<K>(),
        pods: indexed_informer::<Pod>(&factory),
        queue: WorkQueue::new(),
        expectations: Expectations::default(),
        recorder: Recorder::new(factory.client(), K::COMPONENT),
    });
    {
        let c = ctx.clone();
        ctx.owners.on_change(move |ch: &Change<K>| {
            let key = ObjectKey::of(ch.object().as_ref());
            if let Change::Deleted(_) = ch {
                c.expectations.delete(&key);
            }
            c.queue.add(key);
        });
    }
    {
        let c = ctx.clone();
        ctx.pods
            .on_change(move |ch: &Change<Pod>| c.pod_changed(ch));
    }
    // Both at once: a wait that subscribes after the informer synced would
    // not see it (the informer's sync signal is not sticky).
    futures::join!(ctx.owners.wait_synced(), ctx.pods.wait_synced());
    let c = ctx.clone();
    ctx.queue
        .run(workers, move |key| sync::reconcile(c.clone(), key))
        .await;
}

impl<K: ReplicaOwner> Ctx<K> {
    /// The key of the owner of our kind that controls `pod`, if any.
    fn owner_of(&self, pod: &Pod) -> Option<ObjectKey> {
        let r = controller_ref(&pod.metadata)?;
        let group = r.api_version.rsplit_once('/').map_or("", |(g, _)| g);
        (r.kind == K::kind(&()) && group == K::group(&()))
            .then(|| ObjectKey::new(pod.metadata.namespace.clone().unwrap_or_default(), &r.name))
    }

    /// Owners in the pod's namespace whose selector matches it: who may adopt it.
    fn enqueue_matching(&self, pod: &Pod) {
        let ns = pod.metadata.namespace.as_deref().unwrap_or_default();
        let empty = Default::default();
        let labels = pod.metadata.labels.as_ref().unwrap_or(&empty);
        for o in self.owners.list_namespace(ns) {
            if o.label_selector().is_ok_and(|s| s.matches(labels)) {
                self.queue.add(ObjectKey::of(o.as_ref()));
            }
        }
    }

    fn pod_deleted(&self, pod: &Pod) {
        if let Some(owner) = self.owner_of(pod) {
            self.expectations
                .deletion_observed(&owner, &ObjectKey::of(pod));
            self.queue.add(owner);
        }
    }

    fn pod_changed(&self, ch: &Change<Pod>) {
        match ch {
            Change::Added(pod) => {
                if pod.metadata.deletion_timestamp.is_some() {
                    return self.pod_deleted(pod);
                }
                match self.owner_of(pod) {
                    Some(owner) => {
                        self.expectations.creation_observed(&owner);
                        self.queue.add(owner);
                    }
                    None if controller_ref(&pod.metadata).is_none() => self.enqueue_matching(pod),
                    None => {}
                }
            }
            Change::Updated { old, new } => {
                let labels_changed = old.metadata.labels != new.metadata.labels;
                if new.metadata.deletion_timestamp.is_some() {
                    self.pod_deleted(new);
                    if labels_changed {
                        self.pod_deleted(old);
                    }
                    return;
                }
                let old_owner = self.owner_of(old);
                let new_owner = self.owner_of(new);
                if old_owner != new_owner
                    && let Some(o) = old_owner
                {
                    self.queue.add(o);
                }
                match new_owner {
                    Some(owner) => {
                        // Becoming ready starts the minReadySeconds clock:
                        // look again once it has run.
                        if !pods::is_ready(old)
                            && pods::is_ready(new)
                            && let Some(o) = self.owners.get(&owner)
                            && o.min_ready_seconds() > 0
                        {
                            let d = Duration::from_secs(o.min_ready_seconds() as u64 + 1);
                            self.queue.add_after(owner.clone(), d);
                        }
                        self.queue.add(owner);
                    }
                    None => {
                        let orphan = controller_ref(&new.metadata).is_none();
                        let ref_changed = controller_ref(&old.metadata).map(|r| &r.uid)
                            != controller_ref(&new.metadata).map(|r| &r.uid);
                        if orphan && (labels_changed || ref_changed) {
                            self.enqueue_matching(new);
                        }
                    }
                }
            }
            Change::Deleted(pod) => self.pod_deleted(pod),
        }
    }
}
