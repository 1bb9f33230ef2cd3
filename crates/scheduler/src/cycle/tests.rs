//! Tests of the scheduling cycle: node sampling, scoring and FitError text.

use super::*;
use crate::config::SchedulerConfig;
use crate::plugins::testutil::{node, pod_req};
use serde_json::json;

fn snap(nodes: Vec<NodeInfo>) -> Snapshot {
    Snapshot::new(nodes.into_iter().map(Arc::new).collect())
}

fn profile() -> Profile {
    Profile::build(&SchedulerConfig::default(), None).unwrap()
}

#[test]
fn feasible_node_count_follows_upstream() {
    assert_eq!(num_feasible_nodes_to_find(0, 50), 50);
    assert_eq!(num_feasible_nodes_to_find(0, 1000), 420);
    assert_eq!(num_feasible_nodes_to_find(0, 5000), 500);
    assert_eq!(num_feasible_nodes_to_find(0, 6000), 300);
    assert_eq!(num_feasible_nodes_to_find(10, 500), 100);
    assert_eq!(num_feasible_nodes_to_find(100, 5000), 5000);
}

#[test]
fn picks_the_least_allocated_fitting_node() {
    let mut busy = node("busy", json!({}));
    busy.add_pod(Arc::new(pod_req("x", "3", "6Gi")));
    let s = snap(vec![busy, node("idle", json!({}))]);
    let mut alg = Algorithm::with_seed(7);
    let (_, r) = alg.schedule(&profile(), &pod_req("p", "500m", "1Gi"), &s);
    assert_eq!(r.unwrap(), "idle");
}

#[test]
fn fit_error_counts_and_sorts_reasons() {
    let tainted = |n: &str| {
        node(
            n,
            json!({"spec": {"taints": [{"key": "node-role", "value": "x", "effect": "NoSchedule"}]}}),
        )
    };
    let small = node(
        "small",
        json!({"status": {"allocatable": {"cpu": "1", "memory": "8Gi", "pods": "10"}}}),
    );
    let s = snap(vec![small, tainted("t1"), tainted("t2")]);
    let mut alg = Algorithm::with_seed(1);
    let (_, r) = alg.schedule(&profile(), &pod_req("p", "2", "1Gi"), &s);
    let Err(CycleError::Unschedulable(mut fit)) = r else {
        panic!("expected a fit error");
    };
    assert_eq!(
        fit.message(),
        "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) had untolerated taint {node-role: x}."
    );
    assert_eq!(
        fit.plugins(),
        HashSet::from(["NodeResourcesFit", "TaintToleration"])
    );
    fit.post_filter_msg = Some(
        "preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.".into(),
    );
    assert!(fit.message().ends_with(
        "{node-role: x}. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."
    ));
}

#[test]
fn round_robin_start_moves_on() {
    // 200 nodes, 100% scoring off: each cycle stops after 100 feasible.
    let nodes: Vec<NodeInfo> = (0..200)
        .map(|i| node(&format!("n{i:03}"), json!({})))
        .collect();
    let s = snap(nodes);
    let mut p = profile();
    p.percentage_of_nodes_to_score = 50;
    let mut alg = Algorithm::with_seed(3);
    let (_, r) = alg.schedule(&p, &pod_req("p", "1", "1Gi"), &s);
    assert!(r.is_ok());
    assert_eq!(alg.next_start, 100);
    alg.schedule(&p, &pod_req("p", "1", "1Gi"), &s).1.unwrap();
    assert_eq!(alg.next_start, 0);
}

#[test]
fn no_nodes_is_its_own_error() {
    let mut alg = Algorithm::with_seed(3);
    let (_, r) = alg.schedule(&profile(), &pod_req("p", "1", "1Gi"), &snap(vec![]));
    assert!(matches!(r, Err(CycleError::NoNodes)));
}
