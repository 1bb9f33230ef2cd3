//! One sync of one owner: claim its pods (adopt matching orphans, release
//! owned pods that no longer match), create or delete pods toward the
//! desired count when expectations allow, and write the status.

use super::pods::{
    self, CONTROLLER_UID_INDEX, ORPHAN_NAMESPACE_INDEX, owner_reference, pod_from_template,
    pods_to_delete,
};
use super::{BURST_REPLICAS, Ctx, Error, ReplicaCondition, ReplicaOwner, ReplicaStatus};
use informer::{EventType, ObjectKey};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use kube::{Api, ResourceExt};
use serde_json::json;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

/// Condition type and reasons upstream uses for failed creates/deletes.
const REPLICA_FAILURE: &str = "ReplicaFailure";

/// A failed create or delete round: the reason for the ReplicaFailure condition.
struct ManageFailure {
    reason: &'static str,
    message: String,
}

pub(super) async fn reconcile<K: ReplicaOwner>(
    ctx: Arc<Ctx<K>>,
    key: ObjectKey,
) -> Result<Option<Duration>, Error> {
    let Some(owner) = ctx.owners.get(&key) else {
        ctx.expectations.delete(&key);
        return Ok(None);
    };
    let selector = match owner.label_selector() {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(%key, "invalid selector: {e}");
            return Ok(None);
        }
    };
    let needs_sync = ctx.expectations.satisfied(&key);
    let (active, terminating) = claim_pods(&ctx, &owner, &key, &selector).await?;

    let failure = if needs_sync && owner.meta().deletion_timestamp.is_none() {
        manage(&ctx, &owner, &key, &active).await
    } else {
        None
    };

    let now = jiff::Timestamp::now();
    let status = compute_status(owner.as_ref(), &active, terminating, failure.as_ref(), now);
    let current: ReplicaStatus = serde_json::from_value(owner.status_json()).unwrap_or_default();
    if current.normalized() != status.clone().normalized() {
        let api: Api<K> = Api::namespaced(ctx.client.clone(), &key.namespace);
        let patch = json!({ "status": serde_json::to_value(&status)? });
        match api
            .patch_status(&key.name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            Ok(updated) => ctx.owners.apply(Arc::new(updated)),
            Err(kube::Error::Api(s)) if s.code == 404 => return Ok(None),
            Err(e) => return Err(e.into()),
        }
    }
    if let Some(f) = failure {
        return Err(Error::Manage(f.message));
    }
    let min_ready = owner.min_ready_seconds();
    let desired = owner.desired_replicas();
    if min_ready > 0
        && status.ready_replicas.unwrap_or(0) == desired
        && status.available_replicas.unwrap_or(0) != desired
    {
        return Ok(Some(Duration::from_secs(min_ready as u64)));
    }
    Ok(None)
}

/// The owner's active pods after adoption and release, and how many of its
/// pods are terminating.
async fn claim_pods<K: ReplicaOwner>(
    ctx: &Ctx<K>,
    owner: &K,
    key: &ObjectKey,
    selector: &apimachinery::selectors::LabelSelector,
) -> Result<(Vec<Arc<Pod>>, i32), Error> {
    let uid = owner.meta().uid.clone().unwrap_or_default();
    let deleting = owner.meta().deletion_timestamp.is_some();
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), &key.namespace);
    let empty = Default::default();
    let mut active = Vec::new();
    let mut terminating = 0;
    for pod in ctx.pods.by_index(CONTROLLER_UID_INDEX, &uid) {
        if pods::is_terminating(&pod) {
            terminating += 1;
        }
        if !pods::is_active(&pod) {
            continue;
        }
        if selector.matches(pod.metadata.labels.as_ref().unwrap_or(&empty)) {
            active.push(pod);
        } else if !deleting {
            super::claim::release(&api, pod.as_ref(), &uid).await?;
        }
    }
    if deleting {
        return Ok((active, terminating));
    }
    let mut rechecked = false;
    for pod in ctx.pods.by_index(ORPHAN_NAMESPACE_INDEX, &key.namespace) {
        if !pods::is_active(&pod)
            || !selector.matches(pod.metadata.labels.as_ref().unwrap_or(&empty))
        {
            continue;
        }
        if !rechecked {
            // Adopt only if the owner the cache shows is still the live one
            // (upstream's RecheckDeletionTimestamp).
            let fresh = Api::<K>::namespaced(ctx.client.clone(), &key.namespace)
                .get(&key.name)
                .await?;
            let got = fresh.meta().uid.clone().unwrap_or_default();
            if got != uid {
                return Err(Error::OwnerGone {
                    kind: std::any::type_name::<K>()
                        .rsplit("::")
                        .next()
                        .unwrap_or("owner"),
                    key: key.clone(),
                    got,
                    wanted: uid,
                });
            }
            if fresh.meta().deletion_timestamp.is_some() {
                return Ok((active, terminating));
            }
            rechecked = true;
        }
        if let Some(p) = super::claim::adopt(&api, pod.as_ref(), owner).await? {
            let p = Arc::new(p);
            ctx.pods.apply(p.clone());
            active.push(p);
        }
    }
    Ok((active, terminating))
}

fn api_message(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) => s.message.clone(),
        other => other.to_string(),
    }
}

fn namespace_terminating(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.details.as_ref().is_some_and(|d| {
        d.causes.iter().any(|c| c.reason == "NamespaceTerminating")
    }))
}

/// Create or delete pods toward the desired count; `Some` when a request failed.
async fn manage<K: ReplicaOwner>(
    ctx: &Ctx<K>,
    owner: &K,
    key: &ObjectKey,
    active: &[Arc<Pod>],
) -> Option<ManageFailure> {
    let desired = owner.desired_replicas().max(0) as usize;
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), &key.namespace);
    if active.len() < desired {
        let template = owner.pod_template()?;
        let n = (desired - active.len()).min(BURST_REPLICAS);
        ctx.expectations.expect_creations(key, n);
        let pod = pod_from_template(template, &key.namespace, &key.name, owner_reference(owner));
        let (created, err) = slow_start(n, || async {
            match api.create(&PostParams::default(), &pod).await {
                Ok(p) => {
                    ctx.recorder.event(
                        owner,
                        EventType::Normal,
                        "SuccessfulCreate",
                        format!("Created pod: {}", p.name_any()),
                    );
                    Ok(())
                }
                Err(e) if namespace_terminating(&e) => Ok(()),
                Err(e) => {
                    let msg = api_message(&e);
                    ctx.recorder.event(
                        owner,
                        EventType::Warning,
                        "FailedCreate",
                        format!("Error creating: {msg}"),
                    );
                    Err(msg)
                }
            }
        })
        .await;
        // Creations that failed or never started will never be observed.
        for _ in created..n {
            ctx.expectations.creation_observed(key);
        }
        return err.map(|message| ManageFailure {
            reason: "FailedCreate",
            message,
        });
    }
    if active.len() > desired {
        let n = (active.len() - desired).min(BURST_REPLICAS);
        let victims = pods_to_delete(active, n, jiff::Timestamp::now());
        let keys: HashSet<ObjectKey> = victims.iter().map(|p| ObjectKey::of(p.as_ref())).collect();
        ctx.expectations.expect_deletions(key, keys);
        let results = futures::future::join_all(victims.iter().map(|p| {
            let api = api.clone();
            async move {
                let name = p.name_any();
                match api.delete(&name, &DeleteParams::default()).await {
                    Ok(_) => {
                        ctx.recorder.event(
                            owner,
                            EventType::Normal,
                            "SuccessfulDelete",
                            format!("Deleted pod: {name}"),
                        );
                        Ok(())
                    }
                    Err(kube::Error::Api(s)) if s.code == 404 => {
                        ctx.expectations
                            .deletion_observed(key, &ObjectKey::of(p.as_ref()));
                        Ok(())
                    }
                    Err(e) => {
                        ctx.expectations
                            .deletion_observed(key, &ObjectKey::of(p.as_ref()));
                        let msg = api_message(&e);
                        ctx.recorder.event(
                            owner,
                            EventType::Warning,
                            "FailedDelete",
                            format!("Error deleting: {msg}"),
                        );
                        Err(msg)
                    }
                }
            }
        }))
        .await;
        if let Some(Err(message)) = results.into_iter().find(Result::is_err) {
            return Some(ManageFailure {
                reason: "FailedDelete",
                message,
            });
        }
    }
    None
}

/// Upstream's `slowStartBatch`: run `n` calls in batches of 1, 2, 4, …,
/// stopping after the first batch with a failure (so a quota error costs
/// one request, not hundreds). Returns the successes and the first error.
pub(crate) async fn slow_start<F, Fut>(n: usize, call: F) -> (usize, Option<String>)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    let mut done = 0;
    let mut batch = 1usize.min(n);
    while batch > 0 {
        let results = futures::future::join_all((0..batch).map(|_| call())).await;
        let mut first_err = None;
        for r in results {
            match r {
                Ok(()) => done += 1,
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        if first_err.is_some() {
            return (done, first_err);
        }
        batch = (2 * batch).min(n - done);
    }
    (done, None)
}

fn compute_status<K: ReplicaOwner>(
    owner: &K,
    active: &[Arc<Pod>],
    terminating: i32,
    failure: Option<&ManageFailure>,
    now: jiff::Timestamp,
) -> ReplicaStatus {
    let template_labels = owner
        .pod_template()
        .and_then(|t| t.metadata.as_ref())
        .and_then(|m| m.labels.clone())
        .unwrap_or_default();
    let min_ready = owner.min_ready_seconds();
    let mut fully = 0;
    let mut ready = 0;
    let mut available = 0;
    for p in active {
        let labels = p.metadata.labels.as_ref();
        if template_labels
            .iter()
            .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
        {
            fully += 1;
        }
        if pods::is_ready(p) {
            ready += 1;
        }
        if pods::is_available(p, min_ready, now) {
            available += 1;
        }
    }
    let current: ReplicaStatus = serde_json::from_value(owner.status_json()).unwrap_or_default();
    let mut conditions = current.conditions.unwrap_or_default();
    let has_failure = conditions.iter().any(|c| c.type_ == REPLICA_FAILURE);
    match failure {
        Some(f) if !has_failure => conditions.push(ReplicaCondition {
            type_: REPLICA_FAILURE.into(),
            status: "True".into(),
            reason: Some(f.reason.into()),
            message: Some(f.message.clone()),
            last_transition_time: Some(Time(now)),
        }),
        None if has_failure => conditions.retain(|c| c.type_ != REPLICA_FAILURE),
        _ => {}
    }
    let nz = |n: i32| (n != 0).then_some(n);
    ReplicaStatus {
        replicas: active.len() as i32,
        fully_labeled_replicas: nz(fully),
        ready_replicas: nz(ready),
        available_replicas: nz(available),
        terminating_replicas: Some(terminating),
        observed_generation: owner.meta().generation,
        conditions: (!conditions.is_empty()).then_some(conditions),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[tokio::test]
    async fn slow_start_batches_double_and_stop_on_error() {
        let calls = Mutex::new(0usize);
        let (ok, err) = slow_start(10, || async {
            *calls.lock().unwrap() += 1;
            Ok(())
        })
        .await;
        assert_eq!((ok, err), (10, None));
        assert_eq!(*calls.lock().unwrap(), 10);

        // Batches 1, 2, 4: the 5th call fails, so the batch of 4 finishes
        // and no batch of 8 starts.
        let calls = Mutex::new(0usize);
        let (ok, err) = slow_start(20, || async {
            let n = {
                let mut c = calls.lock().unwrap();
                *c += 1;
                *c
            };
            if n == 5 {
                Err("quota".to_string())
            } else {
                Ok(())
            }
        })
        .await;
        assert_eq!(ok, 6);
        assert_eq!(err.as_deref(), Some("quota"));
        assert_eq!(*calls.lock().unwrap(), 7);
    }
}
