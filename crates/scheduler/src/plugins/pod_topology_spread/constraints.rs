//! Spread constraints as the plugin evaluates them: the pod's own (with
//! matchLabelKeys merged into the selector and the inclusion-policy
//! defaults applied) or the defaults over the owners' selector; pod counting
//! per node; and the default-selector lookup built from shared informers.

use super::node_inclusion::{matches_required_node_affinity, tolerates_node_taints};
use super::{PodTopologySpread, SelectorLookupFn};
use crate::framework::PodInfo;
use crate::plugins::inter_pod_affinity::terms::{convert_selector, labels_of};
use apimachinery::selectors::{LabelSelector, Operator, Requirement};
use k8s_openapi::api::apps::v1::{ReplicaSet, StatefulSet};
use k8s_openapi::api::core::v1::{
    Node, Pod, ReplicationController, Service, TopologySpreadConstraint,
};
use std::collections::BTreeMap;
use std::sync::Arc;

/// One constraint ready to evaluate.
#[derive(Debug, Clone)]
pub struct Constraint {
    pub max_skew: i32,
    pub topology_key: String,
    pub selector: LabelSelector,
    pub min_domains: i32,
    /// nodeAffinityPolicy Honor (the default).
    pub honor_node_affinity: bool,
    /// nodeTaintsPolicy Honor (default Ignore).
    pub honor_node_taints: bool,
}

impl Constraint {
    /// Whether `node` is a domain member for this constraint and `pod`.
    pub fn includes_node(&self, pod: &Pod, node: &Node, affinity_ok: bool) -> bool {
        (!self.honor_node_affinity || affinity_ok)
            && (!self.honor_node_taints || tolerates_node_taints(pod, node))
    }
}

fn parse(c: &TopologySpreadConstraint, pod_labels: &BTreeMap<String, String>) -> Constraint {
    let mut selector = convert_selector(c.label_selector.as_ref());
    let extra: Vec<Requirement> = c
        .match_label_keys
        .iter()
        .flatten()
        .filter_map(|k| {
            let v = pod_labels.get(k)?;
            Requirement::new(k, Operator::In, vec![v.clone()]).ok()
        })
        .collect();
    if !extra.is_empty() && !selector.matches_nothing() {
        let mut reqs = selector.requirements().to_vec();
        reqs.extend(extra);
        selector = LabelSelector::from_requirements(reqs);
    }
    Constraint {
        max_skew: c.max_skew,
        topology_key: c.topology_key.clone(),
        selector,
        min_domains: c.min_domains.unwrap_or(1),
        honor_node_affinity: c.node_affinity_policy.as_deref() != Some("Ignore"),
        honor_node_taints: c.node_taints_policy.as_deref() == Some("Honor"),
    }
}

impl PodTopologySpread {
    /// The constraints of `pod` with `action` (DoNotSchedule or ScheduleAnyway):
    /// its own, or the defaults when it has none.
    pub fn constraints_for(&self, pod: &Pod, action: &str) -> Vec<Constraint> {
        let labels = labels_of(pod);
        let own = pod
            .spec
            .as_ref()
            .and_then(|s| s.topology_spread_constraints.as_deref())
            .unwrap_or_default();
        if !own.is_empty() {
            return own
                .iter()
                .filter(|c| c.when_unsatisfiable == action)
                .map(|c| parse(c, labels))
                .collect();
        }
        let defaults: Vec<&TopologySpreadConstraint> = self
            .default_constraints
            .iter()
            .filter(|c| c.when_unsatisfiable == action)
            .collect();
        if defaults.is_empty() {
            return Vec::new();
        }
        let Some(selector) = self.selector_lookup.as_ref().and_then(|f| f(pod)) else {
            return Vec::new();
        };
        if selector.is_empty() || selector.matches_nothing() {
            return Vec::new();
        }
        defaults
            .into_iter()
            .map(|c| Constraint {
                selector: selector.clone(),
                ..parse(c, labels)
            })
            .collect()
    }

    pub(super) fn requires_all_topologies(&self, pod: &Pod) -> bool {
        let has_own = pod
            .spec
            .as_ref()
            .and_then(|s| s.topology_spread_constraints.as_ref())
            .is_some_and(|c| !c.is_empty());
        has_own || !self.system_defaulted
    }
}

/// Whether the node carries every constraint's topology key.
pub(super) fn node_has_all_keys(labels: &BTreeMap<String, String>, cs: &[Constraint]) -> bool {
    cs.iter().all(|c| labels.contains_key(&c.topology_key))
}

/// Pods in `ns` matching `selector`, not being deleted.
pub(super) fn count_matching(pods: &[Arc<PodInfo>], selector: &LabelSelector, ns: &str) -> i64 {
    pods.iter()
        .filter(|p| {
            p.pod.metadata.deletion_timestamp.is_none()
                && p.namespace() == ns
                && selector.matches(labels_of(&p.pod))
        })
        .count() as i64
}

pub(super) fn affinity_ok(pod: &Pod, node: &Node) -> bool {
    matches_required_node_affinity(pod, node)
}

/// Upstream's `DefaultSelector` over the shared informers: the union of the
/// selectors of Services selecting the pod and of its controlling
/// ReplicationController, ReplicaSet or StatefulSet.
pub fn informer_selector_lookup(factory: &informer::Factory) -> SelectorLookupFn {
    let services = factory.informer::<Service>();
    let rcs = factory.informer::<ReplicationController>();
    let rss = factory.informer::<ReplicaSet>();
    let sss = factory.informer::<StatefulSet>();
    Arc::new(move |pod: &Pod| {
        let ns = pod.metadata.namespace.as_deref().unwrap_or("");
        let labels = labels_of(pod);
        let mut set: BTreeMap<String, String> = BTreeMap::new();
        for svc in services.list_namespace(ns) {
            // A Service with no selector selects nothing (not everything).
            let Some(sel) = svc.spec.as_ref().and_then(|s| s.selector.as_ref()) else {
                continue;
            };
            if sel.iter().all(|(k, v)| labels.get(k) == Some(v)) {
                set.extend(sel.clone());
            }
        }
        let owner = pod
            .metadata
            .owner_references
            .iter()
            .flatten()
            .find(|o| o.controller == Some(true));
        let mut reqs = LabelSelector::from_set(&set).requirements().to_vec();
        if let Some(o) = owner {
            let group = o.api_version.split_once('/').map_or("", |(g, _)| g);
            match (group, o.kind.as_str()) {
                ("", "ReplicationController") => {
                    if let Some(rc) = rcs.get_named(Some(ns), &o.name)
                        && let Some(sel) = rc.spec.as_ref().and_then(|s| s.selector.as_ref())
                    {
                        set.extend(sel.clone());
                        reqs = LabelSelector::from_set(&set).requirements().to_vec();
                    }
                }
                ("apps", "ReplicaSet") => {
                    if let Some(rs) = rss.get_named(Some(ns), &o.name) {
                        let s = convert_selector(Some(&rs.spec.selector));
                        reqs.extend(s.requirements().iter().cloned());
                    }
                }
                ("apps", "StatefulSet") => {
                    if let Some(ss) = sss.get_named(Some(ns), &o.name) {
                        let s = convert_selector(Some(&ss.spec.selector));
                        reqs.extend(s.requirements().iter().cloned());
                    }
                }
                _ => {}
            }
        }
        Some(LabelSelector::from_requirements(reqs))
    })
}

/// The two smallest (value, count) of one topology key (upstream's
/// criticalPaths): the global minimum in O(1) while preemption adds and
/// removes pods.
#[derive(Debug, Clone)]
pub(super) struct CriticalPaths([(String, i64); 2]);

impl Default for CriticalPaths {
    fn default() -> Self {
        Self([(String::new(), i64::MAX), (String::new(), i64::MAX)])
    }
}

impl CriticalPaths {
    pub(super) fn min(&self) -> i64 {
        self.0[0].1
    }

    pub(super) fn update(&mut self, value: &str, num: i64) {
        let p = &mut self.0;
        let i = if p[0].0 == value && p[0].1 != i64::MAX {
            Some(0)
        } else if p[1].0 == value && p[1].1 != i64::MAX {
            Some(1)
        } else {
            None
        };
        match i {
            Some(i) => {
                p[i].1 = num;
                if p[0].1 > p[1].1 {
                    p.swap(0, 1);
                }
            }
            None if num < p[0].1 => {
                p[1] = p[0].clone();
                p[0] = (value.to_string(), num);
            }
            None if num < p[1].1 => p[1] = (value.to_string(), num),
            None => {}
        }
    }
}
