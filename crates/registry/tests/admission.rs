//! Admission that reads other objects: Priority.

mod common;

use common::*;
use serde_json::json;

fn pod_with_class(name: &str, class: &str) -> serde_json::Value {
    let mut p = pod(name);
    p["spec"]["priorityClassName"] = json!(class);
    p
}

#[tokio::test]
async fn priority_class_sets_priority_and_preemption_policy() {
    let reg = setup().await;
    let pcs = res(&reg, "scheduling.k8s.io", "v1", "priorityclasses");
    reg.create(
        &pcs,
        "",
        json!({"metadata": {"name": "high"}, "value": 1000, "preemptionPolicy": "Never"}),
        &wopts("t"),
    )
    .await
    .unwrap();
    let pods = pods(&reg);
    let p = reg
        .create(&pods, "default", pod_with_class("a", "high"), &wopts("t"))
        .await
        .unwrap();
    assert_eq!(p["spec"]["priority"], 1000);
    assert_eq!(p["spec"]["preemptionPolicy"], "Never");

    let err = reg
        .create(
            &pods,
            "default",
            pod_with_class("b", "missing"),
            &wopts("t"),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code, 403);
    assert!(
        err.message
            .contains("no PriorityClass with name missing was found"),
        "{}",
        err.message
    );

    let mut wrong = pod_with_class("c", "high");
    wrong["spec"]["priority"] = json!(5);
    let err = reg
        .create(&pods, "default", wrong, &wopts("t"))
        .await
        .unwrap_err();
    assert_eq!(err.code, 403, "{}", err.message);
}

#[tokio::test]
async fn global_default_class_applies_to_pods_without_one() {
    let reg = setup().await;
    let pods = pods(&reg);
    let p = reg
        .create(&pods, "default", pod("plain"), &wopts("t"))
        .await
        .unwrap();
    assert_eq!(p["spec"]["priority"], 0);
    let pcs = res(&reg, "scheduling.k8s.io", "v1", "priorityclasses");
    reg.create(
        &pcs,
        "",
        json!({"metadata": {"name": "dflt"}, "value": 7, "globalDefault": true}),
        &wopts("t"),
    )
    .await
    .unwrap();
    let p = reg
        .create(&pods, "default", pod("later"), &wopts("t"))
        .await
        .unwrap();
    assert_eq!(p["spec"]["priority"], 7);
    assert_eq!(p["spec"]["priorityClassName"], "dflt");
}
