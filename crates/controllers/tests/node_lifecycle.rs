//! Node lifecycle against a real API server: a node whose Lease stops
//! renewing becomes Unknown, gets the unreachable taints, its pods are
//! marked NotReady and evicted per their tolerations; it recovers when the
//! kubelet reports again.

use controllers::node_lifecycle::{NodeLifecycleConfig, run_with};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Namespace, Node, Pod};
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use serde_json::json;
use std::time::Duration;

async fn wait_for<T, F, Fut>(what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    for _ in 0..150 {
        if let Some(v) = f().await {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

fn now() -> String {
    jiff::Timestamp::now().to_string()
}

async fn post_ready(nodes: &Api<Node>, name: &str) {
    let st = json!({"status": {"conditions": [
        {"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status",
         "lastHeartbeatTime": now(), "lastTransitionTime": now()}
    ]}});
    nodes
        .patch_status(name, &PatchParams::default(), &Patch::Strategic(&st))
        .await
        .expect("node status");
}

fn taints(n: &Node) -> Vec<(String, String)> {
    n.spec
        .as_ref()
        .and_then(|s| s.taints.clone())
        .unwrap_or_default()
        .into_iter()
        .map(|t| (t.key, t.effect))
        .collect()
}

#[tokio::test]
async fn silent_node_goes_unknown_is_tainted_and_evicted() {
    let ts = testkit::TestServer::start().await;
    let client = ts.client().await;
    let ns: Api<Namespace> = Api::all(client.clone());
    let _ = ns
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "kube-node-lease"}})).unwrap(),
        )
        .await;
    let nodes: Api<Node> = Api::all(client.clone());
    let leases: Api<Lease> = Api::namespaced(client.clone(), "kube-node-lease");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");

    nodes
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "n1"}})).unwrap(),
        )
        .await
        .expect("node");
    post_ready(&nodes, "n1").await;
    leases
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "n1"},
                "spec": {"holderIdentity": "n1", "leaseDurationSeconds": 40, "renewTime": jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()}}))
            .unwrap(),
        )
        .await
        .expect("lease");

    let pod = |name: &str, tolerations: serde_json::Value| {
        serde_json::from_value::<Pod>(json!({
            "metadata": {"name": name},
            "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "nginx:1"}],
                     "tolerations": tolerations}
        }))
        .unwrap()
    };
    let short = json!([{"key": "node.kubernetes.io/unreachable", "operator": "Exists",
                        "effect": "NoExecute", "tolerationSeconds": 2}]);
    let forever = json!([{"key": "node.kubernetes.io/unreachable", "operator": "Exists",
                          "effect": "NoExecute"}]);
    for (name, tol) in [
        ("short", short),
        ("forever", forever),
        ("default", json!([])),
    ] {
        pods.create(&PostParams::default(), &pod(name, tol))
            .await
            .expect("pod");
        let st = json!({"status": {"phase": "Running", "conditions": [
            {"type": "Ready", "status": "True", "lastTransitionTime": now()}]}});
        pods.patch_status(name, &PatchParams::default(), &Patch::Strategic(&st))
            .await
            .expect("pod status");
    }
    // The API server's DefaultTolerationSeconds gave the plain pod 300 s.
    let plain = pods.get("default").await.unwrap();
    assert!(plain.spec.unwrap().tolerations.unwrap().iter().any(|t| {
        t.key.as_deref() == Some("node.kubernetes.io/unreachable")
            && t.toleration_seconds == Some(300)
    }));

    let factory = informer::Factory::new(client.clone());
    let cfg = NodeLifecycleConfig {
        monitor_period: Duration::from_millis(200),
        grace_period: Duration::from_secs(2),
        startup_grace_period: Duration::from_secs(2),
    };
    tokio::spawn(run_with(factory, cfg));

    // Healthy while it renews: no writes, no taints.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(taints(&nodes.get("n1").await.unwrap()).is_empty());

    // It stops renewing: Unknown and unreachable.
    let n = wait_for("node Unknown", || async {
        let n = nodes.get("n1").await.ok()?;
        let t = taints(&n);
        (t.contains(&("node.kubernetes.io/unreachable".into(), "NoExecute".into()))
            && t.contains(&("node.kubernetes.io/unreachable".into(), "NoSchedule".into())))
        .then_some(n)
    })
    .await;
    let conds = n.status.unwrap().conditions.unwrap();
    let ready = conds.iter().find(|c| c.type_ == "Ready").unwrap();
    assert_eq!(ready.status, "Unknown");
    assert_eq!(ready.reason.as_deref(), Some("NodeStatusUnknown"));
    assert_eq!(
        ready.message.as_deref(),
        Some("Kubelet stopped posting node status.")
    );
    assert!(
        conds
            .iter()
            .any(|c| c.type_ == "MemoryPressure" && c.status == "Unknown")
    );

    // Pods marked NotReady.
    wait_for("forever pod NotReady", || async {
        let p = pods.get("forever").await.ok()?;
        p.status?
            .conditions?
            .iter()
            .any(|c| c.type_ == "Ready" && c.status == "False")
            .then_some(())
    })
    .await;

    // The 2 s pod is evicted, marked with DisruptionTarget first.
    let evicted = wait_for("short pod evicted", || async {
        match pods.get("short").await {
            Ok(p) if p.metadata.deletion_timestamp.is_some() => Some(Some(p)),
            Err(_) => Some(None),
            _ => None,
        }
    })
    .await;
    if let Some(p) = evicted {
        let dt = p.status.unwrap().conditions.unwrap();
        let dt = dt
            .iter()
            .find(|c| c.type_ == "DisruptionTarget")
            .expect("DisruptionTarget");
        assert_eq!(dt.reason.as_deref(), Some("DeletionByTaintManager"));
    }
    // The others tolerate longer (forever, 300 s).
    for name in ["forever", "default"] {
        let p = pods.get(name).await.expect("pod kept");
        assert!(
            p.metadata.deletion_timestamp.is_none(),
            "{name} was deleted"
        );
    }

    // The kubelet comes back: taints go.
    let renew = json!({"spec": {"renewTime": jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()}});
    leases
        .patch("n1", &PatchParams::default(), &Patch::Merge(&renew))
        .await
        .expect("renew");
    post_ready(&nodes, "n1").await;
    wait_for("taints removed", || async {
        let n = nodes.get("n1").await.ok()?;
        taints(&n).is_empty().then_some(())
    })
    .await;
}
