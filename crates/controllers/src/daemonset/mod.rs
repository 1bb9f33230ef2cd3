//! The DaemonSet controller: one daemon pod on every eligible node, pinned
//! by node affinity for the scheduler to bind, rolled to the newest
//! ControllerRevision (maxUnavailable / maxSurge) or on delete, with status
//! written back. This file wires informers and the queue: a node change
//! requeues only the DaemonSets whose verdict on that node changed.

mod eligibility;
mod sync;

pub use eligibility::{
    add_daemon_tolerations, fits_node_affinity, new_pod, node_should_run, target_node,
};

use crate::history::{self, CONTROLLER_UID_INDEX, HistoryError};
use informer::{Change, Factory, Informer, ObjectKey, Recorder, WorkQueue};
use k8s_openapi::api::apps::v1::{ControllerRevision, DaemonSet};
use k8s_openapi::api::core::v1::{Node, Pod};
use std::sync::Arc;

/// Upstream's default `--concurrent-daemonset-syncs`.
const WORKERS: usize = 2;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("daemonset: {0}")]
    Api(#[from] kube::Error),
    #[error(transparent)]
    History(#[from] HistoryError),
    #[error("daemonset: encoding the pod template: {0}")]
    Json(#[from] serde_json::Error),
}

fn enqueue_owner(queue: &WorkQueue<ObjectKey>, pod: &Pod) {
    if let Some(r) = history::controller_of(&pod.metadata)
        && r.kind == "DaemonSet"
    {
        let ns = pod.metadata.namespace.clone().unwrap_or_default();
        queue.add(ObjectKey::new(ns, r.name.clone()));
    }
}

/// Requeue the DaemonSets whose verdict on the changed node differs.
fn on_node(queue: &WorkQueue<ObjectKey>, sets: &Informer<DaemonSet>, c: &Change<Node>) {
    let (old, new) = match c {
        Change::Added(n) => (None, Some(n)),
        Change::Deleted(n) => (Some(n), None),
        Change::Updated { old, new } => {
            let same = old.metadata.labels == new.metadata.labels
                && old.spec.as_ref().map(|s| &s.taints) == new.spec.as_ref().map(|s| &s.taints);
            if same {
                return;
            }
            (Some(old), Some(new))
        }
    };
    for ds in sets.list() {
        let spec = eligibility::daemon_pod_spec(&ds);
        let verdict = |n: Option<&Arc<Node>>| n.map(|n| node_should_run(&spec, n));
        let (before, after) = (verdict(old), verdict(new));
        let relevant = match (before, after) {
            (Some(b), Some(a)) => a != b,
            (None, Some((run, _))) | (Some((run, _)), None) => run,
            (None, None) => false,
        };
        // A deleted node whose pods are gone already needs nothing either
        // way; any other change of verdict does.
        if relevant || (new.is_none() && before.is_some_and(|b| b.1)) {
            queue.add(ObjectKey::of(ds.as_ref()));
        }
    }
}

pub async fn run(factory: Factory) {
    let client = factory.client();
    let sets = factory.informer::<DaemonSet>();
    let nodes = factory.informer::<Node>();
    let pods = factory.informer_with::<Pod>(|i| {
        i.add_index(CONTROLLER_UID_INDEX, history::controller_uid_index())
    });
    let revs = factory.informer_with::<ControllerRevision>(|i| {
        i.add_index(CONTROLLER_UID_INDEX, history::controller_uid_index())
    });
    let queue: WorkQueue<ObjectKey> = WorkQueue::new();

    let q = queue.clone();
    sets.on_change(move |c| q.add(ObjectKey::of(c.object().as_ref())));
    let q = queue.clone();
    pods.on_change(move |c| {
        if let Change::Updated { old, .. } = c {
            enqueue_owner(&q, old);
        }
        enqueue_owner(&q, c.object());
    });

    sets.wait_synced().await;
    let (q, s) = (queue.clone(), sets.clone());
    nodes.on_change(move |c| on_node(&q, &s, c));
    nodes.wait_synced().await;
    pods.wait_synced().await;
    revs.wait_synced().await;

    let ctx = Arc::new(sync::Ctx {
        recorder: Recorder::new(client.clone(), "daemonset-controller"),
        client,
        nodes,
        pods,
        revs,
    });
    queue
        .run(WORKERS, move |key: ObjectKey| {
            let ctx = ctx.clone();
            let sets = sets.clone();
            async move {
                match sets.get(&key) {
                    Some(ds) => sync::sync(&ctx, ds).await,
                    None => Ok(None),
                }
            }
        })
        .await;
}
