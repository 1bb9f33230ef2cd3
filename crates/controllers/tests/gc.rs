//! The garbage collector against a real in-process API server: background,
//! foreground and orphan propagation, and dangling owner references.

use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::Client;
use kube::api::{Api, DeleteParams, PostParams};
use serde_json::json;
use std::time::Duration;

async fn start() -> (testkit::TestServer, Client) {
    let ts = testkit::TestServer::start().await;
    let client = ts.client().await;
    let factory = informer::Factory::new(client.clone());
    tokio::spawn(controllers::garbage_collector::run(factory));
    (ts, client)
}

/// Poll `f` until it holds (10 s at most).
async fn eventually<F, Fut>(what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..200 {
        if f().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

async fn owner(cms: &Api<ConfigMap>, name: &str) -> OwnerReference {
    let cm: ConfigMap = serde_json::from_value(json!({"metadata": {"name": name}})).unwrap();
    let cm = cms.create(&PostParams::default(), &cm).await.unwrap();
    OwnerReference {
        api_version: "v1".into(),
        kind: "ConfigMap".into(),
        name: name.into(),
        uid: cm.metadata.uid.unwrap(),
        block_owner_deletion: Some(true),
        ..Default::default()
    }
}

async fn dependent(cms: &Api<ConfigMap>, name: &str, owners: Vec<OwnerReference>) {
    let cm: ConfigMap = serde_json::from_value(json!({
        "metadata": {"name": name, "ownerReferences": owners}
    }))
    .unwrap();
    cms.create(&PostParams::default(), &cm).await.unwrap();
}

#[tokio::test]
async fn background_deletion_removes_dependent_pod() {
    let (_ts, client) = start().await;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "test");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "test");
    let o = owner(&cms, "owner").await;
    let pod: Pod = serde_json::from_value(json!({
        "metadata": {"name": "dep", "ownerReferences": [o]},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]}
    }))
    .unwrap();
    pods.create(&PostParams::default(), &pod).await.unwrap();
    // An unrelated pod stays.
    let other: Pod = serde_json::from_value(json!({
        "metadata": {"name": "other"},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]}
    }))
    .unwrap();
    pods.create(&PostParams::default(), &other).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        pods.get_opt("dep").await.unwrap().is_some(),
        "owner still there"
    );
    cms.delete("owner", &DeleteParams::background())
        .await
        .unwrap();
    eventually("dependent pod deleted", || async {
        pods.get_opt("dep").await.unwrap().is_none()
    })
    .await;
    assert!(pods.get_opt("other").await.unwrap().is_some());
}

#[tokio::test]
async fn foreground_deletion_removes_dependents_first() {
    let (_ts, client) = start().await;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "test");
    let o = owner(&cms, "fg-owner").await;
    dependent(&cms, "fg-dep", vec![o]).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    cms.delete("fg-owner", &DeleteParams::foreground())
        .await
        .unwrap();
    let mut gone = false;
    for _ in 0..200 {
        let owner = cms.get_opt("fg-owner").await.unwrap();
        let dep = cms.get_opt("fg-dep").await.unwrap();
        // The owner never goes before its blocking dependent.
        assert!(owner.is_some() || dep.is_none(), "owner went first");
        if owner.is_none() {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(gone, "owner deleted");
    assert!(cms.get_opt("fg-dep").await.unwrap().is_none());
}

#[tokio::test]
async fn orphan_deletion_keeps_dependents_without_the_reference() {
    let (_ts, client) = start().await;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "test");
    let o = owner(&cms, "or-owner").await;
    let keep = owner(&cms, "or-other-owner").await;
    dependent(&cms, "or-dep", vec![o, keep.clone()]).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    cms.delete("or-owner", &DeleteParams::orphan())
        .await
        .unwrap();
    eventually("owner deleted", || async {
        cms.get_opt("or-owner").await.unwrap().is_none()
    })
    .await;
    let dep = cms.get("or-dep").await.unwrap();
    let refs = dep.metadata.owner_references.unwrap_or_default();
    assert_eq!(refs.len(), 1);
    assert_eq!(refs[0].uid, keep.uid);
}

#[tokio::test]
async fn dangling_reference_is_collected() {
    let (_ts, client) = start().await;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "test");
    let ghost = OwnerReference {
        api_version: "v1".into(),
        kind: "ConfigMap".into(),
        name: "never-existed".into(),
        uid: "00000000-0000-0000-0000-000000000001".into(),
        ..Default::default()
    };
    dependent(&cms, "orphaned", vec![ghost]).await;
    // An owner reference to an existing owner with a different uid is
    // dangling too (the owner was recreated).
    owner(&cms, "recreated").await;
    let stale = OwnerReference {
        api_version: "v1".into(),
        kind: "ConfigMap".into(),
        name: "recreated".into(),
        uid: "00000000-0000-0000-0000-000000000002".into(),
        ..Default::default()
    };
    dependent(&cms, "stale-dep", vec![stale]).await;
    eventually("dangling dependents deleted", || async {
        cms.get_opt("orphaned").await.unwrap().is_none()
            && cms.get_opt("stale-dep").await.unwrap().is_none()
    })
    .await;
    assert!(cms.get_opt("recreated").await.unwrap().is_some());
}

#[tokio::test]
async fn dependent_with_a_live_owner_stays() {
    let (_ts, client) = start().await;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "test");
    let o = owner(&cms, "alive").await;
    dependent(&cms, "kept", vec![o]).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(cms.get_opt("kept").await.unwrap().is_some());
}
