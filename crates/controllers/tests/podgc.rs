//! Pod GC against a real API server: a pod bound to a node that does not
//! exist is deleted after the (shortened) quarantine.

use controllers::podgc;
use informer::Factory;
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::PostParams;
use std::time::Duration;

#[tokio::test]
async fn orphaned_pod_is_deleted() {
    let ts = testkit::TestServer::start().await;
    let client = ts.client().await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let pod: Pod = serde_json::from_value(serde_json::json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": { "name": "orphan" },
        "spec": { "nodeName": "gone", "containers": [{ "name": "c", "image": "busybox" }] }
    }))
    .unwrap();
    pods.create(&PostParams::default(), &pod).await.unwrap();
    let config = podgc::Config {
        period: Duration::from_millis(100),
        quarantine: Duration::from_millis(300),
        ..Default::default()
    };
    tokio::spawn(podgc::run_with(Factory::new(client.clone()), config));
    // Still there inside the quarantine.
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert!(pods.get_opt("orphan").await.unwrap().is_some());
    for _ in 0..100 {
        if pods.get_opt("orphan").await.unwrap().is_none() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("orphaned pod was not deleted");
}
