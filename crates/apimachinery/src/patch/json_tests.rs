//! Tests of JSON patch: RFC 6902 behaviour and upstream's quirks/messages.

use rstest::rstest;
use serde_json::{Value, json};

use super::PatchError;
use super::json::apply_json_patch;

fn doc() -> Value {
    json!({"metadata": {"name": "p", "labels": {"a": "1"}}, "spec": {"list": [1, 2, 3], "n": null}})
}

#[rstest]
#[case(json!([{"op": "add", "path": "/metadata/labels/b", "value": "2"}]), "/metadata/labels", json!({"a": "1", "b": "2"}))]
#[case(json!([{"op": "add", "path": "/spec/list/0", "value": 0}]), "/spec/list", json!([0, 1, 2, 3]))]
#[case(json!([{"op": "add", "path": "/spec/list/-", "value": 4}]), "/spec/list", json!([1, 2, 3, 4]))]
#[case(json!([{"op": "add", "path": "/spec/list/3", "value": 4}]), "/spec/list", json!([1, 2, 3, 4]))]
#[case(json!([{"op": "add", "path": "/spec/list/-1", "value": 9}]), "/spec/list", json!([1, 2, 3, 9]))]
#[case(json!([{"op": "remove", "path": "/spec/list/1"}]), "/spec/list", json!([1, 3]))]
#[case(json!([{"op": "remove", "path": "/spec/list/-1"}]), "/spec/list", json!([1, 2]))]
#[case(json!([{"op": "remove", "path": "/metadata/labels/a"}]), "/metadata/labels", json!({}))]
#[case(json!([{"op": "replace", "path": "/metadata/name", "value": "q"}]), "/metadata/name", json!("q"))]
// Upstream's library adds a missing key on replace.
#[case(json!([{"op": "replace", "path": "/metadata/labels/new", "value": "x"}]), "/metadata/labels/new", json!("x"))]
#[case(json!([{"op": "replace", "path": "/spec/list/-1", "value": 0}]), "/spec/list", json!([1, 2, 0]))]
#[case(json!([{"op": "move", "from": "/metadata/labels/a", "path": "/metadata/labels/z"}]), "/metadata/labels", json!({"z": "1"}))]
#[case(json!([{"op": "move", "from": "/spec/list/0", "path": "/spec/list/-"}]), "/spec/list", json!([2, 3, 1]))]
#[case(json!([{"op": "copy", "from": "/metadata/labels", "path": "/metadata/annotations"}]), "/metadata/annotations", json!({"a": "1"}))]
#[case(json!([{"op": "test", "path": "/metadata/name", "value": "p"}, {"op": "add", "path": "/x", "value": 1}]), "/x", json!(1))]
// Missing and null are equal to upstream's `test`.
#[case(json!([{"op": "test", "path": "/metadata/nope", "value": null}, {"op": "add", "path": "/x", "value": 1}]), "/x", json!(1))]
#[case(json!([{"op": "test", "path": "/spec/n", "value": null}, {"op": "add", "path": "/x", "value": 1}]), "/x", json!(1))]
#[case(json!([{"op": "add", "path": "/metadata/labels/a~1b~0c", "value": "e"}]), "/metadata/labels/a~1b~0c", json!("e"))]
#[case(json!([{"op": "add", "path": "/x"}]), "/x", json!(null))]
fn applies(#[case] patch: Value, #[case] pointer: &str, #[case] want: Value) {
    let out = apply_json_patch(&doc(), &patch).unwrap();
    assert_eq!(out.pointer(pointer), Some(&want), "{out}");
}

#[test]
fn replace_root_and_empty_patch() {
    let out = apply_json_patch(
        &doc(),
        &json!([{"op": "replace", "path": "", "value": {"a": 1}}]),
    )
    .unwrap();
    assert_eq!(out, json!({"a": 1}));
    assert_eq!(apply_json_patch(&doc(), &json!([])).unwrap(), doc());
    assert_eq!(apply_json_patch(&doc(), &json!(null)).unwrap(), doc());
}

#[rstest]
#[case(json!([{"op": "add", "path": "/nope/x", "value": 1}]), "add operation does not apply: doc is missing path: \"/nope/x\": missing value")]
#[case(json!([{"op": "add", "path": "/spec/list/9", "value": 1}]), "error in add for path: '/spec/list/9': Unable to access invalid index: 9: invalid index referenced")]
#[case(json!([{"op": "add", "path": "/spec/list/x", "value": 1}]), "error in add for path: '/spec/list/x': value was not a proper array index: 'x': strconv.Atoi: parsing \"x\": invalid syntax")]
#[case(json!([{"op": "remove", "path": "/metadata/nope"}]), "error in remove for path: '/metadata/nope': Unable to remove nonexistent key: nope: missing value")]
#[case(json!([{"op": "remove", "path": "/nope/x"}]), "remove operation does not apply: doc is missing path: \"/nope/x\": missing value")]
#[case(json!([{"op": "remove", "path": "/spec/list/3"}]), "error in remove for path: '/spec/list/3': Unable to access invalid index: 3: invalid index referenced")]
#[case(json!([{"op": "replace", "path": "/spec/list/5", "value": 1}]), "replace operation does not apply: doc is missing key: /spec/list/5: missing value")]
#[case(json!([{"op": "replace", "path": "/a/b", "value": 1}]), "replace operation does not apply: doc is missing path: /a/b: missing value")]
#[case(json!([{"op": "replace", "path": "", "value": 1}]), "replace operation value must be object or array: %!w(<nil>)")]
#[case(json!([{"op": "test", "path": "/metadata/name", "value": "q"}]), "testing value /metadata/name failed: test failed")]
#[case(json!([{"op": "test", "path": "/metadata/name"}]), "testing value /metadata/name failed: test failed")]
#[case(json!([{"op": "test", "path": "/a/b", "value": 1}]), "test operation does not apply: is missing path: /a/b: missing value")]
#[case(json!([{"op": "move", "from": "/a/b", "path": "/c"}]), "move operation does not apply: doc is missing from path: /a/b: missing value")]
#[case(json!([{"op": "move", "from": "/metadata/zz", "path": "/c"}]), "error in move for path: 'zz': Unable to remove nonexistent key: zz: missing value")]
#[case(json!([{"op": "copy", "from": "/metadata/name", "path": "/a/b"}]), "copy operation does not apply: doc is missing destination path: /a/b: missing value")]
#[case(json!([{"op": "add", "value": 1}]), "add operation failed to decode path: missing value")]
#[case(json!([{"op": "replace", "value": 1}]), "replace operation failed to decode path: operation missing path field: missing value")]
#[case(json!([{"op": "move", "path": "/a"}]), "move operation failed to decode from: operation, missing from field: missing value")]
#[case(json!([{"op": "frob", "path": "/a"}]), "Unexpected kind: frob")]
#[case(json!([{"path": "/a"}]), "Unexpected kind: unknown")]
fn operation_errors(#[case] patch: Value, #[case] msg: &str) {
    let e = apply_json_patch(&doc(), &patch).unwrap_err();
    assert_eq!(e, PatchError::Unprocessable(msg.into()));
    assert_eq!(e.code(), 422);
}

#[test]
fn later_failure_discards_earlier_operations() {
    let e = apply_json_patch(
        &doc(),
        &json!([{"op": "add", "path": "/x", "value": 1}, {"op": "remove", "path": "/zz"}]),
    );
    assert!(e.is_err());
}

#[rstest]
#[case(json!({"op": "add"}), "json: cannot unmarshal object into Go value of type jsonpatch.Patch")]
#[case(json!("x"), "json: cannot unmarshal string into Go value of type jsonpatch.Patch")]
#[case(json!([1]), "json: cannot unmarshal number into Go value of type jsonpatch.Operation")]
fn decode_errors(#[case] patch: Value, #[case] msg: &str) {
    let e = apply_json_patch(&doc(), &patch).unwrap_err();
    assert_eq!(e, PatchError::BadRequest(msg.into()));
}

#[test]
fn too_many_operations() {
    let ops: Vec<Value> = (0..10_001)
        .map(|_| json!({"op": "test", "path": "/metadata/name", "value": "p"}))
        .collect();
    let e = apply_json_patch(&doc(), &Value::Array(ops)).unwrap_err();
    assert_eq!(e, PatchError::TooManyOperations(10_001));
    assert_eq!(e.code(), 413);
}
