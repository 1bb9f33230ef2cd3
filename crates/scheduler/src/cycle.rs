//! One scheduling cycle for one pod over a snapshot: PreFilter, Filter
//! over an adaptive share of the nodes (round-robin start), PreScore,
//! Score/normalize/weights, and the pick of the best node (ties at
//! random). Pure: PostFilter (which may call the API) is run by the caller.

use crate::framework::{
    Code, CycleState, Filter, FilterRunner, NodeInfo, PodInfo, PostFilterContext, Snapshot, Status,
};
use crate::profile::Profile;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

/// Upstream never scores fewer nodes than this (when the cluster has them).
const MIN_FEASIBLE_NODES: usize = 100;
const MIN_FEASIBLE_PERCENTAGE: i64 = 5;

pub const NO_NODES_MSG: &str = "no nodes available to schedule pods";

/// Why a pod fits nowhere, formatted as upstream's `FitError`.
#[derive(Debug, Clone, Default)]
pub struct FitError {
    pub num_all_nodes: usize,
    /// Rejection per node name.
    pub statuses: HashMap<String, Status>,
    /// Set when a PreFilter plugin rejected the pod outright.
    pub pre_filter_msg: Option<String>,
    pub post_filter_msg: Option<String>,
}

impl FitError {
    /// `0/3 nodes are available: 1 Insufficient cpu, 2 node(s) …. <postfilter>`
    pub fn message(&self) -> String {
        let mut m = format!("0/{} nodes are available:", self.num_all_nodes);
        if let Some(pf) = &self.pre_filter_msg {
            m.push_str(&format!(" {pf}."));
        } else {
            let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
            for s in self.statuses.values() {
                for r in &s.reasons {
                    *counts.entry(r.as_str()).or_default() += 1;
                }
            }
            let mut parts: Vec<String> = counts.iter().map(|(r, c)| format!("{c} {r}")).collect();
            // Upstream sorts the formatted strings, counts included.
            parts.sort();
            if !parts.is_empty() {
                m.push_str(&format!(" {}.", parts.join(", ")));
            }
        }
        if let Some(p) = self.post_filter_msg.as_deref().filter(|p| !p.is_empty()) {
            m.push(' ');
            m.push_str(p);
        }
        m
    }

    /// Plugins that rejected the pod somewhere (for requeueing on events).
    pub fn plugins(&self) -> HashSet<&'static str> {
        self.statuses
            .values()
            .map(|s| s.plugin)
            .filter(|p| !p.is_empty())
            .collect()
    }
}

#[derive(Debug)]
pub enum CycleError {
    NoNodes,
    Unschedulable(FitError),
    Internal(String),
}

/// How many feasible nodes to look for before scoring (upstream's
/// `numFeasibleNodesToFind`); `percentage` 0 = adaptive.
pub fn num_feasible_nodes_to_find(percentage: i32, all: usize) -> usize {
    if all < MIN_FEASIBLE_NODES {
        return all;
    }
    let mut pct = percentage as i64;
    if pct <= 0 {
        pct = (50 - all as i64 / 125).max(MIN_FEASIBLE_PERCENTAGE);
    }
    let n = all * pct.min(100) as usize / 100;
    n.max(MIN_FEASIBLE_NODES)
}

/// The scheduling algorithm's state that carries over between pods.
pub struct Algorithm {
    next_start: usize,
    rng: u64,
}

impl Default for Algorithm {
    fn default() -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x9E37_79B9_7F4A_7C15);
        Self::with_seed(seed)
    }
}

impl Algorithm {
    pub fn with_seed(seed: u64) -> Self {
        Self {
            next_start: 0,
            rng: seed | 1,
        }
    }

    fn next_rand(&mut self) -> u64 {
        // xorshift64: tie-breaking only needs to be unbiased, not secure.
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng = x;
        x
    }

    /// Find the best node for `pod`. The cycle state is returned too: a
    /// PostFilter plugin needs it when the pod fits nowhere.
    pub fn schedule(
        &mut self,
        profile: &Profile,
        pod: &PodInfo,
        snap: &Snapshot,
    ) -> (CycleState, Result<String, CycleError>) {
        let mut state = CycleState::default();
        let r = self.schedule_in(profile, pod, snap, &mut state);
        (state, r)
    }

    fn schedule_in(
        &mut self,
        profile: &Profile,
        pod: &PodInfo,
        snap: &Snapshot,
        state: &mut CycleState,
    ) -> Result<String, CycleError> {
        let all = snap.nodes.len();
        if all == 0 {
            return Err(CycleError::NoNodes);
        }
        for p in &profile.pre_filter {
            let s = p.pre_filter(state, pod, snap);
            match s.code {
                Code::Success => {}
                Code::Skip => {
                    state.skip_filter.insert(p.name());
                }
                Code::Error => return Err(CycleError::Internal(s.reasons.join(", "))),
                Code::Unschedulable | Code::UnschedulableAndUnresolvable => {
                    let mut s = s;
                    s.plugin = p.name();
                    let statuses = snap
                        .nodes
                        .iter()
                        .map(|n| (n.name().to_string(), s.clone()))
                        .collect();
                    return Err(CycleError::Unschedulable(FitError {
                        num_all_nodes: all,
                        statuses,
                        pre_filter_msg: Some(s.reasons.join(", ")),
                        post_filter_msg: None,
                    }));
                }
            }
        }
        let filters: Vec<&dyn Filter> = profile
            .filter
            .iter()
            .filter(|f| !state.skip_filter.contains(f.name()))
            .map(|f| f.as_ref())
            .collect();
        let want = num_feasible_nodes_to_find(profile.percentage_of_nodes_to_score, all);
        let mut feasible: Vec<Arc<NodeInfo>> = Vec::with_capacity(want);
        let mut statuses: HashMap<String, Status> = HashMap::new();
        let start = self.next_start % all;
        let mut processed = 0;
        for k in 0..all {
            let node = &snap.nodes[(start + k) % all];
            processed += 1;
            match run_filters(&filters, state, pod, node) {
                None => {
                    feasible.push(node.clone());
                    if feasible.len() >= want {
                        break;
                    }
                }
                Some(s) if s.code == Code::Error => {
                    return Err(CycleError::Internal(s.reasons.join(", ")));
                }
                Some(s) => {
                    statuses.insert(node.name().to_string(), s);
                }
            }
        }
        self.next_start = (start + processed) % all;
        if feasible.is_empty() {
            return Err(CycleError::Unschedulable(FitError {
                num_all_nodes: all,
                statuses,
                pre_filter_msg: None,
                post_filter_msg: None,
            }));
        }
        if feasible.len() == 1 {
            return Ok(feasible[0].name().to_string());
        }
        let totals = score(profile, state, pod, &feasible, snap)?;
        Ok(self.select(&feasible, &totals))
    }

    fn select(&mut self, nodes: &[Arc<NodeInfo>], totals: &[i64]) -> String {
        let mut best = 0;
        let mut ties = 0u64;
        for (i, &t) in totals.iter().enumerate() {
            if t > totals[best] {
                best = i;
                ties = 1;
            } else if t == totals[best] {
                ties += 1;
                // Reservoir sampling: each tied node wins with equal chance.
                if self.next_rand().is_multiple_of(ties) {
                    best = i;
                }
            }
        }
        nodes[best].name().to_string()
    }
}

fn run_filters(
    filters: &[&dyn Filter],
    state: &CycleState,
    pod: &PodInfo,
    node: &NodeInfo,
) -> Option<Status> {
    for f in filters {
        let mut s = f.filter(state, pod, node);
        if !s.is_success() {
            s.plugin = f.name();
            return Some(s);
        }
    }
    None
}

/// Weighted, normalized sum of every score plugin per feasible node.
fn score(
    profile: &Profile,
    state: &mut CycleState,
    pod: &PodInfo,
    nodes: &[Arc<NodeInfo>],
    snap: &Snapshot,
) -> Result<Vec<i64>, CycleError> {
    for p in &profile.pre_score {
        let s = p.pre_score(state, pod, nodes, snap);
        match s.code {
            Code::Success => {}
            Code::Skip => {
                state.skip_score.insert(p.name());
            }
            _ => return Err(CycleError::Internal(s.reasons.join(", "))),
        }
    }
    let mut totals = vec![0i64; nodes.len()];
    let mut scores = vec![0i64; nodes.len()];
    for (p, weight) in &profile.score {
        if state.skip_score.contains(p.name()) {
            continue;
        }
        for (i, n) in nodes.iter().enumerate() {
            scores[i] = p
                .score(state, pod, n)
                .map_err(|s| CycleError::Internal(s.reasons.join(", ")))?;
        }
        p.normalize(state, pod, &mut scores);
        for (t, s) in totals.iter_mut().zip(&scores) {
            *t += s * weight;
        }
    }
    Ok(totals)
}

/// Run the profile's PostFilter plugins (preemption) after a FitError.
/// Returns the nominated node, and sets `fit.post_filter_msg`.
pub async fn run_post_filter(
    profile: &Profile,
    state: &CycleState,
    pod: &PodInfo,
    snap: &Snapshot,
    fit: &mut FitError,
) -> Option<String> {
    let mut msgs = Vec::new();
    for p in &profile.post_filter {
        let ctx = PostFilterContext {
            state,
            pod,
            snapshot: snap,
            node_statuses: &fit.statuses,
            filters: profile as &dyn FilterRunner,
        };
        match p.post_filter(ctx).await {
            Ok(Some(node)) => return Some(node),
            Ok(None) => {}
            Err(s) => msgs.extend(s.reasons),
        }
    }
    if !msgs.is_empty() {
        fit.post_filter_msg = Some(msgs.join(", "));
    }
    None
}

#[cfg(test)]
mod tests;
