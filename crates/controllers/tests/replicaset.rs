//! ReplicaSet and ReplicationController controllers against a real
//! in-process API server; a fake kubelet marks pods Running and Ready.

use controllers::{replicaset, replication_controller};
use informer::Factory;
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::{Pod, ReplicationController};
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::{Api, Client, ResourceExt};
use serde_json::json;
use std::time::Duration;

async fn start() -> (testkit::TestServer, Client) {
    let ts = testkit::TestServer::start().await;
    let client = ts.client().await;
    let factory = Factory::new(client.clone());
    tokio::spawn(replicaset::run(factory.clone()));
    tokio::spawn(replication_controller::run(factory));
    (ts, client)
}

fn template(app: &str) -> serde_json::Value {
    json!({
        "metadata": {"labels": {"app": app}},
        "spec": {"containers": [{"name": "c", "image": "nginx"}]}
    })
}

fn rs(name: &str, app: &str, replicas: i32) -> ReplicaSet {
    serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": app}},
            "template": template(app),
        }
    }))
    .expect("replicaset")
}

/// Pods of `app` that are not being deleted.
async fn live_pods(client: &Client, app: &str) -> Vec<Pod> {
    let api: Api<Pod> = Api::namespaced(client.clone(), "test");
    let list = api
        .list(&ListParams::default().labels(&format!("app={app}")))
        .await
        .expect("list pods");
    list.items
        .into_iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .collect()
}

/// Poll until `check` holds (10 s), else panic with `what`.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..200 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

/// The kubelet's part: every pod of `app` becomes Running and Ready.
async fn kubelet(client: &Client, app: &str) {
    let api: Api<Pod> = Api::namespaced(client.clone(), "test");
    for p in live_pods(client, app).await {
        if p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running") {
            continue;
        }
        let now = jiff::Timestamp::now().to_string();
        let status = json!({"status": {"phase": "Running", "conditions": [
            {"type": "Ready", "status": "True", "lastTransitionTime": now}
        ]}});
        let _ = api
            .patch_status(
                &p.name_any(),
                &PatchParams::default(),
                &Patch::Merge(&status),
            )
            .await;
    }
}

#[tokio::test]
async fn replicaset_scales_up_down_and_replaces_pods() {
    let (_ts, client) = start().await;
    let rsapi: Api<ReplicaSet> = Api::namespaced(client.clone(), "test");
    let created = rsapi
        .create(&PostParams::default(), &rs("web", "web", 3))
        .await
        .expect("create rs");
    eventually("3 pods", || async {
        live_pods(&client, "web").await.len() == 3
    })
    .await;
    let pods = live_pods(&client, "web").await;
    for p in &pods {
        assert!(p.name_any().starts_with("web-"), "{}", p.name_any());
        let r = &p.owner_references()[0];
        assert_eq!(r.uid, created.uid().unwrap());
        assert_eq!(
            (r.controller, r.block_owner_deletion),
            (Some(true), Some(true))
        );
    }
    kubelet(&client, "web").await;
    eventually("ready status", || async {
        let s = rsapi.get("web").await.unwrap().status.unwrap_or_default();
        s.replicas == 3
            && s.ready_replicas == Some(3)
            && s.available_replicas == Some(3)
            && s.fully_labeled_replicas == Some(3)
            && s.observed_generation == Some(1)
    })
    .await;

    // Deleted pods are replaced.
    let pod_api: Api<Pod> = Api::namespaced(client.clone(), "test");
    pod_api
        .delete(&pods[0].name_any(), &DeleteParams::default())
        .await
        .expect("delete pod");
    eventually("replacement", || async {
        let live = live_pods(&client, "web").await;
        live.len() == 3 && live.iter().all(|p| p.name_any() != pods[0].name_any())
    })
    .await;

    // Scale down keeps the ready pods and deletes the new, unready one first.
    let fresh: Vec<String> = live_pods(&client, "web")
        .await
        .into_iter()
        .filter(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) != Some("Running"))
        .map(|p| p.name_any())
        .collect();
    assert_eq!(fresh.len(), 1);
    rsapi
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 2}})),
        )
        .await
        .expect("scale");
    eventually("2 pods", || async {
        live_pods(&client, "web").await.len() == 2
    })
    .await;
    assert!(
        live_pods(&client, "web")
            .await
            .iter()
            .all(|p| p.name_any() != fresh[0])
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(live_pods(&client, "web").await.len(), 2, "no over-deletion");
    eventually("status 2", || async {
        let s = rsapi.get("web").await.unwrap().status.unwrap_or_default();
        s.replicas == 2 && s.observed_generation == Some(2)
    })
    .await;
}

#[tokio::test]
async fn replicaset_adopts_orphans_and_releases_mismatches() {
    let (_ts, client) = start().await;
    let pod_api: Api<Pod> = Api::namespaced(client.clone(), "test");
    let orphan: Pod = serde_json::from_value(json!({
        "metadata": {"name": "orphan", "labels": {"app": "adopt"}},
        "spec": {"containers": [{"name": "c", "image": "nginx"}]}
    }))
    .unwrap();
    pod_api
        .create(&PostParams::default(), &orphan)
        .await
        .unwrap();
    let rsapi: Api<ReplicaSet> = Api::namespaced(client.clone(), "test");
    let created = rsapi
        .create(&PostParams::default(), &rs("adopter", "adopt", 2))
        .await
        .unwrap();
    eventually("adoption", || async {
        let p = pod_api.get("orphan").await.unwrap();
        p.owner_references()
            .iter()
            .any(|r| Some(&r.uid) == created.uid().as_ref())
    })
    .await;
    eventually("2 pods", || async {
        live_pods(&client, "adopt").await.len() == 2
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(live_pods(&client, "adopt").await.len(), 2, "orphan counted");

    // Relabel the adopted pod: it is released and replaced.
    pod_api
        .patch(
            "orphan",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"app": "other"}}})),
        )
        .await
        .unwrap();
    eventually("release", || async {
        pod_api
            .get("orphan")
            .await
            .unwrap()
            .owner_references()
            .is_empty()
    })
    .await;
    eventually("replacement", || async {
        live_pods(&client, "adopt").await.len() == 2
    })
    .await;
}

#[tokio::test]
async fn replication_controller_keeps_its_count() {
    let (_ts, client) = start().await;
    let api: Api<ReplicationController> = Api::namespaced(client.clone(), "test");
    let rc: ReplicationController = serde_json::from_value(json!({
        "metadata": {"name": "legacy"},
        "spec": {"replicas": 2, "selector": {"app": "legacy"}, "template": template("legacy")}
    }))
    .unwrap();
    api.create(&PostParams::default(), &rc).await.unwrap();
    eventually("2 pods", || async {
        live_pods(&client, "legacy").await.len() == 2
    })
    .await;
    let owner = &live_pods(&client, "legacy").await[0].owner_references()[0].clone();
    assert_eq!(
        (owner.kind.as_str(), owner.api_version.as_str()),
        ("ReplicationController", "v1")
    );
    kubelet(&client, "legacy").await;
    eventually("ready", || async {
        let s = api.get("legacy").await.unwrap().status.unwrap_or_default();
        s.ready_replicas == Some(2) && s.available_replicas == Some(2)
    })
    .await;
}
