//! Custom resources as upstream's apiextensions-apiserver serves them, driven
//! by a CRD version's `schema.openAPIV3Schema` (a structural OpenAPI v3 schema
//! held as a `serde_json::Value`). Pure functions, no IO:
//!
//! - [`prune`]: drop fields the schema does not specify (and non-nullable
//!   nulls without a default), returning the unknown-field paths.
//! - [`apply_defaults`]: structural defaulting.
//! - [`validate`]: OpenAPI v3 validation with upstream's causes and wording,
//!   plus `x-kubernetes-list-type` set/map uniqueness. `x-kubernetes-validations`
//!   (CEL) rules are not evaluated.
//! - [`validate_crd_schema`]: the structural-schema checks run when a CRD is
//!   created or updated.
//! - [`scale`]: the `/scale` subresource of a custom resource.
//!
//! Request order, as upstream: prune → default → validate.

pub mod defaults;
pub mod formats;
pub mod listtype;
mod numbers;
pub mod prune;
pub mod render;
pub mod scale;
pub mod schema_api;
pub mod structural;
pub mod validate;

pub use defaults::apply_defaults;
pub use prune::prune;
pub use structural::validate_crd_schema;
pub use validate::validate;

#[cfg(test)]
mod validate_tests;

#[cfg(test)]
mod structural_tests;

use apimachinery::Cause;
use serde_json::{Map, Value};

// ---- schema accessors shared by the algorithms ----

/// `properties` of a schema node.
pub(crate) fn properties(s: &Value) -> Option<&Map<String, Value>> {
    s.get("properties").and_then(Value::as_object)
}

/// `additionalProperties`: `None` when absent; `Some(Some(schema))` for a
/// schema; `Some(None)` for a boolean (upstream keeps the key either way).
pub(crate) fn additional_properties(s: &Value) -> Option<Option<&Value>> {
    match s.get("additionalProperties") {
        None | Some(Value::Null) => None,
        Some(v @ Value::Object(_)) => Some(Some(v)),
        Some(_) => Some(None),
    }
}

/// Whether `additionalProperties` is the literal `false`.
pub(crate) fn additional_properties_false(s: &Value) -> bool {
    matches!(s.get("additionalProperties"), Some(Value::Bool(false)))
}

/// `items` when it is a single schema.
pub(crate) fn items(s: &Value) -> Option<&Value> {
    s.get("items").filter(|v| v.is_object())
}

pub(crate) fn flag(s: &Value, name: &str) -> bool {
    s.get(name).and_then(Value::as_bool).unwrap_or(false)
}

pub(crate) fn preserve_unknown(s: &Value) -> bool {
    flag(s, "x-kubernetes-preserve-unknown-fields")
}

pub(crate) fn embedded_resource(s: &Value) -> bool {
    flag(s, "x-kubernetes-embedded-resource")
}

pub(crate) fn int_or_string(s: &Value) -> bool {
    flag(s, "x-kubernetes-int-or-string")
}

pub(crate) fn nullable(s: &Value) -> bool {
    flag(s, "nullable")
}

pub(crate) fn type_of(s: &Value) -> &str {
    s.get("type").and_then(Value::as_str).unwrap_or("")
}

/// The schema's `default`; `default: null` counts as none, as upstream.
pub(crate) fn default_of(s: &Value) -> Option<&Value> {
    s.get("default").filter(|v| !v.is_null())
}

/// The schema to apply to key `k` of an object: a property or
/// `additionalProperties`.
pub(crate) fn schema_for_key<'a>(s: &'a Value, k: &str) -> Option<&'a Value> {
    properties(s)
        .and_then(|p| p.get(k))
        .or_else(|| additional_properties(s).flatten())
}

// ---- field causes as `field.Error` renders them ----

/// `field.TypeInvalid`: reason `FieldValueTypeInvalid`, `Invalid value: v: detail`.
pub(crate) fn type_invalid(field: &str, value: &Value, detail: &str) -> Cause {
    Cause::new(
        "FieldValueTypeInvalid",
        field,
        format!("Invalid value: {}: {detail}", render::bad_value(value)),
    )
}

/// `field.Invalid` with Go rendering of the bad value.
pub(crate) fn invalid(field: &str, value: &Value, detail: &str) -> Cause {
    let mut body = format!("Invalid value: {}", render::bad_value(value));
    if !detail.is_empty() {
        body.push_str(": ");
        body.push_str(detail);
    }
    Cause::new("FieldValueInvalid", field, body)
}

/// `field.Required` with an optional detail.
pub(crate) fn required(field: &str, detail: &str) -> Cause {
    let mut body = "Required value".to_string();
    if !detail.is_empty() {
        body.push_str(": ");
        body.push_str(detail);
    }
    Cause::new("FieldValueRequired", field, body)
}

/// `field.Forbidden`.
pub(crate) fn forbidden(field: &str, detail: &str) -> Cause {
    Cause::new("FieldValueForbidden", field, format!("Forbidden: {detail}"))
}

/// `field.NotSupported`: supported values quoted with Go's `strconv.Quote`.
pub(crate) fn not_supported(field: &str, value: &Value, supported: &[String]) -> Cause {
    let mut body = format!("Unsupported value: {}", render::bad_value(value));
    if !supported.is_empty() {
        let list = supported
            .iter()
            .map(|s| render::go_quote(s))
            .collect::<Vec<_>>()
            .join(", ");
        body.push_str(": supported values: ");
        body.push_str(&list);
    }
    Cause::new("FieldValueNotSupported", field, body)
}

/// `field.TooLong` (the value is omitted, as upstream).
pub(crate) fn too_long(field: &str, max: i64) -> Cause {
    let detail = if max < 0 {
        "value is too long".to_string()
    } else if max == 1 {
        "may not be more than 1 byte".to_string()
    } else {
        format!("may not be more than {max} bytes")
    };
    Cause::new("FieldValueTooLong", field, format!("Too long: {detail}"))
}

/// `field.TooMany`.
pub(crate) fn too_many(field: &str, actual: i64, max: i64) -> Cause {
    let detail = if max < 0 {
        "has too many items".to_string()
    } else if max == 1 {
        "must have at most 1 item".to_string()
    } else {
        format!("must have at most {max} items")
    };
    let body = if actual >= 0 {
        format!("Too many: {actual}: {detail}")
    } else {
        format!("Too many: {detail}")
    };
    Cause::new("FieldValueTooMany", field, body)
}

/// `field.Duplicate`.
pub(crate) fn duplicate(field: &str, value: &Value) -> Cause {
    Cause::new(
        "FieldValueDuplicate",
        field,
        format!("Duplicate value: {}", render::bad_value(value)),
    )
}

/// Join a field path the way `field.Path.Child` does (`""` is the root).
pub(crate) fn child(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_string()
    } else {
        format!("{parent}.{name}")
    }
}

/// `field.Path.Key`: `parent[key]`.
pub(crate) fn key(parent: &str, k: &str) -> String {
    format!("{parent}[{k}]")
}

/// `field.Path.Index`: `parent[i]`.
pub(crate) fn index(parent: &str, i: usize) -> String {
    format!("{parent}[{i}]")
}
