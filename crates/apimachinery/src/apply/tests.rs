//! Behaviour tests for server-side apply and update tracking, over a
//! hand-written Deployment-like schema.

use super::*;
use crate::schema::{Definitions, SchemaNode};
use serde_json::{Value, json};

const T0: &str = "2024-01-01T00:00:00Z";
const T1: &str = "2024-01-01T00:01:00Z";
const T2: &str = "2024-01-01T00:02:00Z";

fn defs() -> Definitions {
    json!({
        "Deployment": {"type": "object", "properties": {
            "apiVersion": {"type": "string"}, "kind": {"type": "string"},
            "metadata": {"$ref": "#/definitions/ObjectMeta"},
            "spec": {"$ref": "#/definitions/DeploymentSpec"},
            "status": {"type": "object", "properties": {"replicas": {"type": "integer"}}}}},
        "ObjectMeta": {"type": "object", "properties": {
            "name": {"type": "string"}, "namespace": {"type": "string"},
            "uid": {"type": "string"}, "resourceVersion": {"type": "string"},
            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
            "finalizers": {"type": "array", "items": {"type": "string"},
                "x-kubernetes-list-type": "set"},
            "managedFields": {"type": "array", "items": {"type": "object"}}}},
        "DeploymentSpec": {"type": "object", "properties": {
            "replicas": {"type": "integer"},
            "selector": {"type": "object", "x-kubernetes-map-type": "atomic",
                "properties": {"matchLabels": {"type": "object",
                    "additionalProperties": {"type": "string"}}}},
            "strategy": {"type": "object", "properties": {"type": {"type": "string"}}},
            "template": {"type": "object", "properties": {
                "metadata": {"$ref": "#/definitions/ObjectMeta"},
                "spec": {"$ref": "#/definitions/PodSpec"}}}}},
        "PodSpec": {"type": "object", "properties": {
            "containers": {"type": "array", "items": {"$ref": "#/definitions/Container"},
                "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]}}},
        "Container": {"type": "object", "properties": {
            "name": {"type": "string"}, "image": {"type": "string"},
            "args": {"type": "array", "items": {"type": "string"}},
            "ports": {"type": "array", "items": {"$ref": "#/definitions/ContainerPort"},
                "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["containerPort", "protocol"]}}},
        "ContainerPort": {"type": "object", "properties": {
            "containerPort": {"type": "integer"}, "name": {"type": "string"},
            "protocol": {"type": "string", "default": "TCP"}}}
    })
    .as_object()
    .cloned()
    .unwrap()
}

fn root() -> Value {
    json!({"$ref": "#/definitions/Deployment"})
}

fn deploy(spec: Value) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default"}, "spec": spec})
}

fn container(name: &str, image: &str) -> Value {
    json!({"name": name, "image": image})
}

fn template(containers: Value) -> Value {
    json!({"spec": {"containers": containers}})
}

/// Runs an apply with the test schema.
fn run(
    live: Option<&Value>,
    cfg: &Value,
    mgr: &str,
    force: bool,
    now: &str,
) -> Result<ApplyResult, ApplyError> {
    let d = defs();
    let r = root();
    let managed = live
        .map(|l| managed_fields_of(l).unwrap())
        .unwrap_or_default();
    apply(
        live,
        cfg,
        mgr,
        force,
        &managed,
        Some(SchemaNode::new(&r, &d)),
        now,
    )
}

fn update(old: Option<&Value>, new: &Value, mgr: &str, now: &str) -> Value {
    let d = defs();
    let r = root();
    let managed = old
        .map(|l| managed_fields_of(l).unwrap())
        .unwrap_or_default();
    let entries = track_update(
        old,
        new,
        mgr,
        &managed,
        "apps/v1",
        Some(SchemaNode::new(&r, &d)),
        now,
    )
    .unwrap();
    let mut out = new.clone();
    set_managed_fields(&mut out, &entries);
    out
}

fn entry<'a>(obj: &'a Value, mgr: &str) -> Option<&'a Value> {
    obj["metadata"]["managedFields"]
        .as_array()?
        .iter()
        .find(|e| e["manager"] == mgr)
}

fn owns(obj: &Value, mgr: &str, path: &[&str]) -> bool {
    let Some(e) = entry(obj, mgr) else {
        return false;
    };
    let mut cur = &e["fieldsV1"];
    for p in path {
        match cur.get(*p) {
            Some(v) => cur = v,
            None => return false,
        }
    }
    true
}

#[test]
fn apply_creates_and_owns_fields() {
    let cfg = deploy(json!({"replicas": 2,
        "template": template(json!([container("nginx", "nginx:1")]))}));
    let out = run(None, &cfg, "kubectl", false, T0).unwrap();
    assert!(out.changed);
    assert_eq!(out.object["spec"]["replicas"], 2);
    let e = entry(&out.object, "kubectl").unwrap();
    assert_eq!(e["operation"], "Apply");
    assert_eq!(e["apiVersion"], "apps/v1");
    assert_eq!(e["time"], T0);
    assert_eq!(e["fieldsType"], "FieldsV1");
    assert_eq!(
        e["fieldsV1"],
        json!({"f:spec": {"f:replicas": {}, "f:template": {"f:spec": {"f:containers": {
            "k:{\"name\":\"nginx\"}": {".": {}, "f:image": {}, "f:name": {}}}}}}})
    );
    assert_eq!(out.managed_fields.len(), 1);
}

#[test]
fn reapply_without_a_field_removes_it() {
    let cfg = deploy(json!({"replicas": 2, "strategy": {"type": "Recreate"},
        "template": template(json!([container("a", "x"), container("b", "y")]))}));
    let first = run(None, &cfg, "kubectl", false, T0).unwrap().object;
    let cfg2 = deploy(json!({"replicas": 2,
        "template": template(json!([container("a", "x")]))}));
    let out = run(Some(&first), &cfg2, "kubectl", false, T1).unwrap();
    assert!(out.object["spec"].get("strategy").is_none());
    assert_eq!(
        out.object["spec"]["template"]["spec"]["containers"],
        json!([container("a", "x")])
    );
    assert!(!owns(&out.object, "kubectl", &["f:spec", "f:strategy"]));
    assert_eq!(entry(&out.object, "kubectl").unwrap()["time"], T1);
}

#[test]
fn noop_reapply_keeps_time_and_reports_unchanged() {
    let cfg = deploy(json!({"replicas": 2}));
    let first = run(None, &cfg, "kubectl", false, T0).unwrap().object;
    let out = run(Some(&first), &cfg, "kubectl", false, T1).unwrap();
    assert!(!out.changed);
    assert_eq!(entry(&out.object, "kubectl").unwrap()["time"], T0);
}

#[test]
fn shared_field_survives_one_owner_dropping_it() {
    let cfg = deploy(json!({"replicas": 3}));
    let a = run(None, &cfg, "a", false, T0).unwrap().object;
    // Same value from another applier: no conflict, both own it.
    let b = run(Some(&a), &cfg, "b", false, T1).unwrap().object;
    assert!(owns(&b, "a", &["f:spec", "f:replicas"]));
    assert!(owns(&b, "b", &["f:spec", "f:replicas"]));
    // a stops applying replicas: b still owns it, so the value stays.
    let cfg_a = deploy(json!({"strategy": {"type": "Recreate"}}));
    let out = run(Some(&b), &cfg_a, "a", false, T2).unwrap().object;
    assert_eq!(out["spec"]["replicas"], 3);
    assert!(!owns(&out, "a", &["f:spec", "f:replicas"]));
    assert!(owns(&out, "b", &["f:spec", "f:replicas"]));
}

#[test]
fn apply_conflicts_with_update_owner_after_scale() {
    let cfg = deploy(json!({"replicas": 2}));
    let applied = run(None, &cfg, "kubectl", false, T0).unwrap().object;
    // `kubectl scale` (an Update through the scale path) changes replicas.
    let mut scaled = applied.clone();
    scaled["spec"]["replicas"] = json!(5);
    let scaled = update(Some(&applied), &scaled, "kubectl-scale", T1);
    assert!(owns(&scaled, "kubectl-scale", &["f:spec", "f:replicas"]));
    assert!(!owns(&scaled, "kubectl", &["f:spec", "f:replicas"]));

    let cfg3 = deploy(json!({"replicas": 3}));
    let err = run(Some(&scaled), &cfg3, "kubectl", false, T2).unwrap_err();
    let ApplyError::Conflicts(c) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(c.len(), 1);
    assert_eq!(
        err.to_string(),
        "Apply failed with 1 conflict: conflict with \"kubectl-scale\" using apps/v1: .spec.replicas"
    );
    let status = err.to_api_error().to_status();
    assert_eq!(status["code"], 409);
    assert_eq!(status["reason"], "Conflict");
    assert_eq!(
        status["details"]["causes"][0]["reason"],
        "FieldManagerConflict"
    );
    assert_eq!(status["details"]["causes"][0]["field"], ".spec.replicas");
    assert_eq!(
        status["details"]["causes"][0]["message"],
        "conflict with \"kubectl-scale\" using apps/v1"
    );

    // Forcing moves ownership to the applier.
    let out = run(Some(&scaled), &cfg3, "kubectl", true, T2)
        .unwrap()
        .object;
    assert_eq!(out["spec"]["replicas"], 3);
    assert!(owns(&out, "kubectl", &["f:spec", "f:replicas"]));
    assert!(
        entry(&out, "kubectl-scale").is_none(),
        "emptied entry dropped"
    );
}

#[test]
fn conflicts_between_appliers_and_multi_message() {
    let cfg = deploy(json!({"replicas": 1, "strategy": {"type": "Recreate"}}));
    let a = run(None, &cfg, "a", false, T0).unwrap().object;
    let cfg_b = deploy(json!({"replicas": 2, "strategy": {"type": "RollingUpdate"}}));
    let err = run(Some(&a), &cfg_b, "b", false, T1).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Apply failed with 2 conflicts: conflicts with \"a\":\n- .spec.replicas\n- .spec.strategy.type"
    );
}

#[test]
fn keyed_lists_merge_by_key_and_compound_keys() {
    let live_cfg = deploy(json!({"template": template(json!([
        {"name": "a", "image": "x", "ports": [{"containerPort": 80}]},
        container("b", "y")]))}));
    let live = run(None, &live_cfg, "one", false, T0).unwrap().object;
    let k80 = r#"k:{"containerPort":80,"protocol":"TCP"}"#;
    assert!(owns(
        &live,
        "one",
        &[
            "f:spec",
            "f:template",
            "f:spec",
            "f:containers",
            r#"k:{"name":"a"}"#,
            "f:ports",
            k80
        ]
    ));
    // Another manager adds a container and a UDP port on the same number.
    let cfg2 = deploy(json!({"template": template(json!([
        {"name": "a", "ports": [{"containerPort": 80, "protocol": "UDP"}]},
        container("c", "z")]))}));
    let out = run(Some(&live), &cfg2, "two", false, T1).unwrap().object;
    let cs = &out["spec"]["template"]["spec"]["containers"];
    let names: Vec<&str> = cs
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["a", "b", "c"]);
    assert_eq!(cs[0]["image"], "x");
    assert_eq!(
        cs[0]["ports"],
        json!([{"containerPort": 80}, {"containerPort": 80, "protocol": "UDP"}])
    );
    assert!(owns(
        &out,
        "two",
        &[
            "f:spec",
            "f:template",
            "f:spec",
            "f:containers",
            r#"k:{"name":"a"}"#,
            "f:ports",
            r#"k:{"containerPort":80,"protocol":"UDP"}"#
        ]
    ));
}

#[test]
fn sets_merge_by_value() {
    let mut cfg = deploy(json!({}));
    cfg["metadata"]["finalizers"] = json!(["a", "b"]);
    let live = run(None, &cfg, "one", false, T0).unwrap().object;
    let mut cfg2 = deploy(json!({}));
    cfg2["metadata"]["finalizers"] = json!(["c"]);
    let out = run(Some(&live), &cfg2, "two", false, T1).unwrap().object;
    assert_eq!(out["metadata"]["finalizers"], json!(["a", "b", "c"]));
    assert!(owns(
        &out,
        "two",
        &["f:metadata", "f:finalizers", r#"v:"c""#]
    ));
    // one drops "a": removed, as nobody else owns it.
    let mut cfg3 = deploy(json!({}));
    cfg3["metadata"]["finalizers"] = json!(["b"]);
    let out = run(Some(&out), &cfg3, "one", false, T2).unwrap().object;
    assert_eq!(out["metadata"]["finalizers"], json!(["b", "c"]));
}

#[test]
fn atomic_fields_replace_and_conflict_as_a_whole() {
    let cfg = deploy(json!({"selector": {"matchLabels": {"app": "x"}},
        "template": template(json!([{"name": "a", "args": ["1", "2"]}]))}));
    let live = run(None, &cfg, "one", false, T0).unwrap().object;
    assert!(owns(&live, "one", &["f:spec", "f:selector"]));
    assert!(!owns(
        &live,
        "one",
        &["f:spec", "f:selector", "f:matchLabels"]
    ));
    let cfg2 = deploy(json!({"template": template(json!([{"name": "a", "args": ["3"]}]))}));
    let err = run(Some(&live), &cfg2, "two", false, T1).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Apply failed with 1 conflict: conflict with \"one\": .spec.template.spec.containers[name=\"a\"].args"
    );
    let out = run(Some(&live), &cfg2, "two", true, T1).unwrap().object;
    assert_eq!(
        out["spec"]["template"]["spec"]["containers"][0]["args"],
        json!(["3"])
    );
}

#[test]
fn labels_are_map_entries_and_metadata_is_stripped() {
    let mut cfg = deploy(json!({}));
    cfg["metadata"]["labels"] = json!({"app": "web"});
    // Upstream owns an empty map as a whole; drop `spec: {}` to see labels alone.
    cfg.as_object_mut().unwrap().remove("spec");
    let out = run(None, &cfg, "m", false, T0).unwrap();
    assert_eq!(
        out.managed_fields[0].fields_v1,
        Some(json!({"f:metadata": {"f:labels": {"f:app": {}}}}))
    );
}

#[test]
fn update_tracking_moves_changed_fields_and_drops_empty_entries() {
    let created = update(
        None,
        &deploy(json!({"replicas": 1,
        "template": template(json!([container("a", "x")]))})),
        "kubectl-create",
        T0,
    );
    let e = entry(&created, "kubectl-create").unwrap();
    assert_eq!(e["operation"], "Update");
    assert_eq!(e["time"], T0);
    assert!(owns(&created, "kubectl-create", &["f:spec", "f:replicas"]));
    // Created objects do not own struct nodes themselves (no "." on spec).
    assert!(!owns(&created, "kubectl-create", &["f:spec", "."]));

    let mut edited = created.clone();
    edited["spec"]["replicas"] = json!(4);
    edited["spec"]["template"]["spec"]["containers"][0]["image"] = json!("y");
    let edited = update(Some(&created), &edited, "editor", T1);
    assert!(owns(&edited, "editor", &["f:spec", "f:replicas"]));
    assert!(!owns(&edited, "kubectl-create", &["f:spec", "f:replicas"]));
    assert!(owns(&edited, "kubectl-create", &["f:spec", "f:template"]));

    // A no-op update changes nothing, not even times.
    let same = update(Some(&edited), &edited.clone(), "other", T2);
    assert_eq!(
        same["metadata"]["managedFields"],
        edited["metadata"]["managedFields"]
    );

    // Removing the container removes it from every set; kubectl-create
    // then owns nothing and its entry goes.
    let mut gone = edited.clone();
    gone["spec"].as_object_mut().unwrap().remove("template");
    let gone = update(Some(&edited), &gone, "editor", T2);
    assert!(entry(&gone, "kubectl-create").is_none());
    assert!(owns(&gone, "editor", &["f:spec", "f:replicas"]));
}

#[test]
fn update_adds_dot_for_new_maps() {
    let created = update(None, &deploy(json!({"replicas": 1})), "c", T0);
    let mut new = created.clone();
    new["metadata"]["annotations"] = json!({"x": "1"});
    let out = update(Some(&created), &new, "annotator", T1);
    assert!(owns(
        &out,
        "annotator",
        &["f:metadata", "f:annotations", "."]
    ));
    assert!(owns(
        &out,
        "annotator",
        &["f:metadata", "f:annotations", "f:x"]
    ));
}

#[test]
fn status_is_not_owned_with_a_status_subresource() {
    let d = defs();
    let r = root();
    let mut cfg = deploy(json!({"replicas": 1}));
    cfg["status"] = json!({"replicas": 9});
    let opts = Options::new(Some(SchemaNode::new(&r, &d))).with_status_subresource();
    let out = apply_with(None, &cfg, "m", false, &[], T0, &opts).unwrap();
    let fields = out.managed_fields[0].fields_v1.clone().unwrap();
    assert!(fields.get("f:status").is_none());
    assert!(fields.get("f:spec").is_some());
}

#[test]
fn invalid_configs_are_rejected() {
    let dup =
        deploy(json!({"template": template(json!([container("a", "x"), container("a", "y")]))}));
    let err = run(None, &dup, "m", false, T0).unwrap_err();
    assert_eq!(
        err.to_string(),
        "failed to create typed patch object: .spec.template.spec.containers: duplicate entries for key [name=\"a\"]"
    );
    assert_eq!(err.to_api_error().code, 400);
    let nokey = deploy(json!({"template": template(json!([{"image": "x"}]))}));
    assert!(matches!(
        run(None, &nokey, "m", false, T0),
        Err(ApplyError::Invalid(_))
    ));
    let mut with_mf = deploy(json!({}));
    with_mf["metadata"]["managedFields"] = json!([]);
    assert!(matches!(
        run(None, &with_mf, "m", false, T0),
        Err(ApplyError::Invalid(_))
    ));
    let bad = vec![ManagedFieldsEntry {
        manager: "x".into(),
        operation: "Nope".into(),
        api_version: "v1".into(),
        fields_type: "FieldsV1".into(),
        ..Default::default()
    }];
    let cfg = deploy(json!({}));
    assert!(matches!(
        apply(None, &cfg, "m", false, &bad, None, T0),
        Err(ApplyError::ManagedFields(_))
    ));
}

#[test]
fn objects_without_managed_fields_get_a_before_first_apply_owner() {
    let live = deploy(json!({"replicas": 1}));
    let err = run(Some(&live), &deploy(json!({"replicas": 2})), "m", false, T0).unwrap_err();
    assert!(
        err.to_string()
            .contains("\"before-first-apply\" using apps/v1"),
        "{err}"
    );
}

#[test]
fn untyped_objects_merge_maps_and_replace_lists() {
    let live = json!({"apiVersion": "v1", "kind": "X", "data": {"a": "1"}, "list": [1, 2]});
    let cfg = json!({"apiVersion": "v1", "kind": "X", "data": {"b": "2"}, "list": [3]});
    let out = apply(Some(&live), &cfg, "m", true, &[], None, T0).unwrap();
    assert_eq!(out.object["data"], json!({"a": "1", "b": "2"}));
    assert_eq!(out.object["list"], json!([3]));
}

#[test]
fn update_managers_are_capped() {
    let mut obj = update(None, &deploy(json!({"replicas": 0})), "m0", T0);
    for i in 1..=12 {
        let mut new = obj.clone();
        new["metadata"]["labels"] = json!({format!("l{i}"): "x"});
        new["spec"]["replicas"] = json!(i);
        let now = format!("2024-01-01T00:{i:02}:00Z");
        obj = update(Some(&obj), &new, &format!("m{i}"), &now);
    }
    let entries = obj["metadata"]["managedFields"].as_array().unwrap();
    assert!(entries.len() <= 10, "{}", entries.len());
}

#[test]
fn user_agent_prefix_is_the_default_manager() {
    assert_eq!(
        manager_from_user_agent("kubectl/v1.30.0 (linux/amd64)"),
        "kubectl"
    );
    assert_eq!(manager_from_user_agent(&"x".repeat(300)).len(), 128);
}
