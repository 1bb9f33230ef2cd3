//! RFC 7386 JSON merge patch (`application/merge-patch+json`): objects
//! merge recursively, `null` deletes, anything else replaces. Follows the
//! library upstream uses in its corner cases (nulls inside newly added
//! values are dropped; a non-object patch is rejected, an array patch
//! replaces the whole document), and builds two-way merge patches.

use serde_json::{Map, Value};

use super::PatchError;

/// Upstream's message for a patch that is not a JSON object or array.
pub const BAD_MERGE_PATCH: &str = "Invalid JSON Patch";

/// Applies a merge patch to `doc`.
pub fn apply_merge_patch(doc: &Value, patch: &Value) -> Result<Value, PatchError> {
    match patch {
        Value::Object(p) => match doc {
            Value::Object(d) => {
                let mut d = d.clone();
                merge_docs(&mut d, p);
                Ok(Value::Object(d))
            }
            _ => {
                let mut v = patch.clone();
                prune_nulls(&mut v);
                Ok(v)
            }
        },
        Value::Array(_) => {
            let mut v = patch.clone();
            prune_nulls(&mut v);
            Ok(v)
        }
        _ => Err(PatchError::BadRequest(BAD_MERGE_PATCH.into())),
    }
}

fn merge_docs(doc: &mut Map<String, Value>, patch: &Map<String, Value>) {
    for (k, pv) in patch {
        if pv.is_null() {
            doc.shift_remove(k);
            continue;
        }
        match doc.get_mut(k) {
            Some(cur) if !cur.is_null() => merge_value(cur, pv),
            _ => {
                let mut v = pv.clone();
                prune_nulls(&mut v);
                doc.insert(k.clone(), v);
            }
        }
    }
}

fn merge_value(cur: &mut Value, patch: &Value) {
    match (cur.as_object_mut(), patch) {
        (Some(c), Value::Object(p)) => merge_docs(c, p),
        (Some(_), _) => *cur = patch.clone(),
        (None, _) => {
            let mut v = patch.clone();
            prune_nulls(&mut v);
            *cur = v;
        }
    }
}

/// Drops null members of objects, recursively (array elements stay).
fn prune_nulls(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|_, x| !x.is_null());
            m.values_mut().for_each(prune_nulls);
        }
        Value::Array(a) => a.iter_mut().for_each(prune_nulls),
        _ => {}
    }
}

/// The merge patch that turns `original` into `modified` (objects diff
/// recursively, removed keys become `null`, changed lists and scalars are
/// replaced whole). Non-object inputs give `modified` itself.
pub fn create_merge_patch(original: &Value, modified: &Value) -> Value {
    match (original, modified) {
        (Value::Object(a), Value::Object(b)) => Value::Object(diff_objects(a, b)),
        _ => modified.clone(),
    }
}

fn diff_objects(a: &Map<String, Value>, b: &Map<String, Value>) -> Map<String, Value> {
    let mut into = Map::new();
    for (k, bv) in b {
        match (a.get(k), bv) {
            (None, _) => {
                into.insert(k.clone(), bv.clone());
            }
            (Some(Value::Object(ao)), Value::Object(bo)) => {
                let d = diff_objects(ao, bo);
                if !d.is_empty() {
                    into.insert(k.clone(), Value::Object(d));
                }
            }
            (Some(av), _) if av != bv => {
                into.insert(k.clone(), bv.clone());
            }
            _ => {}
        }
    }
    for k in a.keys() {
        if !b.contains_key(k) {
            into.insert(k.clone(), Value::Null);
        }
    }
    into
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;
    use serde_json::json;

    #[rstest]
    // RFC 7386 appendix A examples.
    #[case(json!({"a":"b"}), json!({"a":"c"}), json!({"a":"c"}))]
    #[case(json!({"a":"b"}), json!({"b":"c"}), json!({"a":"b","b":"c"}))]
    #[case(json!({"a":"b"}), json!({"a":null}), json!({}))]
    #[case(json!({"a":"b","b":"c"}), json!({"a":null}), json!({"b":"c"}))]
    #[case(json!({"a":["b"]}), json!({"a":"c"}), json!({"a":"c"}))]
    #[case(json!({"a":"c"}), json!({"a":["b"]}), json!({"a":["b"]}))]
    #[case(json!({"a":{"b":"c"}}), json!({"a":{"b":"d","c":null}}), json!({"a":{"b":"d"}}))]
    #[case(json!({"a":[{"b":"c"}]}), json!({"a":[1]}), json!({"a":[1]}))]
    #[case(json!({"e":null}), json!({"a":1}), json!({"e":null,"a":1}))]
    #[case(json!({}), json!({"a":{"bb":{"ccc":null}}}), json!({"a":{"bb":{}}}))]
    // Nulls inside a newly added list's objects are dropped too.
    #[case(json!({}), json!({"a":[{"x":null,"y":1}, null]}), json!({"a":[{"y":1}, null]}))]
    // A scalar being replaced by an object keeps none of the object's nulls.
    #[case(json!({"a":1}), json!({"a":{"b":null,"c":2}}), json!({"a":{"c":2}}))]
    fn applies(#[case] doc: Value, #[case] patch: Value, #[case] want: Value) {
        assert_eq!(apply_merge_patch(&doc, &patch).unwrap(), want);
    }

    #[rstest]
    #[case(json!(null))]
    #[case(json!("x"))]
    #[case(json!(1))]
    fn rejects_non_object_patches(#[case] patch: Value) {
        let e = apply_merge_patch(&json!({"a": 1}), &patch).unwrap_err();
        assert_eq!(e.to_string(), "Invalid JSON Patch");
        assert_eq!(e.code(), 400);
    }

    #[test]
    fn array_patch_replaces_document() {
        assert_eq!(
            apply_merge_patch(&json!({"a": 1}), &json!([{"b": null}])).unwrap(),
            json!([{}])
        );
    }

    #[test]
    fn two_way_diff() {
        let a = json!({"a": 1, "b": {"c": 2, "d": 3}, "e": [1], "f": "x", "g": null});
        let b = json!({"a": 1, "b": {"c": 2, "d": 4}, "e": [1, 2], "h": true, "g": null});
        let p = create_merge_patch(&a, &b);
        assert_eq!(p, json!({"b": {"d": 4}, "e": [1, 2], "h": true, "f": null}));
        assert_eq!(apply_merge_patch(&a, &p).unwrap()["b"], b["b"]);
        assert_eq!(create_merge_patch(&a, &a), json!({}));
    }

    fn json_value() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            any::<bool>().prop_map(Value::from),
            (0i64..5).prop_map(Value::from),
            "[a-c]{0,2}".prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..3).prop_map(Value::from),
                proptest::collection::btree_map("[a-d]", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        /// Without nulls in the documents, diff then apply gives back `modified`.
        #[test]
        fn diff_apply_round_trips(
            a in proptest::collection::btree_map("[a-d]", json_value(), 0..4),
            b in proptest::collection::btree_map("[a-d]", json_value(), 0..4),
        ) {
            let a = Value::Object(a.into_iter().collect());
            let b = Value::Object(b.into_iter().collect());
            let p = create_merge_patch(&a, &b);
            proptest::prop_assert_eq!(apply_merge_patch(&a, &p).unwrap(), b);
        }
    }
}
