//! DELETE as upstream's generic registry does it: finalizers, propagation
//! policy, graceful pod deletion, preconditions and namespace termination.

mod common;

use common::*;
use registry::cache::EventType;
use registry::engine::DeleteOutcome;
use registry::options::DeleteOptions;
use serde_json::{Value, json};

fn pending(out: DeleteOutcome) -> Value {
    match out {
        DeleteOutcome::Pending(v) => v,
        DeleteOutcome::Deleted(v) => panic!("expected a pending deletion, got deleted {v}"),
    }
}

fn deleted(out: DeleteOutcome) -> Value {
    match out {
        DeleteOutcome::Deleted(v) => v,
        DeleteOutcome::Pending(v) => panic!("expected deletion, still pending {v}"),
    }
}

#[tokio::test]
async fn finalizers_keep_the_object_until_the_last_is_removed() {
    let reg = setup().await;
    let cms = configmaps(&reg);
    let mut body = configmap("keep");
    body["metadata"]["finalizers"] = json!(["example.com/a", "example.com/b"]);
    reg.create(&cms, "default", body, &wopts("t"))
        .await
        .unwrap();

    let p = pending(reg.delete(&cms, "default", "keep", &dopts()).await.unwrap());
    assert!(p["metadata"]["deletionTimestamp"].is_string(), "{p}");
    assert_eq!(p["metadata"]["deletionGracePeriodSeconds"], 0);
    let got = reg.get(&cms, "default", "keep", "").await.unwrap();
    assert!(got["metadata"]["deletionTimestamp"].is_string());

    let mut w = reg
        .watch(&cms, "default", &watch_from(&rv(&got)))
        .await
        .unwrap();

    // Removing one finalizer keeps it.
    let mut one = got.clone();
    one["metadata"]["finalizers"] = json!(["example.com/b"]);
    let one = reg
        .update(&cms, "default", "keep", one, None, &wopts("t"))
        .await
        .unwrap();
    assert!(reg.get(&cms, "default", "keep", "").await.is_ok());
    assert_eq!(expect_next(&mut w).await, ev(EventType::Modified, "keep"));

    // Removing the last one deletes it.
    let mut none = one;
    none["metadata"]["finalizers"] = json!([]);
    reg.update(&cms, "default", "keep", none, None, &wopts("t"))
        .await
        .unwrap();
    let e = reg.get(&cms, "default", "keep", "").await.unwrap_err();
    assert_eq!(e.code, 404);
    assert_eq!(expect_next(&mut w).await, ev(EventType::Deleted, "keep"));
}

#[tokio::test]
async fn no_new_finalizers_on_an_object_being_deleted() {
    let reg = setup().await;
    let cms = configmaps(&reg);
    let mut body = configmap("keep");
    body["metadata"]["finalizers"] = json!(["example.com/a"]);
    reg.create(&cms, "default", body, &wopts("t"))
        .await
        .unwrap();
    let p = pending(reg.delete(&cms, "default", "keep", &dopts()).await.unwrap());
    let mut more = p;
    more["metadata"]["finalizers"] = json!(["example.com/a", "example.com/new"]);
    let e = reg
        .update(&cms, "default", "keep", more, None, &wopts("t"))
        .await
        .unwrap_err();
    assert_eq!(e.code, 422);
    assert!(
        e.message
            .contains("no new finalizers can be added if the object is being deleted"),
        "{}",
        e.message
    );
}

#[tokio::test]
async fn orphan_policy_adds_the_orphan_finalizer() {
    let reg = setup().await;
    let deps = deployments(&reg);
    reg.create(&deps, "default", deployment("web", 1), &wopts("t"))
        .await
        .unwrap();
    let opts = DeleteOptions {
        propagation_policy: Some("Orphan".into()),
        ..Default::default()
    };
    let p = pending(reg.delete(&deps, "default", "web", &opts).await.unwrap());
    assert_eq!(p["metadata"]["finalizers"], json!(["orphan"]));
    assert!(p["metadata"]["deletionTimestamp"].is_string());
    // The deprecated orphanDependents=true does the same.
    reg.create(&deps, "default", deployment("api", 1), &wopts("t"))
        .await
        .unwrap();
    let opts = DeleteOptions {
        orphan_dependents: Some(true),
        ..Default::default()
    };
    let p = pending(reg.delete(&deps, "default", "api", &opts).await.unwrap());
    assert_eq!(p["metadata"]["finalizers"], json!(["orphan"]));
}

#[tokio::test]
async fn foreground_policy_adds_the_foreground_finalizer() {
    let reg = setup().await;
    let deps = deployments(&reg);
    reg.create(&deps, "default", deployment("web", 1), &wopts("t"))
        .await
        .unwrap();
    let opts = DeleteOptions {
        propagation_policy: Some("Foreground".into()),
        ..Default::default()
    };
    let p = pending(reg.delete(&deps, "default", "web", &opts).await.unwrap());
    assert_eq!(p["metadata"]["finalizers"], json!(["foregroundDeletion"]));
    assert!(reg.get(&deps, "default", "web", "").await.is_ok());
}

#[tokio::test]
async fn background_policy_deletes_at_once() {
    let reg = setup().await;
    let deps = deployments(&reg);
    reg.create(&deps, "default", deployment("web", 1), &wopts("t"))
        .await
        .unwrap();
    let opts = DeleteOptions {
        propagation_policy: Some("Background".into()),
        ..Default::default()
    };
    deleted(reg.delete(&deps, "default", "web", &opts).await.unwrap());
    assert_eq!(
        reg.get(&deps, "default", "web", "").await.unwrap_err().code,
        404
    );
}

#[tokio::test]
async fn pod_on_a_node_is_deleted_gracefully() {
    let reg = setup().await;
    let pods = pods(&reg);
    reg.create(&pods, "default", pod_on("p", "node-1"), &wopts("t"))
        .await
        .unwrap();
    let before = jiff::Timestamp::now();
    let p = pending(reg.delete(&pods, "default", "p", &dopts()).await.unwrap());
    assert_eq!(p["metadata"]["deletionGracePeriodSeconds"], 30);
    let when: jiff::Timestamp = p["metadata"]["deletionTimestamp"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    // deletionTimestamp is when the grace period ends.
    assert!(
        when >= before + jiff::SignedDuration::from_secs(29),
        "{when}"
    );
    assert!(reg.get(&pods, "default", "p", "").await.is_ok());
}

#[tokio::test]
async fn pod_grace_period_comes_from_the_request() {
    let reg = setup().await;
    let pods = pods(&reg);
    reg.create(&pods, "default", pod_on("p", "node-1"), &wopts("t"))
        .await
        .unwrap();
    let opts = DeleteOptions {
        grace_period_seconds: Some(5),
        ..Default::default()
    };
    let p = pending(reg.delete(&pods, "default", "p", &opts).await.unwrap());
    assert_eq!(p["metadata"]["deletionGracePeriodSeconds"], 5);
    // A later delete with grace 0 (the kubelet's final delete) removes it.
    let now = DeleteOptions {
        grace_period_seconds: Some(0),
        ..Default::default()
    };
    deleted(reg.delete(&pods, "default", "p", &now).await.unwrap());
    assert_eq!(
        reg.get(&pods, "default", "p", "").await.unwrap_err().code,
        404
    );
}

#[tokio::test]
async fn pod_without_a_node_is_deleted_at_once() {
    let reg = setup().await;
    let pods = pods(&reg);
    reg.create(&pods, "default", pod("p"), &wopts("t"))
        .await
        .unwrap();
    let gone = deleted(reg.delete(&pods, "default", "p", &dopts()).await.unwrap());
    assert_eq!(gone["metadata"]["name"], "p");
    assert_eq!(
        reg.get(&pods, "default", "p", "").await.unwrap_err().code,
        404
    );
}

#[tokio::test]
async fn delete_preconditions_conflict() {
    let reg = setup().await;
    let cms = configmaps(&reg);
    let c = reg
        .create(&cms, "default", configmap("c"), &wopts("t"))
        .await
        .unwrap();
    let uid = c["metadata"]["uid"].as_str().unwrap().to_string();
    let bad_uid = DeleteOptions {
        precondition_uid: Some("00000000-0000-0000-0000-000000000000".into()),
        ..Default::default()
    };
    let e = reg
        .delete(&cms, "default", "c", &bad_uid)
        .await
        .err()
        .expect("uid precondition fails");
    assert_eq!((e.code, e.reason.as_str()), (409, "Conflict"));
    assert_eq!(
        e.message,
        format!(
            "Operation cannot be fulfilled on configmaps \"c\": Precondition failed: UID in precondition: 00000000-0000-0000-0000-000000000000, UID in object meta: {uid}"
        )
    );
    let bad_rv = DeleteOptions {
        precondition_resource_version: Some("1".into()),
        ..Default::default()
    };
    let e = reg
        .delete(&cms, "default", "c", &bad_rv)
        .await
        .err()
        .expect("rv precondition fails");
    assert_eq!(e.code, 409);
    assert!(
        e.message
            .contains("Precondition failed: ResourceVersion in precondition: 1")
    );
    // Matching preconditions delete.
    let good = DeleteOptions {
        precondition_uid: Some(uid),
        precondition_resource_version: Some(rv(&c)),
        ..Default::default()
    };
    deleted(reg.delete(&cms, "default", "c", &good).await.unwrap());
}

#[tokio::test]
async fn delete_of_missing_object_is_not_found() {
    let reg = setup().await;
    let e = reg
        .delete(&configmaps(&reg), "default", "nope", &dopts())
        .await
        .err()
        .expect("not found");
    assert_eq!(e.code, 404);
    assert_eq!(e.message, "configmaps \"nope\" not found");
}

#[tokio::test]
async fn delete_collection_deletes_what_the_selector_picks() {
    let reg = setup().await;
    let cms = configmaps(&reg);
    for (n, tier) in [("a", "x"), ("b", "x"), ("c", "y")] {
        reg.create(
            &cms,
            "default",
            configmap_labelled(n, json!({"tier": tier})),
            &wopts("t"),
        )
        .await
        .unwrap();
    }
    let out = reg
        .delete_collection(&cms, "default", &labels("tier=x"), &dopts())
        .await
        .unwrap();
    assert_eq!(out.len(), 2);
    let left = reg.list(&cms, "default", &lopts()).await.unwrap();
    assert_eq!(names(&left.items), vec!["c"]);
}

#[tokio::test]
async fn namespace_deletion_terminates_then_finalize_removes_it() {
    let reg = setup().await;
    let nss = namespaces(&reg);
    let cms = configmaps(&reg);
    create_namespace(&reg, "doomed").await;
    reg.create(&cms, "doomed", configmap("before"), &wopts("t"))
        .await
        .unwrap();

    let p = pending(reg.delete(&nss, "", "doomed", &dopts()).await.unwrap());
    assert_eq!(p["status"]["phase"], "Terminating");
    assert!(p["metadata"]["deletionTimestamp"].is_string());
    let got = reg.get(&nss, "", "doomed", "").await.unwrap();
    assert_eq!(got["status"]["phase"], "Terminating");
    assert_eq!(got["spec"]["finalizers"], json!(["kubernetes"]));

    let e = reg
        .create(&cms, "doomed", configmap("after"), &wopts("t"))
        .await
        .unwrap_err();
    assert_eq!((e.code, e.reason.as_str()), (403, "Forbidden"));
    assert_eq!(
        e.message,
        "unable to create new content in namespace doomed because it is being terminated"
    );

    reg.finalize_namespace("doomed", &json!({"spec": {"finalizers": []}}), &wopts("t"))
        .await
        .unwrap();
    let e = reg.get(&nss, "", "doomed", "").await.unwrap_err();
    assert_eq!(e.code, 404);
}

#[tokio::test]
async fn finalize_of_an_active_namespace_keeps_it() {
    let reg = setup().await;
    create_namespace(&reg, "live").await;
    let out = reg
        .finalize_namespace("live", &json!({"spec": {"finalizers": []}}), &wopts("t"))
        .await
        .unwrap();
    assert_eq!(out["status"]["phase"], "Active");
    assert!(reg.get(&namespaces(&reg), "", "live", "").await.is_ok());
}
