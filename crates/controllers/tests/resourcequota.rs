//! ResourceQuota status against a real API server: used counts follow
//! pods (non-terminal only), CPU requests and other objects.

use k8s_openapi::api::core::v1::{ConfigMap, Pod, ResourceQuota};
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use serde_json::json;
use std::collections::BTreeMap;
use std::time::Duration;

async fn used_when(
    quotas: &Api<ResourceQuota>,
    name: &str,
    want: &[(&str, &str)],
) -> BTreeMap<String, String> {
    let mut last = BTreeMap::new();
    for _ in 0..100 {
        if let Ok(q) = quotas.get(name).await {
            last = q
                .status
                .and_then(|s| s.used)
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k, v.0))
                .collect();
            if want
                .iter()
                .all(|(k, v)| last.get(*k).map(String::as_str) == Some(*v))
            {
                return last;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("quota {name} used never became {want:?}; last {last:?}");
}

#[tokio::test]
async fn quota_counts_pods_cpu_and_objects() {
    let ts = testkit::TestServer::start().await;
    let client = ts.client().await;
    tokio::spawn(controllers::resourcequota::run(informer::Factory::new(
        client.clone(),
    )));
    let quotas: Api<ResourceQuota> = Api::namespaced(client.clone(), "test");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "test");
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "test");

    let q = json!({"metadata": {"name": "q"}, "spec": {"hard": {
        "pods": "10", "requests.cpu": "4", "limits.memory": "1Gi", "configmaps": "5",
        "count/deployments.apps": "2"}}});
    quotas
        .create(&PostParams::default(), &serde_json::from_value(q).unwrap())
        .await
        .unwrap();
    let be = json!({"metadata": {"name": "be"}, "spec": {"scopes": ["BestEffort"], "hard": {"pods": "3"}}});
    quotas
        .create(&PostParams::default(), &serde_json::from_value(be).unwrap())
        .await
        .unwrap();
    let used = used_when(&quotas, "q", &[("pods", "0"), ("requests.cpu", "0")]).await;
    assert_eq!(
        used.get("count/deployments.apps").map(String::as_str),
        Some("0")
    );
    let hard = quotas.get("q").await.unwrap().status.unwrap().hard.unwrap();
    assert_eq!(hard.get("pods").map(|q| q.0.as_str()), Some("10"));

    let pod = |name: &str, cpu: Option<&str>| {
        let res = match cpu {
            Some(c) => json!({"requests": {"cpu": c}, "limits": {"memory": "128Mi"}}),
            None => json!({}),
        };
        serde_json::from_value::<Pod>(json!({"metadata": {"name": name},
            "spec": {"containers": [{"name": "c", "image": "nginx:1", "resources": res}]}}))
        .unwrap()
    };
    pods.create(&PostParams::default(), &pod("a", Some("500m")))
        .await
        .unwrap();
    pods.create(&PostParams::default(), &pod("b", Some("1")))
        .await
        .unwrap();
    pods.create(&PostParams::default(), &pod("c", None))
        .await
        .unwrap();
    cms.create(
        &PostParams::default(),
        &serde_json::from_value(json!({"metadata": {"name": "cm"}})).unwrap(),
    )
    .await
    .unwrap();
    used_when(
        &quotas,
        "q",
        &[
            ("pods", "3"),
            ("requests.cpu", "1500m"),
            ("limits.memory", "256Mi"),
        ],
    )
    .await;
    // The namespace may hold other configmaps (root CA); ours is counted.
    let used = used_when(&quotas, "q", &[("pods", "3")]).await;
    assert!(used["configmaps"].parse::<u32>().unwrap() >= 1);
    used_when(&quotas, "be", &[("pods", "1")]).await;

    // A finished pod no longer counts.
    let st = json!({"status": {"phase": "Succeeded"}});
    pods.patch_status("b", &PatchParams::default(), &Patch::Merge(&st))
        .await
        .unwrap();
    used_when(&quotas, "q", &[("pods", "2"), ("requests.cpu", "500m")]).await;
}
