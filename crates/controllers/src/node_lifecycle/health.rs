//! What a node should look like, decided from the cache alone: its
//! conditions once the kubelet stopped reporting (upstream's
//! `tryUpdateNodeHealth`), and the taints its conditions and
//! `spec.unschedulable` call for (TaintNodesByCondition plus the NoExecute
//! taints of taint-based eviction). Pure, so the monitor can run it for
//! every node every period without writing anything for healthy nodes.

use k8s_openapi::api::core::v1::{Node, NodeCondition, Taint};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

pub const TAINT_NOT_READY: &str = "node.kubernetes.io/not-ready";
pub const TAINT_UNREACHABLE: &str = "node.kubernetes.io/unreachable";
pub const TAINT_MEMORY_PRESSURE: &str = "node.kubernetes.io/memory-pressure";
pub const TAINT_DISK_PRESSURE: &str = "node.kubernetes.io/disk-pressure";
pub const TAINT_PID_PRESSURE: &str = "node.kubernetes.io/pid-pressure";
pub const TAINT_NETWORK_UNAVAILABLE: &str = "node.kubernetes.io/network-unavailable";
pub const TAINT_UNSCHEDULABLE: &str = "node.kubernetes.io/unschedulable";

pub const NO_EXECUTE: &str = "NoExecute";
pub const NO_SCHEDULE: &str = "NoSchedule";

/// The condition types the controller marks Unknown when the kubelet goes quiet.
const MONITORED: [&str; 4] = ["Ready", "MemoryPressure", "DiskPressure", "PIDPressure"];

/// Taint keys this controller owns; others on the node are left alone.
const MANAGED: [&str; 7] = [
    TAINT_NOT_READY,
    TAINT_UNREACHABLE,
    TAINT_MEMORY_PRESSURE,
    TAINT_DISK_PRESSURE,
    TAINT_PID_PRESSURE,
    TAINT_NETWORK_UNAVAILABLE,
    TAINT_UNSCHEDULABLE,
];

pub fn condition<'a>(node: &'a Node, type_: &str) -> Option<&'a NodeCondition> {
    node.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == type_)
}

/// The node's Ready status: "True", "False" or "Unknown" (no condition yet).
pub fn ready_status(node: &Node) -> &str {
    condition(node, "Ready").map_or("Unknown", |c| c.status.as_str())
}

/// The conditions a node whose kubelet stopped posting status gets, or
/// `None` when they already say so.
pub fn stale_conditions(node: &Node, now: jiff::Timestamp) -> Option<Vec<NodeCondition>> {
    let mut conds: Vec<NodeCondition> = node
        .status
        .as_ref()
        .and_then(|s| s.conditions.clone())
        .unwrap_or_default();
    let mut changed = false;
    for type_ in MONITORED {
        match conds.iter_mut().find(|c| c.type_ == type_) {
            Some(c) if c.status == "Unknown" => {}
            Some(c) => {
                c.status = "Unknown".into();
                c.reason = Some("NodeStatusUnknown".into());
                c.message = Some("Kubelet stopped posting node status.".into());
                c.last_transition_time = Some(Time(now));
                changed = true;
            }
            None => {
                conds.push(NodeCondition {
                    type_: type_.into(),
                    status: "Unknown".into(),
                    reason: Some("NodeStatusNeverUpdated".into()),
                    message: Some("Kubelet never posted node status.".into()),
                    last_heartbeat_time: node.metadata.creation_timestamp.clone(),
                    last_transition_time: Some(Time(now)),
                });
                changed = true;
            }
        }
    }
    changed.then_some(conds)
}

/// The (key, effect) pairs of managed taints the node's state calls for.
pub fn desired_taints(node: &Node) -> Vec<(&'static str, &'static str)> {
    let mut out = Vec::new();
    match ready_status(node) {
        "True" => {}
        "False" => {
            out.push((TAINT_NOT_READY, NO_SCHEDULE));
            out.push((TAINT_NOT_READY, NO_EXECUTE));
        }
        _ => {
            out.push((TAINT_UNREACHABLE, NO_SCHEDULE));
            out.push((TAINT_UNREACHABLE, NO_EXECUTE));
        }
    }
    for (cond, key) in [
        ("MemoryPressure", TAINT_MEMORY_PRESSURE),
        ("DiskPressure", TAINT_DISK_PRESSURE),
        ("PIDPressure", TAINT_PID_PRESSURE),
        ("NetworkUnavailable", TAINT_NETWORK_UNAVAILABLE),
    ] {
        if condition(node, cond).is_some_and(|c| c.status == "True") {
            out.push((key, NO_SCHEDULE));
        }
    }
    if node.spec.as_ref().and_then(|s| s.unschedulable) == Some(true) {
        out.push((TAINT_UNSCHEDULABLE, NO_SCHEDULE));
    }
    out
}

/// The node's full taint list after reconciling the managed ones, or `None`
/// when nothing changes. Kept taints keep their `timeAdded`; new NoExecute
/// taints are stamped `now` (eviction counts tolerationSeconds from it).
pub fn reconciled_taints(node: &Node, now: jiff::Timestamp) -> Option<Vec<Taint>> {
    let current: &[Taint] = node
        .spec
        .as_ref()
        .and_then(|s| s.taints.as_deref())
        .unwrap_or_default();
    let desired = desired_taints(node);
    let is_managed = |t: &Taint| MANAGED.contains(&t.key.as_str());
    let wanted = |t: &Taint| desired.iter().any(|(k, e)| t.key == *k && t.effect == *e);
    let mut out: Vec<Taint> = Vec::with_capacity(current.len() + desired.len());
    let mut changed = false;
    for t in current {
        if !is_managed(t) || wanted(t) {
            out.push(t.clone());
        } else {
            changed = true;
        }
    }
    for (k, e) in &desired {
        if !current.iter().any(|t| t.key == *k && t.effect == *e) {
            out.push(Taint {
                key: (*k).into(),
                effect: (*e).into(),
                value: None,
                time_added: (*e == NO_EXECUTE).then_some(Time(now)),
            });
            changed = true;
        }
    }
    changed.then_some(out)
}

/// The node's NoExecute taints (what taint-based eviction acts on).
pub fn no_execute_taints(node: &Node) -> impl Iterator<Item = &Taint> {
    node.spec
        .as_ref()
        .and_then(|s| s.taints.as_deref())
        .unwrap_or_default()
        .iter()
        .filter(|t| t.effect == NO_EXECUTE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{NodeSpec, NodeStatus};

    fn node(conds: &[(&str, &str)], unschedulable: bool, taints: Vec<Taint>) -> Node {
        Node {
            spec: Some(NodeSpec {
                unschedulable: Some(unschedulable),
                taints: Some(taints),
                ..Default::default()
            }),
            status: Some(NodeStatus {
                conditions: Some(
                    conds
                        .iter()
                        .map(|(t, s)| NodeCondition {
                            type_: (*t).into(),
                            status: (*s).into(),
                            ..Default::default()
                        })
                        .collect(),
                ),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn taint(key: &str, effect: &str) -> Taint {
        Taint {
            key: key.into(),
            effect: effect.into(),
            ..Default::default()
        }
    }

    #[test]
    fn healthy_node_needs_nothing() {
        let n = node(
            &[("Ready", "True"), ("MemoryPressure", "False")],
            false,
            vec![],
        );
        assert!(desired_taints(&n).is_empty());
        assert!(reconciled_taints(&n, jiff::Timestamp::now()).is_none());
    }

    #[test]
    fn stale_node_gets_unknown_conditions_once() {
        let n = node(
            &[("Ready", "True"), ("MemoryPressure", "False")],
            false,
            vec![],
        );
        let now = jiff::Timestamp::now();
        let conds = stale_conditions(&n, now).expect("changes");
        let ready = conds.iter().find(|c| c.type_ == "Ready").unwrap();
        assert_eq!(ready.status, "Unknown");
        assert_eq!(ready.reason.as_deref(), Some("NodeStatusUnknown"));
        assert_eq!(
            ready.message.as_deref(),
            Some("Kubelet stopped posting node status.")
        );
        let pid = conds.iter().find(|c| c.type_ == "PIDPressure").unwrap();
        assert_eq!(pid.reason.as_deref(), Some("NodeStatusNeverUpdated"));
        let mut again = n.clone();
        again.status.as_mut().unwrap().conditions = Some(conds);
        assert!(stale_conditions(&again, now).is_none());
    }

    #[test]
    fn taints_follow_conditions() {
        let n = node(
            &[("Ready", "False"), ("DiskPressure", "True")],
            true,
            vec![
                taint("custom", NO_SCHEDULE),
                taint(TAINT_UNREACHABLE, NO_EXECUTE),
            ],
        );
        let out = reconciled_taints(&n, jiff::Timestamp::now()).expect("changes");
        let keys: Vec<(&str, &str)> = out
            .iter()
            .map(|t| (t.key.as_str(), t.effect.as_str()))
            .collect();
        assert!(keys.contains(&("custom", NO_SCHEDULE)));
        assert!(keys.contains(&(TAINT_NOT_READY, NO_EXECUTE)));
        assert!(keys.contains(&(TAINT_NOT_READY, NO_SCHEDULE)));
        assert!(keys.contains(&(TAINT_DISK_PRESSURE, NO_SCHEDULE)));
        assert!(keys.contains(&(TAINT_UNSCHEDULABLE, NO_SCHEDULE)));
        assert!(!keys.contains(&(TAINT_UNREACHABLE, NO_EXECUTE)));
        let ne = out.iter().find(|t| t.effect == NO_EXECUTE).unwrap();
        assert!(ne.time_added.is_some());
    }

    #[test]
    fn unknown_ready_means_unreachable() {
        let n = node(&[("Ready", "Unknown")], false, vec![]);
        assert_eq!(
            desired_taints(&n),
            vec![
                (TAINT_UNREACHABLE, NO_SCHEDULE),
                (TAINT_UNREACHABLE, NO_EXECUTE)
            ]
        );
    }
}
