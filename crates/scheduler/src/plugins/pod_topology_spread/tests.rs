//! PodTopologySpread behaviour on small hand-built snapshots.

use super::*;
use crate::framework::{
    Code, CycleState, Filter, NodeInfo, PodInfo, PreFilter, PreScore, Score, Snapshot,
};
use serde_json::{Value, json};

fn pod_with(name: &str, labels: Value, spec_extra: Value) -> Arc<PodInfo> {
    let mut spec = json!({"containers": [{"name": "c"}]});
    if let (Some(s), Some(extra)) = (spec.as_object_mut(), spec_extra.as_object()) {
        s.extend(extra.clone());
    }
    let p = json!({
        "metadata": {"name": name, "namespace": "default", "uid": format!("uid-{name}"), "labels": labels},
        "spec": spec,
    });
    Arc::new(PodInfo::new(Arc::new(
        serde_json::from_value(p).expect("pod"),
    )))
}

fn app(name: &str) -> Arc<PodInfo> {
    pod_with(name, json!({"app": "web"}), json!({}))
}

fn node(name: &str, labels: Value, taints: Value, pods: &[Arc<PodInfo>]) -> Arc<NodeInfo> {
    let mut l = json!({"kubernetes.io/hostname": name});
    if let (Some(m), Some(extra)) = (l.as_object_mut(), labels.as_object()) {
        m.extend(extra.clone());
    }
    let n = json!({"metadata": {"name": name, "labels": l}, "spec": {"taints": taints}});
    let mut ni = NodeInfo::new(Arc::new(serde_json::from_value(n).expect("node")));
    for p in pods {
        ni.add_pod(p.clone());
    }
    Arc::new(ni)
}

fn zoned(name: &str, zone: &str, pods: &[Arc<PodInfo>]) -> Arc<NodeInfo> {
    node(name, json!({"zone": zone}), Value::Null, pods)
}

fn spread(key: &str, skew: i32, when: &str, extra: Value) -> Value {
    let mut c = json!({"maxSkew": skew, "topologyKey": key, "whenUnsatisfiable": when,
        "labelSelector": {"matchLabels": {"app": "web"}}});
    if let (Some(m), Some(e)) = (c.as_object_mut(), extra.as_object()) {
        m.extend(e.clone());
    }
    c
}

fn incoming(constraints: Value) -> Arc<PodInfo> {
    pod_with(
        "new",
        json!({"app": "web"}),
        json!({"topologySpreadConstraints": constraints}),
    )
}

fn filter_all(pl: &PodTopologySpread, p: &PodInfo, snap: &Snapshot) -> Vec<Code> {
    let mut st = CycleState::default();
    if pl.pre_filter(&mut st, p, snap).code == Code::Skip {
        return vec![Code::Skip; snap.nodes.len()];
    }
    snap.nodes
        .iter()
        .map(|n| pl.filter(&st, p, n).code)
        .collect()
}

#[test]
fn skips_pods_without_constraints() {
    let pl = PodTopologySpread::new(None);
    let snap = Snapshot::new(vec![zoned("n1", "a", &[app("x")])]);
    let mut st = CycleState::default();
    assert_eq!(pl.pre_filter(&mut st, &app("p"), &snap).code, Code::Skip);
    let mut st = CycleState::default();
    assert_eq!(
        pl.pre_score(&mut st, &app("p"), &snap.nodes, &snap).code,
        Code::Skip
    );
}

#[test]
fn max_skew_over_zones() {
    let pl = PodTopologySpread::new(None);
    let snap = Snapshot::new(vec![
        zoned("n1", "a", &[app("a1"), app("a2")]),
        zoned("n2", "b", &[app("b1")]),
        node("n3", json!({}), Value::Null, &[]),
    ]);
    let p = incoming(json!([spread("zone", 1, "DoNotSchedule", json!({}))]));
    assert_eq!(
        filter_all(&pl, &p, &snap),
        vec![
            Code::Unschedulable,
            Code::Success,
            Code::UnschedulableAndUnresolvable
        ]
    );
    let mut st = CycleState::default();
    pl.pre_filter(&mut st, &p, &snap);
    assert_eq!(
        pl.filter(&st, &p, &snap.nodes[0]).reasons,
        vec![ERR_CONSTRAINTS_NOT_MATCH]
    );
    assert_eq!(
        pl.filter(&st, &p, &snap.nodes[2]).reasons,
        vec![ERR_NODE_LABEL_NOT_MATCH]
    );
    // A pod the selector does not count adds no skew of its own.
    let other = pod_with(
        "o",
        json!({"app": "other"}),
        json!({"topologySpreadConstraints": [spread("zone", 1, "DoNotSchedule", json!({}))]}),
    );
    assert_eq!(filter_all(&pl, &other, &snap)[0], Code::Success);
}

#[test]
fn min_domains_treats_missing_domains_as_zero() {
    let pl = PodTopologySpread::new(None);
    let snap = Snapshot::new(vec![
        zoned("n1", "a", &[app("a1")]),
        zoned("n2", "b", &[app("b1")]),
    ]);
    let p = incoming(json!([spread("zone", 1, "DoNotSchedule", json!({}))]));
    assert_eq!(
        filter_all(&pl, &p, &snap),
        vec![Code::Success, Code::Success]
    );
    let p = incoming(json!([spread(
        "zone",
        1,
        "DoNotSchedule",
        json!({"minDomains": 3})
    )]));
    assert_eq!(
        filter_all(&pl, &p, &snap),
        vec![Code::Unschedulable, Code::Unschedulable]
    );
}

#[test]
fn node_affinity_policy_honor_and_ignore() {
    let pl = PodTopologySpread::new(None);
    let snap = Snapshot::new(vec![
        node(
            "n1",
            json!({"zone": "a", "disk": "ssd"}),
            Value::Null,
            &[app("a1"), app("a2")],
        ),
        node("n2", json!({"zone": "b"}), Value::Null, &[]),
    ]);
    let honor = pod_with(
        "new",
        json!({"app": "web"}),
        json!({
        "nodeSelector": {"disk": "ssd"},
        "topologySpreadConstraints": [spread("zone", 1, "DoNotSchedule", json!({}))]}),
    );
    // Zone b is not a domain for this pod: the minimum is zone a's 2.
    assert_eq!(filter_all(&pl, &honor, &snap)[0], Code::Success);
    let ignore = pod_with(
        "new",
        json!({"app": "web"}),
        json!({
        "nodeSelector": {"disk": "ssd"},
        "topologySpreadConstraints": [spread("zone", 1, "DoNotSchedule", json!({"nodeAffinityPolicy": "Ignore"}))]}),
    );
    assert_eq!(filter_all(&pl, &ignore, &snap)[0], Code::Unschedulable);
}

#[test]
fn node_taints_policy_honor() {
    let pl = PodTopologySpread::new(None);
    let taint = json!([{"key": "dedicated", "value": "x", "effect": "NoSchedule"}]);
    let snap = Snapshot::new(vec![
        node(
            "n1",
            json!({"zone": "a"}),
            Value::Null,
            &[app("a1"), app("a2")],
        ),
        node("n2", json!({"zone": "b"}), taint, &[]),
    ]);
    let ignore = incoming(json!([spread("zone", 1, "DoNotSchedule", json!({}))]));
    assert_eq!(filter_all(&pl, &ignore, &snap)[0], Code::Unschedulable);
    let honor = incoming(json!([spread(
        "zone",
        1,
        "DoNotSchedule",
        json!({"nodeTaintsPolicy": "Honor"})
    )]));
    assert_eq!(filter_all(&pl, &honor, &snap)[0], Code::Success);
}

#[test]
fn match_label_keys_narrow_the_selector() {
    let pl = PodTopologySpread::new(None);
    let v1 = |n: &str| pod_with(n, json!({"app": "web", "rev": "1"}), json!({}));
    let snap = Snapshot::new(vec![
        zoned("n1", "a", &[v1("x"), v1("y")]),
        zoned("n2", "b", &[]),
    ]);
    let c = spread(
        "zone",
        1,
        "DoNotSchedule",
        json!({"matchLabelKeys": ["rev"]}),
    );
    let p = pod_with(
        "new",
        json!({"app": "web", "rev": "2"}),
        json!({"topologySpreadConstraints": [c]}),
    );
    assert_eq!(
        filter_all(&pl, &p, &snap),
        vec![Code::Success, Code::Success]
    );
    let c = spread("zone", 1, "DoNotSchedule", json!({}));
    let p = pod_with(
        "new",
        json!({"app": "web", "rev": "2"}),
        json!({"topologySpreadConstraints": [c]}),
    );
    assert_eq!(
        filter_all(&pl, &p, &snap),
        vec![Code::Unschedulable, Code::Success]
    );
}

#[test]
fn remove_and_add_pod_update_counts() {
    let pl = PodTopologySpread::new(None);
    let a1 = app("a1");
    let n1 = zoned("n1", "a", &[a1.clone(), app("a2")]);
    let snap = Snapshot::new(vec![n1.clone(), zoned("n2", "b", &[app("b1")])]);
    let p = incoming(json!([spread("zone", 1, "DoNotSchedule", json!({}))]));
    let mut st = CycleState::default();
    pl.pre_filter(&mut st, &p, &snap);
    assert_eq!(pl.filter(&st, &p, &n1).code, Code::Unschedulable);
    let mut what_if = st.clone();
    pl.remove_pod(&mut what_if, &p, &a1, &n1);
    assert_eq!(pl.filter(&what_if, &p, &n1).code, Code::Success);
    assert_eq!(pl.filter(&st, &p, &n1).code, Code::Unschedulable);
    pl.add_pod(&mut what_if, &p, &a1, &n1);
    assert_eq!(pl.filter(&what_if, &p, &n1).code, Code::Unschedulable);
}

fn scores(pl: &PodTopologySpread, p: &PodInfo, snap: &Snapshot) -> Option<Vec<i64>> {
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
fn schedule_anyway_prefers_emptier_zones() {
    let pl = PodTopologySpread::new(None);
    let snap = Snapshot::new(vec![
        zoned("n1", "a", &[app("a1"), app("a2")]),
        zoned("n2", "b", &[]),
        node("n3", json!({}), Value::Null, &[]),
    ]);
    let p = incoming(json!([spread("zone", 1, "ScheduleAnyway", json!({}))]));
    // weight ln(2+2); raw a = round(2*1.386) = 3, b = 0; n3 lacks the key: ignored.
    // normalized: 100*(3+0-s)/3
    assert_eq!(scores(&pl, &p, &snap), Some(vec![0, 100, 0]));
}

#[test]
fn system_defaults_spread_by_owner_selector() {
    let lookup: SelectorLookupFn =
        Arc::new(|_pod: &Pod| Some(LabelSelector::parse("app=web").expect("selector")));
    let pl = PodTopologySpread::new(Some(lookup));
    let snap = Snapshot::new(vec![
        node(
            "n1",
            json!({}),
            Value::Null,
            &[app("a1"), app("a2"), app("a3"), app("a4")],
        ),
        node("n2", json!({}), Value::Null, &[]),
    ]);
    // Defaults are ScheduleAnyway: nothing filters.
    let mut st = CycleState::default();
    assert_eq!(pl.pre_filter(&mut st, &app("p"), &snap).code, Code::Skip);
    // Without zone labels the hostname default still scores (system defaulted).
    // weight ln(4): n1 = round(4*1.386 + 2) = 8, n2 = 2 → 100*(10-s)/8
    assert_eq!(scores(&pl, &app("p"), &snap), Some(vec![25, 100]));
    // No owner selector: nothing to spread.
    let none: SelectorLookupFn = Arc::new(|_pod: &Pod| None);
    assert_eq!(
        scores(&PodTopologySpread::new(Some(none)), &app("p"), &snap),
        None
    );
}

#[test]
fn required_node_affinity_matching() {
    use node_inclusion::matches_required_node_affinity;
    let n = node("n1", json!({"zone": "a", "gen": "5"}), Value::Null, &[]);
    let p = |aff: Value| {
        pod_with(
            "p",
            json!({}),
            json!({"affinity": {"nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": aff}}}}),
        )
    };
    let ok = |aff: Value| matches_required_node_affinity(&p(aff).pod, &n.node);
    assert!(ok(
        json!([{"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a", "b"]}]}])
    ));
    assert!(!ok(
        json!([{"matchExpressions": [{"key": "zone", "operator": "NotIn", "values": ["a"]}]}])
    ));
    assert!(ok(
        json!([{"matchExpressions": [{"key": "gen", "operator": "Gt", "values": ["4"]}]}])
    ));
    assert!(!ok(
        json!([{"matchExpressions": [{"key": "gen", "operator": "Lt", "values": ["4"]}]}])
    ));
    assert!(ok(
        json!([{"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n1"]}]}])
    ));
    assert!(!ok(json!([{}])));
    assert!(ok(
        json!([{}, {"matchExpressions": [{"key": "zone", "operator": "Exists"}]}])
    ));
}
