//! The Deployment controller with the ReplicaSet controller against a real
//! in-process API server; a background fake kubelet makes every pod
//! Running and Ready as soon as it appears.

use controllers::{deployment, replicaset};
use informer::Factory;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{ListParams, Patch, PatchParams, PostParams};
use kube::{Api, Client, ResourceExt};
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const REVISION: &str = "deployment.kubernetes.io/revision";

async fn start() -> (testkit::TestServer, Client) {
    let ts = testkit::TestServer::start().await;
    let client = ts.client().await;
    let factory = Factory::new(client.clone());
    tokio::spawn(replicaset::run(factory.clone()));
    tokio::spawn(deployment::run(factory));
    tokio::spawn(kubelet(client.clone()));
    (ts, client)
}

async fn kubelet(client: Client) {
    let api: Api<Pod> = Api::namespaced(client, "test");
    loop {
        if let Ok(list) = api.list(&ListParams::default()).await {
            for p in list.items {
                let running = p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running");
                if running || p.metadata.deletion_timestamp.is_some() {
                    continue;
                }
                let now = jiff::Timestamp::now().to_string();
                let st = json!({"status": {"phase": "Running", "conditions": [
                    {"type": "Ready", "status": "True", "lastTransitionTime": now}]}});
                let _ = api
                    .patch_status(&p.name_any(), &PatchParams::default(), &Patch::Merge(&st))
                    .await;
            }
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
}

fn deploy(name: &str, image: &str, replicas: i32, strategy: serde_json::Value) -> Deployment {
    serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "strategy": strategy,
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "c", "image": image}]}
            }
        }
    }))
    .expect("deployment")
}

async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..300 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

/// `kubectl rollout status`'s test for "successfully rolled out".
async fn rolled_out(api: &Api<Deployment>, name: &str) -> bool {
    let d = api.get(name).await.expect("get deployment");
    let want = d.spec.replicas.unwrap_or(1);
    let Some(s) = d.status else { return false };
    let progressing = s
        .conditions
        .unwrap_or_default()
        .into_iter()
        .find(|c| c.type_.as_deref() == Some("Progressing"));
    d.metadata.generation <= s.observed_generation
        && s.updated_replicas.unwrap_or(0) == want
        && s.replicas.unwrap_or(0) == want
        && s.available_replicas.unwrap_or(0) == want
        && progressing.and_then(|c| c.reason).as_deref() == Some("NewReplicaSetAvailable")
}

async fn replica_sets(client: &Client, app: &str) -> Vec<ReplicaSet> {
    let api: Api<ReplicaSet> = Api::namespaced(client.clone(), "test");
    api.list(&ListParams::default().labels(&format!("app={app}")))
        .await
        .expect("list rs")
        .items
}

async fn set_image(api: &Api<Deployment>, name: &str, image: &str) {
    let patch =
        json!({"spec": {"template": {"spec": {"containers": [{"name": "c", "image": image}]}}}});
    api.patch(name, &PatchParams::default(), &Patch::Strategic(&patch))
        .await
        .expect("patch image");
}

fn rolling(surge: i32, unavail: i32) -> serde_json::Value {
    json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavail}})
}

#[tokio::test]
async fn rolling_update_respects_bounds_and_rollback_reuses_old_replica_set() {
    let (_ts, client) = start().await;
    let api: Api<Deployment> = Api::namespaced(client.clone(), "test");
    api.create(
        &PostParams::default(),
        &deploy("web", "nginx:1", 4, rolling(1, 1)),
    )
    .await
    .expect("create");
    eventually("first rollout", || rolled_out(&api, "web")).await;
    let rss = replica_sets(&client, "web").await;
    assert_eq!(rss.len(), 1);
    let first = &rss[0];
    let hash = first.labels()["pod-template-hash"].clone();
    assert_eq!(first.name_any(), format!("web-{hash}"));
    assert_eq!(
        first.spec.selector.match_labels.as_ref().unwrap()["pod-template-hash"],
        hash
    );
    assert_eq!(first.annotations()[REVISION], "1");
    assert_eq!(
        first.annotations()["deployment.kubernetes.io/desired-replicas"],
        "4"
    );
    assert_eq!(
        first.annotations()["deployment.kubernetes.io/max-replicas"],
        "5"
    );
    let d = api.get("web").await.unwrap();
    assert_eq!(d.annotations()[REVISION], "1");
    let available = d
        .status
        .unwrap()
        .conditions
        .unwrap()
        .into_iter()
        .find(|c| c.type_.as_deref() == Some("Available"))
        .unwrap();
    assert_eq!(
        available.reason.as_deref(),
        Some("MinimumReplicasAvailable")
    );

    // Watch the bounds while rolling to v2: at most 4+1 pods wanted, at
    // least 4-1 ready.
    let worst = Arc::new(Mutex::new((0i32, i32::MAX)));
    let sampler = {
        let (client, worst) = (client.clone(), worst.clone());
        tokio::spawn(async move {
            let pods: Api<Pod> = Api::namespaced(client.clone(), "test");
            loop {
                let rss = replica_sets(&client, "web").await;
                let wanted: i32 = rss.iter().map(|r| r.spec.replicas.unwrap_or(0)).sum();
                let ready = pods
                    .list(&ListParams::default().labels("app=web"))
                    .await
                    .map(|l| {
                        l.items
                            .iter()
                            .filter(|p| {
                                p.status.as_ref().and_then(|s| s.phase.as_deref())
                                    == Some("Running")
                            })
                            .count() as i32
                    })
                    .unwrap_or(4);
                {
                    let mut w = worst.lock().unwrap();
                    w.0 = w.0.max(wanted);
                    w.1 = w.1.min(ready);
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
    };
    set_image(&api, "web", "nginx:2").await;
    eventually("second rollout", || async {
        rolled_out(&api, "web").await
            && api.get("web").await.unwrap().annotations()[REVISION] == "2"
    })
    .await;
    sampler.abort();
    let (max_wanted, min_ready) = *worst.lock().unwrap();
    assert!(max_wanted <= 5, "surge exceeded: {max_wanted}");
    assert!(min_ready >= 3, "too many unavailable: {min_ready}");
    let rss = replica_sets(&client, "web").await;
    assert_eq!(rss.len(), 2);
    let old = rss.iter().find(|r| r.uid() == first.uid()).unwrap();
    assert_eq!(old.spec.replicas, Some(0));

    // kubectl rollout undo: the template of revision 1, back on the Deployment.
    set_image(&api, "web", "nginx:1").await;
    eventually("rollback", || async {
        rolled_out(&api, "web").await
            && api.get("web").await.unwrap().annotations()[REVISION] == "3"
    })
    .await;
    let rss = replica_sets(&client, "web").await;
    assert_eq!(rss.len(), 2, "rollback reuses the old ReplicaSet");
    let back = rss.iter().find(|r| r.uid() == first.uid()).unwrap();
    assert_eq!(back.spec.replicas, Some(4));
    assert_eq!(back.annotations()[REVISION], "3");
    assert_eq!(
        back.annotations()["deployment.kubernetes.io/revision-history"],
        "1"
    );
}

#[tokio::test]
async fn recreate_scales_old_to_zero_before_new() {
    let (_ts, client) = start().await;
    let api: Api<Deployment> = Api::namespaced(client.clone(), "test");
    api.create(
        &PostParams::default(),
        &deploy("rec", "nginx:1", 3, json!({"type": "Recreate"})),
    )
    .await
    .unwrap();
    eventually("first rollout", || rolled_out(&api, "rec")).await;
    let mixed = Arc::new(Mutex::new(false));
    let sampler = {
        let (client, mixed) = (client.clone(), mixed.clone());
        tokio::spawn(async move {
            let pods: Api<Pod> = Api::namespaced(client, "test");
            loop {
                if let Ok(l) = pods.list(&ListParams::default().labels("app=rec")).await {
                    let hashes: std::collections::HashSet<String> = l
                        .items
                        .iter()
                        .filter_map(|p| p.labels().get("pod-template-hash").cloned())
                        .collect();
                    if hashes.len() > 1 {
                        *mixed.lock().unwrap() = true;
                    }
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
    };
    set_image(&api, "rec", "nginx:2").await;
    eventually("recreate rollout", || async {
        rolled_out(&api, "rec").await
            && api.get("rec").await.unwrap().annotations()[REVISION] == "2"
    })
    .await;
    sampler.abort();
    assert!(!*mixed.lock().unwrap(), "old and new pods ran together");
}

#[tokio::test]
async fn paused_deployment_does_not_roll_out_until_resumed() {
    let (_ts, client) = start().await;
    let api: Api<Deployment> = Api::namespaced(client.clone(), "test");
    api.create(
        &PostParams::default(),
        &deploy("p", "nginx:1", 2, rolling(1, 0)),
    )
    .await
    .unwrap();
    eventually("first rollout", || rolled_out(&api, "p")).await;
    api.patch(
        "p",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"paused": true}})),
    )
    .await
    .unwrap();
    set_image(&api, "p", "nginx:2").await;
    eventually("paused condition", || async {
        let d = api.get("p").await.unwrap();
        d.status.unwrap().conditions.unwrap().iter().any(|c| {
            c.type_.as_deref() == Some("Progressing")
                && c.reason.as_deref() == Some("DeploymentPaused")
        })
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        replica_sets(&client, "p").await.len(),
        1,
        "no rollout while paused"
    );
    api.patch(
        "p",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"paused": false}})),
    )
    .await
    .unwrap();
    eventually("resumed rollout", || async {
        rolled_out(&api, "p").await && replica_sets(&client, "p").await.len() == 2
    })
    .await;
}

#[tokio::test]
async fn scaling_mid_way_and_selector_mismatch() {
    let (_ts, client) = start().await;
    let api: Api<Deployment> = Api::namespaced(client.clone(), "test");
    api.create(
        &PostParams::default(),
        &deploy("s", "nginx:1", 2, rolling(1, 0)),
    )
    .await
    .unwrap();
    eventually("first rollout", || rolled_out(&api, "s")).await;
    api.patch(
        "s",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"replicas": 5}})),
    )
    .await
    .unwrap();
    eventually("scaled", || async {
        rolled_out(&api, "s").await && {
            let rss = replica_sets(&client, "s").await;
            rss.len() == 1 && rss[0].spec.replicas == Some(5)
        }
    })
    .await;

    let mut bad = deploy("bad", "nginx:1", 1, rolling(1, 0));
    bad.spec.selector.match_labels = Some([("app".to_string(), "other".to_string())].into());
    let status = testkit::api_code(api.create(&PostParams::default(), &bad).await);
    assert_eq!(status.code, 422);
    assert!(
        status
            .message
            .contains("`selector` does not match template `labels`"),
        "{}",
        status.message
    );
}
