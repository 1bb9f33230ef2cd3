//! The root CA publisher against a real in-process API server: the
//! `kube-root-ca.crt` ConfigMap appears in existing and new namespaces, and
//! comes back after deletion or tampering.

use controllers::root_ca_publisher::{CONFIGMAP_NAME, DESCRIPTION, DESCRIPTION_ANNOTATION};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, DeleteParams, PostParams};
use serde_json::json;
use std::time::Duration;

/// Wait until the namespace's ConfigMap carries `pem`, with the annotation.
async fn published(cms: &Api<ConfigMap>, pem: &str) -> bool {
    for _ in 0..200 {
        if let Some(cm) = cms.get_opt(CONFIGMAP_NAME).await.unwrap() {
            let data_ok = cm
                .data
                .as_ref()
                .and_then(|d| d.get("ca.crt"))
                .map(String::as_str)
                == Some(pem);
            let described = cm
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(DESCRIPTION_ANNOTATION))
                .map(String::as_str)
                == Some(DESCRIPTION);
            if data_ok && described {
                return true;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

#[tokio::test]
async fn ca_configmap_in_every_namespace_and_restored() {
    let ts = testkit::TestServer::start().await;
    let client = ts.client().await;
    tokio::spawn(controllers::root_ca_publisher::run(
        informer::Factory::new(client.clone()),
        ts.ca_pem.clone(),
    ));
    let test_cms: Api<ConfigMap> = Api::namespaced(client.clone(), "test");
    assert!(published(&test_cms, &ts.ca_pem).await, "existing namespace");

    let nss: Api<Namespace> = Api::all(client.clone());
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": "fresh"}})).unwrap();
    nss.create(&PostParams::default(), &ns).await.unwrap();
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "fresh");
    assert!(published(&cms, &ts.ca_pem).await, "new namespace");

    cms.delete(CONFIGMAP_NAME, &DeleteParams::default())
        .await
        .unwrap();
    assert!(
        published(&cms, &ts.ca_pem).await,
        "recreated after deletion"
    );

    let mut cm = cms.get(CONFIGMAP_NAME).await.unwrap();
    cm.data = Some([("ca.crt".to_string(), "tampered".to_string())].into());
    cms.replace(CONFIGMAP_NAME, &PostParams::default(), &cm)
        .await
        .unwrap();
    assert!(published(&cms, &ts.ca_pem).await, "restored after a change");
}
