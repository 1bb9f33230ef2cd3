//! DefaultPreemption against a real in-process API server: victims are
//! marked and deleted, the preemptor is nominated, and a node whose victims
//! a PodDisruptionBudget protects is avoided.

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::Api;
use kube::api::PostParams;
use scheduler::framework::{
    CycleState, FilterRunner, NodeInfo, PodInfo, PostFilter, PostFilterContext, Snapshot, Status,
};
use scheduler::preemption::DefaultPreemption;
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// NodeResourcesFit's CPU check, enough for these scenarios.
struct CpuFit;

impl FilterRunner for CpuFit {
    fn run_filters(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
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

async fn create_pod(
    api: &Api<Pod>,
    name: &str,
    app: &str,
    prio: i32,
    node: Option<&str>,
) -> Arc<PodInfo> {
    let p: Pod = serde_json::from_value(json!({
        "metadata": {"name": name, "labels": {"app": app}},
        "spec": {"priority": prio, "nodeName": node,
            "containers": [{"name": "c", "image": "x", "resources": {"requests": {"cpu": "2"}}}]},
    }))
    .expect("pod");
    let created = api
        .create(&PostParams::default(), &p)
        .await
        .expect("create pod");
    Arc::new(PodInfo::new(Arc::new(created)))
}

fn node(name: &str, pods: &[Arc<PodInfo>]) -> Arc<NodeInfo> {
    let n =
        json!({"metadata": {"name": name}, "status": {"allocatable": {"cpu": "2", "pods": "110"}}});
    let mut ni = NodeInfo::new(Arc::new(serde_json::from_value(n).expect("node")));
    for p in pods {
        ni.add_pod(p.clone());
    }
    Arc::new(ni)
}

async fn run(
    pl: &DefaultPreemption,
    pod: &PodInfo,
    snapshot: &Snapshot,
) -> Result<Option<String>, Status> {
    let statuses: HashMap<String, Status> = snapshot
        .nodes
        .iter()
        .map(|n| {
            (
                n.name().to_string(),
                Status::unschedulable("Insufficient cpu"),
            )
        })
        .collect();
    let state = CycleState::default();
    let ctx = PostFilterContext {
        state: &state,
        pod,
        snapshot,
        node_statuses: &statuses,
        filters: &CpuFit,
    };
    pl.post_filter(ctx).await
}

/// Gone, or terminating with the DisruptionTarget condition.
async fn preempted(api: &Api<Pod>, name: &str) -> bool {
    let Some(p) = api.get_opt(name).await.expect("get") else {
        return true;
    };
    let marked = p
        .status
        .and_then(|s| s.conditions)
        .unwrap_or_default()
        .iter()
        .any(|c| {
            c.type_ == "DisruptionTarget" && c.reason.as_deref() == Some("PreemptionByScheduler")
        });
    p.metadata.deletion_timestamp.is_some() && marked
}

async fn nominated(api: &Api<Pod>, name: &str) -> Option<String> {
    api.get(name)
        .await
        .expect("get")
        .status?
        .nominated_node_name
}

#[tokio::test]
async fn evicts_lower_priority_pod_and_nominates() {
    let ts = testkit::TestServer::start().await;
    let client = ts.client().await;
    let factory = informer::Factory::new(client.clone());
    let pl = DefaultPreemption::new(
        factory,
        informer::Recorder::new(client.clone(), "default-scheduler"),
    );
    let api: Api<Pod> = Api::namespaced(client, "default");
    let low = create_pod(&api, "low", "low", 1, Some("n1")).await;
    let high = create_pod(&api, "high", "high", 1000, None).await;
    let snap = Snapshot::new(vec![node("n1", &[low])]);
    assert_eq!(run(&pl, &high, &snap).await.unwrap().as_deref(), Some("n1"));
    assert!(preempted(&api, "low").await);
    assert_eq!(nominated(&api, "high").await.as_deref(), Some("n1"));

    // Nothing of lower priority left to evict: preemption cannot help.
    let top = create_pod(&api, "top", "top", 5000, Some("n2")).await;
    let other = create_pod(&api, "other", "other", 10, None).await;
    let snap = Snapshot::new(vec![node("n2", &[top])]);
    let err = run(&pl, &other, &snap)
        .await
        .expect_err("preemption cannot help");
    assert_eq!(
        err.reasons,
        ["preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod."]
    );
    assert_eq!(nominated(&api, "other").await, None);
}

#[tokio::test]
async fn prefers_node_without_pdb_violations() {
    let ts = testkit::TestServer::start().await;
    let client = ts.client().await;
    let factory = informer::Factory::new(client.clone());
    let pdbs: Api<PodDisruptionBudget> = Api::namespaced(client.clone(), "default");
    let pdb: PodDisruptionBudget = serde_json::from_value(json!({
        "metadata": {"name": "protect-a"},
        "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "a"}}},
    }))
    .expect("pdb");
    pdbs.create(&PostParams::default(), &pdb)
        .await
        .expect("create pdb");
    let pl = DefaultPreemption::new(
        factory.clone(),
        informer::Recorder::new(client.clone(), "default-scheduler"),
    );
    let inf = factory.informer::<PodDisruptionBudget>();
    inf.wait_synced().await;
    for _ in 0..100 {
        if !inf.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(inf.len(), 1);

    let api: Api<Pod> = Api::namespaced(client, "default");
    // Without the PDB, n1 (lower-priority victim) would win.
    let a = create_pod(&api, "a", "a", 1, Some("n1")).await;
    let b = create_pod(&api, "b", "b", 500, Some("n2")).await;
    let high = create_pod(&api, "high", "high", 1000, None).await;
    let snap = Snapshot::new(vec![node("n1", &[a]), node("n2", &[b])]);
    assert_eq!(run(&pl, &high, &snap).await.unwrap().as_deref(), Some("n2"));
    assert!(preempted(&api, "b").await);
    let a_now = api.get("a").await.expect("a still there");
    assert!(a_now.metadata.deletion_timestamp.is_none());
    assert_eq!(nominated(&api, "high").await.as_deref(), Some("n2"));
}
