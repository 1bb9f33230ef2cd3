//! CustomResourceDefinitions through the engine: a stored CRD is served
//! (catalog, status conditions), and its objects are pruned, defaulted and
//! validated against the version's structural schema.

mod common;

use common::*;
use registry::cache::EventType::Added;
use serde_json::{Value, json};
use std::time::Duration;

fn condition<'a>(crd: &'a Value, ty: &str) -> &'a Value {
    crd["status"]["conditions"]
        .as_array()
        .expect("conditions")
        .iter()
        .find(|c| c["type"] == ty)
        .unwrap_or_else(|| panic!("condition {ty} in {}", crd["status"]))
}

#[tokio::test]
async fn crd_becomes_servable_and_established() {
    let reg = setup().await;
    assert!(reg.catalog().find("example.com", "v1", "widgets").is_none());
    let (crd, widgets) = install_widgets(&reg).await;
    assert_eq!(widgets.kind, "Widget");
    assert!(widgets.namespaced);
    assert!(widgets.has_subresource("status"));
    for ty in ["Established", "NamesAccepted"] {
        assert_eq!(condition(&crd, ty)["status"], "True", "{ty}");
    }
    assert_eq!(crd["status"]["acceptedNames"]["kind"], "Widget");
    assert_eq!(crd["status"]["acceptedNames"]["plural"], "widgets");
    assert_eq!(crd["status"]["storedVersions"], json!(["v1"]));
    // The stored CRD says the same.
    let crds = res(
        &reg,
        "apiextensions.k8s.io",
        "v1",
        "customresourcedefinitions",
    );
    let got = reg.get(&crds, "", "widgets.example.com", "").await.unwrap();
    assert_eq!(condition(&got, "Established")["status"], "True");
}

#[tokio::test]
async fn crd_name_must_be_plural_dot_group() {
    let reg = setup().await;
    let crds = res(
        &reg,
        "apiextensions.k8s.io",
        "v1",
        "customresourcedefinitions",
    );
    let mut bad = widget_crd();
    bad["metadata"]["name"] = "gizmos.example.com".into();
    let e = reg.create(&crds, "", bad, &wopts("t")).await.unwrap_err();
    assert_eq!(e.code, 422);
    assert!(e.causes.iter().any(|c| c.field == "metadata.name"), "{e:?}");
}

#[tokio::test]
async fn custom_objects_round_trip() {
    let reg = setup().await;
    let (_, widgets) = install_widgets(&reg).await;
    let w = reg
        .create(
            &widgets,
            "default",
            widget("w", json!({"size": 4, "color": "red"})),
            &wopts("t"),
        )
        .await
        .unwrap();
    assert_eq!(w["apiVersion"], "example.com/v1");
    assert_eq!(w["kind"], "Widget");
    assert_eq!(w["spec"], json!({"size": 4, "color": "red"}));
    let got = reg.get(&widgets, "default", "w", "").await.unwrap();
    assert_eq!(got["spec"], w["spec"]);
    let l = reg.list(&widgets, "default", &lopts()).await.unwrap();
    assert_eq!(names(&l.items), vec!["w"]);
}

#[tokio::test]
async fn custom_objects_are_pruned() {
    let reg = setup().await;
    let (_, widgets) = install_widgets(&reg).await;
    let mut body = widget("w", json!({"size": 2, "bogus": true}));
    body["extra"] = "dropped".into();
    body["metadata"]["labels"] = json!({"keep": "me"});
    let w = reg
        .create(&widgets, "default", body, &wopts("t"))
        .await
        .unwrap();
    assert!(w["spec"].get("bogus").is_none(), "{w}");
    assert!(w.get("extra").is_none(), "{w}");
    assert_eq!(w["metadata"]["labels"]["keep"], "me");
}

#[tokio::test]
async fn custom_objects_are_defaulted() {
    let reg = setup().await;
    let (_, widgets) = install_widgets(&reg).await;
    let w = reg
        .create(
            &widgets,
            "default",
            widget("w", json!({"color": "blue"})),
            &wopts("t"),
        )
        .await
        .unwrap();
    assert_eq!(w["spec"]["size"], 3);
    // Defaults apply on update too, when the field is dropped.
    let mut u = w.clone();
    u["spec"] = json!({"color": "red"});
    let u = reg
        .update(&widgets, "default", "w", u, None, &wopts("t"))
        .await
        .unwrap();
    assert_eq!(u["spec"]["size"], 3);
}

#[tokio::test]
async fn custom_objects_are_validated_against_the_schema() {
    let reg = setup().await;
    let (_, widgets) = install_widgets(&reg).await;
    let e = reg
        .create(
            &widgets,
            "default",
            widget("big", json!({"size": 20})),
            &wopts("t"),
        )
        .await
        .unwrap_err();
    assert_eq!((e.code, e.reason.as_str()), (422, "Invalid"));
    assert_eq!(
        e.message,
        "Widget.example.com \"big\" is invalid: spec.size: Invalid value: 20: spec.size in body should be less than or equal to 10"
    );
    assert_eq!(e.causes.len(), 1);
    assert_eq!(e.causes[0].field, "spec.size");
    assert_eq!(e.causes[0].reason, "FieldValueInvalid");

    let e = reg
        .create(
            &widgets,
            "default",
            widget("green", json!({"color": "green"})),
            &wopts("t"),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code, 422);
    assert_eq!(
        e.message,
        "Widget.example.com \"green\" is invalid: spec.color: Unsupported value: \"green\": supported values: \"red\", \"blue\""
    );

    let e = reg
        .create(
            &widgets,
            "default",
            widget("typed", json!({"size": "big"})),
            &wopts("t"),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code, 422);
    assert!(
        e.message
            .contains("spec.size in body must be of type integer"),
        "{}",
        e.message
    );
    // Nothing was stored.
    let l = reg.list(&widgets, "default", &lopts()).await.unwrap();
    assert!(l.items.is_empty());
}

#[tokio::test]
async fn custom_object_updates_are_validated() {
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
    u["spec"]["size"] = 0.into();
    let e = reg
        .update(&widgets, "default", "w", u, None, &wopts("t"))
        .await
        .unwrap_err();
    assert_eq!(e.code, 422);
    assert!(
        e.message
            .contains("spec.size in body should be greater than or equal to 1"),
        "{}",
        e.message
    );
}

#[tokio::test]
async fn custom_object_with_wrong_api_version_is_bad_request() {
    let reg = setup().await;
    let (_, widgets) = install_widgets(&reg).await;
    let mut body = widget("w", json!({}));
    body["apiVersion"] = "example.com/v2".into();
    let e = reg
        .create(&widgets, "default", body, &wopts("t"))
        .await
        .unwrap_err();
    assert_eq!(e.code, 400);
}

#[tokio::test]
async fn cluster_scoped_crd_serves_cluster_objects() {
    let reg = setup().await;
    let crds = res(
        &reg,
        "apiextensions.k8s.io",
        "v1",
        "customresourcedefinitions",
    );
    let crd = json!({
        "metadata": {"name": "gadgets.example.org"},
        "spec": {"group": "example.org", "scope": "Cluster",
                 "names": {"kind": "Gadget", "plural": "gadgets"},
                 "versions": [{"name": "v1alpha1", "served": true, "storage": true,
                     "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                         "spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}}}]}});
    reg.create(&crds, "", crd, &wopts("t")).await.unwrap();
    let mut gadgets = None;
    for _ in 0..100 {
        gadgets = reg.catalog().find("example.org", "v1alpha1", "gadgets");
        if gadgets.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let gadgets = gadgets.expect("gadgets served");
    assert!(!gadgets.namespaced);
    let g = reg
        .create(
            &gadgets,
            "",
            json!({"metadata": {"name": "g"}, "spec": {"anything": {"goes": [1, 2]}}}),
            &wopts("t"),
        )
        .await
        .unwrap();
    assert!(g["metadata"].get("namespace").is_none(), "{g}");
    // x-kubernetes-preserve-unknown-fields keeps what the schema does not name.
    assert_eq!(g["spec"]["anything"]["goes"], json!([1, 2]));
    assert_eq!(g["metadata"]["generation"], 1);
}

#[tokio::test]
async fn custom_objects_are_watched() {
    let reg = setup().await;
    let (_, widgets) = install_widgets(&reg).await;
    let mut w = reg
        .watch(&widgets, "default", &watch_from("0"))
        .await
        .unwrap();
    reg.create(
        &widgets,
        "default",
        widget("w", json!({"size": 2})),
        &wopts("t"),
    )
    .await
    .unwrap();
    assert_eq!(expect_next(&mut w).await, ev(Added, "w"));
}

#[tokio::test]
async fn deleted_crd_stops_being_served() {
    let reg = setup().await;
    let (_, widgets) = install_widgets(&reg).await;
    let crds = res(
        &reg,
        "apiextensions.k8s.io",
        "v1",
        "customresourcedefinitions",
    );
    reg.delete(&crds, "", "widgets.example.com", &dopts())
        .await
        .unwrap();
    // As upstream, the CRD stays (terminating, with the cleanup finalizer)
    // while its objects are removed, and refuses new ones meanwhile.
    let crd = reg.get(&crds, "", "widgets.example.com", "").await.unwrap();
    assert!(
        crd.pointer("/metadata/deletionTimestamp").is_some(),
        "{crd}"
    );
    assert_eq!(
        crd["metadata"]["finalizers"],
        json!(["customresourcecleanup.apiextensions.k8s.io"])
    );
    let err = reg
        .create(
            &widgets,
            "default",
            widget("late", json!({"size": 1})),
            &wopts("t"),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code, 405, "{err:?}");
    // The cleanup controller's last step: drop the finalizer; then it is gone.
    let mut done = crd.clone();
    done["metadata"]["finalizers"] = json!([]);
    reg.update(&crds, "", "widgets.example.com", done, None, &wopts("t"))
        .await
        .unwrap();
    let crd_gone = async {
        for _ in 0..150 {
            if reg.catalog().find("example.com", "v1", "widgets").is_none() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        false
    };
    assert!(crd_gone.await, "widgets still served");
}
