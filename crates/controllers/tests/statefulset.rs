//! StatefulSet controller against a real in-process API server; the test
//! plays kubelet by marking pods Running and Ready.

use k8s_openapi::api::apps::v1::{ControllerRevision, StatefulSet};
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use kube::api::{ListParams, Patch, PatchParams, PostParams};
use kube::{Api, Client};
use serde_json::json;
use std::time::Duration;

async fn start() -> (testkit::TestServer, Client) {
    let ts = testkit::TestServer::start().await;
    let client = ts.client().await;
    let factory = informer::Factory::new(client.clone());
    tokio::spawn(controllers::statefulset::run(factory));
    (ts, client)
}

/// Poll `f` until it gives `Some`, for up to 15 s.
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

fn set(name: &str, replicas: i32, policy: &str, extra_spec: serde_json::Value) -> StatefulSet {
    let mut spec = json!({
        "replicas": replicas,
        "serviceName": "svc",
        "podManagementPolicy": policy,
        "selector": {"matchLabels": {"app": name}},
        "template": {
            "metadata": {"labels": {"app": name}},
            "spec": {"containers": [{"name": "c", "image": "nginx:1"}]}
        }
    });
    if let (Some(s), Some(extra)) = (spec.as_object_mut(), extra_spec.as_object()) {
        for (k, v) in extra {
            s.insert(k.clone(), v.clone());
        }
    }
    serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": name},
        "spec": spec,
    }))
    .expect("statefulset")
}

async fn make_ready(pods: &Api<Pod>, name: &str) {
    let now = jiff::Timestamp::now().to_string();
    let patch = json!({"status": {"phase": "Running", "conditions": [
        {"type": "Ready", "status": "True", "lastTransitionTime": now}
    ]}});
    pods.patch_status(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect("patch status");
}

fn revision(p: &Pod) -> String {
    p.metadata
        .labels
        .as_ref()
        .and_then(|l| l.get("controller-revision-hash").cloned())
        .unwrap_or_default()
}

async fn live_pod(pods: &Api<Pod>, name: &str) -> Option<Pod> {
    pods.get_opt(name)
        .await
        .ok()
        .flatten()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
}

#[tokio::test]
async fn ordered_ready_creates_in_order_and_scales_down_from_the_top() {
    let (_ts, client) = start().await;
    let sets: Api<StatefulSet> = Api::namespaced(client.clone(), "default");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let extra = json!({"volumeClaimTemplates": [{
        "metadata": {"name": "www"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}
    }]});
    sets.create(
        &PostParams::default(),
        &set("web", 3, "OrderedReady", extra),
    )
    .await
    .expect("create");

    let p0 = eventually("web-0", || live_pod(&pods, "web-0")).await;
    let labels = p0.metadata.labels.clone().unwrap_or_default();
    assert_eq!(labels["statefulset.kubernetes.io/pod-name"], "web-0");
    assert_eq!(labels["apps.kubernetes.io/pod-index"], "0");
    assert!(revision(&p0).starts_with("web-"));
    let spec = p0.spec.clone().unwrap_or_default();
    assert_eq!(spec.hostname.as_deref(), Some("web-0"));
    assert_eq!(spec.subdomain.as_deref(), Some("svc"));
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), "default");
    assert!(
        claims
            .get_opt("www-web-0")
            .await
            .expect("get pvc")
            .is_some()
    );

    // web-1 waits for web-0 to be Running and Ready.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(live_pod(&pods, "web-1").await.is_none());
    make_ready(&pods, "web-0").await;
    eventually("web-1", || live_pod(&pods, "web-1")).await;
    assert!(live_pod(&pods, "web-2").await.is_none());
    make_ready(&pods, "web-1").await;
    eventually("web-2", || live_pod(&pods, "web-2")).await;
    make_ready(&pods, "web-2").await;

    let st = eventually("ready status", || async {
        let s = sets.get("web").await.ok()?.status?;
        (s.ready_replicas == Some(3)).then_some(s)
    })
    .await;
    assert_eq!(st.replicas, 3);
    assert_eq!(st.current_revision, st.update_revision);
    assert_eq!(st.current_replicas, Some(3));
    let revs: Api<ControllerRevision> = Api::namespaced(client.clone(), "default");
    let cr = revs
        .get(st.update_revision.as_deref().unwrap_or_default())
        .await
        .expect("revision");
    assert_eq!(cr.revision, Some(1));
    assert!(
        cr.metadata
            .labels
            .unwrap_or_default()
            .contains_key("controller.kubernetes.io/hash")
    );

    // Scale to 1: web-2 goes first, and web-1 only after it.
    sets.patch(
        "web",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"replicas": 1}})),
    )
    .await
    .expect("scale");
    eventually("web-2 gone", || async {
        let gone = live_pod(&pods, "web-2").await.is_none();
        if gone {
            // web-1 was still there when web-2 went.
            return Some(());
        }
        assert!(live_pod(&pods, "web-1").await.is_some());
        None
    })
    .await;
    eventually("web-1 gone", || async {
        live_pod(&pods, "web-1").await.is_none().then_some(())
    })
    .await;
    assert!(live_pod(&pods, "web-0").await.is_some());
}

#[tokio::test]
async fn rolling_update_honours_the_partition_from_the_top() {
    let (_ts, client) = start().await;
    let sets: Api<StatefulSet> = Api::namespaced(client.clone(), "default");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    sets.create(&PostParams::default(), &set("db", 3, "Parallel", json!({})))
        .await
        .expect("create");
    let mut old = String::new();
    for n in ["db-0", "db-1", "db-2"] {
        let p = eventually(n, || live_pod(&pods, n)).await;
        old = revision(&p);
        make_ready(&pods, n).await;
    }
    eventually("ready", || async {
        let s = sets.get("db").await.ok()?.status?;
        (s.ready_replicas == Some(3)).then_some(())
    })
    .await;

    let patch = json!({"spec": {
        "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 1}},
        "template": {"spec": {"containers": [{"name": "c", "image": "nginx:2"}]}}
    }});
    sets.patch("db", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect("update");

    // db-2 is replaced first; db-1 keeps the old revision until db-2 is ready.
    let p2 = eventually("db-2 updated", || async {
        live_pod(&pods, "db-2").await.filter(|p| revision(p) != old)
    })
    .await;
    let new = revision(&p2);
    assert_eq!(revision(&live_pod(&pods, "db-1").await.expect("db-1")), old);
    make_ready(&pods, "db-2").await;
    eventually("db-1 updated", || async {
        live_pod(&pods, "db-1").await.filter(|p| revision(p) == new)
    })
    .await;
    make_ready(&pods, "db-1").await;
    let st = eventually("updated status", || async {
        let s = sets.get("db").await.ok()?.status?;
        (s.updated_replicas == Some(2) && s.ready_replicas == Some(3)).then_some(s)
    })
    .await;
    // Below the partition nothing moves.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(revision(&live_pod(&pods, "db-0").await.expect("db-0")), old);
    assert_eq!(st.current_revision.as_deref(), Some(old.as_str()));
    assert_eq!(st.update_revision.as_deref(), Some(new.as_str()));

    let revs: Api<ControllerRevision> = Api::namespaced(client.clone(), "default");
    let list = revs.list(&ListParams::default()).await.expect("list");
    let mut numbers: Vec<i64> = list.items.iter().filter_map(|r| r.revision).collect();
    numbers.sort();
    assert_eq!(numbers, vec![1, 2]);
}

#[tokio::test]
async fn failed_pods_are_recreated() {
    let (_ts, client) = start().await;
    let sets: Api<StatefulSet> = Api::namespaced(client.clone(), "default");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    sets.create(
        &PostParams::default(),
        &set("job", 1, "OrderedReady", json!({})),
    )
    .await
    .expect("create");
    let p = eventually("job-0", || live_pod(&pods, "job-0")).await;
    let uid = p.metadata.uid.clone();
    pods.patch_status(
        "job-0",
        &PatchParams::default(),
        &Patch::Merge(json!({"status": {"phase": "Failed"}})),
    )
    .await
    .expect("fail");
    eventually("job-0 recreated", || async {
        live_pod(&pods, "job-0")
            .await
            .filter(|p| p.metadata.uid != uid)
    })
    .await;
}
