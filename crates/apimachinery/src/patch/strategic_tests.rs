//! Tests of strategic merge patch against a hand-written Pod/Deployment-like
//! schema carrying upstream's patch extensions, and without a schema.

use rstest::rstest;
use serde_json::{Value, json};

use super::PatchError;
use super::strategic::apply_strategic_merge_patch;
use crate::schema::{Definitions, SchemaNode};

fn defs() -> Definitions {
    json!({
        "Pod": {"type": "object", "properties": {
            "metadata": {"$ref": "#/definitions/ObjectMeta"},
            "spec": {"$ref": "#/definitions/PodSpec"}}},
        "ObjectMeta": {"type": "object", "properties": {
            "name": {"type": "string"},
            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            "finalizers": {"type": "array", "items": {"type": "string"},
                "x-kubernetes-patch-strategy": "merge"},
            "ownerReferences": {"type": "array", "items": {"$ref": "#/definitions/OwnerReference"},
                "x-kubernetes-patch-merge-key": "uid", "x-kubernetes-patch-strategy": "merge"}}},
        "OwnerReference": {"type": "object", "properties": {
            "uid": {"type": "string"}, "name": {"type": "string"}}},
        "PodSpec": {"type": "object", "properties": {
            "containers": {"type": "array", "items": {"$ref": "#/definitions/Container"},
                "x-kubernetes-patch-merge-key": "name", "x-kubernetes-patch-strategy": "merge"},
            "volumes": {"type": "array", "items": {"$ref": "#/definitions/Volume"},
                "x-kubernetes-patch-merge-key": "name",
                "x-kubernetes-patch-strategy": "merge,retainKeys"},
            "tolerations": {"type": "array", "items": {"type": "object"}},
            "nodeSelector": {"type": "object", "additionalProperties": {"type": "string"}},
            "keyless": {"type": "array", "items": {"type": "object"},
                "x-kubernetes-patch-strategy": "merge"},
            "matrix": {"type": "array", "items": {"type": "array"},
                "x-kubernetes-patch-strategy": "merge"},
            "weird": {"type": "array", "items": {"type": "string"},
                "x-kubernetes-patch-strategy": "merge,replace"},
            "securityContext": {"allOf": [{"$ref": "#/definitions/SecurityContext"}],
                "x-kubernetes-patch-strategy": "replace"},
            "strategy": {"allOf": [{"$ref": "#/definitions/Strategy"}],
                "x-kubernetes-patch-strategy": "retainKeys"}}},
        "SecurityContext": {"type": "object", "properties": {
            "runAsUser": {"type": "integer"}, "runAsGroup": {"type": "integer"}}},
        "Strategy": {"type": "object", "properties": {
            "type": {"type": "string"}, "rollingUpdate": {"type": "object"}}},
        "Container": {"type": "object", "properties": {
            "name": {"type": "string"},
            "image": {"type": "string"},
            "args": {"type": "array", "items": {"type": "string"}},
            "ports": {"type": "array", "items": {"$ref": "#/definitions/Port"},
                "x-kubernetes-patch-merge-key": "containerPort",
                "x-kubernetes-patch-strategy": "merge"},
            "env": {"type": "array", "items": {"$ref": "#/definitions/EnvVar"},
                "x-kubernetes-patch-merge-key": "name", "x-kubernetes-patch-strategy": "merge"}}},
        "Port": {"type": "object", "properties": {
            "containerPort": {"type": "integer"}, "protocol": {"type": "string"}}},
        "EnvVar": {"type": "object", "properties": {
            "name": {"type": "string"}, "value": {"type": "string"}}},
        "Volume": {"type": "object", "properties": {
            "name": {"type": "string"}, "configMap": {"type": "object"},
            "emptyDir": {"type": "object"}}}
    })
    .as_object()
    .cloned()
    .unwrap_or_default()
}

fn pod() -> Value {
    json!({
        "metadata": {"name": "p", "labels": {"app": "web", "tier": "fe"},
            "finalizers": ["a", "b"],
            "ownerReferences": [{"uid": "1", "name": "rs"}]},
        "spec": {
            "containers": [
                {"name": "a", "image": "a:1", "args": ["x", "y"],
                 "ports": [{"containerPort": 80, "protocol": "TCP"}],
                 "env": [{"name": "X", "value": "1"}]},
                {"name": "b", "image": "b:1"},
                {"name": "c", "image": "c:1"}],
            "volumes": [{"name": "v", "configMap": {"name": "cm"}}],
            "tolerations": [{"key": "k1"}, {"key": "k2"}],
            "nodeSelector": {"disk": "ssd"},
            "securityContext": {"runAsUser": 1, "runAsGroup": 2},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}
        }
    })
}

fn smp(patch: Value) -> Result<Value, PatchError> {
    let defs = defs();
    let root = json!({"$ref": "#/definitions/Pod"});
    apply_strategic_merge_patch(&pod(), &patch, Some(SchemaNode::new(&root, &defs)))
}

fn names(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|x| match x {
                    Value::Object(m) => m
                        .get("name")
                        .or_else(|| m.get("uid"))
                        .and_then(Value::as_str)
                        .unwrap_or("?")
                        .to_string(),
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect()
        })
        .unwrap_or_default()
}

#[rstest]
// Merge by key, order kept.
#[case(json!({"spec": {"containers": [{"name": "b", "image": "b:2"}]}}), "/spec/containers", &["a", "b", "c"])]
// New items go before the server-only ones, as upstream (a client that
// cares sends `$setElementOrder`, as kubectl apply does).
#[case(json!({"spec": {"containers": [{"name": "d", "image": "d:1"}]}}), "/spec/containers", &["d", "a", "b", "c"])]
#[case(json!({"spec": {"containers": [{"name": "b"}, {"name": "d"}]}}), "/spec/containers", &["a", "b", "d", "c"])]
// Patch order wins for patched items; server-only ones are interleaved.
#[case(json!({"spec": {"containers": [{"name": "c"}, {"name": "a"}]}}), "/spec/containers", &["b", "c", "a"])]
// `$patch: delete` element.
#[case(json!({"spec": {"containers": [{"name": "a", "$patch": "delete"}]}}), "/spec/containers", &["b", "c"])]
// Deleting a missing element is a no-op.
#[case(json!({"spec": {"containers": [{"name": "zz", "$patch": "delete"}]}}), "/spec/containers", &["a", "b", "c"])]
// `$patch: replace` element makes the rest of the patch the whole list.
#[case(json!({"spec": {"containers": [{"name": "x"}, {"$patch": "replace"}]}}), "/spec/containers", &["x"])]
// Primitive merge list: union, patch order first.
#[case(json!({"metadata": {"finalizers": ["c", "a"]}}), "/metadata/finalizers", &["c", "a", "b"])]
#[case(json!({"metadata": {"finalizers": ["a"]}}), "/metadata/finalizers", &["a", "b"])]
#[case(json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}}), "/metadata/finalizers", &["b"])]
#[case(json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"], "finalizers": ["z"]}}), "/metadata/finalizers", &["z", "b"])]
#[case(json!({"metadata": {"ownerReferences": [{"uid": "2", "name": "x"}]}}), "/metadata/ownerReferences", &["x", "rs"])]
// Lists without a merge strategy are replaced.
#[case(json!({"spec": {"tolerations": [{"key": "k3"}]}}), "/spec/tolerations", &["?"])]
#[case(json!({"spec": {"containers": [{"name": "a", "args": ["z"]}]}}), "/spec/containers/0/args", &["z"])]
// Nested keyed lists merge too.
#[case(json!({"spec": {"containers": [{"name": "a", "env": [{"name": "Y", "value": "2"}]}]}}), "/spec/containers/0/env", &["Y", "X"])]
// `$setElementOrder` reorders without a patch list...
#[case(json!({"spec": {"$setElementOrder/containers": [{"name": "c"}, {"name": "a"}, {"name": "b"}]}}), "/spec/containers", &["c", "a", "b"])]
// ...and with one, listing new items where they go.
#[case(json!({"spec": {"$setElementOrder/containers": [{"name": "b"}, {"name": "n"}, {"name": "a"}, {"name": "c"}],
    "containers": [{"name": "n", "image": "n:1"}]}}), "/spec/containers", &["b", "n", "a", "c"])]
#[case(json!({"metadata": {"$setElementOrder/finalizers": ["b", "z", "a"], "finalizers": ["z"]}}), "/metadata/finalizers", &["b", "z", "a"])]
fn list_results(#[case] patch: Value, #[case] pointer: &str, #[case] want: &[&str]) {
    let out = smp(patch).unwrap();
    assert_eq!(names(out.pointer(pointer).unwrap()), want, "{out:#}");
}

#[test]
fn merges_fields_of_keyed_items() {
    let out = smp(json!({"spec": {"containers": [
        {"name": "a", "image": "a:2", "ports": [{"containerPort": 443}], "env": null}]}}))
    .unwrap();
    let a = &out["spec"]["containers"][0];
    assert_eq!(a["image"], "a:2");
    assert!(a.get("env").is_none());
    assert_eq!(
        a["ports"],
        json!([{"containerPort": 443}, {"containerPort": 80, "protocol": "TCP"}])
    );
    assert_eq!(a["args"], json!(["x", "y"]));
    // Untouched parts survive.
    assert_eq!(
        out["metadata"]["labels"],
        json!({"app": "web", "tier": "fe"})
    );
}

#[test]
fn maps_merge_and_null_deletes() {
    let out =
        smp(json!({"metadata": {"labels": {"tier": null, "new": "1", "gone": null}}})).unwrap();
    assert_eq!(out["metadata"]["labels"], json!({"app": "web", "new": "1"}));
    let out = smp(json!({"spec": {"nodeSelector": {"$patch": "replace", "zone": "a"}}})).unwrap();
    assert_eq!(out["spec"]["nodeSelector"], json!({"zone": "a"}));
    let out = smp(json!({"metadata": {"labels": {"$patch": "delete"}}})).unwrap();
    assert_eq!(out["metadata"]["labels"], json!({}));
    let out = smp(json!({"$patch": "delete"})).unwrap();
    assert_eq!(out, json!({}));
    let out = smp(json!({"$patch": "replace", "a": 1})).unwrap();
    assert_eq!(out, json!({"a": 1}));
}

#[test]
fn field_strategies_from_schema() {
    // `replace` on a map field (extension beside an allOf-wrapped $ref).
    let out = smp(json!({"spec": {"securityContext": {"runAsUser": 5}}})).unwrap();
    assert_eq!(out["spec"]["securityContext"], json!({"runAsUser": 5}));
    // `retainKeys` alone still merges; the directive clears unlisted keys.
    let out = smp(json!({"spec": {"strategy": {"type": "Recreate"}}})).unwrap();
    assert_eq!(
        out["spec"]["strategy"]["rollingUpdate"],
        json!({"maxSurge": 1})
    );
    let out =
        smp(json!({"spec": {"strategy": {"type": "Recreate", "$retainKeys": ["type"]}}})).unwrap();
    assert_eq!(out["spec"]["strategy"], json!({"type": "Recreate"}));
    // `merge,retainKeys` on volumes: merged by name, then retainKeys per item.
    let out = smp(json!({"spec": {"volumes": [
        {"name": "v", "emptyDir": {}, "$retainKeys": ["emptyDir", "name"]}]}}))
    .unwrap();
    assert_eq!(
        out["spec"]["volumes"],
        json!([{"name": "v", "emptyDir": {}}])
    );
}

#[test]
fn new_values_lose_nulls_and_directives() {
    let out = smp(
        json!({"spec": {"extra": {"a": null, "b": {"$patch": "delete"}, "c": 1,
        "$setElementOrder/x": [1], "l": [{"k": null, "v": 1}]}}}),
    )
    .unwrap();
    assert_eq!(out["spec"]["extra"], json!({"c": 1, "l": [{"v": 1}]}));
    // A scalar replaced by an object.
    let out = smp(json!({"metadata": {"name": {"x": 1, "y": null}}})).unwrap();
    assert_eq!(out["metadata"]["name"], json!({"x": 1}));
    // A new field whose value is a directive map is not added.
    let out = smp(json!({"spec": {"extra": {"$patch": "delete"}}})).unwrap();
    assert!(out["spec"].get("extra").is_none());
}

#[test]
fn delete_list_on_missing_or_non_list_fields() {
    let out = smp(json!({"spec": {"$deleteFromPrimitiveList/nope": ["a"]}})).unwrap();
    assert!(out["spec"].get("nope").is_none());
    let out = smp(json!({"spec": {"$deleteFromPrimitiveList/nodeSelector": ["a"]}})).unwrap();
    assert_eq!(out["spec"]["nodeSelector"], json!({"disk": "ssd"}));
}

#[rstest]
#[case(json!([1]), PatchError::BadRequest("invalid JSON document".into()))]
#[case(json!({"spec": {"containers": [{"image": "x"}]}}),
    PatchError::Other("map: map[image:x] does not contain declared merge key: name".into()))]
#[case(json!({"spec": {"containers": [{"name": "a", "$patch": "merge"}]}}),
    PatchError::Other("merging lists cannot yet be specified in the patch".into()))]
#[case(json!({"spec": {"containers": [{"name": "a", "$patch": "frob"}]}}),
    PatchError::Other("unknown patch type: frob in map: map[$patch:frob name:a]".into()))]
#[case(json!({"spec": {"containers": [{"$patch": "delete"}]}}),
    PatchError::Other("map: map[$patch:delete] does not contain declared merge key: name".into()))]
#[case(json!({"spec": {"nodeSelector": {"$patch": "merge"}}}),
    PatchError::Other("unknown patch type: merge in map: map[$patch:merge]".into()))]
#[case(json!({"spec": {"containers": ["a"]}}),
    PatchError::Other("list element types are not identical: [[map[args:[x y] env:[map[name:X value:1]] image:a:1 name:a ports:[map[containerPort:80 protocol:TCP]]] map[image:b:1 name:b] map[image:c:1 name:c]] [a]]".into()))]
#[case(json!({"metadata": {"$deleteFromPrimitiveListX/finalizers": ["a"]}}),
    PatchError::BadRequest("invalid patch format of primitive list".into()))]
#[case(json!({"spec": {"strategy": {"type": "R", "$retainKeys": "type"}}}),
    PatchError::BadRequest("invalid patch format of retainKeys".into()))]
#[case(json!({"spec": {"strategy": {"type": "R", "$retainKeys": ["rollingUpdate"]}}}),
    PatchError::BadRequest("invalid patch format of retainKeys".into()))]
#[case(json!({"spec": {"$setElementOrder/containers": [{"name": "a"}], "containers": [{"name": "b"}]}}),
    PatchError::Other("The order in patch list:\n[map[name:b]]\n doesn't match $setElementOrder list:\n[map[name:a]]\n".into()))]
#[case(json!({"spec": {"$setElementOrder/containers": "a"}}),
    PatchError::Other("expected a []interface {}, but received a string".into()))]
#[case(json!({"spec": {"$setElementOrder/nope": [], "nope": []}}), PatchError::Other("no elements in any of the given slices".into()))]
fn errors(#[case] patch: Value, #[case] want: PatchError) {
    assert_eq!(smp(patch).unwrap_err(), want);
}

#[test]
fn list_shape_errors() {
    let defs = defs();
    let root = json!({"$ref": "#/definitions/PodSpec"});
    let s = || Some(SchemaNode::new(&root, &defs));
    let e = apply_strategic_merge_patch(
        &json!({"keyless": [{"a": 1}]}),
        &json!({"keyless": [{"a": 2}]}),
        s(),
    )
    .unwrap_err();
    assert_eq!(
        e,
        PatchError::Other("cannot merge lists without merge key for struct".into())
    );
    let e = apply_strategic_merge_patch(&json!({"matrix": [[1]]}), &json!({"matrix": [[2]]}), s())
        .unwrap_err();
    assert_eq!(
        e,
        PatchError::Unprocessable("lists of lists are not supported".into())
    );
    assert_eq!(e.code(), 422);
    let e = apply_strategic_merge_patch(&json!({"weird": ["a"]}), &json!({"weird": ["b"]}), s())
        .unwrap_err();
    assert_eq!(
        e,
        PatchError::Other("unexpected patch strategy: [merge replace]".into())
    );
}

#[test]
fn without_schema_lists_replace_and_maps_merge() {
    let out = apply_strategic_merge_patch(
        &pod(),
        &json!({"spec": {"containers": [{"name": "z"}], "nodeSelector": {"zone": "b"}}}),
        None,
    )
    .unwrap();
    assert_eq!(out["spec"]["containers"], json!([{"name": "z"}]));
    assert_eq!(
        out["spec"]["nodeSelector"],
        json!({"disk": "ssd", "zone": "b"})
    );
    // Directives still work without a schema.
    let out = apply_strategic_merge_patch(
        &json!({"a": {"x": 1, "y": 2}}),
        &json!({"a": {"$retainKeys": ["x"], "x": 3}}),
        None,
    )
    .unwrap();
    assert_eq!(out, json!({"a": {"x": 3}}));
    // Null original is an empty object.
    let out = apply_strategic_merge_patch(&Value::Null, &json!({"a": 1}), None).unwrap();
    assert_eq!(out, json!({"a": 1}));
}

proptest::proptest! {
    /// Merging a keyed list keeps one item per key, the union of keys.
    #[test]
    fn keyed_merge_is_a_union(
        orig in proptest::collection::btree_set("[a-e]", 0..5),
        add in proptest::collection::vec("[a-g]", 0..5),
    ) {
        let defs = defs();
        let root = json!({"$ref": "#/definitions/PodSpec"});
        let o: Vec<Value> = orig.iter().map(|n| json!({"name": n, "image": "o"})).collect();
        let p: Vec<Value> = add.iter().map(|n| json!({"name": n, "image": "p"})).collect();
        let out = apply_strategic_merge_patch(
            &json!({"containers": o}), &json!({"containers": p}),
            Some(SchemaNode::new(&root, &defs))).unwrap();
        let mut got = names(&out["containers"]);
        let n = got.len();
        got.sort();
        got.dedup();
        proptest::prop_assert_eq!(got.len(), n);
        let mut want: Vec<String> = orig.iter().cloned().chain(add.iter().cloned()).collect();
        want.sort();
        want.dedup();
        proptest::prop_assert_eq!(got, want);
        for c in out["containers"].as_array().unwrap() {
            let name = c["name"].as_str().unwrap().to_string();
            let expect = if add.contains(&name) { "p" } else { "o" };
            proptest::prop_assert_eq!(c["image"].as_str().unwrap(), expect);
        }
    }
}

/// Cases from upstream's strategic patch tests (current + three-way patch
/// → result), whose expected orders pin down upstream's ordering rules.
mod upstream_cases {
    use super::*;

    fn schema_defs() -> Definitions {
        json!({"Item": {"type": "object", "properties": {
            "mergingList": {"type": "array", "items": {"type": "object"},
                "x-kubernetes-patch-merge-key": "name", "x-kubernetes-patch-strategy": "merge"},
            "mergingIntList": {"type": "array", "items": {"type": "integer"},
                "x-kubernetes-patch-strategy": "merge"}}}})
        .as_object()
        .cloned()
        .unwrap_or_default()
    }

    fn run(current: Value, patch: Value) -> Value {
        let defs = schema_defs();
        let root = json!({"$ref": "#/definitions/Item"});
        apply_strategic_merge_patch(&current, &patch, Some(SchemaNode::new(&root, &defs))).unwrap()
    }

    fn items(names: &[i64]) -> Value {
        Value::Array(names.iter().map(|n| json!({"name": n})).collect())
    }

    fn keys(v: &Value) -> Vec<i64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.get("name").unwrap_or(x).as_i64().unwrap())
            .collect()
    }

    #[rstest]
    // "add map and delete map from merging list"
    #[case(&[1, 2, 4], json!({"$setElementOrder/mergingList": items(&[2, 3]),
        "mergingList": [{"name": 3}, {"name": 1, "$patch": "delete"}]}), &[2, 4, 3])]
    // "set elements order in a list with server-only items"
    #[case(&[1, 3, 4, 2, 9], json!({"$setElementOrder/mergingList": items(&[4, 2, 3, 1])}), &[4, 2, 3, 1, 9])]
    // "... with server-only items 2"
    #[case(&[1, 2, 9, 3, 4], json!({"$setElementOrder/mergingList": items(&[2, 1, 4, 3])}), &[2, 1, 9, 4, 3])]
    // "... with server-only items 3"
    #[case(&[1, 2, 7, 9, 8, 3, 4], json!({"$setElementOrder/mergingList": items(&[2, 1, 4, 3])}), &[2, 1, 7, 9, 8, 4, 3])]
    // "add and delete an item in a list and preserve order"
    #[case(&[1, 2, 3], json!({"$setElementOrder/mergingList": items(&[4, 2, 1]),
        "mergingList": [{"name": 4, "value": 4}, {"name": 3, "$patch": "delete"}]}), &[4, 2, 1])]
    fn keyed(#[case] current: &[i64], #[case] patch: Value, #[case] want: &[i64]) {
        let out = run(json!({"mergingList": items(current)}), patch);
        assert_eq!(keys(&out["mergingList"]), want);
    }

    #[rstest]
    // "add an item in a list of primitives and preserve order"
    #[case(&[1, 4, 2], json!({"$setElementOrder/mergingIntList": [3, 1, 2], "mergingIntList": [3]}), &[3, 1, 4, 2])]
    // "set elements order in a int list with server-only items" (1, 2, 3)
    #[case(&[1, 3, 4, 2, 9], json!({"$setElementOrder/mergingIntList": [4, 2, 3, 1]}), &[4, 2, 3, 1, 9])]
    #[case(&[1, 2, 9, 3, 4], json!({"$setElementOrder/mergingIntList": [2, 1, 4, 3]}), &[2, 1, 9, 4, 3])]
    #[case(&[1, 2, 7, 9, 8, 3, 4], json!({"$setElementOrder/mergingIntList": [2, 1, 4, 3]}), &[2, 1, 7, 9, 8, 4, 3])]
    fn primitives(#[case] current: &[i64], #[case] patch: Value, #[case] want: &[i64]) {
        let out = run(json!({"mergingIntList": current}), patch);
        assert_eq!(keys(&out["mergingIntList"]), want);
    }

    #[test]
    fn merged_items_keep_server_fields() {
        let out = run(
            json!({"mergingList": [{"name": 1, "other": "a"}, {"name": 2, "value": 2, "other": "b"}]}),
            json!({"$setElementOrder/mergingList": items(&[2, 1]),
                "mergingList": [{"name": 2, "value": 3}]}),
        );
        assert_eq!(
            out["mergingList"],
            json!([{"name": 2, "value": 3, "other": "b"}, {"name": 1, "other": "a"}])
        );
    }
}
