//! PATCH through `Registry::patch`: JSON patch, merge patch and strategic
//! merge patch (lists merged by their keys), as upstream's patcher does
//! them. Server-side apply is in `apply.rs`.

mod common;

use common::*;
use registry::engine::PatchKind;
use serde_json::{Value, json};

#[tokio::test]
async fn json_patch_replaces_and_adds() {
    let reg = setup().await;
    let cms = configmaps(&reg);
    let c = reg
        .create(&cms, "default", configmap("c"), &wopts("t"))
        .await
        .unwrap();
    let patch = json!([
        {"op": "replace", "path": "/data/k", "value": "x"},
        {"op": "add", "path": "/data/n", "value": "1"}
    ]);
    let (out, created) = reg
        .patch(
            &cms,
            "default",
            "c",
            PatchKind::Json,
            &patch,
            None,
            &wopts("p"),
        )
        .await
        .unwrap();
    assert!(!created);
    assert_eq!(out["data"], json!({"k": "x", "n": "1"}));
    assert_ne!(rv(&out), rv(&c));
    assert_eq!(out["metadata"]["uid"], c["metadata"]["uid"]);
}

#[tokio::test]
async fn failed_json_patch_test_changes_nothing() {
    let reg = setup().await;
    let cms = configmaps(&reg);
    let c = reg
        .create(&cms, "default", configmap("c"), &wopts("t"))
        .await
        .unwrap();
    let patch = json!([
        {"op": "test", "path": "/data/k", "value": "not-v"},
        {"op": "replace", "path": "/data/k", "value": "x"}
    ]);
    let e = reg
        .patch(
            &cms,
            "default",
            "c",
            PatchKind::Json,
            &patch,
            None,
            &wopts("p"),
        )
        .await
        .expect_err("test op fails");
    assert!(e.code >= 400 && e.code < 500, "{e:?}");
    let got = reg.get(&cms, "default", "c", "").await.unwrap();
    assert_eq!(rv(&got), rv(&c));
}

#[tokio::test]
async fn merge_patch_sets_and_removes_keys() {
    let reg = setup().await;
    let cms = configmaps(&reg);
    reg.create(&cms, "default", configmap("c"), &wopts("t"))
        .await
        .unwrap();
    let (out, _) = reg
        .patch(
            &cms,
            "default",
            "c",
            PatchKind::Merge,
            &json!({"data": {"k": null, "n": "1"}, "metadata": {"labels": {"a": "b"}}}),
            None,
            &wopts("p"),
        )
        .await
        .unwrap();
    assert_eq!(out["data"], json!({"n": "1"}));
    assert_eq!(out["metadata"]["labels"]["a"], "b");
}

#[tokio::test]
async fn merge_patch_of_spec_bumps_generation() {
    let reg = setup().await;
    let deps = deployments(&reg);
    reg.create(&deps, "default", deployment("web", 1), &wopts("t"))
        .await
        .unwrap();
    let (out, _) = reg
        .patch(
            &deps,
            "default",
            "web",
            PatchKind::Merge,
            &json!({"spec": {"replicas": 3}}),
            None,
            &wopts("p"),
        )
        .await
        .unwrap();
    assert_eq!(out["spec"]["replicas"], 3);
    assert_eq!(out["metadata"]["generation"], 2);
}

fn container_names(d: &Value) -> Vec<(String, String)> {
    d["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_string(),
                c["image"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn strategic_merge_patch_merges_containers_by_name() {
    let reg = setup().await;
    let deps = deployments(&reg);
    reg.create(&deps, "default", deployment("web", 1), &wopts("t"))
        .await
        .unwrap();
    let add = json!({"spec": {"template": {"spec": {"containers": [
        {"name": "side", "image": "busybox:1.36"}]}}}});
    let (out, _) = reg
        .patch(
            &deps,
            "default",
            "web",
            PatchKind::Strategic,
            &add,
            None,
            &wopts("p"),
        )
        .await
        .unwrap();
    let mut got = container_names(&out);
    got.sort();
    assert_eq!(
        got,
        vec![
            ("app".to_string(), "nginx:1.27".to_string()),
            ("side".to_string(), "busybox:1.36".to_string())
        ]
    );
    // Changing one container by name leaves the other alone.
    let bump = json!({"spec": {"template": {"spec": {"containers": [
        {"name": "app", "image": "nginx:1.28"}]}}}});
    let (out, _) = reg
        .patch(
            &deps,
            "default",
            "web",
            PatchKind::Strategic,
            &bump,
            None,
            &wopts("p"),
        )
        .await
        .unwrap();
    let mut got = container_names(&out);
    got.sort();
    assert_eq!(got[0], ("app".to_string(), "nginx:1.28".to_string()));
    assert_eq!(got[1].0, "side");
    // `$patch: delete` removes one by name.
    let del = json!({"spec": {"template": {"spec": {"containers": [
        {"name": "side", "$patch": "delete"}]}}}});
    let (out, _) = reg
        .patch(
            &deps,
            "default",
            "web",
            PatchKind::Strategic,
            &del,
            None,
            &wopts("p"),
        )
        .await
        .unwrap();
    assert_eq!(
        container_names(&out),
        vec![("app".to_string(), "nginx:1.28".to_string())]
    );
}

#[tokio::test]
async fn strategic_merge_patch_of_a_custom_resource_is_unsupported() {
    let reg = setup().await;
    let (_, widgets) = install_widgets(&reg).await;
    reg.create(
        &widgets,
        "default",
        widget("w", json!({"size": 2})),
        &wopts("t"),
    )
    .await
    .unwrap();
    let e = reg
        .patch(
            &widgets,
            "default",
            "w",
            PatchKind::Strategic,
            &json!({"spec": {"size": 3}}),
            None,
            &wopts("p"),
        )
        .await
        .expect_err("415");
    assert_eq!(e.code, 415);
}

#[tokio::test]
async fn patch_of_missing_object_is_not_found() {
    let reg = setup().await;
    let e = reg
        .patch(
            &configmaps(&reg),
            "default",
            "nope",
            PatchKind::Merge,
            &json!({"data": {"a": "b"}}),
            None,
            &wopts("p"),
        )
        .await
        .expect_err("404");
    assert_eq!(e.code, 404);
}

#[tokio::test]
async fn patch_naming_a_stale_resource_version_conflicts() {
    let reg = setup().await;
    let cms = configmaps(&reg);
    let c = reg
        .create(&cms, "default", configmap("c"), &wopts("t"))
        .await
        .unwrap();
    reg.patch(
        &cms,
        "default",
        "c",
        PatchKind::Merge,
        &json!({"data": {"k": "1"}}),
        None,
        &wopts("p"),
    )
    .await
    .unwrap();
    let stale = json!({"metadata": {"resourceVersion": rv(&c)}, "data": {"k": "2"}});
    let e = reg
        .patch(
            &cms,
            "default",
            "c",
            PatchKind::Merge,
            &stale,
            None,
            &wopts("p"),
        )
        .await
        .expect_err("conflict");
    assert_eq!((e.code, e.reason.as_str()), (409, "Conflict"));
    assert!(
        e.message.contains("the object has been modified"),
        "{}",
        e.message
    );
    // The current version is accepted.
    let cur = reg.get(&cms, "default", "c", "").await.unwrap();
    let ok = json!({"metadata": {"resourceVersion": rv(&cur)}, "data": {"k": "3"}});
    let (out, _) = reg
        .patch(
            &cms,
            "default",
            "c",
            PatchKind::Merge,
            &ok,
            None,
            &wopts("p"),
        )
        .await
        .unwrap();
    assert_eq!(out["data"]["k"], "3");
}
