//! Uniqueness of `x-kubernetes-list-type: set` and `map` lists in a custom
//! resource, as upstream's `listtype.ValidateListSetsAndMaps` checks it.
//!
//! A set may not hold the same element twice; a map list may not hold two
//! items with the same values for `x-kubernetes-list-map-keys`. Each repeat is
//! reported once, at its first repeated index, as `Duplicate value`.

use super::render::go_json;
use super::{additional_properties, items, properties};
use apimachinery::Cause;
use serde_json::{Map, Value, json};
use std::collections::HashMap;

/// Check every set and map list in `obj` (a whole object: the root path is
/// empty, so fields read `spec.ports[1]`).
pub fn validate_list_sets_and_maps(schema: &Value, obj: &Value) -> Vec<Cause> {
    let mut errs = vec![];
    if let Value::Object(map) = obj {
        object(schema, map, "", &mut errs);
    }
    errs
}

fn object(s: &Value, map: &Map<String, Value>, path: &str, errs: &mut Vec<Cause>) {
    if let Some(Some(ap)) = additional_properties(s) {
        for (k, v) in map {
            value(ap, v, &super::key(path, k), errs);
        }
    }
    if let Some(props) = properties(s) {
        for (k, v) in map {
            if let Some(sub) = props.get(k) {
                value(sub, v, &super::child(path, k), errs);
            }
        }
    }
}

fn value(s: &Value, v: &Value, path: &str, errs: &mut Vec<Cause>) {
    match v {
        Value::Array(arr) => array(s, arr, path, errs),
        Value::Object(map) => object(s, map, path, errs),
        _ => {}
    }
}

fn array(s: &Value, arr: &[Value], path: &str, errs: &mut Vec<Cause>) {
    match s.get("x-kubernetes-list-type").and_then(Value::as_str) {
        Some("set") => {
            for i in non_unique(arr) {
                errs.push(super::duplicate(&super::index(path, i), &arr[i]));
            }
        }
        Some("map") => errs.extend(list_map(s, arr, path)),
        _ => {}
    }
    if let Some(item_schema) = items(s) {
        for (i, v) in arr.iter().enumerate() {
            value(item_schema, v, &super::index(path, i), errs);
        }
    }
}

/// Identity of an element for uniqueness: scalars by Go type and value,
/// compounds by their JSON encoding (as upstream compares them).
fn identity(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("b:{b}"),
        Value::Number(n) => match n.as_i64() {
            Some(i) => format!("i:{i}"),
            None => format!("f:{}", n.as_f64().unwrap_or(0.0)),
        },
        Value::String(s) => format!("s:{s}"),
        other => format!("c:{}", go_json(other)),
    }
}

/// Indices where an element is seen for the second time.
fn non_unique(arr: &[Value]) -> Vec<usize> {
    non_unique_by(arr.iter().map(identity))
}

fn non_unique_by(ids: impl Iterator<Item = String>) -> Vec<usize> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut out = vec![];
    for (i, id) in ids.enumerate() {
        let times = seen.entry(id).or_insert(0);
        *times += 1;
        if *times == 2 {
            out.push(i);
        }
    }
    out
}

fn list_map(s: &Value, arr: &[Value], path: &str) -> Vec<Cause> {
    // Only objects (or null) may be items of a map list.
    for (i, x) in arr.iter().enumerate() {
        if !x.is_null() && !x.is_object() {
            return vec![super::invalid(
                &super::index(path, i),
                x,
                "must be an object for an array of list-type map",
            )];
        }
    }
    if arr.len() <= 1 {
        return vec![];
    }
    let keys: Vec<&str> = s
        .get("x-kubernetes-list-map-keys")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    // The key of each item: the map of its key fields that are present.
    let key_maps: Vec<Map<String, Value>> = arr
        .iter()
        .map(|x| {
            let mut m = Map::new();
            if let Value::Object(obj) = x {
                for k in &keys {
                    if let Some(v) = obj.get(*k) {
                        m.insert((*k).to_string(), v.clone());
                    }
                }
            }
            m
        })
        .collect();
    let ids = key_maps.iter().map(|m| {
        if keys.len() == 1 {
            // Single key: compare the key value itself (absent is its own value).
            match m.values().next() {
                Some(v) => identity(v),
                None => "unspecified".into(),
            }
        } else {
            go_json(&Value::Object(m.clone()))
        }
    });
    non_unique_by(ids)
        .into_iter()
        .map(|i| super::duplicate(&super::index(path, i), &json!(key_maps[i])))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema() -> Value {
        json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
            "tags": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}},
            "ports": {"type": "array", "x-kubernetes-list-type": "map",
                      "x-kubernetes-list-map-keys": ["port"],
                      "items": {"type": "object", "properties": {"port": {"type": "integer"}}}},
            "routes": {"type": "array", "x-kubernetes-list-type": "map",
                       "x-kubernetes-list-map-keys": ["host", "path"],
                       "items": {"type": "object"}},
            "groups": {"type": "object", "additionalProperties": {
                "type": "array", "x-kubernetes-list-type": "set", "items": {"type": "integer"}}},
            "atomic": {"type": "array", "items": {"type": "string"}}
        }}}})
    }

    fn fields(c: &[Cause]) -> Vec<(String, String)> {
        c.iter()
            .map(|c| (c.field.clone(), c.message.clone()))
            .collect()
    }

    #[test]
    fn set_duplicates_reported_once_at_second_occurrence() {
        let obj = json!({"spec": {"tags": ["a", "b", "a", "a", "b"], "atomic": ["x", "x"]}});
        let errs = validate_list_sets_and_maps(&schema(), &obj);
        assert_eq!(
            fields(&errs),
            vec![
                ("spec.tags[2]".into(), "Duplicate value: \"a\"".into()),
                ("spec.tags[4]".into(), "Duplicate value: \"b\"".into()),
            ]
        );
        assert_eq!(errs[0].reason, "FieldValueDuplicate");
    }

    #[test]
    fn map_list_duplicate_keys() {
        let obj = json!({"spec": {
            "ports": [{"port": 80, "name": "a"}, {"port": 80, "name": "b"}, {"name": "c"}, {}],
            "routes": [{"host": "h", "path": "/"}, {"host": "h", "path": "/x"}, {"path": "/", "host": "h"}]
        }});
        let errs = validate_list_sets_and_maps(&schema(), &obj);
        assert_eq!(
            fields(&errs),
            vec![
                (
                    "spec.ports[1]".into(),
                    "Duplicate value: {\"port\":80}".into()
                ),
                ("spec.ports[3]".into(), "Duplicate value: {}".into()),
                (
                    "spec.routes[2]".into(),
                    "Duplicate value: {\"host\":\"h\",\"path\":\"/\"}".into()
                ),
            ]
        );
    }

    #[test]
    fn map_list_items_must_be_objects() {
        let obj = json!({"spec": {"ports": [{"port": 1}, 5]}});
        let errs = validate_list_sets_and_maps(&schema(), &obj);
        assert_eq!(
            fields(&errs),
            vec![(
                "spec.ports[1]".into(),
                "Invalid value: 5: must be an object for an array of list-type map".into()
            )]
        );
    }

    #[test]
    fn additional_properties_use_key_paths_and_types_matter() {
        let obj = json!({"spec": {"groups": {"g": [1, 1.0, 2, 2]}}});
        let errs = validate_list_sets_and_maps(&schema(), &obj);
        // 1 and 1.0 are different (int64 vs float64); 2 repeats.
        assert_eq!(
            fields(&errs),
            vec![("spec.groups[g][3]".into(), "Duplicate value: 2".into())]
        );
    }
}
