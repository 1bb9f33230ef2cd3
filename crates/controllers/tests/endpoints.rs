//! The Endpoints and EndpointSlice controllers against a real in-process
//! API server; pod readiness is simulated by patching pod status.

use k8s_openapi::api::core::v1::{Endpoints, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::Client;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;
use std::time::Duration;

async fn start() -> (testkit::TestServer, Client) {
    let ts = testkit::TestServer::start().await;
    let client = ts.client().await;
    let factory = informer::Factory::new(client.clone());
    tokio::spawn(controllers::endpoints::run(factory.clone()));
    tokio::spawn(controllers::endpointslice::run(factory));
    (ts, client)
}

async fn pod(pods: &Api<Pod>, name: &str, ip: &str, ready: bool) {
    let p: Pod = serde_json::from_value(json!({
        "metadata": {"name": name, "labels": {"app": "web"}},
        "spec": {"nodeName": "node-a", "containers": [{"name": "c", "image": "nginx",
            "ports": [{"name": "http", "containerPort": 8080}]}]}
    }))
    .unwrap();
    pods.create(&PostParams::default(), &p).await.unwrap();
    set_ready(pods, name, ip, ready).await;
}

async fn set_ready(pods: &Api<Pod>, name: &str, ip: &str, ready: bool) {
    let status = json!({"status": {"phase": "Running", "podIP": ip, "conditions": [
        {"type": "Ready", "status": if ready {"True"} else {"False"}}]}});
    pods.patch_status(name, &PatchParams::default(), &Patch::Merge(&status))
        .await
        .unwrap();
}

async fn service(client: &Client, name: &str, target: serde_json::Value) {
    let svcs: Api<Service> = Api::namespaced(client.clone(), "test");
    let s: Service = serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {"selector": {"app": "web"}, "ports": [{"name": "web", "port": 80, "targetPort": target}]}
    }))
    .unwrap();
    svcs.create(&PostParams::default(), &s).await.unwrap();
}

fn ips(list: &Option<Vec<k8s_openapi::api::core::v1::EndpointAddress>>) -> Vec<String> {
    let mut v: Vec<String> = list.iter().flatten().map(|a| a.ip.clone()).collect();
    v.sort();
    v
}

/// Poll the Endpoints `name` until `f` holds (10 s at most).
async fn endpoints_until(
    eps: &Api<Endpoints>,
    name: &str,
    f: impl Fn(&Endpoints) -> bool,
) -> Endpoints {
    let mut last = None;
    for _ in 0..200 {
        if let Some(e) = eps.get_opt(name).await.unwrap() {
            if f(&e) {
                return e;
            }
            last = Some(e);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("endpoints {name} never matched; last: {last:?}");
}

async fn slices_until(
    client: &Client,
    svc: &str,
    f: impl Fn(&[EndpointSlice]) -> bool,
) -> Vec<EndpointSlice> {
    let api: Api<EndpointSlice> = Api::namespaced(client.clone(), "test");
    let lp = ListParams::default().labels(&format!("kubernetes.io/service-name={svc}"));
    let mut last = Vec::new();
    for _ in 0..200 {
        let items = api.list(&lp).await.unwrap().items;
        if f(&items) {
            return items;
        }
        last = items;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("slices of {svc} never matched; last: {last:?}");
}

#[tokio::test]
async fn endpoints_follow_readiness_with_named_ports() {
    let (_ts, client) = start().await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "test");
    let eps: Api<Endpoints> = Api::namespaced(client.clone(), "test");
    pod(&pods, "a", "10.1.0.1", true).await;
    pod(&pods, "b", "10.1.0.2", false).await;
    service(&client, "web", json!("http")).await;

    let e = endpoints_until(&eps, "web", |e| {
        e.subsets.as_ref().is_some_and(|s| {
            s.len() == 1
                && ips(&s[0].addresses) == ["10.1.0.1"]
                && ips(&s[0].not_ready_addresses) == ["10.1.0.2"]
        })
    })
    .await;
    let subset = &e.subsets.as_ref().unwrap()[0];
    let port = &subset.ports.as_ref().unwrap()[0];
    assert_eq!(port.port, 8080, "named target port resolved");
    assert_eq!(port.name.as_deref(), Some("web"));
    let addr = &subset.addresses.as_ref().unwrap()[0];
    assert_eq!(addr.node_name.as_deref(), Some("node-a"));
    assert_eq!(
        addr.target_ref.as_ref().and_then(|r| r.name.as_deref()),
        Some("a")
    );
    let ann = e.metadata.annotations.clone().unwrap_or_default();
    assert!(ann.contains_key("endpoints.kubernetes.io/last-change-trigger-time"));

    // b becomes ready.
    set_ready(&pods, "b", "10.1.0.2", true).await;
    endpoints_until(&eps, "web", |e| {
        e.subsets
            .as_ref()
            .is_some_and(|s| s.len() == 1 && ips(&s[0].addresses) == ["10.1.0.1", "10.1.0.2"])
    })
    .await;

    // Slices: one slice, both endpoints, port 8080, owned by the Service.
    let slices = slices_until(&client, "web", |s| {
        s.len() == 1
            && s[0].endpoints.as_ref().is_some_and(|e| {
                e.len() == 2
                    && e.iter()
                        .all(|e| e.conditions.as_ref().and_then(|c| c.ready) == Some(true))
            })
    })
    .await;
    let s = &slices[0];
    assert_eq!(s.address_type, "IPv4");
    assert!(
        s.metadata
            .name
            .as_deref()
            .is_some_and(|n| n.starts_with("web-"))
    );
    let labels = s.metadata.labels.clone().unwrap_or_default();
    assert_eq!(
        labels
            .get("endpointslice.kubernetes.io/managed-by")
            .map(String::as_str),
        Some("endpointslice-controller.k8s.io")
    );
    let owners = s.metadata.owner_references.clone().unwrap_or_default();
    assert_eq!(owners.len(), 1);
    assert_eq!(owners[0].kind, "Service");
    assert_eq!(s.ports.as_ref().and_then(|p| p[0].port), Some(8080));

    // A pod being deleted leaves Endpoints and is marked terminating in
    // its slice. The pod has a node, so deletion is graceful.
    pods.delete("a", &Default::default()).await.unwrap();
    if pods.get_opt("a").await.unwrap().is_some() {
        endpoints_until(&eps, "web", |e| {
            e.subsets
                .as_ref()
                .is_some_and(|s| s.len() == 1 && ips(&s[0].addresses) == ["10.1.0.2"])
        })
        .await;
        slices_until(&client, "web", |s| {
            s.len() == 1
                && s[0].endpoints.iter().flatten().any(|e| {
                    e.addresses == ["10.1.0.1"]
                        && e.conditions.as_ref().is_some_and(|c| {
                            c.terminating == Some(true)
                                && c.ready == Some(false)
                                && c.serving == Some(true)
                        })
                })
        })
        .await;
    }
}

#[tokio::test]
async fn publish_not_ready_and_headless_and_service_deletion() {
    let (_ts, client) = start().await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "test");
    let eps: Api<Endpoints> = Api::namespaced(client.clone(), "test");
    let svcs: Api<Service> = Api::namespaced(client.clone(), "test");
    pod(&pods, "x", "10.2.0.1", false).await;
    let s: Service = serde_json::from_value(json!({
        "metadata": {"name": "hl"},
        "spec": {"clusterIP": "None", "publishNotReadyAddresses": true, "selector": {"app": "web"},
            "ports": [{"port": 9090}]}
    }))
    .unwrap();
    svcs.create(&PostParams::default(), &s).await.unwrap();
    let e = endpoints_until(&eps, "hl", |e| {
        e.subsets
            .as_ref()
            .is_some_and(|s| s.len() == 1 && ips(&s[0].addresses) == ["10.2.0.1"])
    })
    .await;
    let labels = e.metadata.labels.unwrap_or_default();
    assert_eq!(
        labels
            .get("service.kubernetes.io/headless")
            .map(String::as_str),
        Some("")
    );

    // A Service without a selector is left alone.
    let manual: Service = serde_json::from_value(json!({
        "metadata": {"name": "manual"}, "spec": {"ports": [{"port": 80}]}
    }))
    .unwrap();
    svcs.create(&PostParams::default(), &manual).await.unwrap();

    svcs.delete("hl", &Default::default()).await.unwrap();
    for _ in 0..200 {
        if eps.get_opt("hl").await.unwrap().is_none() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        eps.get_opt("hl").await.unwrap().is_none(),
        "endpoints deleted with the service"
    );
    assert!(eps.get_opt("manual").await.unwrap().is_none());
}
