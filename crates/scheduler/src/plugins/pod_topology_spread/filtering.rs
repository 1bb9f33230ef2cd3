//! DoNotSchedule constraints: PreFilter counts matching pods per topology
//! pair over the eligible nodes; Filter rejects a node when placing the pod
//! there would make `count + self - global minimum` exceed maxSkew.

use super::constraints::{
    Constraint, CriticalPaths, affinity_ok, count_matching, node_has_all_keys,
};
use super::{ERR_CONSTRAINTS_NOT_MATCH, ERR_NODE_LABEL_NOT_MATCH, PodTopologySpread};
use crate::framework::{CycleState, Filter, NodeInfo, PodInfo, PreFilter, Snapshot, Status};
use crate::plugins::inter_pod_affinity::terms::labels_of;
use k8s_openapi::api::core::v1::Node;
use std::collections::{BTreeMap, HashMap};

const STATE_KEY: &str = "PreFilterPodTopologySpread";

#[derive(Debug, Clone, Default)]
pub(super) struct PreFilterState {
    constraints: Vec<Constraint>,
    /// Per constraint: does the incoming pod match its own selector?
    self_match: Vec<bool>,
    /// topology key → value → matching pods.
    pair_counts: HashMap<String, HashMap<String, i64>>,
    /// topology key → number of eligible domains.
    domains: HashMap<String, i64>,
    critical: HashMap<String, CriticalPaths>,
}

impl PreFilterState {
    fn min_match(&self, c: &Constraint) -> i64 {
        let domains = self.domains.get(&c.topology_key).copied().unwrap_or(0);
        if domains < i64::from(c.min_domains) {
            return 0;
        }
        self.critical
            .get(&c.topology_key)
            .map_or(0, CriticalPaths::min)
    }
}

fn node_labels(node: &Node) -> &BTreeMap<String, String> {
    static EMPTY: BTreeMap<String, String> = BTreeMap::new();
    node.metadata.labels.as_ref().unwrap_or(&EMPTY)
}

impl PodTopologySpread {
    fn update_state(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        victim: &PodInfo,
        node: &NodeInfo,
        delta: i64,
    ) {
        let Some(s) = state.read_mut::<PreFilterState>(STATE_KEY) else {
            return;
        };
        if victim.namespace() != pod.namespace() {
            return;
        }
        let labels = node_labels(&node.node);
        if !node_has_all_keys(labels, &s.constraints) {
            return;
        }
        let aff = affinity_ok(&pod.pod, &node.node);
        let victim_labels = labels_of(&victim.pod);
        for c in &s.constraints {
            if !c.selector.matches(victim_labels) || !c.includes_node(&pod.pod, &node.node, aff) {
                continue;
            }
            let Some(v) = labels.get(&c.topology_key) else {
                continue;
            };
            let n = s
                .pair_counts
                .entry(c.topology_key.clone())
                .or_default()
                .entry(v.clone())
                .or_insert(0);
            *n += delta;
            let n = *n;
            s.critical
                .entry(c.topology_key.clone())
                .or_default()
                .update(v, n);
        }
    }
}

impl PreFilter for PodTopologySpread {
    fn pre_filter(&self, state: &mut CycleState, pod: &PodInfo, snapshot: &Snapshot) -> Status {
        let constraints = self.constraints_for(&pod.pod, "DoNotSchedule");
        if constraints.is_empty() {
            return Status::skip();
        }
        let own_labels = labels_of(&pod.pod);
        let mut s = PreFilterState {
            self_match: constraints
                .iter()
                .map(|c| c.selector.matches(own_labels))
                .collect(),
            ..Default::default()
        };
        for n in &snapshot.nodes {
            let labels = node_labels(&n.node);
            if !node_has_all_keys(labels, &constraints) {
                continue;
            }
            let aff = affinity_ok(&pod.pod, &n.node);
            for c in &constraints {
                if !c.includes_node(&pod.pod, &n.node, aff) {
                    continue;
                }
                let Some(v) = labels.get(&c.topology_key) else {
                    continue;
                };
                let count = count_matching(&n.pods, &c.selector, pod.namespace());
                *s.pair_counts
                    .entry(c.topology_key.clone())
                    .or_default()
                    .entry(v.clone())
                    .or_insert(0) += count;
            }
        }
        for (key, values) in &s.pair_counts {
            s.domains.insert(key.clone(), values.len() as i64);
            let paths = s.critical.entry(key.clone()).or_default();
            for (v, n) in values {
                paths.update(v, *n);
            }
        }
        s.constraints = constraints;
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

impl Filter for PodTopologySpread {
    fn filter(&self, state: &CycleState, _pod: &PodInfo, node: &NodeInfo) -> Status {
        let Some(s) = state.read::<PreFilterState>(STATE_KEY) else {
            return Status::success();
        };
        let labels = node_labels(&node.node);
        for (c, self_match) in s.constraints.iter().zip(&s.self_match) {
            let Some(v) = labels.get(&c.topology_key) else {
                return Status::unresolvable(ERR_NODE_LABEL_NOT_MATCH);
            };
            let count = s
                .pair_counts
                .get(&c.topology_key)
                .and_then(|m| m.get(v))
                .copied()
                .unwrap_or(0);
            let skew = count + i64::from(*self_match) - s.min_match(c);
            if skew > i64::from(c.max_skew) {
                return Status::unschedulable(ERR_CONSTRAINTS_NOT_MATCH);
            }
        }
        Status::success()
    }
}
