//! HPA end to end on resource metrics: a real API server serving
//! metrics.k8s.io from a fake kubelet whose pods burn 200m CPU against
//! 100m requests, the HPA reading them through `MetricsApiSource`, and the
//! Deployment's scale subresource raised; ScalingActive turns True.

use apiserver::metrics_api::fetch::FetchError;
use apiserver::metrics_api::{KubeletFetcher, NodeTarget};
use futures::future::BoxFuture;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

/// Every scrape is one second after the last, each web pod having used
/// 0.2 more core-seconds: 200m each.
#[derive(Default)]
struct BusyKubelet {
    calls: AtomicI64,
}

impl KubeletFetcher for BusyKubelet {
    fn resource_metrics<'a>(
        &'a self,
        _: &'a NodeTarget,
    ) -> BoxFuture<'a, Result<String, FetchError>> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        let ts = 1_700_000_000_000 + n * 1000;
        let mut text = format!(
            "node_cpu_usage_seconds_total {} {ts}\nnode_memory_working_set_bytes 1000000 {ts}\n",
            n
        );
        for p in ["web-1", "web-2"] {
            text.push_str(&format!(
                "container_cpu_usage_seconds_total{{container=\"c\",namespace=\"test\",pod=\"{p}\"}} {} {ts}\n\
                 container_memory_working_set_bytes{{container=\"c\",namespace=\"test\",pod=\"{p}\"}} 1048576 {ts}\n",
                n as f64 * 0.2
            ));
        }
        Box::pin(async move { Ok(text) })
    }
}

async fn wait<T>(what: &str, mut f: impl AsyncFnMut() -> Option<T>) -> T {
    for _ in 0..150 {
        if let Some(v) = f().await {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test]
async fn hpa_scales_a_deployment_up_on_cpu_utilization() {
    let ts = testkit::TestServer::start().await;
    let client = ts.client().await;
    let nodes: Api<Node> = Api::all(client.clone());
    nodes
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "n1"}})).unwrap(),
        )
        .await
        .unwrap();
    nodes
        .patch_status(
            "n1",
            &PatchParams::default(),
            &Patch::Merge(
                json!({"status": {"conditions": [{"type": "Ready", "status": "True"}],
                "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}]}}),
            ),
        )
        .await
        .unwrap();
    let pods: Api<Pod> = Api::namespaced(client.clone(), "test");
    for p in ["web-1", "web-2"] {
        pods.create(
            &PostParams::default(),
            &serde_json::from_value(json!({
                "metadata": {"name": p, "labels": {"app": "web"}},
                "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "busybox",
                    "resources": {"requests": {"cpu": "100m"}}}]}}))
            .unwrap(),
        )
        .await
        .unwrap();
    }
    ts.api
        .set_metrics_fetcher(Arc::new(BusyKubelet::default()), Duration::from_millis(100));
    ts.api.start_metrics_scraper();

    let deps: Api<Deployment> = Api::namespaced(client.clone(), "test");
    deps.create(
        &PostParams::default(),
        &serde_json::from_value(json!({
            "metadata": {"name": "web"},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}}))
        .unwrap(),
    )
    .await
    .unwrap();
    tokio::spawn(controllers::hpa::run_with(
        informer::Factory::new(client.clone()),
        Arc::new(controllers::hpa::metrics_api::MetricsApiSource::new(
            client.clone(),
        )),
        Duration::from_millis(300),
    ));
    let hpas: Api<HorizontalPodAutoscaler> = Api::namespaced(client.clone(), "test");
    hpas.create(
        &PostParams::default(),
        &serde_json::from_value(json!({
            "metadata": {"name": "web"},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                     "minReplicas": 1, "maxReplicas": 10,
                     "metrics": [{"type": "Resource", "resource": {"name": "cpu",
                         "target": {"type": "Utilization", "averageUtilization": 50}}}]}}))
        .unwrap(),
    )
    .await
    .unwrap();

    let replicas = wait("scale up", async || {
        let r = deps.get("web").await.ok()?.spec.replicas?;
        (r > 2).then_some(r)
    })
    .await;
    // 200% of requests against a 50% target wants 4x; the same two pods
    // keep burning, so later syncs go on up to maxReplicas.
    assert!((3..=10).contains(&replicas), "{replicas}");
    let h = wait("ScalingActive True", async || {
        let h = hpas.get("web").await.ok()?;
        let c = h.status.as_ref()?.conditions.as_ref()?;
        c.iter()
            .any(|c| c.type_ == "ScalingActive" && c.status == "True")
            .then_some(h)
    })
    .await;
    let st = h.status.unwrap();
    let cur = st.current_metrics.unwrap();
    let res = cur[0].resource.as_ref().unwrap();
    assert_eq!(res.name, "cpu");
    assert_eq!(res.current.average_utilization, Some(200));
    assert_eq!(res.current.average_value.as_ref().unwrap().0, "200m");
}
