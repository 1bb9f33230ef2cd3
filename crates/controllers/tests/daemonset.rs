//! DaemonSet controller against a real in-process API server, with Node
//! objects for the cluster and the test playing kubelet (pods Ready).

use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{ListParams, Patch, PatchParams, PostParams};
use kube::{Api, Client};
use serde_json::json;
use std::collections::BTreeMap;
use std::time::Duration;

async fn start() -> (testkit::TestServer, Client) {
    let ts = testkit::TestServer::start().await;
    let client = ts.client().await;
    let factory = informer::Factory::new(client.clone());
    tokio::spawn(controllers::daemonset::run(factory));
    (ts, client)
}

async fn eventually<T, F, Fut>(what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    for _ in 0..300 {
        if let Some(v) = f().await {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

async fn add_node(client: &Client, name: &str, taints: serde_json::Value) {
    let nodes: Api<Node> = Api::all(client.clone());
    let node: Node = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
        "spec": {"taints": taints},
    }))
    .expect("node");
    nodes
        .create(&PostParams::default(), &node)
        .await
        .expect("create node");
}

/// Live daemon pods by the node they are pinned to.
async fn pods_by_node(pods: &Api<Pod>) -> BTreeMap<String, Vec<Pod>> {
    let mut out: BTreeMap<String, Vec<Pod>> = BTreeMap::new();
    for p in pods.list(&ListParams::default()).await.expect("list").items {
        if p.metadata.deletion_timestamp.is_some() {
            continue;
        }
        if let Some(n) = controllers::daemonset::target_node(&p) {
            out.entry(n.to_string()).or_default().push(p);
        }
    }
    out
}

async fn make_ready(pods: &Api<Pod>, name: &str) {
    let patch = json!({"status": {"phase": "Running", "conditions": [
        {"type": "Ready", "status": "True", "lastTransitionTime": jiff::Timestamp::now().to_string()}
    ]}});
    pods.patch_status(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect("patch status");
}

fn hash(p: &Pod) -> String {
    p.metadata
        .labels
        .as_ref()
        .and_then(|l| l.get("controller-revision-hash").cloned())
        .unwrap_or_default()
}

fn daemonset(image: &str) -> DaemonSet {
    serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": "agent"},
        "spec": {
            "selector": {"matchLabels": {"app": "agent"}},
            "template": {
                "metadata": {"labels": {"app": "agent"}},
                "spec": {"containers": [{"name": "c", "image": image}]}
            }
        }
    }))
    .expect("daemonset")
}

#[tokio::test]
async fn one_pod_per_eligible_node_and_rolling_update() {
    let (_ts, client) = start().await;
    add_node(&client, "n1", json!([])).await;
    add_node(&client, "n2", json!([])).await;
    add_node(
        &client,
        "tainted",
        json!([{"key": "dedicated", "value": "db", "effect": "NoSchedule"}]),
    )
    .await;
    let dss: Api<DaemonSet> = Api::namespaced(client.clone(), "default");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    dss.create(&PostParams::default(), &daemonset("agent:1"))
        .await
        .expect("create");

    let placed = eventually("a pod on n1 and n2", || async {
        let m = pods_by_node(&pods).await;
        (m.len() == 2).then_some(m)
    })
    .await;
    assert!(placed.contains_key("n1") && placed.contains_key("n2"));
    let p = &placed["n1"][0];
    // Placed by affinity for the scheduler, not bound by the controller.
    assert_eq!(p.spec.as_ref().and_then(|s| s.node_name.clone()), None);
    let tols = p
        .spec
        .as_ref()
        .and_then(|s| s.tolerations.clone())
        .unwrap_or_default();
    assert!(
        tols.iter()
            .any(|t| t.key.as_deref() == Some("node.kubernetes.io/unschedulable"))
    );
    let labels = p.metadata.labels.clone().unwrap_or_default();
    assert!(labels.contains_key("pod-template-generation"));
    let old = hash(p);
    assert!(!old.is_empty());

    // The tainted node stays empty; a new node gets its pod.
    add_node(&client, "n3", json!([])).await;
    let placed = eventually("a pod on n3", || async {
        let m = pods_by_node(&pods).await;
        m.contains_key("n3").then_some(m)
    })
    .await;
    assert!(!placed.contains_key("tainted"));
    for ps in placed.values() {
        assert_eq!(ps.len(), 1);
        make_ready(&pods, ps[0].metadata.name.as_deref().unwrap_or_default()).await;
    }
    let st = eventually("status", || async {
        let s = dss.get("agent").await.ok()?.status?;
        (s.number_ready == 3).then_some(s)
    })
    .await;
    assert_eq!(st.desired_number_scheduled, 3);
    assert_eq!(st.current_number_scheduled, 3);
    assert_eq!(st.number_misscheduled, 0);
    assert_eq!(st.updated_number_scheduled, Some(3));
    assert_eq!(st.number_available, Some(3));

    // Rolling update, maxUnavailable 1: pods are replaced one at a time.
    dss.patch(
        "agent",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"template": {"spec": {
            "containers": [{"name": "c", "image": "agent:2"}]
        }}}})),
    )
    .await
    .expect("update");
    let mut seen_new = std::collections::HashSet::new();
    let mut done = false;
    for _ in 0..300 {
        let m = pods_by_node(&pods).await;
        let new: Vec<&Pod> = m.values().flatten().filter(|p| hash(p) != old).collect();
        // Never more than one node without a running pod.
        let down = 3 - m
            .values()
            .filter(|v| {
                v.iter()
                    .any(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"))
            })
            .count();
        assert!(down <= 1, "{down} nodes down at once");
        for p in &new {
            let name = p.metadata.name.clone().unwrap_or_default();
            if seen_new.insert(name.clone()) {
                make_ready(&pods, &name).await;
            }
        }
        if new.len() == 3 && m.values().all(|v| v.len() == 1) {
            done = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(done, "rolling update did not finish");
    let st = eventually("updated status", || async {
        let s = dss.get("agent").await.ok()?.status?;
        (s.updated_number_scheduled == Some(3) && s.number_available == Some(3)).then_some(s)
    })
    .await;
    assert_eq!(st.number_unavailable, Some(0));
}

#[tokio::test]
async fn relabelled_node_gains_and_loses_its_pod() {
    let (_ts, client) = start().await;
    add_node(&client, "a", json!([])).await;
    add_node(&client, "b", json!([])).await;
    let nodes: Api<Node> = Api::all(client.clone());
    nodes
        .patch(
            "a",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"role": "edge"}}})),
        )
        .await
        .expect("label");
    let mut ds = daemonset("edge:1");
    ds.spec.template.spec.as_mut().expect("spec").node_selector =
        Some([("role".to_string(), "edge".to_string())].into());
    let dss: Api<DaemonSet> = Api::namespaced(client.clone(), "default");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    dss.create(&PostParams::default(), &ds)
        .await
        .expect("create");
    eventually("pod on a only", || async {
        let m = pods_by_node(&pods).await;
        (m.len() == 1 && m.contains_key("a")).then_some(())
    })
    .await;
    nodes
        .patch(
            "b",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"role": "edge"}}})),
        )
        .await
        .expect("label b");
    eventually("pod on b", || async {
        pods_by_node(&pods).await.contains_key("b").then_some(())
    })
    .await;
    nodes
        .patch(
            "a",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"role": null}}})),
        )
        .await
        .expect("unlabel a");
    eventually("pod gone from a", || async {
        let m = pods_by_node(&pods).await;
        (!m.contains_key("a") && m.contains_key("b")).then_some(())
    })
    .await;
}
