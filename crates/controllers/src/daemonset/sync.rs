//! One DaemonSet reconcile, as upstream's `syncDaemonSet`: resolve the
//! current revision, put exactly one daemon pod on each node that should
//! run one (deleting failed, surplus, misplaced and orphaned pods), then
//! when nothing was left to create or delete, roll outdated pods within
//! maxUnavailable / maxSurge; finally write status and prune history.

use super::Error;
use super::eligibility::{daemon_pod_spec, is_updated, new_pod, node_should_run, target_node};
use crate::history::{self, CONTROLLER_UID_INDEX, NewRevision, REVISION_HASH_LABEL};
use crate::statefulset::pods::{available_in, is_available, is_failed, is_ready, is_terminating};
use futures::StreamExt;
use informer::{EventType, Informer, ObjectKey, Recorder};
use k8s_openapi::api::apps::v1::{ControllerRevision, DaemonSet, DaemonSetStatus};
use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use kube::{Api, Client};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

/// Creates and deletes in flight at once for one DaemonSet.
const BURST: usize = 16;

pub struct Ctx {
    pub client: Client,
    pub nodes: Informer<Node>,
    pub pods: Informer<Pod>,
    pub revs: Informer<ControllerRevision>,
    pub recorder: Recorder,
}

fn oldest_first(pods: &mut [Arc<Pod>]) {
    pods.sort_by(|a, b| {
        let key = |p: &Pod| {
            (
                p.metadata.creation_timestamp.as_ref().map(|t| t.0),
                p.metadata.name.clone(),
            )
        };
        key(a).cmp(&key(b))
    });
}

/// An int-or-percent of `total`, percentages rounded up (upstream's rule
/// for DaemonSet maxUnavailable and maxSurge).
pub fn scaled_up(v: Option<&IntOrString>, total: i32, default: i32) -> i32 {
    match v {
        None => default,
        Some(IntOrString::Int(n)) => *n,
        Some(IntOrString::String(s)) => s
            .strip_suffix('%')
            .and_then(|p| p.trim().parse::<i64>().ok())
            .map_or(0, |p| {
                i32::try_from((p * i64::from(total) + 99) / 100).unwrap_or(0)
            }),
    }
}

/// (maxSurge, maxUnavailable) for `desired` nodes; never both zero.
fn budgets(ds: &DaemonSet, desired: i32) -> (i32, i32) {
    let ru = ds
        .spec
        .update_strategy
        .as_ref()
        .and_then(|s| s.rolling_update.as_ref());
    let surge = scaled_up(ru.and_then(|r| r.max_surge.as_ref()), desired, 0);
    let unavailable = scaled_up(ru.and_then(|r| r.max_unavailable.as_ref()), desired, 1);
    if surge == 0 && unavailable == 0 {
        (0, 1)
    } else {
        (surge, unavailable)
    }
}

pub async fn sync(ctx: &Ctx, ds: Arc<DaemonSet>) -> Result<Option<Duration>, Error> {
    if ds.metadata.deletion_timestamp.is_some() {
        return Ok(None);
    }
    let ns = ds.metadata.namespace.clone().unwrap_or_default();
    let uid = ds.metadata.uid.clone().unwrap_or_default();
    let selector = serde_json::to_value(&ds.spec.selector)
        .ok()
        .and_then(|v| apimachinery::selectors::LabelSelector::from_json(&v).ok());
    let Some(selector) = selector else {
        return Ok(None);
    };
    let owned = |ctx: &Ctx| -> HashMap<String, Vec<Arc<Pod>>> {
        let mut by_node: HashMap<String, Vec<Arc<Pod>>> = HashMap::new();
        for p in ctx.pods.by_index(CONTROLLER_UID_INDEX, &uid) {
            if !selector.matches(&p.metadata.labels.clone().unwrap_or_default()) {
                continue;
            }
            if let Some(n) = target_node(&p) {
                by_node.entry(n.to_string()).or_default().push(p.clone());
            }
        }
        for pods in by_node.values_mut() {
            oldest_first(pods);
        }
        by_node
    };

    let mut collision_count = ds.status.as_ref().and_then(|s| s.collision_count);
    let hash = resolve_revision(ctx, &ds, &mut collision_count).await?;
    let spec = daemon_pod_spec(&ds);
    let surge_allowed = budgets(&ds, 1).0 > 0;
    let nodes = ctx.nodes.list();
    let now = jiff::Timestamp::now();
    let min_ready = ds.spec.min_ready_seconds.unwrap_or(0);

    let mut by_node = owned(ctx);
    let mut create: Vec<String> = Vec::new();
    let mut delete: Vec<Arc<Pod>> = Vec::new();
    for node in &nodes {
        let name = node.metadata.name.clone().unwrap_or_default();
        let pods = by_node.remove(&name).unwrap_or_default();
        let (run, cont) = node_should_run(&spec, node);
        if run && pods.is_empty() {
            create.push(name);
        } else if cont {
            let mut running: Vec<Arc<Pod>> = Vec::new();
            for p in pods.into_iter().filter(|p| !is_terminating(p)) {
                if is_failed(&p) {
                    delete.push(p);
                } else {
                    running.push(p);
                }
            }
            if running.len() > 1 {
                // Keep the oldest pod; while surging, also the oldest of the
                // other revision, so old and new can overlap on the node.
                let first = running.remove(0);
                let first_updated = is_updated(&first, &hash, &ds);
                let mut kept_other = false;
                for p in running {
                    if surge_allowed && !kept_other && is_updated(&p, &hash, &ds) != first_updated {
                        kept_other = true;
                    } else {
                        delete.push(p);
                    }
                }
            }
        } else {
            delete.extend(pods.into_iter().filter(|p| !is_terminating(p)));
        }
    }
    // Pods pinned to nodes that no longer exist.
    for pods in by_node.into_values() {
        delete.extend(pods.into_iter().filter(|p| !is_terminating(p)));
    }

    let strategy_rolling = ds
        .spec
        .update_strategy
        .as_ref()
        .and_then(|s| s.type_.as_deref())
        .is_none_or(|t| t == "RollingUpdate");
    if create.is_empty() && delete.is_empty() && strategy_rolling {
        let desired = nodes.iter().filter(|n| node_should_run(&spec, n).0).count();
        let (max_surge, max_unavailable) = budgets(&ds, i32::try_from(desired).unwrap_or(i32::MAX));
        let by_node = owned(ctx);
        let plan = plan_rollout(
            &nodes,
            &by_node,
            |p| is_updated(p, &hash, &ds),
            |p| is_available(p, min_ready, now),
            |n| node_should_run(&spec, n).0,
            max_surge,
            max_unavailable,
        );
        create = plan.0;
        delete = plan.1;
    }
    sync_nodes(ctx, &ds, &create, &delete, &hash).await?;

    let by_node = owned(ctx);
    let (st, requeue) = status(&ds, &nodes, &by_node, &hash, collision_count, now);
    if ds.status.as_ref() != Some(&st) {
        let api: Api<DaemonSet> = Api::namespaced(ctx.client.clone(), &ns);
        let name = ds.metadata.name.clone().unwrap_or_default();
        let patch = serde_json::json!({ "status": st });
        api.patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch))
            .await?;
    }

    let mut hashes: HashSet<String> = by_node
        .values()
        .flatten()
        .filter_map(|p| {
            p.metadata
                .labels
                .as_ref()?
                .get(REVISION_HASH_LABEL)
                .cloned()
        })
        .collect();
    hashes.insert(hash);
    let mut sorted = ctx.revs.by_index(CONTROLLER_UID_INDEX, &uid);
    history::sort_revisions(&mut sorted);
    let live: HashSet<String> = sorted
        .iter()
        .filter(|r| {
            r.metadata
                .labels
                .as_ref()
                .and_then(|l| l.get(REVISION_HASH_LABEL))
                .is_some_and(|h| hashes.contains(h))
        })
        .filter_map(|r| r.metadata.name.clone())
        .collect();
    let api: Api<ControllerRevision> = Api::namespaced(ctx.client.clone(), &ns);
    let limit = ds.spec.revision_history_limit.unwrap_or(10);
    history::prune(&api, &sorted, &live, limit).await?;
    Ok(requeue)
}

/// Upstream's rolling update: nodes to get a new pod and old pods to
/// delete this round. Without surge, outdated pods go (unavailable ones
/// first and always) while fewer than maxUnavailable nodes are down; with
/// surge, a new pod joins the old one and the old goes once the new is
/// available.
pub fn plan_rollout(
    nodes: &[Arc<Node>],
    by_node: &HashMap<String, Vec<Arc<Pod>>>,
    updated: impl Fn(&Pod) -> bool,
    available: impl Fn(&Pod) -> bool,
    should_run: impl Fn(&Node) -> bool,
    max_surge: i32,
    max_unavailable: i32,
) -> (Vec<String>, Vec<Arc<Pod>>) {
    let mut create = Vec::new();
    let mut delete = Vec::new();
    let mut candidates: Vec<(String, Arc<Pod>)> = Vec::new();
    let mut numbered = 0i32;
    for node in nodes.iter().filter(|n| should_run(n)) {
        let name = node.metadata.name.clone().unwrap_or_default();
        let pods: Vec<&Arc<Pod>> = by_node
            .get(&name)
            .map(|v| v.iter().filter(|p| !is_terminating(p)).collect())
            .unwrap_or_default();
        let new = pods.iter().find(|p| updated(p)).copied();
        let old = pods.iter().find(|p| !updated(p)).copied();
        match (old, new) {
            (None, None) => numbered += i32::from(max_surge == 0),
            (None, Some(n)) => {
                if !available(n) {
                    numbered += 1;
                }
            }
            (Some(o), None) => {
                if !available(o) {
                    // Down already: replacing it costs nothing.
                    if max_surge == 0 {
                        delete.push(o.clone());
                    } else {
                        create.push(name);
                    }
                } else {
                    candidates.push((name, o.clone()));
                }
            }
            (Some(o), Some(n)) => {
                if max_surge == 0 {
                    numbered += 1;
                } else if available(n) {
                    delete.push(o.clone());
                } else {
                    numbered += 1;
                }
            }
        }
    }
    let budget = if max_surge == 0 {
        max_unavailable - numbered
    } else {
        max_surge - numbered
    };
    for (name, old) in candidates
        .into_iter()
        .take(usize::try_from(budget).unwrap_or(0))
    {
        if max_surge == 0 {
            delete.push(old);
        } else {
            create.push(name);
        }
    }
    (create, delete)
}

/// The status the DaemonSet should show, and how long until a ready pod
/// becomes available.
pub fn status(
    ds: &DaemonSet,
    nodes: &[Arc<Node>],
    by_node: &HashMap<String, Vec<Arc<Pod>>>,
    hash: &str,
    collision_count: Option<i32>,
    now: jiff::Timestamp,
) -> (DaemonSetStatus, Option<Duration>) {
    let spec = daemon_pod_spec(ds);
    let min_ready = ds.spec.min_ready_seconds.unwrap_or(0);
    let mut st = DaemonSetStatus {
        observed_generation: ds.metadata.generation,
        collision_count,
        conditions: ds.status.as_ref().and_then(|s| s.conditions.clone()),
        ..Default::default()
    };
    let (mut available, mut updated) = (0, 0);
    let mut requeue: Option<Duration> = None;
    for node in nodes {
        let name = node.metadata.name.as_deref().unwrap_or_default();
        let pods = by_node.get(name).map(Vec::as_slice).unwrap_or_default();
        let (run, _) = node_should_run(&spec, node);
        match (run, pods.first()) {
            (true, first) => {
                st.desired_number_scheduled += 1;
                let Some(p) = first else { continue };
                st.current_number_scheduled += 1;
                if is_ready(p) {
                    st.number_ready += 1;
                    match available_in(p, min_ready, now) {
                        Some(Ok(())) => available += 1,
                        Some(Err(w)) => requeue = Some(requeue.map_or(w, |r: Duration| r.min(w))),
                        None => {}
                    }
                }
                if is_updated(p, hash, ds) {
                    updated += 1;
                }
            }
            (false, Some(_)) => st.number_misscheduled += 1,
            (false, None) => {}
        }
    }
    st.number_available = Some(available);
    st.updated_number_scheduled = Some(updated);
    st.number_unavailable = Some(st.desired_number_scheduled - available);
    (st, requeue)
}

/// The hash of the DaemonSet's current revision, made if new.
async fn resolve_revision(
    ctx: &Ctx,
    ds: &DaemonSet,
    collision_count: &mut Option<i32>,
) -> Result<String, Error> {
    let ns = ds.metadata.namespace.clone().unwrap_or_default();
    let uid = ds.metadata.uid.clone().unwrap_or_default();
    let mut sorted = ctx.revs.by_index(CONTROLLER_UID_INDEX, &uid);
    history::sort_revisions(&mut sorted);
    let template = serde_json::to_value(&ds.spec.template)?;
    let new = NewRevision {
        owner: history::controller_ref(ds),
        namespace: &ns,
        template_labels: ds
            .spec
            .template
            .metadata
            .as_ref()
            .and_then(|m| m.labels.clone())
            .unwrap_or_default(),
        annotations: ds.metadata.annotations.clone(),
        data: history::template_patch(&template),
        revision: history::next_revision(&sorted),
        hash_label: REVISION_HASH_LABEL,
    };
    let api: Api<ControllerRevision> = Api::namespaced(ctx.client.clone(), &ns);
    let cur = history::ensure_revision(&api, &sorted, &new, collision_count).await?;
    ctx.revs.apply(cur.clone());
    Ok(cur
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(REVISION_HASH_LABEL).cloned())
        .unwrap_or_default())
}

async fn sync_nodes(
    ctx: &Ctx,
    ds: &DaemonSet,
    create: &[String],
    delete: &[Arc<Pod>],
    hash: &str,
) -> Result<(), Error> {
    let ns = ds.metadata.namespace.clone().unwrap_or_default();
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), &ns);
    let creates: Vec<_> = create
        .iter()
        .map(|node| {
            let api = api.clone();
            let pod = new_pod(ds, node, hash);
            async move { api.create(&PostParams::default(), &pod).await }
        })
        .collect();
    let creates = futures::stream::iter(creates)
        .buffer_unordered(BURST)
        .collect::<Vec<_>>()
        .await;
    let mut first_err: Option<kube::Error> = None;
    for r in creates {
        match r {
            Ok(p) => {
                let name = p.metadata.name.clone().unwrap_or_default();
                ctx.pods.apply(Arc::new(p));
                ctx.recorder.event(
                    ds,
                    EventType::Normal,
                    "SuccessfulCreate",
                    format!("Created pod: {name}"),
                );
            }
            Err(e) => {
                ctx.recorder.event(
                    ds,
                    EventType::Warning,
                    "FailedCreate",
                    format!("Error creating: {e}"),
                );
                first_err.get_or_insert(e);
            }
        }
    }
    let deletes: Vec<_> = delete
        .iter()
        .map(|p| {
            let api = api.clone();
            let name = p.metadata.name.clone().unwrap_or_default();
            async move {
                let r = api.delete(&name, &DeleteParams::default()).await;
                (name, r)
            }
        })
        .collect();
    let deletes = futures::stream::iter(deletes)
        .buffer_unordered(BURST)
        .collect::<Vec<_>>()
        .await;
    for (name, r) in deletes {
        let key = ObjectKey::new(ns.clone(), name.clone());
        match r {
            Ok(either) => {
                match either.left() {
                    Some(p) => ctx.pods.apply(Arc::new(p)),
                    None => ctx.pods.delete(&key),
                }
                ctx.recorder.event(
                    ds,
                    EventType::Normal,
                    "SuccessfulDelete",
                    format!("Deleted pod: {name}"),
                );
            }
            Err(kube::Error::Api(s)) if s.code == 404 => ctx.pods.delete(&key),
            Err(e) => {
                ctx.recorder.event(
                    ds,
                    EventType::Warning,
                    "FailedDelete",
                    format!("Error deleting: {e}"),
                );
                first_err.get_or_insert(e);
            }
        }
    }
    match first_err {
        Some(e) => Err(e.into()),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn node(name: &str) -> Arc<Node> {
        Arc::new(Node {
            metadata: ObjectMeta {
                name: Some(name.into()),
                ..Default::default()
            },
            ..Default::default()
        })
    }

    fn pod(name: &str, rev: &str) -> Arc<Pod> {
        Arc::new(Pod {
            metadata: ObjectMeta {
                name: Some(name.into()),
                labels: Some([(REVISION_HASH_LABEL.to_string(), rev.to_string())].into()),
                ..Default::default()
            },
            ..Default::default()
        })
    }

    fn rev_of(p: &Pod) -> &str {
        p.metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(REVISION_HASH_LABEL))
            .map_or("", String::as_str)
    }

    #[test]
    fn rollout_respects_max_unavailable() {
        let nodes: Vec<_> = ["a", "b", "c"].iter().map(|n| node(n)).collect();
        let by_node: HashMap<String, Vec<Arc<Pod>>> = [
            ("a".to_string(), vec![pod("pa", "old")]),
            ("b".to_string(), vec![pod("pb", "old")]),
            ("c".to_string(), vec![pod("pc", "new")]),
        ]
        .into();
        let (create, delete) = plan_rollout(
            &nodes,
            &by_node,
            |p| rev_of(p) == "new",
            |_| true,
            |_| true,
            0,
            1,
        );
        assert!(create.is_empty());
        assert_eq!(delete.len(), 1);
        // Node c's new pod is not available yet: the budget is spent.
        let (_, delete) = plan_rollout(
            &nodes,
            &by_node,
            |p| rev_of(p) == "new",
            |p| rev_of(p) == "old",
            |_| true,
            0,
            1,
        );
        assert!(delete.is_empty());
    }

    #[test]
    fn rollout_surges_then_removes_old() {
        let nodes: Vec<_> = ["a", "b"].iter().map(|n| node(n)).collect();
        let by_node: HashMap<String, Vec<Arc<Pod>>> = [
            ("a".to_string(), vec![pod("pa", "old"), pod("pa2", "new")]),
            ("b".to_string(), vec![pod("pb", "old")]),
        ]
        .into();
        let (create, delete) = plan_rollout(
            &nodes,
            &by_node,
            |p| rev_of(p) == "new",
            |_| true,
            |_| true,
            1,
            0,
        );
        assert_eq!(create, vec!["b".to_string()]);
        assert_eq!(delete.len(), 1);
        assert_eq!(delete[0].metadata.name.as_deref(), Some("pa"));
    }

    #[test]
    fn percentages_round_up() {
        assert_eq!(scaled_up(Some(&IntOrString::String("10%".into())), 5, 1), 1);
        assert_eq!(scaled_up(None, 5, 1), 1);
        assert_eq!(scaled_up(Some(&IntOrString::Int(0)), 5, 1), 0);
    }
}
