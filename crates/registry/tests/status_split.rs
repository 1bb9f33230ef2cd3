//! The status/spec split of resources with a `status` subresource: a write
//! to the main resource cannot change status, a write to `status` changes
//! status only (upstream's deployment and custom-resource status strategies).

mod common;

use common::*;
use serde_json::json;

#[tokio::test]
async fn deployment_create_drops_client_status() {
    let reg = setup().await;
    let mut body = deployment("web", 2);
    body["status"] = json!({"replicas": 7, "readyReplicas": 7});
    let out = reg
        .create(&deployments(&reg), "default", body, &wopts("t"))
        .await
        .unwrap();
    assert!(
        out.pointer("/status/replicas").is_none(),
        "status on create is reset: {}",
        out["status"]
    );
}

#[tokio::test]
async fn deployment_main_update_cannot_change_status() {
    let reg = setup().await;
    let deps = deployments(&reg);
    let d = reg
        .create(&deps, "default", deployment("web", 1), &wopts("t"))
        .await
        .unwrap();
    let mut s = d.clone();
    s["status"] = json!({"replicas": 1, "readyReplicas": 1});
    let s = reg
        .update(&deps, "default", "web", s, Some("status"), &wopts("ctrl"))
        .await
        .unwrap();
    assert_eq!(s["status"]["readyReplicas"], 1);

    let mut u = s.clone();
    u["status"] = json!({"replicas": 99, "readyReplicas": 99});
    u["spec"]["replicas"] = 4.into();
    let u = reg
        .update(&deps, "default", "web", u, None, &wopts("t"))
        .await
        .unwrap();
    assert_eq!(u["spec"]["replicas"], 4);
    assert_eq!(u["status"]["readyReplicas"], 1);
    let got = reg.get(&deps, "default", "web", "").await.unwrap();
    assert_eq!(got["status"]["replicas"], 1);
    assert_eq!(got["spec"]["replicas"], 4);
}

#[tokio::test]
async fn deployment_status_update_cannot_change_spec_or_labels() {
    let reg = setup().await;
    let deps = deployments(&reg);
    let d = reg
        .create(&deps, "default", deployment("web", 1), &wopts("t"))
        .await
        .unwrap();
    let mut s = d.clone();
    s["spec"]["replicas"] = 9.into();
    s["metadata"]["labels"] = json!({"sneaky": "yes"});
    s["status"] = json!({"replicas": 1, "observedGeneration": 1});
    let s = reg
        .update(&deps, "default", "web", s, Some("status"), &wopts("ctrl"))
        .await
        .unwrap();
    assert_eq!(s["spec"]["replicas"], 1);
    assert!(s.pointer("/metadata/labels/sneaky").is_none(), "{s}");
    assert_eq!(s["status"]["observedGeneration"], 1);
    assert_eq!(s["metadata"]["generation"], 1);
    let got = reg.get(&deps, "default", "web", "").await.unwrap();
    assert_eq!(got["spec"]["replicas"], 1);
    assert_eq!(got["status"]["replicas"], 1);
}

#[tokio::test]
async fn status_update_is_recorded_for_the_status_subresource() {
    let reg = setup().await;
    let deps = deployments(&reg);
    let d = reg
        .create(&deps, "default", deployment("web", 1), &wopts("t"))
        .await
        .unwrap();
    let mut s = d;
    s["status"] = json!({"replicas": 1});
    let s = reg
        .update(&deps, "default", "web", s, Some("status"), &wopts("ctrl"))
        .await
        .unwrap();
    let entry = s["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["manager"] == "ctrl")
        .cloned()
        .expect("ctrl's entry");
    assert_eq!(entry["subresource"], "status");
    assert_eq!(entry["operation"], "Update");
    assert!(entry["fieldsV1"]["f:status"].is_object(), "{entry}");
}

#[tokio::test]
async fn custom_resource_create_drops_status_with_status_subresource() {
    let reg = setup().await;
    let (_, widgets) = install_widgets(&reg).await;
    let mut body = widget("w", json!({"size": 2}));
    body["status"] = json!({"ready": true});
    let out = reg
        .create(&widgets, "default", body, &wopts("t"))
        .await
        .unwrap();
    assert!(out.get("status").is_none(), "{out}");
    assert_eq!(out["metadata"]["generation"], 1);
}

#[tokio::test]
async fn custom_resource_main_update_cannot_change_status() {
    let reg = setup().await;
    let (_, widgets) = install_widgets(&reg).await;
    let w = reg
        .create(
            &widgets,
            "default",
            widget("w", json!({"size": 2})),
            &wopts("t"),
        )
        .await
        .unwrap();
    let mut s = w.clone();
    s["status"] = json!({"ready": false});
    let s = reg
        .update(&widgets, "default", "w", s, Some("status"), &wopts("ctrl"))
        .await
        .unwrap();
    let mut u = s.clone();
    u["status"] = json!({"ready": true});
    u["spec"]["size"] = 5.into();
    let u = reg
        .update(&widgets, "default", "w", u, None, &wopts("t"))
        .await
        .unwrap();
    assert_eq!(u["spec"]["size"], 5);
    assert_eq!(u["status"]["ready"], false);
    assert_eq!(u["metadata"]["generation"], 2);
}

#[tokio::test]
async fn custom_resource_status_update_cannot_change_spec_or_labels() {
    let reg = setup().await;
    let (_, widgets) = install_widgets(&reg).await;
    let w = reg
        .create(
            &widgets,
            "default",
            widget("w", json!({"size": 2})),
            &wopts("t"),
        )
        .await
        .unwrap();
    let mut s = w.clone();
    s["spec"]["size"] = 8.into();
    s["metadata"]["labels"] = json!({"sneaky": "yes"});
    s["status"] = json!({"ready": true});
    let s = reg
        .update(&widgets, "default", "w", s, Some("status"), &wopts("ctrl"))
        .await
        .unwrap();
    assert_eq!(s["spec"]["size"], 2);
    assert!(s.pointer("/metadata/labels/sneaky").is_none(), "{s}");
    assert_eq!(s["status"]["ready"], true);
    assert_eq!(s["metadata"]["generation"], 1);
}

#[tokio::test]
async fn custom_resource_metadata_change_keeps_generation() {
    let reg = setup().await;
    let (_, widgets) = install_widgets(&reg).await;
    let w = reg
        .create(
            &widgets,
            "default",
            widget("w", json!({"size": 2})),
            &wopts("t"),
        )
        .await
        .unwrap();
    let mut u = w;
    u["metadata"]["annotations"] = json!({"note": "x"});
    let u = reg
        .update(&widgets, "default", "w", u, None, &wopts("t"))
        .await
        .unwrap();
    assert_eq!(u["metadata"]["annotations"]["note"], "x");
    assert_eq!(u["metadata"]["generation"], 1);
}
