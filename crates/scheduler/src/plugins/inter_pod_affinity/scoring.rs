//! The score half of InterPodAffinity: preferred terms of the incoming pod
//! against existing pods, and existing pods' required (hardPodAffinityWeight)
//! and preferred terms against the incoming pod, summed per topology pair;
//! a node scores the sum over its labels, normalized min..max to 0..100.

use super::InterPodAffinity;
use super::filtering::node_labels;
use super::terms::{AffinityTerm, NsCache, PodTerms};
use crate::framework::{
    CycleState, MAX_NODE_SCORE, NodeInfo, PodInfo, PreScore, Score, Snapshot, Status,
};
use k8s_openapi::api::core::v1::Pod;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

const STATE_KEY: &str = "PreScoreInterPodAffinity";

#[derive(Debug, Default)]
struct PreScoreState {
    /// topology key → value → summed weight.
    topology_score: HashMap<String, HashMap<String, i64>>,
}

impl PreScoreState {
    fn add(&mut self, term: &AffinityTerm, weight: i64, node_labels: &BTreeMap<String, String>) {
        if let Some(v) = node_labels.get(&term.topology_key) {
            *self
                .topology_score
                .entry(term.topology_key.clone())
                .or_default()
                .entry(v.clone())
                .or_insert(0) += weight;
        }
    }
}

impl InterPodAffinity {
    #[allow(clippy::too_many_arguments)]
    fn process_existing_pod(
        &self,
        s: &mut PreScoreState,
        incoming: &Pod,
        incoming_terms: &PodTerms,
        own_ns_labels: Option<&BTreeMap<String, String>>,
        existing: &Pod,
        node_labels: &BTreeMap<String, String>,
        ns: &mut NsCache<'_>,
    ) {
        if node_labels.is_empty() {
            return;
        }
        for t in &incoming_terms.preferred_affinity {
            if t.matches_lookup(existing, ns) {
                s.add(t, i64::from(t.weight), node_labels);
            }
        }
        for t in &incoming_terms.preferred_anti_affinity {
            if t.matches_lookup(existing, ns) {
                s.add(t, -i64::from(t.weight), node_labels);
            }
        }
        if !crate::framework::affinity_kinds(existing).0 {
            return;
        }
        let theirs = PodTerms::of(existing);
        if self.hard_pod_affinity_weight > 0 {
            for t in &theirs.required_affinity {
                if t.matches(incoming, own_ns_labels) {
                    s.add(t, i64::from(self.hard_pod_affinity_weight), node_labels);
                }
            }
        }
        for t in &theirs.preferred_affinity {
            if t.matches(incoming, own_ns_labels) {
                s.add(t, i64::from(t.weight), node_labels);
            }
        }
        for t in &theirs.preferred_anti_affinity {
            if t.matches(incoming, own_ns_labels) {
                s.add(t, -i64::from(t.weight), node_labels);
            }
        }
    }
}

impl PreScore for InterPodAffinity {
    fn pre_score(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        _nodes: &[Arc<NodeInfo>],
        snapshot: &Snapshot,
    ) -> Status {
        let terms = PodTerms::of(&pod.pod);
        let has_constraints = terms.has_preferred();
        if !has_constraints && snapshot.nodes_with_affinity_pods().next().is_none() {
            return Status::skip();
        }
        let own_ns_labels = self.lookup_ns(pod.namespace());
        let mut ns = NsCache::new(self.ns_labels.as_ref());
        let mut s = PreScoreState::default();
        for n in &snapshot.nodes {
            // Without preferred terms of its own, only pods with affinity can score.
            let pods = if has_constraints {
                &n.pods
            } else {
                &n.pods_with_affinity
            };
            if pods.is_empty() {
                continue;
            }
            let labels = node_labels(&n.node);
            for ep in pods {
                self.process_existing_pod(
                    &mut s,
                    &pod.pod,
                    &terms,
                    own_ns_labels.as_ref(),
                    &ep.pod,
                    labels,
                    &mut ns,
                );
            }
        }
        if s.topology_score.is_empty() {
            return Status::skip();
        }
        state.write(STATE_KEY, s);
        Status::success()
    }
}

impl Score for InterPodAffinity {
    fn score(&self, state: &CycleState, _pod: &PodInfo, node: &NodeInfo) -> Result<i64, Status> {
        let Some(s) = state.read::<PreScoreState>(STATE_KEY) else {
            return Ok(0);
        };
        let labels = node_labels(&node.node);
        let mut score = 0;
        for (key, values) in &s.topology_score {
            if let Some(v) = labels.get(key) {
                score += values.get(v).copied().unwrap_or(0);
            }
        }
        Ok(score)
    }

    fn normalize(&self, state: &CycleState, _pod: &PodInfo, scores: &mut [i64]) {
        if state
            .read::<PreScoreState>(STATE_KEY)
            .is_none_or(|s| s.topology_score.is_empty())
        {
            return;
        }
        let min = scores.iter().copied().min().unwrap_or(0);
        let max = scores.iter().copied().max().unwrap_or(0);
        let diff = max - min;
        for s in scores.iter_mut() {
            *s = if diff > 0 {
                (MAX_NODE_SCORE as f64 * ((*s - min) as f64 / diff as f64)) as i64
            } else {
                0
            };
        }
    }
}
