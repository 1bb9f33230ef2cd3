//! InterPodAffinity behaviour on small hand-built snapshots.

use super::*;
use crate::framework::{
    Code, CycleState, Filter, NodeInfo, PodInfo, PreFilter, PreScore, Score, Snapshot,
};
use serde_json::{Value, json};
use std::collections::BTreeMap;

fn pod(name: &str, ns: &str, labels: Value, affinity: Value) -> Arc<PodInfo> {
    let p = json!({
        "metadata": {"name": name, "namespace": ns, "uid": format!("uid-{name}"), "labels": labels},
        "spec": {"containers": [{"name": "c"}], "affinity": affinity},
    });
    Arc::new(PodInfo::new(Arc::new(
        serde_json::from_value(p).expect("pod"),
    )))
}

fn node(name: &str, zone: &str, pods: &[Arc<PodInfo>]) -> Arc<NodeInfo> {
    let n = json!({"metadata": {"name": name, "labels": {
        "kubernetes.io/hostname": name, "zone": zone}}});
    let mut ni = NodeInfo::new(Arc::new(serde_json::from_value(n).expect("node")));
    for p in pods {
        ni.add_pod(p.clone());
    }
    Arc::new(ni)
}

fn term(key: &str, labels: Value) -> Value {
    json!({"labelSelector": {"matchLabels": labels}, "topologyKey": key})
}

fn run(pl: &InterPodAffinity, p: &PodInfo, snap: &Snapshot) -> Vec<(Code, Vec<String>)> {
    let mut st = CycleState::default();
    let pre = pl.pre_filter(&mut st, p, snap);
    if pre.code == Code::Skip {
        return snap.nodes.iter().map(|_| (Code::Success, vec![])).collect();
    }
    snap.nodes
        .iter()
        .map(|n| {
            let s = pl.filter(&st, p, n);
            (s.code, s.reasons)
        })
        .collect()
}

#[test]
fn skip_without_constraints() {
    let pl = InterPodAffinity::new(None);
    let snap = Snapshot::new(vec![node(
        "n1",
        "a",
        &[pod("x", "default", json!({"app": "x"}), Value::Null)],
    )]);
    let mut st = CycleState::default();
    let p = pod("p", "default", json!({}), Value::Null);
    assert_eq!(pl.pre_filter(&mut st, &p, &snap).code, Code::Skip);
}

#[test]
fn required_affinity_by_zone() {
    let pl = InterPodAffinity::new(None);
    let db = pod("db", "default", json!({"app": "db"}), Value::Null);
    let snap = Snapshot::new(vec![
        node("n1", "a", &[db]),
        node("n2", "a", &[]),
        node("n3", "b", &[]),
    ]);
    let p = pod(
        "web",
        "default",
        json!({"app": "web"}),
        json!({"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term("zone", json!({"app": "db"}))]}}),
    );
    let r = run(&pl, &p, &snap);
    assert_eq!(r[0].0, Code::Success);
    assert_eq!(r[1].0, Code::Success);
    assert_eq!(
        r[2],
        (
            Code::UnschedulableAndUnresolvable,
            vec![ERR_AFFINITY_RULES.to_string()]
        )
    );
}

#[test]
fn affinity_ignores_other_namespaces_unless_selected() {
    let db = pod("db", "other", json!({"app": "db"}), Value::Null);
    let snap = Snapshot::new(vec![node("n1", "a", &[db]), node("n2", "b", &[])]);
    let p = pod(
        "web",
        "default",
        json!({"app": "web"}),
        json!({"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term("zone", json!({"app": "db"}))]}}),
    );
    // No pod matches in the pod's own namespace and the pod does not match
    // its own term: nowhere fits.
    let r = run(&InterPodAffinity::new(None), &p, &snap);
    assert!(
        r.iter()
            .all(|(c, _)| *c == Code::UnschedulableAndUnresolvable)
    );

    let mut t = term("zone", json!({"app": "db"}));
    t["namespaceSelector"] = json!({"matchLabels": {"team": "x"}});
    let p2 = pod(
        "web",
        "default",
        json!({"app": "web"}),
        json!({"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [t]}}),
    );
    let lookup: NamespaceLabelsFn = Arc::new(|ns: &str| {
        (ns == "other").then(|| BTreeMap::from([("team".to_string(), "x".to_string())]))
    });
    let r = run(&InterPodAffinity::new(Some(lookup)), &p2, &snap);
    assert_eq!(r[0].0, Code::Success);
    assert_eq!(r[1].0, Code::UnschedulableAndUnresolvable);
}

#[test]
fn first_pod_of_self_affine_group_may_go_anywhere_with_the_key() {
    let pl = InterPodAffinity::new(None);
    let snap = Snapshot::new(vec![node("n1", "a", &[]), node("n2", "b", &[])]);
    let p = pod(
        "web",
        "default",
        json!({"app": "web"}),
        json!({"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term("zone", json!({"app": "web"}))]}}),
    );
    let r = run(&pl, &p, &snap);
    assert!(r.iter().all(|(c, _)| *c == Code::Success));
    // A term on a key no node has still fails.
    let p = pod(
        "web",
        "default",
        json!({"app": "web"}),
        json!({"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term("rack", json!({"app": "web"}))]}}),
    );
    assert!(
        run(&pl, &p, &snap)
            .iter()
            .all(|(c, _)| *c == Code::UnschedulableAndUnresolvable)
    );
}

#[test]
fn required_anti_affinity_by_hostname() {
    let pl = InterPodAffinity::new(None);
    let other = pod("w1", "default", json!({"app": "web"}), Value::Null);
    let snap = Snapshot::new(vec![node("n1", "a", &[other]), node("n2", "a", &[])]);
    let p = pod(
        "w2",
        "default",
        json!({"app": "web"}),
        json!({"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term("kubernetes.io/hostname", json!({"app": "web"}))]}}),
    );
    let r = run(&pl, &p, &snap);
    assert_eq!(
        r[0],
        (
            Code::Unschedulable,
            vec![ERR_ANTI_AFFINITY_RULES.to_string()]
        )
    );
    assert_eq!(r[1].0, Code::Success);
}

#[test]
fn existing_pods_anti_affinity_blocks_the_zone() {
    let pl = InterPodAffinity::new(None);
    let lonely = pod(
        "lonely",
        "default",
        json!({"app": "lonely"}),
        json!({"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term("zone", json!({"app": "web"}))]}}),
    );
    let snap = Snapshot::new(vec![
        node("n1", "a", &[lonely]),
        node("n2", "a", &[]),
        node("n3", "b", &[]),
    ]);
    let p = pod("web", "default", json!({"app": "web"}), Value::Null);
    let r = run(&pl, &p, &snap);
    assert_eq!(
        r[0],
        (
            Code::Unschedulable,
            vec![ERR_EXISTING_ANTI_AFFINITY.to_string()]
        )
    );
    assert_eq!(r[1].0, Code::Unschedulable);
    assert_eq!(r[2].0, Code::Success);
    // A pod the term does not select is unaffected.
    let q = pod("api", "default", json!({"app": "api"}), Value::Null);
    assert!(run(&pl, &q, &snap).iter().all(|(c, _)| *c == Code::Success));
}

#[test]
fn remove_pod_lifts_anti_affinity_and_add_pod_restores_it() {
    let pl = InterPodAffinity::new(None);
    let lonely = pod(
        "lonely",
        "default",
        json!({"app": "lonely"}),
        json!({"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term("zone", json!({"app": "web"}))]}}),
    );
    let n1 = node("n1", "a", std::slice::from_ref(&lonely));
    let snap = Snapshot::new(vec![n1.clone()]);
    let p = pod("web", "default", json!({"app": "web"}), Value::Null);
    let mut st = CycleState::default();
    assert_eq!(pl.pre_filter(&mut st, &p, &snap).code, Code::Success);
    assert_eq!(pl.filter(&st, &p, &n1).code, Code::Unschedulable);
    let mut what_if = st.clone();
    pl.remove_pod(&mut what_if, &p, &lonely, &n1);
    assert_eq!(pl.filter(&what_if, &p, &n1).code, Code::Success);
    // The original state is untouched by the what-if.
    assert_eq!(pl.filter(&st, &p, &n1).code, Code::Unschedulable);
    pl.add_pod(&mut what_if, &p, &lonely, &n1);
    assert_eq!(pl.filter(&what_if, &p, &n1).code, Code::Unschedulable);
}

fn scores(pl: &InterPodAffinity, p: &PodInfo, snap: &Snapshot) -> Option<Vec<i64>> {
    let mut st = CycleState::default();
    if pl.pre_score(&mut st, p, &snap.nodes, snap).code == Code::Skip {
        return None;
    }
    let mut s: Vec<i64> = snap
        .nodes
        .iter()
        .map(|n| pl.score(&st, p, n).expect("score"))
        .collect();
    pl.normalize(&st, p, &mut s);
    Some(s)
}

#[test]
fn preferred_affinity_and_anti_affinity_scores() {
    let pl = InterPodAffinity::new(None);
    let db = pod("db", "default", json!({"app": "db"}), Value::Null);
    let cache = pod("cache", "default", json!({"app": "cache"}), Value::Null);
    let snap = Snapshot::new(vec![
        node("n1", "a", &[db]),
        node("n2", "b", &[cache]),
        node("n3", "c", &[]),
    ]);
    let p = pod(
        "web",
        "default",
        json!({}),
        json!({
            "podAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
                {"weight": 10, "podAffinityTerm": term("zone", json!({"app": "db"}))}]},
            "podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
                {"weight": 5, "podAffinityTerm": term("zone", json!({"app": "cache"}))}]},
        }),
    );
    // raw: n1 10, n2 -5, n3 0 → (s - min) * 100 / 15
    assert_eq!(scores(&pl, &p, &snap), Some(vec![100, 0, 33]));
}

#[test]
fn existing_pods_required_affinity_scores_with_hard_weight() {
    let pl = InterPodAffinity::new(None);
    let fan = pod(
        "fan",
        "default",
        json!({}),
        json!({"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term("zone", json!({"app": "web"}))]}}),
    );
    let snap = Snapshot::new(vec![node("n1", "a", &[fan]), node("n2", "b", &[])]);
    let p = pod("web", "default", json!({"app": "web"}), Value::Null);
    assert_eq!(scores(&pl, &p, &snap), Some(vec![100, 0]));
    let q = pod("api", "default", json!({"app": "api"}), Value::Null);
    assert_eq!(scores(&pl, &q, &snap), None);
}
