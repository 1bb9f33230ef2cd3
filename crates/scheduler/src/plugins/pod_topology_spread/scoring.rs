//! ScheduleAnyway constraints (and the system defaults): a node's score is
//! the weighted count of matching pods in its domains (fewer is better),
//! normalized so the emptiest domain scores 100.
//!
//! The framework's `normalize` sees scores only, not node names, so Score
//! marks nodes upstream ignores (missing a topology key) with -1 and
//! normalize turns them into 0.

use super::constraints::{Constraint, affinity_ok, count_matching, node_has_all_keys};
use super::{LABEL_HOSTNAME, PodTopologySpread};
use crate::framework::{
    CycleState, MAX_NODE_SCORE, NodeInfo, PodInfo, PreScore, Score, Snapshot, Status,
};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

const STATE_KEY: &str = "PreScorePodTopologySpread";
const IGNORED: i64 = -1;

#[derive(Debug, Default)]
struct PreScoreState {
    constraints: Vec<Constraint>,
    require_all: bool,
    /// Per constraint: topology value → matching pods (not for hostname).
    counts: Vec<HashMap<String, i64>>,
    weights: Vec<f64>,
}

fn labels(node: &NodeInfo) -> &BTreeMap<String, String> {
    static EMPTY: BTreeMap<String, String> = BTreeMap::new();
    node.node.metadata.labels.as_ref().unwrap_or(&EMPTY)
}

impl PreScore for PodTopologySpread {
    fn pre_score(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        nodes: &[Arc<NodeInfo>],
        snapshot: &Snapshot,
    ) -> Status {
        if nodes.is_empty() || snapshot.nodes.is_empty() {
            return Status::skip();
        }
        let constraints = self.constraints_for(&pod.pod, "ScheduleAnyway");
        if constraints.is_empty() {
            return Status::skip();
        }
        let require_all = self.requires_all_topologies(&pod.pod);
        let mut counts = vec![HashMap::<String, i64>::new(); constraints.len()];
        let mut ignored = 0usize;
        for n in nodes {
            let l = labels(n);
            if require_all && !node_has_all_keys(l, &constraints) {
                ignored += 1;
                continue;
            }
            for (i, c) in constraints.iter().enumerate() {
                if c.topology_key != LABEL_HOSTNAME {
                    let v = l.get(&c.topology_key).cloned().unwrap_or_default();
                    counts[i].entry(v).or_insert(0);
                }
            }
        }
        let weights = constraints
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let size = if c.topology_key == LABEL_HOSTNAME {
                    nodes.len() - ignored
                } else {
                    counts[i].len()
                };
                ((size + 2) as f64).ln()
            })
            .collect();
        let any_domain_counts = counts.iter().any(|m| !m.is_empty());
        if any_domain_counts {
            for n in &snapshot.nodes {
                let l = labels(n);
                if require_all && !node_has_all_keys(l, &constraints) {
                    continue;
                }
                // Computed once per node, and only for nodes in a scored domain.
                let mut aff: Option<bool> = None;
                for (i, c) in constraints.iter().enumerate() {
                    // Nodes without the key add nothing a scored node reads.
                    let Some(v) = l.get(&c.topology_key) else {
                        continue;
                    };
                    let Some(slot) = counts[i].get_mut(v) else {
                        continue;
                    };
                    let aff = *aff.get_or_insert_with(|| affinity_ok(&pod.pod, &n.node));
                    if !c.includes_node(&pod.pod, &n.node, aff) {
                        continue;
                    }
                    *slot += count_matching(&n.pods, &c.selector, pod.namespace());
                }
            }
        }
        state.write(
            STATE_KEY,
            PreScoreState {
                constraints,
                require_all,
                counts,
                weights,
            },
        );
        Status::success()
    }
}

impl Score for PodTopologySpread {
    fn score(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Result<i64, Status> {
        let Some(s) = state.read::<PreScoreState>(STATE_KEY) else {
            return Ok(0);
        };
        let l = labels(node);
        if s.require_all && !node_has_all_keys(l, &s.constraints) {
            return Ok(IGNORED);
        }
        let mut score = 0.0;
        for (i, c) in s.constraints.iter().enumerate() {
            let Some(v) = l.get(&c.topology_key) else {
                continue;
            };
            let cnt = if c.topology_key == LABEL_HOSTNAME {
                count_matching(&node.pods, &c.selector, pod.namespace())
            } else {
                s.counts[i].get(v).copied().unwrap_or(0)
            };
            score += cnt as f64 * s.weights[i] + f64::from(c.max_skew - 1);
        }
        Ok(score.round() as i64)
    }

    fn normalize(&self, state: &CycleState, _pod: &PodInfo, scores: &mut [i64]) {
        if state.read::<PreScoreState>(STATE_KEY).is_none() {
            return;
        }
        let valid = || scores.iter().copied().filter(|s| *s != IGNORED);
        let min = valid().min().unwrap_or(i64::MAX);
        let max = valid().max().unwrap_or(0).max(0);
        for s in scores.iter_mut() {
            *s = if *s == IGNORED {
                0
            } else if max == 0 {
                MAX_NODE_SCORE
            } else {
                MAX_NODE_SCORE * (max + min - *s) / max
            };
        }
    }
}
