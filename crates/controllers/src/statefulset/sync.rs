//! One StatefulSet reconcile, upstream's `updateStatefulSet` in one step:
//! resolve the current and update revisions, recreate failed members,
//! create missing ones (claims first), condemn members past the replica
//! count from the highest ordinal, roll outdated members from the highest
//! ordinal down to the partition, then write status and prune history.

use super::Error;
use super::pods::{
    self, claims_for, is_failed, is_running_and_ready, is_succeeded, is_terminating,
    member_ordinal, new_pod, revision_of,
};
use super::status;
use crate::history::{self, CONTROLLER_UID_INDEX, HASH_LABEL, NewRevision};
use informer::{EventType, Informer, ObjectKey, Recorder};
use k8s_openapi::api::apps::v1::{ControllerRevision, StatefulSet};
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use kube::{Api, Client};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

pub struct Ctx {
    pub client: Client,
    pub pods: Informer<Pod>,
    pub revs: Informer<ControllerRevision>,
    pub recorder: Recorder,
}

/// The revision to build a new member from, by upstream's rule: ordinals
/// below the partition keep the current revision.
struct Revisions {
    current_name: String,
    current_template: PodTemplateSpec,
    update_name: String,
    update_template: PodTemplateSpec,
}

fn is_healthy(p: &Pod, min_ready: i32, now: jiff::Timestamp) -> bool {
    is_running_and_ready(p) && !is_terminating(p) && pods::is_available(p, min_ready, now)
}

pub async fn sync(ctx: &Ctx, set: Arc<StatefulSet>) -> Result<Option<Duration>, Error> {
    if set.metadata.deletion_timestamp.is_some() {
        return Ok(None);
    }
    let spec = set.spec.clone();
    let ns = set.metadata.namespace.clone().unwrap_or_default();
    let name = set.metadata.name.clone().unwrap_or_default();
    let uid = set.metadata.uid.clone().unwrap_or_default();
    let selector = serde_json::to_value(&spec.selector)
        .ok()
        .and_then(|v| apimachinery::selectors::LabelSelector::from_json(&v).ok());
    let Some(selector) = selector else {
        return Ok(None);
    };
    let owned = |ctx: &Ctx| -> Vec<Arc<Pod>> {
        ctx.pods
            .by_index(CONTROLLER_UID_INDEX, &uid)
            .into_iter()
            .filter(|p| {
                member_ordinal(&name, p).is_some()
                    && selector.matches(&p.metadata.labels.clone().unwrap_or_default())
            })
            .collect()
    };

    let mut collision_count = set.status.as_ref().and_then(|s| s.collision_count);
    let revs = resolve_revisions(ctx, &set, &mut collision_count).await?;

    let replicas = spec.replicas.unwrap_or(1).max(0);
    let start = pods::start_ordinal(&set);
    let min_ready = spec.min_ready_seconds.unwrap_or(0);
    let monotonic = spec.pod_management_policy.as_deref() != Some("Parallel");
    let strategy = spec.update_strategy.clone().unwrap_or_default();
    let on_delete = strategy.type_.as_deref() == Some("OnDelete");
    let partition = strategy
        .rolling_update
        .as_ref()
        .and_then(|r| r.partition)
        .unwrap_or(0)
        .max(0);
    let now = jiff::Timestamp::now();

    let mut slots: Vec<Option<Arc<Pod>>> = vec![None; usize::try_from(replicas).unwrap_or(0)];
    let mut condemned: Vec<(i32, Arc<Pod>)> = Vec::new();
    for p in owned(ctx) {
        let Some(ord) = member_ordinal(&name, &p) else {
            continue;
        };
        if ord >= start && ord < start.saturating_add(replicas) {
            slots[usize::try_from(ord - start).unwrap_or(0)] = Some(p);
        } else {
            condemned.push((ord, p));
        }
    }
    condemned.sort_by_key(|(ord, _)| std::cmp::Reverse(*ord));

    let mut blocked = false;
    for (i, slot) in slots.iter().enumerate() {
        let ord = start + i32::try_from(i).unwrap_or(0);
        if let Some(p) = slot
            && (is_failed(p) || is_succeeded(p))
        {
            if !is_terminating(p) {
                ctx.recorder.event(
                    set.as_ref(),
                    EventType::Warning,
                    "RecreatingFailedPod",
                    format!(
                        "StatefulSet {ns}/{name} is recreating failed Pod {}",
                        pods::pod_name(&name, ord)
                    ),
                );
                delete_pod(ctx, &set, p).await?;
            }
            if monotonic {
                blocked = true;
                break;
            }
            continue;
        }
        match slot {
            None => {
                let idx = i32::try_from(i).unwrap_or(i32::MAX);
                let current_replicas = set
                    .status
                    .as_ref()
                    .and_then(|s| s.current_replicas)
                    .unwrap_or(0);
                let keep_current = match &strategy.rolling_update {
                    Some(_) => idx < partition,
                    None => !on_delete && idx < current_replicas,
                };
                let (rev, template) = if keep_current {
                    (&revs.current_name, &revs.current_template)
                } else {
                    (&revs.update_name, &revs.update_template)
                };
                create_member(ctx, &set, &new_pod(&set, template, ord, rev), ord).await?;
                if monotonic {
                    blocked = true;
                    break;
                }
            }
            Some(p) if monotonic && !is_healthy(p, min_ready, now) => {
                blocked = true;
                break;
            }
            Some(_) => {}
        }
    }

    if !blocked {
        scale_down(ctx, &set, &slots, &condemned, monotonic, min_ready, now).await?;
    }
    if !blocked && condemned.is_empty() && !on_delete {
        let max_unavailable = strategy
            .rolling_update
            .as_ref()
            .and_then(|r| r.max_unavailable.as_ref())
            .map_or(1, |m| scaled(m, replicas))
            .max(1);
        let from = usize::try_from(partition).unwrap_or(0);
        let targets: Vec<&Arc<Pod>> = slots.iter().skip(from).flatten().collect();
        let unavailable = slots
            .iter()
            .skip(from)
            .filter(|s| s.as_ref().is_none_or(|p| !is_healthy(p, min_ready, now)))
            .count();
        let budget = usize::try_from(max_unavailable)
            .unwrap_or(1)
            .saturating_sub(unavailable);
        let outdated = targets
            .into_iter()
            .rev()
            .filter(|p| revision_of(p) != Some(revs.update_name.as_str()) && !is_terminating(p))
            .take(budget);
        for p in outdated.collect::<Vec<_>>() {
            delete_pod(ctx, &set, p).await?;
        }
    }

    let pods_now = owned(ctx);
    let (st, requeue) = status::compute(
        &set,
        &pods_now,
        &revs.current_name,
        &revs.update_name,
        collision_count,
        now,
    );
    if status::changed(&set, &st) {
        let api: Api<StatefulSet> = Api::namespaced(ctx.client.clone(), &ns);
        let patch = serde_json::json!({ "status": st });
        api.patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch))
            .await?;
    }

    let mut live: HashSet<String> = pods_now
        .iter()
        .filter_map(|p| revision_of(p).map(str::to_string))
        .collect();
    live.insert(revs.current_name.clone());
    live.insert(revs.update_name.clone());
    if let Some(c) = st.current_revision.clone() {
        live.insert(c);
    }
    let mut sorted = ctx.revs.by_index(CONTROLLER_UID_INDEX, &uid);
    history::sort_revisions(&mut sorted);
    let api: Api<ControllerRevision> = Api::namespaced(ctx.client.clone(), &ns);
    history::prune(
        &api,
        &sorted,
        &live,
        spec.revision_history_limit.unwrap_or(10),
    )
    .await?;
    Ok(requeue)
}

/// An int-or-percent of `total`, percentages rounded down (upstream's rule
/// for maxUnavailable).
pub fn scaled(v: &IntOrString, total: i32) -> i32 {
    match v {
        IntOrString::Int(n) => *n,
        IntOrString::String(s) => s
            .strip_suffix('%')
            .and_then(|p| p.trim().parse::<i64>().ok())
            .map_or(0, |p| {
                i32::try_from(p * i64::from(total) / 100).unwrap_or(0)
            }),
    }
}

async fn resolve_revisions(
    ctx: &Ctx,
    set: &StatefulSet,
    collision_count: &mut Option<i32>,
) -> Result<Revisions, Error> {
    let spec = set.spec.clone();
    let ns = set.metadata.namespace.clone().unwrap_or_default();
    let uid = set.metadata.uid.clone().unwrap_or_default();
    let mut sorted = ctx.revs.by_index(CONTROLLER_UID_INDEX, &uid);
    history::sort_revisions(&mut sorted);
    let template = serde_json::to_value(&spec.template)?;
    let new = NewRevision {
        owner: history::controller_ref(set),
        namespace: &ns,
        template_labels: spec
            .template
            .metadata
            .as_ref()
            .and_then(|m| m.labels.clone())
            .unwrap_or_default(),
        annotations: set.metadata.annotations.clone(),
        data: history::template_patch(&template),
        revision: history::next_revision(&sorted),
        hash_label: HASH_LABEL,
    };
    let api: Api<ControllerRevision> = Api::namespaced(ctx.client.clone(), &ns);
    let update = history::ensure_revision(&api, &sorted, &new, collision_count).await?;
    ctx.revs.apply(update.clone());
    let update_name = update.metadata.name.clone().unwrap_or_default();
    let wanted = set.status.as_ref().and_then(|s| s.current_revision.clone());
    let current = sorted
        .iter()
        .find(|r| r.metadata.name.is_some() && r.metadata.name == wanted)
        .cloned()
        .unwrap_or_else(|| update.clone());
    let current_template = history::template_of(&current)
        .and_then(|t| serde_json::from_value(t).ok())
        .unwrap_or_else(|| spec.template.clone());
    Ok(Revisions {
        current_name: current.metadata.name.clone().unwrap_or_default(),
        current_template,
        update_name,
        update_template: spec.template,
    })
}

/// Owner references the claims of a new member get under the retention policy.
fn claim_owners(set: &StatefulSet) -> Vec<OwnerReference> {
    let when_deleted = Some(&set.spec)
        .and_then(|s| s.persistent_volume_claim_retention_policy.as_ref())
        .and_then(|p| p.when_deleted.as_deref());
    if when_deleted == Some("Delete") {
        let mut r = history::controller_ref(set);
        r.controller = None;
        vec![r]
    } else {
        Vec::new()
    }
}

async fn create_member(ctx: &Ctx, set: &StatefulSet, pod: &Pod, ord: i32) -> Result<(), Error> {
    let ns = set.metadata.namespace.clone().unwrap_or_default();
    let set_name = set.metadata.name.clone().unwrap_or_default();
    let pod_name = pod.metadata.name.clone().unwrap_or_default();
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(ctx.client.clone(), &ns);
    for c in claims_for(set, ord, claim_owners(set)) {
        let cname = c.metadata.name.clone().unwrap_or_default();
        match claims.create(&PostParams::default(), &c).await {
            Ok(_) => ctx.recorder.event(
                set,
                EventType::Normal,
                "SuccessfulCreate",
                format!("create Claim {cname} Pod {pod_name} in StatefulSet {set_name} success"),
            ),
            Err(kube::Error::Api(s)) if s.code == 409 => {}
            Err(e) => {
                ctx.recorder.event(
                    set,
                    EventType::Warning,
                    "FailedCreate",
                    format!(
                        "create Claim {cname} for Pod {pod_name} in StatefulSet {set_name} failed error: {e}"
                    ),
                );
                return Err(e.into());
            }
        }
    }
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), &ns);
    match api.create(&PostParams::default(), pod).await {
        Ok(created) => {
            ctx.pods.apply(Arc::new(created));
            ctx.recorder.event(
                set,
                EventType::Normal,
                "SuccessfulCreate",
                format!("create Pod {pod_name} in StatefulSet {set_name} successful"),
            );
            Ok(())
        }
        // Our cache is behind: the watch will bring the pod and requeue us.
        Err(kube::Error::Api(s)) if s.code == 409 => Ok(()),
        Err(e) => {
            ctx.recorder.event(
                set,
                EventType::Warning,
                "FailedCreate",
                format!("create Pod {pod_name} in StatefulSet {set_name} failed error: {e}"),
            );
            Err(e.into())
        }
    }
}

async fn delete_pod(ctx: &Ctx, set: &StatefulSet, pod: &Pod) -> Result<(), Error> {
    let ns = pod.metadata.namespace.clone().unwrap_or_default();
    let pod_name = pod.metadata.name.clone().unwrap_or_default();
    let set_name = set.metadata.name.clone().unwrap_or_default();
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), &ns);
    let key = ObjectKey::new(ns, pod_name.clone());
    match api.delete(&pod_name, &DeleteParams::default()).await {
        Ok(either) => {
            match either.left() {
                Some(p) => ctx.pods.apply(Arc::new(p)),
                None => ctx.pods.delete(&key),
            }
            ctx.recorder.event(
                set,
                EventType::Normal,
                "SuccessfulDelete",
                format!("delete Pod {pod_name} in StatefulSet {set_name} successful"),
            );
            Ok(())
        }
        Err(kube::Error::Api(s)) if s.code == 404 => {
            ctx.pods.delete(&key);
            Ok(())
        }
        Err(e) => {
            ctx.recorder.event(
                set,
                EventType::Warning,
                "FailedDelete",
                format!("delete Pod {pod_name} in StatefulSet {set_name} failed error: {e}"),
            );
            Err(e.into())
        }
    }
}

/// Remove members past the replica count, highest ordinal first; one at a
/// time, and only while everything else is healthy, unless Parallel.
async fn scale_down(
    ctx: &Ctx,
    set: &StatefulSet,
    slots: &[Option<Arc<Pod>>],
    condemned: &[(i32, Arc<Pod>)],
    monotonic: bool,
    min_ready: i32,
    now: jiff::Timestamp,
) -> Result<(), Error> {
    if !monotonic {
        for (_, p) in condemned {
            if !is_terminating(p) {
                release_claims(ctx, set, p).await?;
                delete_pod(ctx, set, p).await?;
            }
        }
        return Ok(());
    }
    if condemned.iter().any(|(_, p)| is_terminating(p)) {
        return Ok(());
    }
    // The lowest unhealthy pod may go; a higher one waits for it.
    let first_unhealthy = slots
        .iter()
        .flatten()
        .chain(condemned.iter().rev().map(|(_, p)| p))
        .find(|p| !is_healthy(p, min_ready, now));
    if let Some((_, target)) = condemned.first() {
        if first_unhealthy.is_some_and(|u| !Arc::ptr_eq(u, target)) {
            return Ok(());
        }
        release_claims(ctx, set, target).await?;
        delete_pod(ctx, set, target).await?;
    }
    Ok(())
}

/// With `whenScaled: Delete`, a condemned member's claims become owned by
/// the pod, so the garbage collector removes them with it.
async fn release_claims(ctx: &Ctx, set: &StatefulSet, pod: &Pod) -> Result<(), Error> {
    let when_scaled = Some(&set.spec)
        .and_then(|s| s.persistent_volume_claim_retention_policy.as_ref())
        .and_then(|p| p.when_scaled.as_deref());
    if when_scaled != Some("Delete") {
        return Ok(());
    }
    let set_name = set.metadata.name.clone().unwrap_or_default();
    let Some(ord) = member_ordinal(&set_name, pod) else {
        return Ok(());
    };
    let ns = set.metadata.namespace.clone().unwrap_or_default();
    let api: Api<PersistentVolumeClaim> = Api::namespaced(ctx.client.clone(), &ns);
    let mut pod_ref = history::controller_ref(pod);
    pod_ref.controller = None;
    for c in claims_for(set, ord, Vec::new()) {
        let cname = c.metadata.name.clone().unwrap_or_default();
        let existing = match api.get_opt(&cname).await? {
            Some(e) => e,
            None => continue,
        };
        let mut refs = existing
            .metadata
            .owner_references
            .clone()
            .unwrap_or_default();
        if refs.iter().any(|r| r.uid == pod_ref.uid) {
            continue;
        }
        refs.push(pod_ref.clone());
        let patch = serde_json::json!({ "metadata": {
            "ownerReferences": refs,
            "resourceVersion": existing.metadata.resource_version,
        }});
        api.patch(&cname, &PatchParams::default(), &Patch::Merge(&patch))
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_round_down() {
        assert_eq!(scaled(&IntOrString::Int(2), 10), 2);
        assert_eq!(scaled(&IntOrString::String("25%".into()), 10), 2);
        assert_eq!(scaled(&IntOrString::String("bad".into()), 10), 0);
    }
}
