//! metrics.k8s.io/v1beta1 served in-process: discovery (aggregated and
//! legacy) lists the group, and NodeMetrics / PodMetrics come from scrapes
//! of a fake kubelet fetcher, CPU as the rate between two scrapes, joined
//! with the Node and Pod objects for selectors; no fetcher means empty lists.

mod common;

use apiserver::metrics_api::fetch::FetchError;
use apiserver::metrics_api::{KubeletFetcher, NodeTarget};
use futures::future::BoxFuture;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

/// Each call is one second later and has 0.5 more node core-seconds and
/// 0.012 more for the container: half a core and 12 millicores.
#[derive(Default)]
struct FakeKubelet {
    calls: AtomicI64,
}

impl KubeletFetcher for FakeKubelet {
    fn resource_metrics<'a>(
        &'a self,
        node: &'a NodeTarget,
    ) -> BoxFuture<'a, Result<String, FetchError>> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        assert_eq!(
            (node.name.as_str(), node.address.as_str()),
            ("n1", "10.0.0.1")
        );
        let ts = 1_700_000_000_000 + n * 1000;
        Box::pin(async move {
            Ok(format!(
                "# TYPE node_cpu_usage_seconds_total counter
node_cpu_usage_seconds_total {} {ts}
node_memory_working_set_bytes {} {ts}
container_cpu_usage_seconds_total{{container=\"app\",namespace=\"default\",pod=\"web\"}} {} {ts}
container_memory_working_set_bytes{{container=\"app\",namespace=\"default\",pod=\"web\"}} 4194304 {ts}
container_start_time_seconds{{container=\"app\",namespace=\"default\",pod=\"web\"}} 1699999999 {ts}
container_cpu_usage_seconds_total{{container=\"pg\",namespace=\"default\",pod=\"db\"}} {} {ts}
container_memory_working_set_bytes{{container=\"pg\",namespace=\"default\",pod=\"db\"}} 2048 {ts}
resource_scrape_error 0
",
                n as f64 * 0.5,
                1024 * 1024 * 1024,
                n as f64 * 0.012,
                n as f64 * 0.001,
            ))
        })
    }
}

async fn node(client: &kube::Client, name: &str, ready: &str) {
    let nodes: Api<Node> = Api::all(client.clone());
    nodes
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": name, "labels": {"zone": name}}}))
                .unwrap(),
        )
        .await
        .unwrap();
    nodes
        .patch_status(
            name,
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {
                "conditions": [{"type": "Ready", "status": ready}],
                "addresses": [{"type": "InternalIP", "address": "10.0.0.1"}]}})),
        )
        .await
        .unwrap();
}

async fn pod(client: &kube::Client, name: &str, container: &str) {
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    pods.create(
        &PostParams::default(),
        &serde_json::from_value(json!({
            "metadata": {"name": name, "labels": {"app": name}},
            "spec": {"containers": [{"name": container, "image": "busybox"}]}}))
        .unwrap(),
    )
    .await
    .unwrap();
}

async fn get(client: &kube::Client, path: &str, accept: Option<&str>) -> (u16, Value) {
    let mut req = http::Request::get(path);
    if let Some(a) = accept {
        req = req.header(http::header::ACCEPT, a);
    }
    let resp = client
        .send(req.body(Vec::new()).unwrap().map(Into::into))
        .await
        .unwrap();
    let code = resp.status().as_u16();
    let body = axum_body(resp).await;
    (code, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

async fn axum_body(resp: http::Response<kube::client::Body>) -> Vec<u8> {
    use http_body_util::BodyExt;
    resp.into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec()
}

#[tokio::test]
async fn discovery_lists_the_metrics_group() {
    let ts = common::TestServer::start().await;
    let c = ts.client().await;
    let (code, agg) = get(
        &c,
        "/apis",
        Some("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"),
    )
    .await;
    assert_eq!(code, 200);
    let item = agg["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["metadata"]["name"] == "metrics.k8s.io")
        .expect("metrics.k8s.io in aggregated discovery")
        .clone();
    let res = &item["versions"][0]["resources"];
    assert_eq!(item["versions"][0]["version"], "v1beta1");
    assert_eq!(res[0]["resource"], "nodes");
    assert_eq!(res[0]["responseKind"]["kind"], "NodeMetrics");
    assert_eq!(res[0]["scope"], "Cluster");
    assert_eq!(res[1]["resource"], "pods");
    assert_eq!(res[1]["scope"], "Namespaced");

    let (_, legacy) = get(&c, "/apis", None).await;
    assert!(
        legacy["groups"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["name"] == "metrics.k8s.io"
                && g["preferredVersion"]["groupVersion"] == "metrics.k8s.io/v1beta1")
    );
    let (code, group) = get(&c, "/apis/metrics.k8s.io", None).await;
    assert_eq!((code, group["kind"].as_str()), (200, Some("APIGroup")));
    let (code, rl) = get(&c, "/apis/metrics.k8s.io/v1beta1", None).await;
    assert_eq!(code, 200);
    assert_eq!(rl["groupVersion"], "metrics.k8s.io/v1beta1");
    assert_eq!(rl["resources"][1]["kind"], "PodMetrics");
    assert_eq!(rl["resources"][1]["verbs"], json!(["get", "list"]));
    // kube-rs discovery (what clients build on) finds the kinds too.
    let d = kube::Discovery::new(c.clone()).run().await.unwrap();
    let g = d.get("metrics.k8s.io").expect("group");
    assert!(
        g.recommended_resources()
            .iter()
            .any(|(r, _)| r.kind == "PodMetrics")
    );
}

#[tokio::test]
async fn node_and_pod_metrics_come_from_kubelet_scrapes() {
    let ts = common::TestServer::start().await;
    let c = ts.client().await;
    node(&c, "n1", "True").await;
    node(&c, "n2", "False").await;
    pod(&c, "web", "app").await;
    pod(&c, "db", "pg").await;
    ts.api
        .set_metrics_fetcher(Arc::new(FakeKubelet::default()), Duration::from_millis(100));
    ts.api.start_metrics_scraper();

    let mut list = Value::Null;
    for _ in 0..100 {
        let (code, l) = get(&c, "/apis/metrics.k8s.io/v1beta1/nodes", None).await;
        assert_eq!(code, 200);
        if !l["items"].as_array().unwrap().is_empty() {
            list = l;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(list["kind"], "NodeMetricsList");
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{list}");
    let n1 = &items[0];
    assert_eq!(n1["metadata"]["name"], "n1");
    assert_eq!(n1["metadata"]["labels"]["zone"], "n1");
    assert_eq!(n1["usage"]["cpu"], "500m");
    assert_eq!(n1["usage"]["memory"], "1Gi");
    assert_eq!(n1["window"], "1s");
    assert!(n1["timestamp"].as_str().unwrap().starts_with("2023-11-14T"));

    let (code, one) = get(&c, "/apis/metrics.k8s.io/v1beta1/nodes/n1", None).await;
    assert_eq!((code, one["kind"].as_str()), (200, Some("NodeMetrics")));
    // Not Ready: not scraped, so not found, as with metrics-server.
    let (code, e) = get(&c, "/apis/metrics.k8s.io/v1beta1/nodes/n2", None).await;
    assert_eq!((code, e["reason"].as_str()), (404, Some("NotFound")));
    let (_, sel) = get(
        &c,
        "/apis/metrics.k8s.io/v1beta1/nodes?labelSelector=zone%3Dn2",
        None,
    )
    .await;
    assert_eq!(sel["items"], json!([]));

    let (code, pods) = get(
        &c,
        "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods",
        None,
    )
    .await;
    assert_eq!(code, 200);
    assert_eq!(pods["kind"], "PodMetricsList");
    let names: Vec<&str> = pods["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["db", "web"]);
    let (_, web) = get(
        &c,
        "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods?labelSelector=app%3Dweb",
        None,
    )
    .await;
    let w = &web["items"][0];
    assert_eq!(web["items"].as_array().unwrap().len(), 1);
    assert_eq!(w["metadata"]["namespace"], "default");
    assert_eq!(
        w["containers"],
        json!([{"name": "app", "usage": {"cpu": "12m", "memory": "4Mi"}}])
    );
    let (_, db) = get(
        &c,
        "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/db",
        None,
    )
    .await;
    assert_eq!(db["containers"][0]["usage"]["cpu"], "1m");
    // All namespaces; and another namespace has none.
    let (_, all) = get(&c, "/apis/metrics.k8s.io/v1beta1/pods", None).await;
    assert_eq!(all["items"].as_array().unwrap().len(), 2);
    let (_, other) = get(
        &c,
        "/apis/metrics.k8s.io/v1beta1/namespaces/test/pods",
        None,
    )
    .await;
    assert_eq!(other["items"], json!([]));

    // kubectl get podmetrics: a Table of NAME, CPU, MEMORY, WINDOW.
    let (_, t) = get(
        &c,
        "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods",
        Some("application/json;as=Table;v=v1;g=meta.k8s.io"),
    )
    .await;
    assert_eq!(t["kind"], "Table");
    let cols: Vec<&str> = t["columnDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(cols, ["Name", "CPU", "Memory", "Window"]);
    assert_eq!(t["rows"][1]["cells"], json!(["web", "12m", "4Mi", "1s"]));

    // Watch is not served.
    let (code, _) = get(&c, "/apis/metrics.k8s.io/v1beta1/pods?watch=true", None).await;
    assert_eq!(code, 405);
}

#[tokio::test]
async fn without_a_kubelet_client_the_lists_are_empty() {
    let ts = common::TestServer::start().await;
    let c = ts.client().await;
    node(&c, "n1", "True").await;
    let (code, l) = get(&c, "/apis/metrics.k8s.io/v1beta1/nodes", None).await;
    assert_eq!((code, &l["items"]), (200, &json!([])));
    let (code, l) = get(
        &c,
        "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods",
        None,
    )
    .await;
    assert_eq!((code, &l["items"]), (200, &json!([])));
}
