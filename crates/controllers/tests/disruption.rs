//! PodDisruptionBudget status against a real API server, with integer and
//! percentage budgets (percentages of the owning ReplicaSet's scale).

use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::api::{Patch, PatchParams, PostParams};
use kube::{Api, ResourceExt};
use serde_json::json;
use std::time::Duration;

async fn status_when(
    api: &Api<PodDisruptionBudget>,
    name: &str,
    want: (i32, i32, i32, i32),
) -> PodDisruptionBudget {
    let mut last = None;
    for _ in 0..100 {
        if let Ok(p) = api.get(name).await {
            let s = p.status.clone().unwrap_or_default();
            let got = (
                s.current_healthy.unwrap_or(-1),
                s.desired_healthy.unwrap_or(-1),
                s.expected_pods.unwrap_or(-1),
                s.disruptions_allowed.unwrap_or(-1),
            );
            if got == want {
                return p;
            }
            last = Some(got);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("pdb {name}: wanted {want:?}, last {last:?}");
}

fn allowed_reason(p: &PodDisruptionBudget) -> (String, String) {
    let c = p.status.as_ref().unwrap().conditions.as_ref().unwrap();
    let c = c.iter().find(|c| c.type_ == "DisruptionAllowed").unwrap();
    (c.status.clone(), c.reason.clone())
}

#[tokio::test]
async fn pdb_status_counts_ready_pods() {
    let ts = testkit::TestServer::start().await;
    let client = ts.client().await;
    tokio::spawn(controllers::disruption::run(informer::Factory::new(
        client.clone(),
    )));
    let rss: Api<ReplicaSet> = Api::namespaced(client.clone(), "test");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "test");
    let pdbs: Api<PodDisruptionBudget> = Api::namespaced(client.clone(), "test");

    let rs: ReplicaSet = serde_json::from_value(json!({
        "metadata": {"name": "web"},
        "spec": {"replicas": 4, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "c", "image": "nginx:1"}]}}}
    }))
    .unwrap();
    let rs = rss.create(&PostParams::default(), &rs).await.unwrap();
    let uid = rs.uid().unwrap();
    for i in 0..4 {
        let p: Pod = serde_json::from_value(json!({
            "metadata": {"name": format!("web-{i}"), "labels": {"app": "web"},
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web",
                                     "uid": uid, "controller": true}]},
            "spec": {"containers": [{"name": "c", "image": "nginx:1"}]}
        }))
        .unwrap();
        pods.create(&PostParams::default(), &p).await.unwrap();
        let ready = if i < 3 { "True" } else { "False" };
        let st = json!({"status": {"phase": "Running", "conditions": [{"type": "Ready", "status": ready}]}});
        pods.patch_status(
            &format!("web-{i}"),
            &PatchParams::default(),
            &Patch::Strategic(&st),
        )
        .await
        .unwrap();
    }
    let pdb = |name: &str, field: &str, v: serde_json::Value| {
        serde_json::from_value::<PodDisruptionBudget>(json!({
            "metadata": {"name": name},
            "spec": {field: v, "selector": {"matchLabels": {"app": "web"}}}
        }))
        .unwrap()
    };
    for (name, field, v) in [
        ("min-int", "minAvailable", json!(2)),
        ("min-pct", "minAvailable", json!("50%")),
        ("max-pct", "maxUnavailable", json!("25%")),
    ] {
        pdbs.create(&PostParams::default(), &pdb(name, field, v))
            .await
            .unwrap();
    }

    let p = status_when(&pdbs, "min-int", (3, 2, 4, 1)).await;
    assert_eq!(allowed_reason(&p), ("True".into(), "SufficientPods".into()));
    assert_eq!(p.status.unwrap().observed_generation, p.metadata.generation);
    status_when(&pdbs, "min-pct", (3, 2, 4, 1)).await;
    let p = status_when(&pdbs, "max-pct", (3, 3, 4, 0)).await;
    assert_eq!(
        allowed_reason(&p),
        ("False".into(), "InsufficientPods".into())
    );

    // Scaling the ReplicaSet changes what percentages are taken of.
    let scale = json!({"spec": {"replicas": 8}});
    rss.patch("web", &PatchParams::default(), &Patch::Merge(&scale))
        .await
        .unwrap();
    status_when(&pdbs, "min-pct", (3, 4, 8, 0)).await;

    // A pod turning Ready is counted.
    let st = json!({"status": {"conditions": [{"type": "Ready", "status": "True"}]}});
    pods.patch_status("web-3", &PatchParams::default(), &Patch::Strategic(&st))
        .await
        .unwrap();
    status_when(&pdbs, "min-int", (4, 2, 4, 2)).await;
}
