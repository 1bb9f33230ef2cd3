//! The StatefulSet controller: stable pod identities `<set>-<ordinal>` with
//! their own claims, created in order (OrderedReady) or all at once
//! (Parallel), rolled to the newest ControllerRevision from the highest
//! ordinal down, and status written back. This file wires informers and the
//! work queue; `sync` holds the reconcile, `pods` the pure rules.

pub mod pods;
mod status;
mod sync;

use crate::history::{self, CONTROLLER_UID_INDEX, HistoryError};
use informer::{Factory, ObjectKey, Recorder, WorkQueue};
use k8s_openapi::api::apps::v1::{ControllerRevision, StatefulSet};
use k8s_openapi::api::core::v1::Pod;
use std::sync::Arc;

/// Upstream's default `--concurrent-statefulset-syncs`.
const WORKERS: usize = 5;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("statefulset: {0}")]
    Api(#[from] kube::Error),
    #[error(transparent)]
    History(#[from] HistoryError),
    #[error("statefulset: encoding the pod template: {0}")]
    Json(#[from] serde_json::Error),
}

/// Enqueue the set that controls `pod`, if a StatefulSet does.
fn enqueue_owner(queue: &WorkQueue<ObjectKey>, pod: &Pod) {
    if let Some(r) = history::controller_of(&pod.metadata)
        && r.kind == "StatefulSet"
    {
        let ns = pod.metadata.namespace.clone().unwrap_or_default();
        queue.add(ObjectKey::new(ns, r.name.clone()));
    }
}

pub async fn run(factory: Factory) {
    let client = factory.client();
    let sets = factory.informer::<StatefulSet>();
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
        if let informer::Change::Updated { old, new } = c
            && history::controller_of(&old.metadata).map(|r| &r.uid)
                != history::controller_of(&new.metadata).map(|r| &r.uid)
        {
            enqueue_owner(&q, old);
        }
        enqueue_owner(&q, c.object());
    });

    sets.wait_synced().await;
    pods.wait_synced().await;
    revs.wait_synced().await;

    let ctx = Arc::new(sync::Ctx {
        recorder: Recorder::new(client.clone(), "statefulset-controller"),
        client,
        pods,
        revs,
    });
    queue
        .run(WORKERS, move |key: ObjectKey| {
            let ctx = ctx.clone();
            let sets = sets.clone();
            async move {
                match sets.get(&key) {
                    Some(set) => sync::sync(&ctx, set).await,
                    None => Ok(None),
                }
            }
        })
        .await;
}
