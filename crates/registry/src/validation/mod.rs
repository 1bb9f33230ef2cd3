//! Upstream's generic validators (`k8s.io/apimachinery/pkg/util/validation`
//! and `pkg/api/validation`) as pure functions returning field causes, with
//! upstream's wording so kubectl prints the same messages.

pub mod meta;
pub mod names;
pub mod net;
pub use apimachinery::quantity;
pub mod selector;

pub use meta::{validate_annotations, validate_labels, validate_object_meta};
pub use names::*;
pub use net::*;
pub use quantity::Quantity;
pub use selector::{selector_matches, validate_label_selector};

use apimachinery::Cause;
use serde_json::Value;

/// `base.name`, or `name` at the root.
pub fn child(base: &str, name: &str) -> String {
    if base.is_empty() {
        name.to_string()
    } else {
        format!("{base}.{name}")
    }
}

/// `base[i]`.
pub fn index(base: &str, i: usize) -> String {
    format!("{base}[{i}]")
}

/// `base[key]` (map keys are printed bare, as upstream's `Path.Key`).
pub fn key(base: &str, k: &str) -> String {
    format!("{base}[{k}]")
}

/// A `FieldValueInvalid` cause whose value is already rendered (used for
/// values upstream prints with Go's `%#v`, e.g. `map[string]string{...}`).
pub fn invalid_raw(field: impl Into<String>, rendered: &str, detail: &str) -> Cause {
    Cause::new(
        "FieldValueInvalid",
        field,
        format!("Invalid value: {rendered}: {detail}"),
    )
}

/// `FieldValueInvalid` for a string value.
pub fn invalid_str(field: impl Into<String>, value: &str, detail: &str) -> Cause {
    Cause::invalid(field, &Value::String(value.to_string()), detail)
}

/// `Required value: <detail>` (upstream's `field.Required` with a detail).
pub fn required_with(field: impl Into<String>, detail: &str) -> Cause {
    if detail.is_empty() {
        Cause::required(field)
    } else {
        Cause::new(
            "FieldValueRequired",
            field,
            format!("Required value: {detail}"),
        )
    }
}

/// `Not found: <value>` (e.g. a volumeMount naming no volume).
pub fn not_found(field: impl Into<String>, value: &str) -> Cause {
    Cause::new("FieldValueNotFound", field, format!("Not found: {value:?}"))
}

/// `Too many: <n>: must have at most <max> items`.
pub fn too_many(field: impl Into<String>, actual: usize, max: usize) -> Cause {
    Cause::new(
        "FieldValueTooMany",
        field,
        format!("Too many: {actual}: must have at most {max} items"),
    )
}

/// Go's `%#v` of a `map[string]string`: keys sorted, as `fmt` prints maps.
pub fn go_string_map(v: Option<&Value>) -> String {
    let Some(Value::Object(m)) = v else {
        return "map[string]string(nil)".to_string();
    };
    let mut entries: Vec<(&String, String)> = m
        .iter()
        .map(|(k, v)| (k, v.as_str().unwrap_or_default().to_string()))
        .collect();
    entries.sort();
    let body = entries
        .iter()
        .map(|(k, v)| format!("{k:?}:{v:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!("map[string]string{{{body}}}")
}

/// `field is immutable` when `new` differs from `old`.
pub fn validate_immutable(new: Option<&Value>, old: Option<&Value>, field: &str) -> Vec<Cause> {
    let null = Value::Null;
    let n = new.unwrap_or(&null);
    let o = old.unwrap_or(&null);
    if n == o {
        return vec![];
    }
    let rendered = match n {
        Value::Object(_) | Value::Array(_) => n.to_string(),
        Value::String(s) => format!("{s:?}"),
        Value::Null => "null".into(),
        other => other.to_string(),
    };
    vec![invalid_raw(field, &rendered, "field is immutable")]
}

/// `must be greater than or equal to 0` for a negative integer.
pub fn validate_nonnegative(v: Option<&Value>, field: &str) -> Vec<Cause> {
    match v.and_then(Value::as_i64) {
        Some(n) if n < 0 => vec![Cause::invalid(
            field,
            &Value::from(n),
            "must be greater than or equal to 0",
        )],
        _ => vec![],
    }
}

/// Turn a list of upstream-style messages into `Invalid` causes for one value.
pub fn invalid_each(field: &str, value: &str, msgs: Vec<String>) -> Vec<Cause> {
    msgs.into_iter()
        .map(|m| invalid_str(field, value, &m))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_compose() {
        assert_eq!(child("", "spec"), "spec");
        assert_eq!(index(&child("spec", "containers"), 0), "spec.containers[0]");
        assert_eq!(key("limits", "cpu"), "limits[cpu]");
    }

    #[test]
    fn go_map_is_sorted_and_quoted() {
        let m = json!({"b": "2", "a": "1"});
        assert_eq!(
            go_string_map(Some(&m)),
            r#"map[string]string{"a":"1", "b":"2"}"#
        );
        assert_eq!(go_string_map(None), "map[string]string(nil)");
    }

    #[test]
    fn immutable_detects_change() {
        assert!(validate_immutable(Some(&json!("a")), Some(&json!("a")), "x").is_empty());
        let c = validate_immutable(Some(&json!("b")), Some(&json!("a")), "spec.x");
        assert_eq!(c[0].message, "Invalid value: \"b\": field is immutable");
    }
}
