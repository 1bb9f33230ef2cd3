//! The pure half of preemption: which pods on one node must go for the
//! preemptor to fit (remove every lower-priority pod, then reprieve as many
//! as possible, PDB-protected ones first), which candidate node is best
//! (upstream's `pickOneNodeForPreemption` ordering), and the message
//! explaining why no node helped.

use crate::framework::{CycleState, FilterRunner, NodeInfo, PodInfo, Status};
use crate::plugins::inter_pod_affinity::terms::{convert_selector, labels_of};
use apimachinery::selectors::LabelSelector;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::jiff::Timestamp;
use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

pub const NO_VICTIMS: &str = "No preemption victims found for incoming pod";
pub const NOT_HELPFUL: &str = "Preemption is not helpful for scheduling";

/// A PodDisruptionBudget as victim selection reads it.
#[derive(Debug, Clone)]
pub struct Pdb {
    pub namespace: String,
    pub selector: LabelSelector,
    pub disruptions_allowed: i32,
    /// Pods the API server already counted as disrupted.
    pub disrupted_pods: HashSet<String>,
}

impl Pdb {
    pub fn from_api(pdb: &PodDisruptionBudget) -> Self {
        let spec_selector = pdb.spec.as_ref().and_then(|s| s.selector.as_ref());
        let status = pdb.status.as_ref();
        Self {
            namespace: pdb.metadata.namespace.clone().unwrap_or_default(),
            selector: convert_selector(spec_selector),
            disruptions_allowed: status.and_then(|s| s.disruptions_allowed).unwrap_or(0),
            disrupted_pods: status
                .and_then(|s| s.disrupted_pods.as_ref())
                .map(|m| m.keys().cloned().collect())
                .unwrap_or_default(),
        }
    }
}

/// One node where preemption would make the pod fit.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub node: String,
    /// Highest priority first.
    pub victims: Vec<Arc<PodInfo>>,
    pub num_pdb_violations: usize,
}

fn start_time(p: &PodInfo) -> Option<Timestamp> {
    p.pod.status.as_ref()?.start_time.as_ref().map(|t| t.0)
}

/// Upstream's `MoreImportantPod`: higher priority, then earlier start
/// (a pod not started yet counts as starting now, i.e. last).
pub fn more_important(a: &PodInfo, b: &PodInfo) -> Ordering {
    b.priority()
        .cmp(&a.priority())
        .then_with(|| match (start_time(a), start_time(b)) {
            (Some(x), Some(y)) => x.cmp(&y),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        })
}

/// Splits pods (already ordered) into those whose eviction would take a
/// matching PDB below zero allowed disruptions, and the rest.
pub fn split_by_pdb(pods: &[Arc<PodInfo>], pdbs: &[Pdb]) -> (Vec<Arc<PodInfo>>, Vec<Arc<PodInfo>>) {
    let mut allowed: Vec<i32> = pdbs.iter().map(|p| p.disruptions_allowed).collect();
    let (mut violating, mut other) = (Vec::new(), Vec::new());
    for p in pods {
        let labels = labels_of(&p.pod);
        let mut violated = false;
        if !labels.is_empty() {
            for (i, pdb) in pdbs.iter().enumerate() {
                if pdb.namespace != p.namespace()
                    || pdb.selector.is_empty()
                    || !pdb.selector.matches(labels)
                    || pdb.disrupted_pods.contains(p.name())
                {
                    continue;
                }
                allowed[i] -= 1;
                if allowed[i] < 0 {
                    violated = true;
                }
            }
        }
        if violated {
            violating.push(p.clone());
        } else {
            other.push(p.clone());
        }
    }
    (violating, other)
}

/// The victims on `node` for `pod`, or the status saying why preemption
/// cannot help there.
pub fn select_victims_on_node(
    filters: &dyn FilterRunner,
    state: &CycleState,
    pod: &PodInfo,
    node: &NodeInfo,
    pdbs: &[Pdb],
) -> Result<Candidate, Status> {
    let mut state = state.clone();
    let mut ni = node.clone();
    let priority = pod.priority();
    let mut potential: Vec<Arc<PodInfo>> = Vec::new();
    for p in &node.pods {
        if p.priority() < priority {
            potential.push(p.clone());
            ni.remove_pod(p.uid());
            filters.run_pre_filter_remove_pod(&mut state, pod, p, &ni);
        }
    }
    if potential.is_empty() {
        return Err(Status::unresolvable(NO_VICTIMS));
    }
    let status = filters.run_filters(&state, pod, &ni);
    if !status.is_success() {
        return Err(status);
    }
    potential.sort_by(|a, b| more_important(a, b));
    let (violating, other) = split_by_pdb(&potential, pdbs);
    let mut victims = Vec::new();
    let mut num_pdb_violations = 0;
    let mut reprieve = |p: &Arc<PodInfo>, victims: &mut Vec<Arc<PodInfo>>| -> bool {
        ni.add_pod(p.clone());
        filters.run_pre_filter_add_pod(&mut state, pod, p, &ni);
        let fits = filters.run_filters(&state, pod, &ni).is_success();
        if !fits {
            ni.remove_pod(p.uid());
            filters.run_pre_filter_remove_pod(&mut state, pod, p, &ni);
            victims.push(p.clone());
        }
        fits
    };
    for p in &violating {
        if !reprieve(p, &mut victims) {
            num_pdb_violations += 1;
        }
    }
    for p in &other {
        reprieve(p, &mut victims);
    }
    if !violating.is_empty() && !other.is_empty() {
        victims.sort_by(|a, b| more_important(a, b));
    }
    Ok(Candidate {
        node: node.name().to_string(),
        victims,
        num_pdb_violations,
    })
}

/// The earliest start among the highest-priority victims (`None`: not started).
fn earliest_top_start(victims: &[Arc<PodInfo>]) -> Option<Timestamp> {
    let top = victims.iter().map(|v| v.priority()).max()?;
    victims
        .iter()
        .filter(|v| v.priority() == top)
        .map(|v| start_time(v).unwrap_or_else(Timestamp::now))
        .min()
}

/// Upstream's ordering: fewest PDB violations, then the lowest
/// highest-victim priority, the smallest priority sum, the fewest victims,
/// the latest start of the highest-priority victims; then the first.
pub fn pick_one_node(candidates: &[Candidate]) -> Option<usize> {
    if let Some(i) = candidates.iter().position(|c| c.victims.is_empty()) {
        return Some(i);
    }
    let mut idx: Vec<usize> = (0..candidates.len()).collect();
    let keep_min = |idx: &mut Vec<usize>, key: &dyn Fn(&Candidate) -> i64| {
        let best = idx.iter().map(|&i| key(&candidates[i])).min();
        idx.retain(|&i| Some(key(&candidates[i])) == best);
    };
    keep_min(&mut idx, &|c| c.num_pdb_violations as i64);
    keep_min(&mut idx, &|c| {
        c.victims
            .first()
            .map_or(i64::MIN, |v| i64::from(v.priority()))
    });
    keep_min(&mut idx, &|c| {
        c.victims
            .iter()
            .map(|v| i64::from(v.priority()) + i64::from(i32::MAX) + 1)
            .sum()
    });
    keep_min(&mut idx, &|c| c.victims.len() as i64);
    if idx.len() > 1 {
        let latest = idx
            .iter()
            .filter_map(|&i| earliest_top_start(&candidates[i].victims))
            .max();
        if let Some(latest) = latest
            && let Some(&i) = idx
                .iter()
                .find(|&&i| earliest_top_start(&candidates[i].victims) == Some(latest))
        {
            return Some(i);
        }
    }
    idx.first().copied()
}

/// The message upstream appends to the scheduling failure when preemption
/// found nothing: `preemption: 0/N nodes are available: 2 reason, 1 other.`
/// (counts per reason, sorted as strings).
pub fn preemption_failure_message(
    num_all_nodes: usize,
    statuses: &HashMap<String, Status>,
) -> String {
    let mut histogram: BTreeMap<&str, usize> = BTreeMap::new();
    for s in statuses.values() {
        for r in &s.reasons {
            *histogram.entry(r.as_str()).or_insert(0) += 1;
        }
    }
    let absent = num_all_nodes.saturating_sub(statuses.len());
    if absent > 0 {
        *histogram.entry(NOT_HELPFUL).or_insert(0) += absent;
    }
    let mut reasons: Vec<String> = histogram.iter().map(|(r, n)| format!("{n} {r}")).collect();
    reasons.sort();
    format!(
        "preemption: 0/{num_all_nodes} nodes are available: {}.",
        reasons.join(", ")
    )
}
