//! Server-side apply through `Registry::patch`: creation, field ownership
//! recorded as Apply entries, conflicts with other managers (409 with
//! FieldManagerConflict causes) and `force`, as upstream's field manager.

mod common;

use common::*;
use registry::engine::PatchKind;
use registry::options::WriteOptions;
use serde_json::{Value, json};

fn apply_opts(manager: &str, force: bool) -> WriteOptions {
    WriteOptions {
        force,
        ..wopts(manager)
    }
}

fn apply_cm(k: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"},
           "data": {"k": k}})
}

#[tokio::test]
async fn apply_creates_and_records_an_apply_entry() {
    let reg = setup().await;
    let cms = configmaps(&reg);
    let (out, created) = reg
        .patch(
            &cms,
            "default",
            "cfg",
            PatchKind::Apply,
            &apply_cm("a"),
            None,
            &apply_opts("alice", false),
        )
        .await
        .unwrap();
    assert!(created);
    assert_eq!(out["data"]["k"], "a");
    assert!(out["metadata"]["uid"].is_string());
    let mf = out["metadata"]["managedFields"].as_array().unwrap();
    let alice = mf.iter().find(|e| e["manager"] == "alice").expect("alice");
    assert_eq!(alice["operation"], "Apply");
    assert!(alice["fieldsV1"]["f:data"]["f:k"].is_object(), "{alice}");
    // Applying the same again is a no-op.
    let (again, created) = reg
        .patch(
            &cms,
            "default",
            "cfg",
            PatchKind::Apply,
            &apply_cm("a"),
            None,
            &apply_opts("alice", false),
        )
        .await
        .unwrap();
    assert!(!created);
    assert_eq!(rv(&again), rv(&out));
}

#[tokio::test]
async fn conflicting_apply_by_another_manager_conflicts_until_forced() {
    let reg = setup().await;
    let cms = configmaps(&reg);
    reg.patch(
        &cms,
        "default",
        "cfg",
        PatchKind::Apply,
        &apply_cm("a"),
        None,
        &apply_opts("alice", false),
    )
    .await
    .unwrap();
    let e = reg
        .patch(
            &cms,
            "default",
            "cfg",
            PatchKind::Apply,
            &apply_cm("b"),
            None,
            &apply_opts("bob", false),
        )
        .await
        .expect_err("conflict");
    assert_eq!((e.code, e.reason.as_str()), (409, "Conflict"));
    assert_eq!(
        e.message,
        "Apply failed with 1 conflict: conflict with \"alice\": .data.k"
    );
    assert_eq!(e.causes.len(), 1);
    assert_eq!(e.causes[0].reason, "FieldManagerConflict");
    assert_eq!(e.causes[0].field, ".data.k");
    assert_eq!(e.causes[0].message, "conflict with \"alice\"");
    assert_eq!(
        reg.get(&cms, "default", "cfg", "").await.unwrap()["data"]["k"],
        "a"
    );

    let (out, _) = reg
        .patch(
            &cms,
            "default",
            "cfg",
            PatchKind::Apply,
            &apply_cm("b"),
            None,
            &apply_opts("bob", true),
        )
        .await
        .unwrap();
    assert_eq!(out["data"]["k"], "b");
    let mf = out["metadata"]["managedFields"].as_array().unwrap();
    let bob = mf.iter().find(|e| e["manager"] == "bob").expect("bob");
    assert!(bob["fieldsV1"]["f:data"]["f:k"].is_object());
    // Alice lost the field (and with it her whole entry).
    let alice_owns_k = mf
        .iter()
        .any(|e| e["manager"] == "alice" && e["fieldsV1"]["f:data"]["f:k"].is_object());
    assert!(!alice_owns_k, "{mf:?}");
}

#[tokio::test]
async fn apply_of_the_same_value_by_another_manager_shares_ownership() {
    let reg = setup().await;
    let cms = configmaps(&reg);
    reg.patch(
        &cms,
        "default",
        "cfg",
        PatchKind::Apply,
        &apply_cm("a"),
        None,
        &apply_opts("alice", false),
    )
    .await
    .unwrap();
    let (out, _) = reg
        .patch(
            &cms,
            "default",
            "cfg",
            PatchKind::Apply,
            &apply_cm("a"),
            None,
            &apply_opts("bob", false),
        )
        .await
        .unwrap();
    let mf = out["metadata"]["managedFields"].as_array().unwrap();
    for m in ["alice", "bob"] {
        let e = mf.iter().find(|e| e["manager"] == m).expect(m);
        assert!(e["fieldsV1"]["f:data"]["f:k"].is_object(), "{m}: {e}");
    }
}

#[tokio::test]
async fn update_after_apply_then_apply_conflicts_with_the_updater() {
    let reg = setup().await;
    let cms = configmaps(&reg);
    reg.patch(
        &cms,
        "default",
        "cfg",
        PatchKind::Apply,
        &apply_cm("a"),
        None,
        &apply_opts("alice", false),
    )
    .await
    .unwrap();
    reg.patch(
        &cms,
        "default",
        "cfg",
        PatchKind::Merge,
        &json!({"data": {"k": "edited"}}),
        None,
        &wopts("kubectl-edit"),
    )
    .await
    .unwrap();
    let e = reg
        .patch(
            &cms,
            "default",
            "cfg",
            PatchKind::Apply,
            &apply_cm("a"),
            None,
            &apply_opts("alice", false),
        )
        .await
        .expect_err("conflict with the updater");
    assert_eq!(e.code, 409);
    // An Update manager is named with its API version, as upstream prints it.
    assert_eq!(
        e.message,
        "Apply failed with 1 conflict: conflict with \"kubectl-edit\" using v1: .data.k"
    );
}

#[tokio::test]
async fn apply_removes_fields_the_manager_no_longer_applies() {
    let reg = setup().await;
    let cms = configmaps(&reg);
    let two = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"},
                     "data": {"k": "a", "gone": "soon"}});
    reg.patch(
        &cms,
        "default",
        "cfg",
        PatchKind::Apply,
        &two,
        None,
        &apply_opts("alice", false),
    )
    .await
    .unwrap();
    let (out, _) = reg
        .patch(
            &cms,
            "default",
            "cfg",
            PatchKind::Apply,
            &apply_cm("a"),
            None,
            &apply_opts("alice", false),
        )
        .await
        .unwrap();
    assert_eq!(out["data"], json!({"k": "a"}));
}
