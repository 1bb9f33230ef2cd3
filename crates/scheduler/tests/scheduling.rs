//! The scheduler against a real in-process API server: pods get bound to
//! the node that fits, unfittable pods get PodScheduled=False with
//! upstream's message and a FailedScheduling event, gated pods wait.

use k8s_openapi::api::core::v1::{Event, Node, Pod};
use kube::Api;
use kube::api::{ListParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use std::time::Duration;

async fn create<K>(api: &Api<K>, v: Value) -> K
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + serde::Serialize + std::fmt::Debug,
{
    let obj: K = serde_json::from_value(v).unwrap();
    api.create(&PostParams::default(), &obj).await.unwrap()
}

fn node(name: &str, cpu: &str, taint: bool) -> Value {
    let mut n = json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
        "status": {"capacity": {"cpu": cpu, "memory": "8Gi", "pods": "110"},
                   "allocatable": {"cpu": cpu, "memory": "8Gi", "pods": "110"}}
    });
    if taint {
        n["spec"] = json!({"taints": [{"key": "node-role", "value": "x", "effect": "NoSchedule"}]});
    }
    n
}

fn pod(name: &str, cpu: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name},
        "spec": {"containers": [{"name": "c", "image": "nginx",
            "resources": {"requests": {"cpu": cpu, "memory": "64Mi"}}}]}
    })
}

async fn wait_for<T, F, Fut>(what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    for _ in 0..600 {
        if let Some(v) = f().await {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

fn scheduled_condition(p: &Pod) -> Option<(String, String, String)> {
    p.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "PodScheduled")
        .map(|c| {
            (
                c.status.clone(),
                c.reason.clone().unwrap_or_default(),
                c.message.clone().unwrap_or_default(),
            )
        })
}

async fn event_with(events: &Api<Event>, pod: &str, reason: &str) -> Option<Event> {
    let list = events.list(&ListParams::default()).await.ok()?;
    list.items.into_iter().find(|e| {
        e.involved_object.name.as_deref() == Some(pod) && e.reason.as_deref() == Some(reason)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binds_fitting_pods_and_reports_unfittable_ones() {
    let ts = testkit::TestServer::start().await;
    let client = ts.client().await;
    let nodes: Api<Node> = Api::all(client.clone());
    create(&nodes, node("small", "1", false)).await;
    create(&nodes, node("t1", "8", true)).await;
    create(&nodes, node("t2", "8", true)).await;
    let factory = informer::Factory::new(client.clone());
    tokio::spawn(scheduler::run(
        factory,
        scheduler::SchedulerConfig::default(),
    ));

    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let events: Api<Event> = Api::namespaced(client.clone(), "default");
    create(&pods, pod("fits", "500m")).await;
    create(&pods, pod("too-big", "2")).await;

    let bound = wait_for("fits to be bound", || async {
        let p = pods.get("fits").await.ok()?;
        p.spec.as_ref()?.node_name.clone()
    })
    .await;
    assert_eq!(bound, "small");
    let ev = wait_for("Scheduled event", || {
        event_with(&events, "fits", "Scheduled")
    })
    .await;
    assert_eq!(
        ev.message.as_deref(),
        Some("Successfully assigned default/fits to small")
    );
    assert_eq!(ev.type_.as_deref(), Some("Normal"));

    let (status, reason, message) = wait_for("too-big to be marked unschedulable", || async {
        scheduled_condition(&pods.get("too-big").await.ok()?)
    })
    .await;
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("False", "Unschedulable")
    );
    // DefaultPreemption (when registered) appends its own sentence.
    assert!(
        message.starts_with(
            "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) had untolerated taint {node-role: x}."
        ),
        "{message}"
    );
    let ev = wait_for("FailedScheduling event", || {
        event_with(&events, "too-big", "FailedScheduling")
    })
    .await;
    assert_eq!(ev.type_.as_deref(), Some("Warning"));
    assert_eq!(ev.message.as_deref(), Some(message.as_str()));

    // A node that fits arrives: the unschedulable pod is retried and bound.
    create(&nodes, node("big", "4", false)).await;
    let bound = wait_for("too-big to be bound after a node is added", || async {
        pods.get("too-big").await.ok()?.spec?.node_name
    })
    .await;
    assert_eq!(bound, "big");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gated_pods_wait_for_their_gates_and_assumed_pods_count() {
    let ts = testkit::TestServer::start().await;
    let client = ts.client().await;
    let nodes: Api<Node> = Api::all(client.clone());
    create(&nodes, node("a", "1", false)).await;
    create(&nodes, node("b", "1", false)).await;
    let factory = informer::Factory::new(client.clone());
    tokio::spawn(scheduler::run(
        factory,
        scheduler::SchedulerConfig::default(),
    ));
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");

    let mut gated = pod("gated", "100m");
    gated["spec"]["schedulingGates"] = json!([{"name": "example.com/wait"}]);
    create(&pods, gated).await;
    let (status, reason, _) = wait_for("SchedulingGated condition", || async {
        scheduled_condition(&pods.get("gated").await.ok()?)
    })
    .await;
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("False", "SchedulingGated")
    );
    assert!(
        pods.get("gated")
            .await
            .unwrap()
            .spec
            .unwrap()
            .node_name
            .is_none()
    );
    pods.patch(
        "gated",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"schedulingGates": null}})),
    )
    .await
    .unwrap();
    wait_for("gated pod bound once ungated", || async {
        pods.get("gated").await.ok()?.spec?.node_name
    })
    .await;

    // Two pods of 700m on two 1-CPU nodes (one holds 100m): created back
    // to back, they must land on different nodes — the second cycle sees
    // the first pod assumed before any watch echo.
    create(&pods, pod("x", "700m")).await;
    create(&pods, pod("y", "700m")).await;
    let nx = wait_for("x bound", || async {
        pods.get("x").await.ok()?.spec?.node_name
    })
    .await;
    let ny = wait_for("y bound", || async {
        pods.get("y").await.ok()?.spec?.node_name
    })
    .await;
    assert_ne!(nx, ny);
}
