//! Pod predicates and helpers every replica-managing controller shares:
//! the shared Pod informer with its owner indexes, active/ready/available
//! tests as upstream's `podutil`, controller references, pods built from a
//! template, and the order in which surplus pods are deleted.

use informer::{Factory, Informer};
use k8s_openapi::api::core::v1::{Pod, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::Resource;
use std::collections::HashMap;
use std::sync::Arc;

/// Index of the shared Pod (and ReplicaSet) informers: objects by the uid of
/// their controlling owner. Any controller may reuse it.
pub const CONTROLLER_UID_INDEX: &str = "controller-uid";
/// Index of objects without a controlling owner, by namespace: adoption
/// candidates, found without scanning the namespace.
pub const ORPHAN_NAMESPACE_INDEX: &str = "orphan-namespace";
/// Upstream's `controller.kubernetes.io/pod-deletion-cost`.
pub const POD_DELETION_COST: &str = "controller.kubernetes.io/pod-deletion-cost";

/// The controlling owner reference of an object, if any.
pub fn controller_ref(meta: &ObjectMeta) -> Option<&OwnerReference> {
    meta.owner_references
        .as_deref()?
        .iter()
        .find(|r| r.controller == Some(true))
}

/// The index function of `CONTROLLER_UID_INDEX` (the same for every kind).
pub fn controller_uid_index<K: Resource>() -> informer::informer::IndexFn<K> {
    Arc::new(|o: &K| {
        controller_ref(o.meta())
            .map(|r| vec![r.uid.clone()])
            .unwrap_or_default()
    })
}

fn owner_indexes<K>(inf: &Informer<K>)
where
    K: Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug + Send + Sync + 'static,
{
    inf.add_index(CONTROLLER_UID_INDEX, controller_uid_index());
    inf.add_index(
        ORPHAN_NAMESPACE_INDEX,
        Arc::new(|o: &K| match controller_ref(o.meta()) {
            Some(_) => Vec::new(),
            None => vec![o.meta().namespace.clone().unwrap_or_default()],
        }),
    );
}

/// The shared informer of `K` with the controller-uid and orphan indexes.
pub fn indexed_informer<K>(factory: &Factory) -> Informer<K>
where
    K: Resource<DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
{
    factory.informer_with::<K>(|i| owner_indexes(i))
}

/// Not terminal (Succeeded/Failed) and not being deleted.
pub fn is_active(pod: &Pod) -> bool {
    let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
    !matches!(phase, Some("Succeeded") | Some("Failed"))
        && pod.metadata.deletion_timestamp.is_none()
}

/// Being deleted but not yet terminal: counted as terminating replicas.
pub fn is_terminating(pod: &Pod) -> bool {
    let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
    pod.metadata.deletion_timestamp.is_some()
        && !matches!(phase, Some("Succeeded") | Some("Failed"))
}

/// When the pod's Ready condition last became True, if it is True.
pub fn ready_since(pod: &Pod) -> Option<Option<jiff::Timestamp>> {
    let cond = pod
        .status
        .as_ref()?
        .conditions
        .as_deref()?
        .iter()
        .find(|c| c.type_ == "Ready")?;
    (cond.status == "True").then(|| cond.last_transition_time.as_ref().map(|t| t.0))
}

pub fn is_ready(pod: &Pod) -> bool {
    ready_since(pod).is_some()
}

/// Ready for at least `min_ready_seconds` (upstream's `IsPodAvailable`).
pub fn is_available(pod: &Pod, min_ready_seconds: i32, now: jiff::Timestamp) -> bool {
    match ready_since(pod) {
        None => false,
        Some(_) if min_ready_seconds <= 0 => true,
        Some(None) => false,
        Some(Some(t)) => t + jiff::SignedDuration::from_secs(i64::from(min_ready_seconds)) < now,
    }
}

/// An owner reference marking `owner` as the controller of what carries it.
pub fn owner_reference<K: Resource<DynamicType = ()>>(owner: &K) -> OwnerReference {
    let m = owner.meta();
    OwnerReference {
        api_version: K::api_version(&()).to_string(),
        kind: K::kind(&()).to_string(),
        name: m.name.clone().unwrap_or_default(),
        uid: m.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// A new pod from `template`, named `<prefix>-<random>` by the API server.
pub fn pod_from_template(
    template: &PodTemplateSpec,
    namespace: &str,
    prefix: &str,
    owner: OwnerReference,
) -> Pod {
    let tm = template.metadata.clone().unwrap_or_default();
    Pod {
        metadata: ObjectMeta {
            generate_name: Some(format!("{prefix}-")),
            namespace: Some(namespace.to_string()),
            labels: tm.labels,
            annotations: tm.annotations,
            finalizers: tm.finalizers,
            owner_references: Some(vec![owner]),
            ..Default::default()
        },
        spec: template.spec.clone(),
        status: None,
    }
}

/// Sort key of upstream's `ActivePodsWithRanks`: pods that sort first are
/// deleted first. Upstream compares ready and creation times by the log₂ of
/// their age; a bucket per pod keeps the order total.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct DeletionKey {
    assigned: bool,
    phase: u8,
    ready: bool,
    cost: i32,
    /// Negated count of related pods on the same node: doubled-up pods first.
    crowding: i64,
    ready_bucket: i64,
    /// Negated: pods that restart more go first.
    restarts: i64,
    created_bucket: i64,
    uid: String,
}

/// The log₂ bucket of an age (upstream's logarithmic scale-down); a zero
/// time sorts first, as upstream's `afterOrZero`.
fn age_bucket(t: Option<jiff::Timestamp>, now: jiff::Timestamp) -> i64 {
    let Some(t) = t else { return i64::MIN };
    let nanos = now.duration_since(t).as_nanos();
    if nanos <= 0 {
        -1
    } else {
        i64::from(127 - (nanos as u128).leading_zeros() as i32)
    }
}

pub fn deletion_key(pod: &Pod, on_same_node: usize, now: jiff::Timestamp) -> DeletionKey {
    let status = pod.status.as_ref();
    let phase = match status.and_then(|s| s.phase.as_deref()) {
        Some("Pending") => 0,
        Some("Unknown") => 1,
        Some("Running") => 2,
        _ => 0,
    };
    let ready = ready_since(pod);
    let cost = pod
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(POD_DELETION_COST))
        .and_then(|v| v.parse::<i32>().ok())
        .unwrap_or(0);
    let restarts = status
        .and_then(|s| s.container_statuses.as_deref())
        .unwrap_or_default()
        .iter()
        .map(|c| i64::from(c.restart_count))
        .max()
        .unwrap_or(0);
    DeletionKey {
        assigned: pod
            .spec
            .as_ref()
            .and_then(|s| s.node_name.as_deref())
            .is_some_and(|n| !n.is_empty()),
        phase,
        ready: ready.is_some(),
        cost,
        crowding: -(on_same_node as i64),
        ready_bucket: ready.map_or(0, |t| age_bucket(t, now)),
        restarts: -restarts,
        created_bucket: age_bucket(pod.metadata.creation_timestamp.as_ref().map(|t| t.0), now),
        uid: pod.metadata.uid.clone().unwrap_or_default(),
    }
}

/// The `n` pods to delete first among `pods`.
pub fn pods_to_delete(pods: &[Arc<Pod>], n: usize, now: jiff::Timestamp) -> Vec<Arc<Pod>> {
    let mut per_node: HashMap<&str, usize> = HashMap::new();
    for p in pods {
        if let Some(node) = p.spec.as_ref().and_then(|s| s.node_name.as_deref()) {
            *per_node.entry(node).or_default() += 1;
        }
    }
    let mut ranked: Vec<(DeletionKey, &Arc<Pod>)> = pods
        .iter()
        .map(|p| {
            let node = p.spec.as_ref().and_then(|s| s.node_name.as_deref());
            let crowd = node.and_then(|n| per_node.get(n)).copied().unwrap_or(0);
            (deletion_key(p, crowd, now), p)
        })
        .collect();
    ranked.sort_by(|a, b| a.0.cmp(&b.0));
    ranked.into_iter().take(n).map(|(_, p)| p.clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{ContainerStatus, PodCondition, PodSpec, PodStatus};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    fn ts(s: &str) -> jiff::Timestamp {
        s.parse().expect("timestamp")
    }

    fn pod(name: &str, node: Option<&str>, phase: &str, ready_at: Option<&str>) -> Arc<Pod> {
        Arc::new(Pod {
            metadata: ObjectMeta {
                name: Some(name.into()),
                uid: Some(name.into()),
                creation_timestamp: Some(Time(ts("2024-01-01T00:00:00Z"))),
                ..Default::default()
            },
            spec: Some(PodSpec {
                node_name: node.map(String::from),
                ..Default::default()
            }),
            status: Some(PodStatus {
                phase: Some(phase.into()),
                conditions: ready_at.map(|t| {
                    vec![PodCondition {
                        type_: "Ready".into(),
                        status: "True".into(),
                        last_transition_time: Some(Time(ts(t))),
                        ..Default::default()
                    }]
                }),
                ..Default::default()
            }),
        })
    }

    fn names(p: &[Arc<Pod>]) -> Vec<String> {
        p.iter().map(|p| p.metadata.name.clone().unwrap()).collect()
    }

    #[test]
    fn deletion_prefers_unassigned_then_pending_then_not_ready() {
        let now = ts("2024-01-02T00:00:00Z");
        let pods = vec![
            pod("ready", Some("n1"), "Running", Some("2024-01-01T01:00:00Z")),
            pod("running-unready", Some("n2"), "Running", None),
            pod("unassigned", None, "Pending", None),
            pod("pending", Some("n3"), "Pending", None),
            pod("unknown", Some("n4"), "Unknown", None),
        ];
        assert_eq!(
            names(&pods_to_delete(&pods, 5, now)),
            [
                "unassigned",
                "pending",
                "unknown",
                "running-unready",
                "ready"
            ]
        );
        assert_eq!(names(&pods_to_delete(&pods, 1, now)), ["unassigned"]);
    }

    #[test]
    fn deletion_prefers_doubled_up_recently_ready_and_restarting() {
        let now = ts("2024-01-10T00:00:00Z");
        let old = pod("old", Some("a"), "Running", Some("2024-01-01T00:00:00Z"));
        let young = pod("young", Some("b"), "Running", Some("2024-01-09T23:59:00Z"));
        assert_eq!(
            names(&pods_to_delete(&[old.clone(), young], 1, now)),
            ["young"]
        );
        // Two on node "c" go before the lone older one on "a".
        let c1 = pod("c1", Some("c"), "Running", Some("2024-01-01T00:00:00Z"));
        let c2 = pod("c2", Some("c"), "Running", Some("2024-01-01T00:00:00Z"));
        let del = names(&pods_to_delete(&[old.clone(), c1, c2], 2, now));
        assert!(del.contains(&"c1".to_string()) && del.contains(&"c2".to_string()));
        // Same ready age: more restarts first.
        let mut crash = (*old).clone();
        crash.metadata.name = Some("crash".into());
        crash.metadata.uid = Some("z".into());
        crash.spec.as_mut().unwrap().node_name = Some("d".into());
        crash.status.as_mut().unwrap().container_statuses = Some(vec![ContainerStatus {
            restart_count: 3,
            ..Default::default()
        }]);
        assert_eq!(
            names(&pods_to_delete(&[old, Arc::new(crash)], 1, now)),
            ["crash"]
        );
    }

    #[test]
    fn deletion_cost_annotation_orders_ready_pods() {
        let now = ts("2024-01-02T00:00:00Z");
        let mut cheap = (*pod("cheap", Some("a"), "Running", Some("2024-01-01T00:00:00Z"))).clone();
        cheap.metadata.annotations = Some([(POD_DELETION_COST.into(), "-5".into())].into());
        let dear = pod("dear", Some("b"), "Running", Some("2024-01-01T23:00:00Z"));
        assert_eq!(
            names(&pods_to_delete(&[dear, Arc::new(cheap)], 1, now)),
            ["cheap"]
        );
    }

    #[test]
    fn availability_waits_min_ready_seconds() {
        let p = pod("p", None, "Running", Some("2024-01-01T00:00:00Z"));
        assert!(is_available(&p, 0, ts("2024-01-01T00:00:00Z")));
        assert!(!is_available(&p, 10, ts("2024-01-01T00:00:05Z")));
        assert!(is_available(&p, 10, ts("2024-01-01T00:00:11Z")));
        assert!(!is_available(
            &pod("q", None, "Running", None),
            0,
            ts("2024-01-01T00:00:00Z")
        ));
    }
}
