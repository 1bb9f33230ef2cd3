//! Victim selection and node choice with a fake filter runner doing
//! NodeResourcesFit-like CPU arithmetic.

use super::victims::{NO_VICTIMS, more_important, split_by_pdb};
use super::*;
use crate::framework::{CycleState, FilterRunner, NodeInfo, PodInfo};
use apimachinery::selectors::LabelSelector;
use serde_json::json;
use std::sync::Arc;

struct CpuFit;

impl FilterRunner for CpuFit {
    fn run_filters(&self, _state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        if node.requested.milli_cpu + pod.requests.milli_cpu > node.allocatable.milli_cpu {
            Status::unschedulable("Insufficient cpu")
        } else {
            Status::success()
        }
    }
    fn run_pre_filter_add_pod(&self, _: &mut CycleState, _: &PodInfo, _: &PodInfo, _: &NodeInfo) {}
    fn run_pre_filter_remove_pod(
        &self,
        _: &mut CycleState,
        _: &PodInfo,
        _: &PodInfo,
        _: &NodeInfo,
    ) {
    }
}

fn pod(name: &str, priority: i32, cpu: &str, app: &str, started: Option<&str>) -> Arc<PodInfo> {
    let p = json!({
        "metadata": {"name": name, "namespace": "default", "uid": name, "labels": {"app": app}},
        "spec": {"priority": priority, "containers": [{"name": "c", "resources": {"requests": {"cpu": cpu}}}]},
        "status": {"startTime": started},
    });
    Arc::new(PodInfo::new(Arc::new(
        serde_json::from_value(p).expect("pod"),
    )))
}

fn node(name: &str, cpu: &str, pods: &[Arc<PodInfo>]) -> NodeInfo {
    let n =
        json!({"metadata": {"name": name}, "status": {"allocatable": {"cpu": cpu, "pods": "110"}}});
    let mut ni = NodeInfo::new(Arc::new(serde_json::from_value(n).expect("node")));
    for p in pods {
        ni.add_pod(p.clone());
    }
    ni
}

fn names(c: &Candidate) -> Vec<&str> {
    c.victims.iter().map(|v| v.name()).collect()
}

fn pdb(app: &str, allowed: i32) -> Pdb {
    Pdb {
        namespace: "default".into(),
        selector: LabelSelector::parse(&format!("app={app}")).expect("selector"),
        disruptions_allowed: allowed,
        disrupted_pods: Default::default(),
    }
}

#[test]
fn removes_lowest_priority_and_reprieves_the_rest() {
    let n = node(
        "n1",
        "5",
        &[
            pod("low", 1, "2", "a", None),
            pod("mid", 5, "2", "b", None),
            pod("high", 100, "1", "c", None),
        ],
    );
    let me = pod("me", 10, "2", "x", None);
    let c =
        select_victims_on_node(&CpuFit, &CycleState::default(), &me, &n, &[]).expect("candidate");
    assert_eq!(names(&c), vec!["low"]);
    assert_eq!(c.num_pdb_violations, 0);
    assert_eq!(c.node, "n1");
}

#[test]
fn pdb_protected_pods_are_reprieved_first() {
    let n = node(
        "n1",
        "5",
        &[
            pod("low", 1, "2", "a", None),
            pod("mid", 5, "2", "b", None),
            pod("high", 100, "1", "c", None),
        ],
    );
    let me = pod("me", 10, "2", "x", None);
    let c = select_victims_on_node(&CpuFit, &CycleState::default(), &me, &n, &[pdb("a", 0)])
        .expect("candidate");
    assert_eq!(names(&c), vec!["mid"]);
    assert_eq!(c.num_pdb_violations, 0);
    // When the protected pod must go anyway, the violation is counted.
    let me = pod("me", 10, "4", "x", None);
    let c = select_victims_on_node(&CpuFit, &CycleState::default(), &me, &n, &[pdb("a", 0)])
        .expect("candidate");
    assert_eq!(names(&c), vec!["mid", "low"]);
    assert_eq!(c.num_pdb_violations, 1);
}

#[test]
fn no_lower_priority_pods_or_still_no_fit() {
    let n = node("n1", "2", &[pod("high", 100, "2", "c", None)]);
    let me = pod("me", 10, "1", "x", None);
    let err = select_victims_on_node(&CpuFit, &CycleState::default(), &me, &n, &[])
        .expect_err("no victims");
    assert_eq!(err.code, Code::UnschedulableAndUnresolvable);
    assert_eq!(err.reasons, vec![NO_VICTIMS]);
    let n = node("n1", "2", &[pod("low", 1, "1", "c", None)]);
    let me = pod("me", 10, "3", "x", None);
    let err =
        select_victims_on_node(&CpuFit, &CycleState::default(), &me, &n, &[]).expect_err("too big");
    assert_eq!(err.reasons, vec!["Insufficient cpu"]);
}

#[test]
fn pdb_budget_is_shared_between_victims() {
    let pods = [
        pod("a1", 1, "1", "a", None),
        pod("a2", 1, "1", "a", None),
        pod("b", 1, "1", "b", None),
    ];
    let mut disrupted = pdb("a", 1);
    let (violating, other) = split_by_pdb(&pods, std::slice::from_ref(&disrupted));
    assert_eq!(violating.len(), 1);
    assert_eq!(other.len(), 2);
    // A pod the API server already counted does not spend the budget again.
    disrupted.disrupted_pods.insert("a1".into());
    let (violating, _) = split_by_pdb(&pods, &[disrupted]);
    assert!(violating.is_empty());
}

#[test]
fn importance_orders_by_priority_then_start_time() {
    let early = pod("early", 5, "1", "a", Some("2024-01-01T00:00:00Z"));
    let late = pod("late", 5, "1", "a", Some("2024-06-01T00:00:00Z"));
    let high = pod("high", 9, "1", "a", None);
    let mut v = [late, early, high];
    v.sort_by(|a, b| more_important(a, b));
    assert_eq!(
        v.iter().map(|p| p.name()).collect::<Vec<_>>(),
        vec!["high", "early", "late"]
    );
}

fn cand(node: &str, pdb: usize, victims: &[Arc<PodInfo>]) -> Candidate {
    Candidate {
        node: node.into(),
        victims: victims.to_vec(),
        num_pdb_violations: pdb,
    }
}

#[test]
fn node_choice_follows_upstream_order() {
    let p = |prio, started: &str| pod("v", prio, "1", "a", Some(started));
    let t = "2024-01-01T00:00:00Z";
    // Fewest PDB violations wins over everything else.
    let cs = [cand("a", 1, &[p(1, t)]), cand("b", 0, &[p(9, t), p(9, t)])];
    assert_eq!(pick_one_node(&cs), Some(1));
    // Then the lowest highest-priority victim.
    let cs = [cand("a", 0, &[p(5, t)]), cand("b", 0, &[p(3, t), p(3, t)])];
    assert_eq!(pick_one_node(&cs), Some(1));
    // Then the smallest priority sum.
    let cs = [
        cand("a", 0, &[p(5, t), p(4, t)]),
        cand("b", 0, &[p(5, t), p(1, t)]),
    ];
    assert_eq!(pick_one_node(&cs), Some(1));
    // Then the fewest victims (sums are offset by MaxInt32+1 per victim).
    let cs = [cand("a", 0, &[p(5, t), p(0, t)]), cand("b", 0, &[p(5, t)])];
    assert_eq!(pick_one_node(&cs), Some(1));
    // Then the latest-started highest-priority victims.
    let cs = [
        cand("a", 0, &[p(5, t)]),
        cand("b", 0, &[p(5, "2025-01-01T00:00:00Z")]),
    ];
    assert_eq!(pick_one_node(&cs), Some(1));
    // A node needing no victims is taken at once.
    let cs = [cand("a", 0, &[p(5, t)]), cand("b", 0, &[])];
    assert_eq!(pick_one_node(&cs), Some(1));
    assert_eq!(pick_one_node(&[]), None);
}

#[test]
fn failure_message_counts_reasons() {
    let mut m = HashMap::new();
    m.insert("n1".to_string(), Status::unresolvable(NO_VICTIMS));
    m.insert("n2".to_string(), Status::unresolvable(NO_VICTIMS));
    m.insert("n3".to_string(), Status::unresolvable(victims::NOT_HELPFUL));
    assert_eq!(
        preemption_failure_message(4, &m),
        "preemption: 0/4 nodes are available: 2 No preemption victims found for incoming pod, \
         2 Preemption is not helpful for scheduling."
    );
}

#[test]
fn terminating_by_preemption_needs_deletion_and_condition() {
    let mut p: Pod = serde_json::from_value(json!({
        "metadata": {"name": "v", "deletionTimestamp": "2024-01-01T00:00:00Z"},
        "status": {"conditions": [{"type": "DisruptionTarget", "status": "True", "reason": "PreemptionByScheduler"}]},
    }))
    .expect("pod");
    assert!(terminating_by_preemption(&p));
    p.metadata.deletion_timestamp = None;
    assert!(!terminating_by_preemption(&p));
}
