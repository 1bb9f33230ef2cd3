//! Metadata the engine owns on create and update, checked against
//! upstream's generic registry: system fields, generateName, generation,
//! managedFields, no-op updates, dry runs, conflicts and body checks.

mod common;

use common::*;
use serde_json::{Value, json};

#[tokio::test]
async fn create_sets_uid_timestamp_and_resource_version() {
    let reg = setup().await;
    let cms = configmaps(&reg);
    let mut body = configmap("cfg");
    // Client-supplied system fields are replaced, as upstream.
    body["metadata"]["uid"] = "not-a-uid".into();
    body["metadata"]["resourceVersion"] = "12345".into();
    let out = reg
        .create(&cms, "default", body, &wopts("test"))
        .await
        .unwrap();
    let uid = out["metadata"]["uid"].as_str().unwrap();
    assert!(uuid_like(uid), "uid {uid:?} is a UUID");
    assert_ne!(uid, "not-a-uid");
    let ts = out["metadata"]["creationTimestamp"].as_str().unwrap();
    assert!(ts.parse::<jiff::Timestamp>().is_ok(), "timestamp {ts}");
    assert!(ts.ends_with('Z'));
    let r = rv(&out);
    assert!(r.parse::<i64>().unwrap() > 0);
    assert_ne!(r, "12345");
    assert_eq!(out["metadata"]["namespace"], "default");
    // What GET returns is what create returned.
    let got = reg.get(&cms, "default", "cfg", "").await.unwrap();
    assert_eq!(got["metadata"]["uid"], out["metadata"]["uid"]);
    assert_eq!(rv(&got), r);
}

fn uuid_like(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts.iter().map(|p| p.len()).collect::<Vec<_>>() == vec![8, 4, 4, 4, 12]
        && s.chars().all(|c| c == '-' || c.is_ascii_hexdigit())
}

#[tokio::test]
async fn generate_name_appends_five_characters() {
    let reg = setup().await;
    let cms = configmaps(&reg);
    let body = json!({"metadata": {"generateName": "web-"}, "data": {}});
    let a = reg
        .create(&cms, "default", body.clone(), &wopts("test"))
        .await
        .unwrap();
    let b = reg
        .create(&cms, "default", body, &wopts("test"))
        .await
        .unwrap();
    let (na, nb) = (
        a["metadata"]["name"].as_str().unwrap(),
        b["metadata"]["name"].as_str().unwrap(),
    );
    assert!(
        na.starts_with("web-") && na.len() == "web-".len() + 5,
        "{na}"
    );
    assert_ne!(na, nb);
    assert_eq!(a["metadata"]["generateName"], "web-");
}

#[tokio::test]
async fn generation_starts_at_one_and_follows_spec_only() {
    let reg = setup().await;
    let deps = deployments(&reg);
    let d = reg
        .create(&deps, "default", deployment("web", 1), &wopts("test"))
        .await
        .unwrap();
    assert_eq!(d["metadata"]["generation"], 1);

    // A label change does not bump the generation.
    let mut l = d.clone();
    l["metadata"]["labels"] = json!({"tier": "front"});
    let l = reg
        .update(&deps, "default", "web", l, None, &wopts("test"))
        .await
        .unwrap();
    assert_eq!(l["metadata"]["generation"], 1);
    assert_ne!(rv(&l), rv(&d));

    // Nor does a status write.
    let mut s = l.clone();
    s["status"] = json!({"replicas": 1, "observedGeneration": 1});
    let s = reg
        .update(&deps, "default", "web", s, Some("status"), &wopts("ctrl"))
        .await
        .unwrap();
    assert_eq!(s["metadata"]["generation"], 1);

    // A spec change does.
    let mut sp = s.clone();
    sp["spec"]["replicas"] = 3.into();
    let sp = reg
        .update(&deps, "default", "web", sp, None, &wopts("test"))
        .await
        .unwrap();
    assert_eq!(sp["metadata"]["generation"], 2);
}

#[tokio::test]
async fn configmaps_have_no_generation() {
    // Upstream's ConfigMap strategy never sets metadata.generation.
    let reg = setup().await;
    let out = reg
        .create(&configmaps(&reg), "default", configmap("c"), &wopts("t"))
        .await
        .unwrap();
    assert!(out.pointer("/metadata/generation").is_none(), "{out}");
}

fn entry<'a>(obj: &'a Value, manager: &str) -> Option<&'a Value> {
    obj.pointer("/metadata/managedFields")?
        .as_array()?
        .iter()
        .find(|e| e["manager"] == manager)
}

#[tokio::test]
async fn managed_fields_record_the_manager_on_create_and_update() {
    let reg = setup().await;
    let cms = configmaps(&reg);
    let out = reg
        .create(&cms, "default", configmap("cfg"), &wopts("alice"))
        .await
        .unwrap();
    let e = entry(&out, "alice").expect("alice's entry");
    assert_eq!(e["operation"], "Update");
    assert_eq!(e["apiVersion"], "v1");
    assert_eq!(e["fieldsType"], "FieldsV1");
    assert!(e["fieldsV1"]["f:data"]["f:k"].is_object(), "{e}");
    assert!(e["time"].is_string());

    let mut upd = out.clone();
    upd["data"]["other"] = "x".into();
    let upd = reg
        .update(&cms, "default", "cfg", upd, None, &wopts("bob"))
        .await
        .unwrap();
    let bob = entry(&upd, "bob").expect("bob's entry");
    assert_eq!(bob["operation"], "Update");
    assert!(bob["fieldsV1"]["f:data"]["f:other"].is_object(), "{bob}");
    // Alice keeps what she still owns.
    let alice = entry(&upd, "alice").expect("alice keeps an entry");
    assert!(alice["fieldsV1"]["f:data"]["f:k"].is_object(), "{alice}");
}

#[tokio::test]
async fn default_manager_used_without_field_manager() {
    let reg = setup().await;
    let opts = registry::options::WriteOptions {
        default_manager: "kubectl-create".into(),
        ..Default::default()
    };
    let out = reg
        .create(&configmaps(&reg), "default", configmap("c"), &opts)
        .await
        .unwrap();
    assert!(entry(&out, "kubectl-create").is_some(), "{out}");
}

#[tokio::test]
async fn noop_update_keeps_resource_version() {
    let reg = setup().await;
    let cms = configmaps(&reg);
    let out = reg
        .create(&cms, "default", configmap("cfg"), &wopts("test"))
        .await
        .unwrap();
    let rev_before = reg.store.current_revision().await.unwrap();
    let same = reg
        .update(&cms, "default", "cfg", out.clone(), None, &wopts("test"))
        .await
        .unwrap();
    assert_eq!(rv(&same), rv(&out));
    assert_eq!(reg.store.current_revision().await.unwrap(), rev_before);
}

#[tokio::test]
async fn dry_run_create_writes_nothing() {
    let reg = setup().await;
    let cms = configmaps(&reg);
    let out = reg
        .create(&cms, "default", configmap("cfg"), &dry_run())
        .await
        .unwrap();
    assert_eq!(out["metadata"]["name"], "cfg");
    assert!(out["metadata"]["uid"].is_string());
    let e = reg.get(&cms, "default", "cfg", "").await.unwrap_err();
    assert_eq!(e.code, 404);
}

#[tokio::test]
async fn dry_run_update_and_delete_write_nothing() {
    let reg = setup().await;
    let cms = configmaps(&reg);
    let out = reg
        .create(&cms, "default", configmap("cfg"), &wopts("test"))
        .await
        .unwrap();
    let mut upd = out.clone();
    upd["data"]["k"] = "changed".into();
    let dr = reg
        .update(&cms, "default", "cfg", upd, None, &dry_run())
        .await
        .unwrap();
    assert_eq!(dr["data"]["k"], "changed");
    let got = reg.get(&cms, "default", "cfg", "").await.unwrap();
    assert_eq!(got["data"]["k"], "v");
    assert_eq!(rv(&got), rv(&out));

    let opts = registry::options::DeleteOptions {
        dry_run: true,
        ..Default::default()
    };
    reg.delete(&cms, "default", "cfg", &opts).await.unwrap();
    let got = reg.get(&cms, "default", "cfg", "").await.unwrap();
    assert_eq!(rv(&got), rv(&out));
}

#[tokio::test]
async fn stale_resource_version_on_update_conflicts() {
    let reg = setup().await;
    let cms = configmaps(&reg);
    let first = reg
        .create(&cms, "default", configmap("cfg"), &wopts("test"))
        .await
        .unwrap();
    let mut a = first.clone();
    a["data"]["k"] = "a".into();
    reg.update(&cms, "default", "cfg", a, None, &wopts("test"))
        .await
        .unwrap();
    let mut b = first.clone();
    b["data"]["k"] = "b".into();
    let e = reg
        .update(&cms, "default", "cfg", b, None, &wopts("test"))
        .await
        .unwrap_err();
    assert_eq!(e.code, 409);
    assert_eq!(e.reason, "Conflict");
    assert_eq!(
        e.message,
        "Operation cannot be fulfilled on configmaps \"cfg\": the object has been modified; please apply your changes to the latest version and try again"
    );
}

#[tokio::test]
async fn update_of_missing_object_is_not_found() {
    let reg = setup().await;
    let e = reg
        .update(
            &configmaps(&reg),
            "default",
            "nope",
            configmap("nope"),
            None,
            &wopts("test"),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code, 404);
    assert_eq!(e.message, "configmaps \"nope\" not found");
}

#[tokio::test]
async fn create_twice_is_already_exists() {
    let reg = setup().await;
    let deps = deployments(&reg);
    reg.create(&deps, "default", deployment("web", 1), &wopts("t"))
        .await
        .unwrap();
    let e = reg
        .create(&deps, "default", deployment("web", 1), &wopts("t"))
        .await
        .unwrap_err();
    assert_eq!(e.code, 409);
    assert_eq!(e.reason, "AlreadyExists");
    assert_eq!(e.message, "deployments.apps \"web\" already exists");
}

#[tokio::test]
async fn kind_and_api_version_default_from_the_resource() {
    let reg = setup().await;
    let out = reg
        .create(
            &configmaps(&reg),
            "default",
            json!({"metadata": {"name": "bare"}}),
            &wopts("t"),
        )
        .await
        .unwrap();
    assert_eq!(out["kind"], "ConfigMap");
    assert_eq!(out["apiVersion"], "v1");
}

#[tokio::test]
async fn mismatched_kind_or_api_version_is_bad_request() {
    let reg = setup().await;
    let cms = configmaps(&reg);
    let mut wrong_kind = configmap("a");
    wrong_kind["kind"] = "Secret".into();
    let e = reg
        .create(&cms, "default", wrong_kind, &wopts("t"))
        .await
        .unwrap_err();
    assert_eq!((e.code, e.reason.as_str()), (400, "BadRequest"));

    let mut wrong_version = configmap("b");
    wrong_version["apiVersion"] = "apps/v1".into();
    let e = reg
        .create(&cms, "default", wrong_version, &wopts("t"))
        .await
        .unwrap_err();
    assert_eq!((e.code, e.reason.as_str()), (400, "BadRequest"));
    assert!(
        e.message
            .contains("does not match the expected API version"),
        "{}",
        e.message
    );
}

#[tokio::test]
async fn namespace_in_body_must_match_the_url() {
    let reg = setup().await;
    create_namespace(&reg, "other").await;
    let cms = configmaps(&reg);
    let mut body = configmap("a");
    body["metadata"]["namespace"] = "other".into();
    let e = reg
        .create(&cms, "default", body.clone(), &wopts("t"))
        .await
        .unwrap_err();
    assert_eq!(e.code, 400);
    assert_eq!(
        e.message,
        "the namespace of the provided object does not match the namespace sent on the request"
    );
    // On update too.
    let created = reg
        .create(&cms, "default", configmap("a"), &wopts("t"))
        .await
        .unwrap();
    let mut moved = created;
    moved["metadata"]["namespace"] = "other".into();
    let e = reg
        .update(&cms, "default", "a", moved, None, &wopts("t"))
        .await
        .unwrap_err();
    assert_eq!(e.code, 400);
}

#[tokio::test]
async fn create_in_missing_namespace_is_not_found() {
    let reg = setup().await;
    let e = reg
        .create(&configmaps(&reg), "ghost", configmap("a"), &wopts("t"))
        .await
        .unwrap_err();
    assert_eq!(e.code, 404);
    assert_eq!(e.message, "namespaces \"ghost\" not found");
}

#[tokio::test]
async fn invalid_name_is_unprocessable() {
    let reg = setup().await;
    let e = reg
        .create(
            &configmaps(&reg),
            "default",
            configmap("Not_Valid"),
            &wopts("t"),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code, 422);
    assert_eq!(e.reason, "Invalid");
    assert!(e.causes.iter().any(|c| c.field == "metadata.name"), "{e:?}");
}
