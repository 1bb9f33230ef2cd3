//! The ServiceAccount controller against a real in-process API server.

use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use kube::api::{Api, DeleteParams, PostParams};
use serde_json::json;
use std::time::Duration;

async fn wait_default(sas: &Api<ServiceAccount>) -> bool {
    for _ in 0..200 {
        if sas.get_opt("default").await.unwrap().is_some() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

#[tokio::test]
async fn default_service_account_in_new_namespace_and_recreated() {
    let ts = testkit::TestServer::start().await;
    let client = ts.client().await;
    tokio::spawn(controllers::serviceaccount::run(informer::Factory::new(
        client.clone(),
    )));
    let nss: Api<Namespace> = Api::all(client.clone());
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": "fresh"}})).unwrap();
    nss.create(&PostParams::default(), &ns).await.unwrap();
    let sas: Api<ServiceAccount> = Api::namespaced(client.clone(), "fresh");
    assert!(wait_default(&sas).await, "default SA created");
    sas.delete("default", &DeleteParams::default())
        .await
        .unwrap();
    assert!(wait_default(&sas).await, "default SA recreated");
    // Existing namespaces got theirs too.
    let test_sas: Api<ServiceAccount> = Api::namespaced(client.clone(), "test");
    assert!(wait_default(&test_sas).await);
}
