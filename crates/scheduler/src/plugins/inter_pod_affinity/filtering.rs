//! The filter half of InterPodAffinity: PreFilter counts, per topology
//! pair, the existing pods whose required anti-affinity selects the incoming
//! pod and the existing pods the incoming pod's required terms select;
//! Filter compares a node's topology values with those counts.

use super::terms::{NsCache, PodTerms, TopologyCounts, required_anti_affinity};
use super::{
    ERR_AFFINITY_RULES, ERR_ANTI_AFFINITY_RULES, ERR_EXISTING_ANTI_AFFINITY, InterPodAffinity,
};
use crate::framework::{CycleState, Filter, NodeInfo, PodInfo, PreFilter, Snapshot, Status};
use k8s_openapi::api::core::v1::{Node, Pod};
use std::collections::BTreeMap;

const STATE_KEY: &str = "PreFilterInterPodAffinity";

#[derive(Debug, Clone, Default)]
pub(super) struct PreFilterState {
    terms: PodTerms,
    /// Existing pods' required anti-affinity terms matching the incoming pod.
    existing_anti: TopologyCounts,
    /// Existing pods matching all of the incoming pod's required affinity terms.
    affinity: TopologyCounts,
    /// Existing pods matching the incoming pod's required anti-affinity terms.
    anti: TopologyCounts,
    /// Labels of the incoming pod's namespace.
    own_ns_labels: Option<BTreeMap<String, String>>,
}

pub(super) fn node_labels(node: &Node) -> &BTreeMap<String, String> {
    static EMPTY: BTreeMap<String, String> = BTreeMap::new();
    node.metadata.labels.as_ref().unwrap_or(&EMPTY)
}

impl InterPodAffinity {
    /// Folds one existing pod (on `node`) into the counts with `delta`.
    fn update_with_pod(
        &self,
        s: &mut PreFilterState,
        incoming: &Pod,
        existing: &Pod,
        node: &Node,
        delta: i64,
        ns: &mut NsCache<'_>,
    ) {
        let labels = node_labels(node);
        for t in required_anti_affinity(existing) {
            if t.matches(incoming, s.own_ns_labels.as_ref()) {
                s.existing_anti.update(labels, &t.topology_key, delta);
            }
        }
        if !s.terms.required_affinity.is_empty()
            && s.terms
                .required_affinity
                .iter()
                .all(|t| t.matches_lookup(existing, ns))
        {
            for t in &s.terms.required_affinity {
                s.affinity.update(labels, &t.topology_key, delta);
            }
        }
        for t in &s.terms.required_anti_affinity {
            if t.matches_lookup(existing, ns) {
                s.anti.update(labels, &t.topology_key, delta);
            }
        }
    }

    fn update_state(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        victim: &PodInfo,
        node: &NodeInfo,
        delta: i64,
    ) {
        let lookup = self.ns_labels.clone();
        let Some(s) = state.read_mut::<PreFilterState>(STATE_KEY) else {
            return;
        };
        let mut ns = NsCache::new(lookup.as_ref());
        self.update_with_pod(s, &pod.pod, &victim.pod, &node.node, delta, &mut ns);
    }
}

impl PreFilter for InterPodAffinity {
    fn pre_filter(&self, state: &mut CycleState, pod: &PodInfo, snapshot: &Snapshot) -> Status {
        let terms = PodTerms::of(&pod.pod);
        let has_existing_anti = snapshot
            .nodes
            .iter()
            .any(|n| !n.pods_with_required_anti_affinity.is_empty());
        if !terms.has_required() && !has_existing_anti {
            return Status::skip();
        }
        let mut s = PreFilterState {
            own_ns_labels: self.lookup_ns(pod.namespace()),
            terms,
            ..Default::default()
        };
        for n in snapshot
            .nodes
            .iter()
            .filter(|n| !n.pods_with_required_anti_affinity.is_empty())
        {
            let labels = node_labels(&n.node);
            for ep in &n.pods_with_required_anti_affinity {
                for t in required_anti_affinity(&ep.pod) {
                    if t.matches(&pod.pod, s.own_ns_labels.as_ref()) {
                        s.existing_anti.update(labels, &t.topology_key, 1);
                    }
                }
            }
        }
        if s.terms.has_required() {
            let mut ns = NsCache::new(self.ns_labels.as_ref());
            for n in &snapshot.nodes {
                let labels = node_labels(&n.node);
                for ep in &n.pods {
                    let existing = &ep.pod;
                    if !s.terms.required_affinity.is_empty()
                        && s.terms
                            .required_affinity
                            .iter()
                            .all(|t| t.matches_lookup(existing, &mut ns))
                    {
                        for t in &s.terms.required_affinity {
                            s.affinity.update(labels, &t.topology_key, 1);
                        }
                    }
                    for t in &s.terms.required_anti_affinity {
                        if t.matches_lookup(existing, &mut ns) {
                            s.anti.update(labels, &t.topology_key, 1);
                        }
                    }
                }
            }
        }
        state.write(STATE_KEY, s);
        Status::success()
    }

    fn add_pod(&self, state: &mut CycleState, pod: &PodInfo, victim: &PodInfo, node: &NodeInfo) {
        self.update_state(state, pod, victim, node, 1);
    }

    fn remove_pod(&self, state: &mut CycleState, pod: &PodInfo, victim: &PodInfo, node: &NodeInfo) {
        self.update_state(state, pod, victim, node, -1);
    }
}

/// Every required affinity term has its topology key on the node and at
/// least one matching pod in that domain — or no pod anywhere matches and
/// the pod matches its own terms (the first pod of a self-affine group).
fn satisfies_affinity(s: &PreFilterState, pod: &Pod, labels: &BTreeMap<String, String>) -> bool {
    let mut pods_exist = true;
    for t in &s.terms.required_affinity {
        let Some(v) = labels.get(&t.topology_key) else {
            return false;
        };
        if s.affinity.get(&t.topology_key, v) <= 0 {
            pods_exist = false;
        }
    }
    if pods_exist {
        return true;
    }
    s.affinity.is_empty()
        && s.terms
            .required_affinity
            .iter()
            .all(|t| t.matches(pod, None))
}

fn satisfies_anti_affinity(s: &PreFilterState, labels: &BTreeMap<String, String>) -> bool {
    s.terms.required_anti_affinity.iter().all(|t| {
        labels
            .get(&t.topology_key)
            .is_none_or(|v| s.anti.get(&t.topology_key, v) <= 0)
    })
}

fn satisfies_existing_anti_affinity(s: &PreFilterState, labels: &BTreeMap<String, String>) -> bool {
    s.existing_anti.is_empty() || labels.iter().all(|(k, v)| s.existing_anti.get(k, v) <= 0)
}

impl Filter for InterPodAffinity {
    fn filter(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        let Some(s) = state.read::<PreFilterState>(STATE_KEY) else {
            // PreFilter skipped: nothing constrains this pod.
            return Status::success();
        };
        let labels = node_labels(&node.node);
        if !satisfies_affinity(s, &pod.pod, labels) {
            return Status::unresolvable(ERR_AFFINITY_RULES);
        }
        if !satisfies_anti_affinity(s, labels) {
            return Status::unschedulable(ERR_ANTI_AFFINITY_RULES);
        }
        if !satisfies_existing_anti_affinity(s, labels) {
            return Status::unschedulable(ERR_EXISTING_ANTI_AFFINITY);
        }
        Status::success()
    }
}
