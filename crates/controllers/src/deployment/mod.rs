//! The Deployment controller: each Deployment owns ReplicaSets named
//! `<deployment>-<pod-template-hash>`, one per template it has had, and
//! moves replicas from the old ones to the new one by its strategy
//! (RollingUpdate within maxSurge/maxUnavailable, or Recreate), scaling
//! proportionally when resized mid-rollout, keeping revision history,
//! honouring `spec.paused`, and reporting rollout progress in its status
//! and conditions as `kubectl rollout status` reads them.

mod progress;
mod rolling;
mod sync;
pub mod util;

use crate::replica_common::pods::{
    CONTROLLER_UID_INDEX, ORPHAN_NAMESPACE_INDEX, controller_ref, indexed_informer,
};
use apimachinery::selectors::LabelSelector;
use informer::{Change, EventType, Factory, Informer, ObjectKey, Recorder, WorkQueue};
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;
use kube::{Api, Client, ResourceExt};
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("kube: {0}")]
    Kube(#[from] kube::Error),
    #[error("encoding: {0}")]
    Json(#[from] serde_json::Error),
    #[error("hash collision for replica set {0}")]
    Collision(String),
    #[error("original deployment {key} is gone: got uid {got}, wanted {wanted}")]
    OwnerGone {
        key: ObjectKey,
        got: String,
        wanted: String,
    },
}

pub(crate) struct Ctx {
    client: Client,
    deployments: Informer<Deployment>,
    rss: Informer<ReplicaSet>,
    pods: Informer<Pod>,
    queue: WorkQueue<ObjectKey>,
    recorder: Recorder,
}

pub async fn run(factory: Factory) {
    let ctx = Arc::new(Ctx {
        client: factory.client(),
        deployments: factory.informer::<Deployment>(),
        rss: indexed_informer::<ReplicaSet>(&factory),
        pods: indexed_informer::<Pod>(&factory),
        queue: WorkQueue::new(),
        recorder: Recorder::new(factory.client(), "deployment-controller"),
    });
    {
        let c = ctx.clone();
        ctx.deployments
            .on_change(move |ch| c.queue.add(ObjectKey::of(ch.object().as_ref())));
    }
    {
        let c = ctx.clone();
        ctx.rss.on_change(move |ch| c.rs_changed(ch));
    }
    {
        let c = ctx.clone();
        ctx.pods.on_change(move |ch| {
            if let Change::Deleted(p) = ch {
                c.pod_deleted(p);
            }
        });
    }
    // Together: the informers' sync signal is only seen by waiters already
    // subscribed when it fires.
    futures::join!(
        ctx.deployments.wait_synced(),
        ctx.rss.wait_synced(),
        ctx.pods.wait_synced()
    );
    let c = ctx.clone();
    ctx.queue
        .run(5, move |key| {
            let c = c.clone();
            async move { c.sync_deployment(key).await }
        })
        .await;
}

fn selector_of(d: &Deployment) -> Result<LabelSelector, String> {
    let v = serde_json::to_value(&d.spec.selector).map_err(|e| e.to_string())?;
    LabelSelector::from_json(&v).map_err(|e| e.to_string())
}

impl Ctx {
    fn deployment_of_rs(&self, rs: &ReplicaSet) -> Option<ObjectKey> {
        let r = controller_ref(&rs.metadata)?;
        (r.kind == "Deployment" && r.api_version.starts_with("apps/"))
            .then(|| ObjectKey::new(rs.namespace().unwrap_or_default(), &r.name))
    }

    fn enqueue_matching(&self, rs: &ReplicaSet) {
        let ns = rs.namespace().unwrap_or_default();
        let empty = Default::default();
        let labels = rs.metadata.labels.as_ref().unwrap_or(&empty);
        for d in self.deployments.list_namespace(&ns) {
            if selector_of(&d).is_ok_and(|s| !s.is_empty() && s.matches(labels)) {
                self.queue.add(ObjectKey::of(d.as_ref()));
            }
        }
    }

    fn rs_changed(&self, ch: &Change<ReplicaSet>) {
        if let Change::Updated { old, new } = ch {
            let before = self.deployment_of_rs(old);
            if before != self.deployment_of_rs(new)
                && let Some(k) = before
            {
                self.queue.add(k);
            }
        }
        let rs = ch.object();
        match self.deployment_of_rs(rs) {
            Some(k) => self.queue.add(k),
            None if controller_ref(&rs.metadata).is_none() && !matches!(ch, Change::Deleted(_)) => {
                self.enqueue_matching(rs)
            }
            None => {}
        }
    }

    /// Recreate waits for old pods to go: their deletion is news to it.
    fn pod_deleted(&self, pod: &Pod) {
        let Some(r) = controller_ref(&pod.metadata) else {
            return;
        };
        if r.kind != "ReplicaSet" {
            return;
        }
        let ns = pod.namespace().unwrap_or_default();
        let Some(rs) = self.rss.get(&ObjectKey::new(ns, &r.name)) else {
            return;
        };
        if let Some(k) = self.deployment_of_rs(&rs)
            && let Some(d) = self.deployments.get(&k)
            && !util::is_rolling(&d)
        {
            self.queue.add(k);
        }
    }

    async fn sync_deployment(&self, key: ObjectKey) -> Result<Option<Duration>, Error> {
        let Some(d) = self.deployments.get(&key) else {
            return Ok(None);
        };
        let mut d = (*d).clone();
        let selector = match selector_of(&d) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(%key, "invalid selector: {e}");
                return Ok(None);
            }
        };
        if selector.is_empty() {
            self.recorder.event(
                &d,
                EventType::Warning,
                "SelectingAll",
                "This deployment is selecting all pods. A non-empty selector is required.",
            );
            let observed = d.status.as_ref().and_then(|s| s.observed_generation);
            if observed < d.metadata.generation {
                let mut st = d.status.clone().unwrap_or_default();
                st.observed_generation = d.metadata.generation;
                self.put_status(&mut d, st).await?;
            }
            return Ok(None);
        }
        let rs_list = self.claim_replica_sets(&d, &key, &selector).await?;
        if d.metadata.deletion_timestamp.is_some() {
            let (new, old) = self.all_replica_sets(&mut d, &rs_list, false).await?;
            self.sync_deployment_status(&mut d, &old, new.as_ref())
                .await?;
            return Ok(None);
        }
        self.check_paused_conditions(&mut d).await?;
        if d.spec.paused == Some(true) || self.is_scaling_event(&mut d, &rs_list).await? {
            self.sync(&mut d, &rs_list).await?;
            return Ok(None);
        }
        if util::is_rolling(&d) {
            self.rollout_rolling(&mut d, &rs_list).await
        } else {
            self.rollout_recreate(&mut d, &rs_list).await
        }
    }

    /// The ReplicaSets this Deployment controls, after adopting matching
    /// orphans and releasing owned ones its selector no longer matches.
    async fn claim_replica_sets(
        &self,
        d: &Deployment,
        key: &ObjectKey,
        selector: &LabelSelector,
    ) -> Result<Vec<ReplicaSet>, Error> {
        use crate::replica_common::claim::{adopt, release};
        let uid = d.uid().unwrap_or_default();
        let deleting = d.metadata.deletion_timestamp.is_some();
        let api: Api<ReplicaSet> = Api::namespaced(self.client.clone(), &key.namespace);
        let empty = Default::default();
        let mut out = Vec::new();
        for rs in self.rss.by_index(CONTROLLER_UID_INDEX, &uid) {
            if selector.matches(rs.metadata.labels.as_ref().unwrap_or(&empty)) {
                out.push((*rs).clone());
            } else if !deleting {
                release(&api, rs.as_ref(), &uid).await?;
            }
        }
        if deleting {
            return Ok(out);
        }
        let mut rechecked = false;
        for rs in self.rss.by_index(ORPHAN_NAMESPACE_INDEX, &key.namespace) {
            if rs.metadata.deletion_timestamp.is_some()
                || !selector.matches(rs.metadata.labels.as_ref().unwrap_or(&empty))
            {
                continue;
            }
            if !rechecked {
                let fresh = Api::<Deployment>::namespaced(self.client.clone(), &key.namespace)
                    .get(&key.name)
                    .await?;
                let got = fresh.uid().unwrap_or_default();
                if got != uid {
                    return Err(Error::OwnerGone {
                        key: key.clone(),
                        got,
                        wanted: uid,
                    });
                }
                if fresh.metadata.deletion_timestamp.is_some() {
                    return Ok(out);
                }
                rechecked = true;
            }
            if let Some(adopted) = adopt(&api, rs.as_ref(), d).await? {
                self.rss.apply(Arc::new(adopted.clone()));
                out.push(adopted);
            }
        }
        Ok(out)
    }
}
