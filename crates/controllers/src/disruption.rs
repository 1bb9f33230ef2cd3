//! The PodDisruptionBudget controller: keeps each PDB's status (healthy
//! counts, expected pods, disruptionsAllowed, the DisruptionAllowed
//! condition, disruptedPods cleanup) current from the pod and workload
//! caches. Percentages are taken of the pods' controllers' scale, found
//! through owner references (ReplicaSet→Deployment, StatefulSet,
//! ReplicationController). Evictions themselves are the API server's.

use apimachinery::selectors::LabelSelector;
use informer::{Change, EventType, Factory, Informer, ObjectKey, Recorder, WorkQueue};
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::core::v1::{Pod, ReplicationController};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, OwnerReference, Time};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::api::PostParams;
use kube::{Api, Client, Resource};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

/// How long a pod listed in disruptedPods is expected to take to go away.
const DELETION_TIMEOUT: Duration = Duration::from_secs(120);

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("api: {0}")]
    Api(#[from] kube::Error),
}

struct Ctx {
    client: Client,
    pdbs: Informer<PodDisruptionBudget>,
    pods: Informer<Pod>,
    rcs: Informer<ReplicationController>,
    rss: Informer<ReplicaSet>,
    deployments: Informer<Deployment>,
    statefulsets: Informer<StatefulSet>,
    recorder: Recorder,
    queue: WorkQueue<ObjectKey>,
}

pub async fn run(factory: Factory) {
    let ctx = Arc::new(Ctx {
        client: factory.client(),
        pdbs: factory.informer(),
        pods: factory.informer(),
        rcs: factory.informer(),
        rss: factory.informer(),
        deployments: factory.informer(),
        statefulsets: factory.informer(),
        recorder: Recorder::new(factory.client(), "controllermanager"),
        queue: WorkQueue::new(),
    });
    futures::join!(
        ctx.pdbs.wait_synced(),
        ctx.pods.wait_synced(),
        ctx.rcs.wait_synced(),
        ctx.rss.wait_synced(),
        ctx.deployments.wait_synced(),
        ctx.statefulsets.wait_synced(),
    );
    let q = ctx.queue.clone();
    ctx.pdbs
        .on_change(move |c| q.add(ObjectKey::of(c.object().as_ref())));
    let (pdbs, q) = (ctx.pdbs.clone(), ctx.queue.clone());
    ctx.pods.on_change(move |c: &Change<Pod>| {
        let mut touched = vec![c.object().clone()];
        if let Change::Updated { old, .. } = c {
            touched.push(old.clone());
        }
        for pod in touched {
            let ns = pod.metadata.namespace.as_deref().unwrap_or_default();
            for pdb in pdbs.list_namespace(ns) {
                if selects(&pdb, &pod) {
                    q.add(ObjectKey::of(pdb.as_ref()));
                }
            }
        }
    });
    requeue_namespace_on(&ctx, &ctx.rcs);
    requeue_namespace_on(&ctx, &ctx.rss);
    requeue_namespace_on(&ctx, &ctx.deployments);
    requeue_namespace_on(&ctx, &ctx.statefulsets);
    let c = ctx.clone();
    ctx.queue
        .run(2, move |key| {
            let c = c.clone();
            async move { reconcile(&c, &key).await }
        })
        .await;
}

/// A workload's scale changed: the PDBs of its namespace may count differently.
fn requeue_namespace_on<K>(ctx: &Arc<Ctx>, inf: &Informer<K>)
where
    K: Resource<DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
{
    let (pdbs, q) = (ctx.pdbs.clone(), ctx.queue.clone());
    inf.on_change(move |c: &Change<K>| {
        let ns = c.object().meta().namespace.as_deref().unwrap_or_default();
        for pdb in pdbs.list_namespace(ns) {
            q.add(ObjectKey::of(pdb.as_ref()));
        }
    });
}

fn selector(pdb: &PodDisruptionBudget) -> LabelSelector {
    let sel = pdb.spec.as_ref().and_then(|s| s.selector.as_ref());
    serde_json::to_value(sel)
        .ok()
        .and_then(|v| LabelSelector::from_json(&v).ok())
        .unwrap_or_else(LabelSelector::nothing)
}

fn selects(pdb: &PodDisruptionBudget, pod: &Pod) -> bool {
    let empty = BTreeMap::new();
    selector(pdb).matches(pod.metadata.labels.as_ref().unwrap_or(&empty))
}

fn pod_ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// Upstream's `GetScaledValueFromIntOrPercent` with rounding up.
pub fn scaled(v: &IntOrString, total: i32) -> Result<i32, String> {
    match v {
        IntOrString::Int(i) => Ok(*i),
        IntOrString::String(s) => {
            let pct: i64 = s
                .strip_suffix('%')
                .and_then(|p| p.parse().ok())
                .ok_or_else(|| format!("invalid value for IntOrString: invalid value {s:?}"))?;
            Ok(((pct * total as i64 + 99) / 100) as i32)
        }
    }
}

/// The controller of `owner` and its scale, following ReplicaSet→Deployment.
fn controller_scale(ctx: &Ctx, ns: &str, owner: &OwnerReference) -> Option<(String, i32)> {
    let uid_ok = |uid: Option<&String>| uid.is_some_and(|u| *u == owner.uid);
    match owner.kind.as_str() {
        "ReplicationController" => {
            let rc = ctx.rcs.get_named(Some(ns), &owner.name)?;
            uid_ok(rc.metadata.uid.as_ref()).then_some(())?;
            Some((owner.uid.clone(), rc.spec.as_ref()?.replicas.unwrap_or(1)))
        }
        "StatefulSet" => {
            let ss = ctx.statefulsets.get_named(Some(ns), &owner.name)?;
            uid_ok(ss.metadata.uid.as_ref()).then_some(())?;
            Some((owner.uid.clone(), ss.spec.replicas.unwrap_or(1)))
        }
        "ReplicaSet" => {
            let rs = ctx.rss.get_named(Some(ns), &owner.name)?;
            uid_ok(rs.metadata.uid.as_ref()).then_some(())?;
            let dep_ref = rs
                .metadata
                .owner_references
                .iter()
                .flatten()
                .find(|o| o.controller == Some(true) && o.kind == "Deployment");
            if let Some(d) = dep_ref
                && let Some(dep) = ctx.deployments.get_named(Some(ns), &d.name)
                && dep.metadata.uid.as_ref() == Some(&d.uid)
            {
                return Some((d.uid.clone(), dep.spec.replicas.unwrap_or(1)));
            }
            Some((owner.uid.clone(), rs.spec.replicas.unwrap_or(1)))
        }
        _ => None,
    }
}

/// (expectedCount, desiredHealthy, unmanaged pod names), or why not.
fn expected(
    ctx: &Ctx,
    pdb: &PodDisruptionBudget,
    pods: &[Arc<Pod>],
) -> Result<(i32, i32, Vec<String>), String> {
    let spec = pdb.spec.clone().unwrap_or_default();
    let scale = || -> Result<(i32, Vec<String>), String> {
        let mut owners_seen: HashSet<&str> = HashSet::new();
        let mut by_controller: HashMap<String, i32> = HashMap::new();
        let mut unmanaged = Vec::new();
        for pod in pods {
            let name = pod.metadata.name.clone().unwrap_or_default();
            let Some(owner) = pod
                .metadata
                .owner_references
                .iter()
                .flatten()
                .find(|o| o.controller == Some(true))
            else {
                unmanaged.push(name);
                continue;
            };
            if !owners_seen.insert(owner.uid.as_str()) {
                continue;
            }
            let ns = pod.metadata.namespace.as_deref().unwrap_or_default();
            let (uid, n) = controller_scale(ctx, ns, owner)
                .ok_or_else(|| format!("found no controllers for pod {name:?}"))?;
            by_controller.insert(uid, n);
        }
        Ok((by_controller.values().sum(), unmanaged))
    };
    if let Some(max) = &spec.max_unavailable {
        let (count, unmanaged) = scale()?;
        let max = scaled(max, count)?;
        return Ok((count, (count - max).max(0), unmanaged));
    }
    match &spec.min_available {
        Some(IntOrString::Int(i)) => Ok((pods.len() as i32, *i, Vec::new())),
        Some(min) => {
            let (count, unmanaged) = scale()?;
            Ok((count, scaled(min, count)?, unmanaged))
        }
        None => Ok((0, 0, Vec::new())),
    }
}

fn set_condition(conds: &mut Vec<Condition>, mut c: Condition) {
    if let Some(old) = conds.iter_mut().find(|o| o.type_ == c.type_) {
        if old.status == c.status {
            c.last_transition_time = old.last_transition_time.clone();
        }
        *old = c;
    } else {
        conds.push(c);
    }
}

fn allowed_condition(
    status: &str,
    reason: &str,
    message: String,
    generation: Option<i64>,
) -> Condition {
    Condition {
        type_: "DisruptionAllowed".into(),
        status: status.into(),
        reason: reason.into(),
        message,
        observed_generation: generation,
        last_transition_time: Time(jiff::Timestamp::now()),
    }
}

async fn reconcile(ctx: &Ctx, key: &ObjectKey) -> Result<Option<Duration>, Error> {
    let Some(pdb) = ctx.pdbs.get(key) else {
        return Ok(None);
    };
    let pods: Vec<Arc<Pod>> = ctx
        .pods
        .list_namespace(&key.namespace)
        .into_iter()
        .filter(|p| selects(&pdb, p))
        .collect();
    if pods.is_empty() {
        ctx.recorder.event(
            pdb.as_ref(),
            EventType::Normal,
            "NoPods",
            "No matching pods found",
        );
    }
    let old = pdb.status.clone().unwrap_or_default();
    let mut status = old.clone();
    let mut requeue = None;
    match expected(ctx, &pdb, &pods) {
        Err(e) => {
            ctx.recorder.event(
                pdb.as_ref(),
                EventType::Warning,
                "CalculateExpectedPodCountFailed",
                format!("Failed to calculate the number of expected pods: {e}"),
            );
            // Fail safe: allow no disruptions while the count is unknown.
            status.disruptions_allowed = Some(0);
            let mut conds = status.conditions.take().unwrap_or_default();
            let c = allowed_condition("False", "SyncFailed", e, status.observed_generation);
            set_condition(&mut conds, c);
            status.conditions = Some(conds);
        }
        Ok((expected_count, desired, unmanaged)) => {
            if !unmanaged.is_empty() {
                let sel = pdb.spec.as_ref().and_then(|s| s.selector.as_ref());
                ctx.recorder.event(
                    pdb.as_ref(),
                    EventType::Warning,
                    "UnmanagedPods",
                    format!(
                        "Pods selected by this PodDisruptionBudget (selector: {}) were found to be unmanaged. As a result, the status of the PDB cannot be calculated correctly, which may result in undefined behavior. To account for these pods please set \".spec.minAvailable\" field of the PDB to an integer value.",
                        serde_json::to_string(&sel).unwrap_or_default()
                    ),
                );
            }
            let now = jiff::Timestamp::now();
            let deadline = |t: &Time| t.0 + DELETION_TIMEOUT;
            let mut disrupted = BTreeMap::new();
            for pod in &pods {
                if pod.metadata.deletion_timestamp.is_some() {
                    continue;
                }
                let name = pod.metadata.name.clone().unwrap_or_default();
                if let Some(t) = old.disrupted_pods.as_ref().and_then(|d| d.get(&name)) {
                    if deadline(t) < now {
                        ctx.recorder.event(
                            pod.as_ref(),
                            EventType::Warning,
                            "NotDeleted",
                            format!(
                                "Pod was expected by PDB {}/{} to be deleted but it wasn't",
                                key.namespace, key.name
                            ),
                        );
                    } else {
                        let wait =
                            Duration::try_from(deadline(t).duration_since(now)).unwrap_or_default();
                        requeue = Some(requeue.map_or(wait, |r: Duration| r.min(wait)));
                        disrupted.insert(name, t.clone());
                    }
                }
            }
            let healthy = pods
                .iter()
                .filter(|p| p.metadata.deletion_timestamp.is_none())
                .filter(|p| !disrupted.contains_key(p.metadata.name.as_deref().unwrap_or_default()))
                .filter(|p| pod_ready(p))
                .count() as i32;
            let allowed = if expected_count <= 0 {
                0
            } else {
                (healthy - desired).max(0)
            };
            status.current_healthy = Some(healthy);
            status.desired_healthy = Some(desired);
            status.expected_pods = Some(expected_count);
            status.disruptions_allowed = Some(allowed);
            status.disrupted_pods = (!disrupted.is_empty()).then_some(disrupted);
            status.observed_generation = pdb.metadata.generation;
            let mut conds = status.conditions.take().unwrap_or_default();
            let c = if allowed > 0 {
                allowed_condition(
                    "True",
                    "SufficientPods",
                    String::new(),
                    pdb.metadata.generation,
                )
            } else {
                allowed_condition(
                    "False",
                    "InsufficientPods",
                    String::new(),
                    pdb.metadata.generation,
                )
            };
            set_condition(&mut conds, c);
            status.conditions = Some(conds);
        }
    }
    if status == old {
        return Ok(requeue);
    }
    let mut updated = (*pdb).clone();
    updated.status = Some(status);
    let api: Api<PodDisruptionBudget> = Api::namespaced(ctx.client.clone(), &key.namespace);
    let written = api
        .replace_status(&key.name, &PostParams::default(), &updated)
        .await?;
    ctx.pdbs.apply(Arc::new(written));
    Ok(requeue)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_round_up() {
        assert_eq!(scaled(&IntOrString::String("50%".into()), 3), Ok(2));
        assert_eq!(scaled(&IntOrString::String("10%".into()), 10), Ok(1));
        assert_eq!(scaled(&IntOrString::String("0%".into()), 10), Ok(0));
        assert_eq!(scaled(&IntOrString::Int(2), 10), Ok(2));
        assert!(scaled(&IntOrString::String("x".into()), 10).is_err());
    }

    #[test]
    fn condition_keeps_transition_time_when_status_holds() {
        let mut conds = vec![];
        let mut first = allowed_condition("True", "SufficientPods", String::new(), Some(1));
        first.last_transition_time = Time(jiff::Timestamp::UNIX_EPOCH);
        set_condition(&mut conds, first);
        set_condition(
            &mut conds,
            allowed_condition("True", "SufficientPods", String::new(), Some(2)),
        );
        assert_eq!(conds.len(), 1);
        assert_eq!(conds[0].last_transition_time.0, jiff::Timestamp::UNIX_EPOCH);
        assert_eq!(conds[0].observed_generation, Some(2));
        set_condition(
            &mut conds,
            allowed_condition("False", "InsufficientPods", String::new(), Some(2)),
        );
        assert_ne!(conds[0].last_transition_time.0, jiff::Timestamp::UNIX_EPOCH);
    }
}
