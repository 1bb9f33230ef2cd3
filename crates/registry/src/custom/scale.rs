//! The `/scale` subresource of a custom resource, driven by the CRD's
//! `subresources.scale` (`specReplicasPath`, `statusReplicasPath`,
//! `labelSelectorPath`, simple dotted paths such as `.spec.replicas`).
//!
//! Reading builds an `autoscaling/v1` `Scale` as upstream does; writing sets
//! the spec replicas path. Validation of the replica fields (run on every
//! create/update of a resource whose CRD has a scale subresource) and of the
//! CRD's scale paths live here too. Errors carry upstream's accessor texts.

use super::render::go_float;
use apimachinery::Cause;
use serde_json::{Map, Value, json};

/// A CRD's `subresources.scale`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScaleSpec {
    pub spec_replicas_path: String,
    pub status_replicas_path: String,
    pub label_selector_path: Option<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ScaleError {
    /// A value on a replicas or selector path has the wrong type, or a
    /// non-object sits on the way to it (upstream's accessor error text).
    #[error("{0}")]
    Accessor(String),
    /// The spec replicas field was absent and the update did not set it.
    #[error("the spec replicas field {0:?} cannot be empty")]
    EmptySpecReplicas(String),
    /// `subresources.scale` lacks a replicas path.
    #[error("subresources.scale.{0} is required")]
    MissingPath(&'static str),
}

/// Spec replicas of a scale built for an update when the resource has none:
/// it tells "not set" apart from 0, as upstream does.
pub const INVALID_SPEC_REPLICAS: i64 = -2_147_483_648;

impl ScaleSpec {
    /// Read a CRD's `subresources.scale` object.
    pub fn from_value(v: &Value) -> Result<ScaleSpec, ScaleError> {
        let get = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        Ok(ScaleSpec {
            spec_replicas_path: get("specReplicasPath")
                .ok_or(ScaleError::MissingPath("specReplicasPath"))?,
            status_replicas_path: get("statusReplicasPath")
                .ok_or(ScaleError::MissingPath("statusReplicasPath"))?,
            label_selector_path: get("labelSelectorPath").filter(|s| !s.is_empty()),
        })
    }
}

/// `.spec.replicas` → `["spec", "replicas"]` (upstream `splitReplicasPath`).
fn split(path: &str) -> Vec<&str> {
    path.strip_prefix('.').unwrap_or(path).split('.').collect()
}

fn json_path(fields: &[&str]) -> String {
    format!(".{}", fields.join("."))
}

/// Go's `%v` of a decoded JSON value.
fn go_v(v: &Value) -> String {
    match v {
        Value::Null => "<nil>".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => match n.as_i64() {
            Some(i) => i.to_string(),
            None => go_float(n.as_f64().unwrap_or(0.0)),
        },
        Value::String(s) => s.clone(),
        Value::Array(a) => format!("[{}]", a.iter().map(go_v).collect::<Vec<_>>().join(" ")),
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let parts: Vec<String> = keys
                .iter()
                .map(|k| format!("{k}:{}", go_v(&m[*k])))
                .collect();
            format!("map[{}]", parts.join(" "))
        }
    }
}

/// Go's `%T` of a decoded JSON value.
fn go_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "<nil>",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.as_i64().is_some() => "int64",
        Value::Number(_) => "float64",
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    }
}

/// upstream `NestedFieldNoCopy`: `Ok(None)` when absent (or a null on the way).
fn nested<'a>(obj: &'a Value, fields: &[&str]) -> Result<Option<&'a Value>, ScaleError> {
    let mut val = obj;
    for (i, f) in fields.iter().enumerate() {
        match val {
            Value::Null => return Ok(None),
            Value::Object(m) => match m.get(*f) {
                Some(v) => val = v,
                None => return Ok(None),
            },
            other => {
                return Err(ScaleError::Accessor(format!(
                    "{} accessor error: {} is of the type {}, expected map[string]interface{{}}",
                    json_path(&fields[..=i]),
                    go_v(other),
                    go_type(other)
                )));
            }
        }
    }
    Ok(if val.is_null() { None } else { Some(val) })
}

fn nested_int(obj: &Value, path: &str) -> Result<Option<i64>, ScaleError> {
    let fields = split(path);
    match nested(obj, &fields)? {
        None => Ok(None),
        Some(v) => match v.as_i64() {
            Some(i) if v.is_i64() || v.is_u64() => Ok(Some(i)),
            _ => Err(ScaleError::Accessor(format!(
                "{} accessor error: {} is of the type {}, expected int64",
                json_path(&fields),
                go_v(v),
                go_type(v)
            ))),
        },
    }
}

fn nested_string(obj: &Value, path: &str) -> Result<Option<String>, ScaleError> {
    let fields = split(path);
    match nested(obj, &fields)? {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(v) => Err(ScaleError::Accessor(format!(
            "{} accessor error: {} is of the type {}, expected string",
            json_path(&fields),
            go_v(v),
            go_type(v)
        ))),
    }
}

/// The spec replicas of `obj`, `None` when unset.
pub fn spec_replicas(obj: &Value, spec: &ScaleSpec) -> Result<Option<i64>, ScaleError> {
    nested_int(obj, &spec.spec_replicas_path)
}

/// The `Scale` for GET /scale. `api_version` is the Scale's group/version
/// (`autoscaling/v1`, which upstream always serves for custom resources).
pub fn get_scale(obj: &Value, spec: &ScaleSpec, api_version: &str) -> Result<Value, ScaleError> {
    build(obj, spec, api_version, false)
}

/// The `Scale` an update (PUT or PATCH of /scale) starts from: like
/// [`get_scale`], but with [`INVALID_SPEC_REPLICAS`] when the resource has no
/// spec replicas, so [`apply_scale_update`] can refuse an update that leaves
/// them unset.
pub fn scale_for_update(
    obj: &Value,
    spec: &ScaleSpec,
    api_version: &str,
) -> Result<Value, ScaleError> {
    build(obj, spec, api_version, true)
}

fn build(
    obj: &Value,
    spec: &ScaleSpec,
    api_version: &str,
    for_update: bool,
) -> Result<Value, ScaleError> {
    let spec_replicas = spec_replicas(obj, spec)?;
    let status_replicas = nested_int(obj, &spec.status_replicas_path)?.unwrap_or(0);
    let selector = match &spec.label_selector_path {
        Some(p) => nested_string(obj, p)?.unwrap_or_default(),
        None => String::new(),
    };
    // Upstream stores both counts as int32.
    let spec_count = match spec_replicas {
        Some(n) => n as i32 as i64,
        None if for_update => INVALID_SPEC_REPLICAS,
        None => 0,
    };
    let meta = obj.get("metadata").cloned().unwrap_or_else(|| json!({}));
    let mut m = Map::new();
    for k in ["name", "namespace", "uid", "resourceVersion"] {
        if let Some(v) = meta
            .get(k)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
        {
            m.insert(k.into(), json!(v));
        }
    }
    m.insert(
        "creationTimestamp".into(),
        meta.get("creationTimestamp")
            .cloned()
            .unwrap_or(Value::Null),
    );
    let mut scale_spec = Map::new();
    if spec_count != 0 {
        scale_spec.insert("replicas".into(), json!(spec_count));
    }
    let mut status = Map::new();
    status.insert("replicas".into(), json!(status_replicas as i32));
    if !selector.is_empty() {
        status.insert("selector".into(), json!(selector));
    }
    Ok(json!({
        "kind": "Scale",
        "apiVersion": api_version,
        "metadata": m,
        "spec": scale_spec,
        "status": status,
    }))
}

/// Set the spec replicas of `obj` (creating objects on the way, as upstream's
/// `SetNestedField`).
pub fn set_replicas(obj: &mut Value, spec: &ScaleSpec, replicas: i64) -> Result<(), ScaleError> {
    let fields = split(&spec.spec_replicas_path);
    let Some((last, parents)) = fields.split_last() else {
        return Ok(());
    };
    let mut cur = obj;
    for (i, f) in parents.iter().enumerate() {
        let Value::Object(m) = cur else {
            return Err(not_a_map(&fields[..i]));
        };
        cur = m.entry(f.to_string()).or_insert_with(|| json!({}));
        if !cur.is_object() {
            return Err(not_a_map(&fields[..=i]));
        }
    }
    match cur {
        Value::Object(m) => {
            m.insert(last.to_string(), json!(replicas));
            Ok(())
        }
        _ => Err(not_a_map(parents)),
    }
}

fn not_a_map(fields: &[&str]) -> ScaleError {
    ScaleError::Accessor(format!(
        "value cannot be set because {} is not a map[string]interface{{}}",
        json_path(fields)
    ))
}

/// Apply an updated `Scale` to the resource: its spec replicas, and its
/// `resourceVersion` as a precondition when the client sent one.
pub fn apply_scale_update(
    obj: &mut Value,
    spec: &ScaleSpec,
    scale: &Value,
) -> Result<(), ScaleError> {
    let replicas = scale
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    if replicas == INVALID_SPEC_REPLICAS {
        return Err(ScaleError::EmptySpecReplicas(
            spec.spec_replicas_path.clone(),
        ));
    }
    set_replicas(obj, spec, replicas)?;
    if let Some(rv) = scale
        .pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        && !rv.is_empty()
        && let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut)
    {
        meta.insert("resourceVersion".into(), json!(rv));
    }
    Ok(())
}

fn check_count(obj: &Value, path: &str, errs: &mut Vec<Cause>) {
    match nested_int(obj, path) {
        Err(e) => errs.push(super::invalid(path, &json!(0), &e.to_string())),
        Ok(Some(n)) if n < 0 => errs.push(super::invalid(
            path,
            &json!(n),
            "should be a non-negative integer",
        )),
        Ok(Some(n)) if n > i32::MAX as i64 => errs.push(super::invalid(
            path,
            &json!(n),
            &format!("should be less than or equal to {}", i32::MAX),
        )),
        _ => {}
    }
}

/// Checks upstream runs on every write of a resource whose CRD has a scale
/// subresource (spec and status replicas are non-negative int32s, the selector
/// a string). Fields are the CRD's paths as written (`.spec.replicas`).
pub fn validate_scale(obj: &Value, spec: &ScaleSpec) -> Vec<Cause> {
    let mut errs = vec![];
    check_count(obj, &spec.spec_replicas_path, &mut errs);
    errs.extend(validate_scale_status(obj, spec));
    errs
}

/// The status half of [`validate_scale`], used alone for status updates.
pub fn validate_scale_status(obj: &Value, spec: &ScaleSpec) -> Vec<Cause> {
    let mut errs = vec![];
    check_count(obj, &spec.status_replicas_path, &mut errs);
    if let Some(p) = &spec.label_selector_path
        && let Err(e) = nested_string(obj, p)
    {
        errs.push(super::invalid(p, &json!(""), &e.to_string()));
    }
    errs
}

fn simple_path(s: &str, fld: &str, errs: &mut Vec<Cause>) -> bool {
    let before = errs.len();
    if s.is_empty() {
        errs.push(super::invalid(fld, &json!(s), "must not be empty"));
    } else if !s.starts_with('.') {
        errs.push(super::invalid(
            fld,
            &json!(s),
            "must be a simple json path starting with .",
        ));
    }
    errs.len() == before
}

/// Validate a CRD's `subresources.scale` object; `fld` is the subresources
/// path, e.g. `spec.versions[0].subresources`.
pub fn validate_scale_paths(scale: &Value, fld: &str) -> Vec<Cause> {
    let mut errs = vec![];
    let get = |k: &str| scale.get(k).and_then(Value::as_str).unwrap_or("");
    for (k, prefix, detail) in [
        (
            "specReplicasPath",
            &[".spec."][..],
            "should be a json path under .spec",
        ),
        (
            "statusReplicasPath",
            &[".status."][..],
            "should be a json path under .status",
        ),
    ] {
        let f = format!("{fld}.scale.{k}");
        let p = get(k);
        if p.is_empty() {
            errs.push(super::required(&f, ""));
        } else if simple_path(p, &f, &mut errs) && !prefix.iter().any(|x| p.starts_with(x)) {
            errs.push(super::invalid(&f, &json!(p), detail));
        }
    }
    let sel = get("labelSelectorPath");
    let f = format!("{fld}.scale.labelSelectorPath");
    if !sel.is_empty()
        && simple_path(sel, &f, &mut errs)
        && !sel.starts_with(".spec.")
        && !sel.starts_with(".status.")
    {
        errs.push(super::invalid(
            &f,
            &json!(sel),
            "should be a json path under either .spec or .status",
        ));
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> ScaleSpec {
        ScaleSpec::from_value(&json!({
            "specReplicasPath": ".spec.replicas",
            "statusReplicasPath": ".status.replicas",
            "labelSelectorPath": ".status.selector"
        }))
        .unwrap_or_else(|e| panic!("{e}"))
    }

    fn widget() -> Value {
        json!({
            "apiVersion": "example.com/v1", "kind": "Widget",
            "metadata": {"name": "w", "namespace": "ns", "uid": "u1", "resourceVersion": "7",
                         "creationTimestamp": "2024-01-01T00:00:00Z", "labels": {"a": "b"}},
            "spec": {"replicas": 3},
            "status": {"replicas": 2, "selector": "app=w"}
        })
    }

    #[test]
    fn get_scale_builds_autoscaling_v1_scale() {
        let s = get_scale(&widget(), &spec(), "autoscaling/v1").unwrap_or_default();
        assert_eq!(
            s,
            json!({"kind": "Scale", "apiVersion": "autoscaling/v1",
                   "metadata": {"name": "w", "namespace": "ns", "uid": "u1", "resourceVersion": "7",
                                "creationTimestamp": "2024-01-01T00:00:00Z"},
                   "spec": {"replicas": 3},
                   "status": {"replicas": 2, "selector": "app=w"}})
        );
    }

    #[test]
    fn missing_fields_read_as_zero_and_update_sentinel() {
        let obj = json!({"metadata": {"name": "w"}});
        let s = get_scale(&obj, &spec(), "autoscaling/v1").unwrap_or_default();
        assert_eq!(s["spec"], json!({}));
        assert_eq!(s["status"], json!({"replicas": 0}));
        assert_eq!(s["metadata"]["creationTimestamp"], Value::Null);
        let u = scale_for_update(&obj, &spec(), "autoscaling/v1").unwrap_or_default();
        assert_eq!(u["spec"]["replicas"], INVALID_SPEC_REPLICAS);
        let mut obj2 = obj.clone();
        assert_eq!(
            apply_scale_update(&mut obj2, &spec(), &u),
            Err(ScaleError::EmptySpecReplicas(".spec.replicas".into()))
        );
        assert_eq!(
            ScaleError::EmptySpecReplicas(".spec.replicas".into()).to_string(),
            "the spec replicas field \".spec.replicas\" cannot be empty"
        );
    }

    #[test]
    fn wrong_types_give_accessor_errors() {
        let mut obj = widget();
        obj["spec"]["replicas"] = json!("three");
        assert_eq!(
            get_scale(&obj, &spec(), "autoscaling/v1"),
            Err(ScaleError::Accessor(
                ".spec.replicas accessor error: three is of the type string, expected int64".into()
            ))
        );
        obj["spec"] = json!(5);
        assert_eq!(
            spec_replicas(&obj, &spec()),
            Err(ScaleError::Accessor(
                // Upstream names the path up to the field it tried to read.
                ".spec.replicas accessor error: 5 is of the type int64, expected map[string]interface{}"
                    .into()
            ))
        );
    }

    #[test]
    fn set_replicas_creates_parents_and_rejects_scalars() {
        let mut obj = json!({"metadata": {"name": "w"}});
        assert_eq!(set_replicas(&mut obj, &spec(), 4), Ok(()));
        assert_eq!(obj["spec"]["replicas"], 4);
        let mut bad = json!({"spec": "x"});
        assert_eq!(
            set_replicas(&mut bad, &spec(), 1),
            Err(ScaleError::Accessor(
                "value cannot be set because .spec is not a map[string]interface{}".into()
            ))
        );
    }

    #[test]
    fn apply_update_sets_replicas_and_resource_version() {
        let mut obj = widget();
        let scale = json!({"metadata": {"resourceVersion": "9"}, "spec": {"replicas": 5}});
        assert_eq!(apply_scale_update(&mut obj, &spec(), &scale), Ok(()));
        assert_eq!(obj["spec"]["replicas"], 5);
        assert_eq!(obj["metadata"]["resourceVersion"], "9");
    }

    #[test]
    fn validation_of_replica_fields() {
        assert!(validate_scale(&widget(), &spec()).is_empty());
        let mut obj = widget();
        obj["spec"]["replicas"] = json!(-1);
        obj["status"]["replicas"] = json!(3_000_000_000i64);
        obj["status"]["selector"] = json!(1);
        let errs: Vec<String> = validate_scale(&obj, &spec())
            .iter()
            .map(Cause::summary)
            .collect();
        assert_eq!(
            errs,
            vec![
                ".spec.replicas: Invalid value: -1: should be a non-negative integer",
                ".status.replicas: Invalid value: 3000000000: should be less than or equal to 2147483647",
                ".status.selector: Invalid value: \"\": .status.selector accessor error: 1 is of the type int64, expected string",
            ]
        );
    }

    #[test]
    fn crd_scale_paths() {
        let f = "spec.versions[0].subresources";
        let errs: Vec<String> = validate_scale_paths(
            &json!({"specReplicasPath": "spec.replicas", "statusReplicasPath": ".spec.x",
                    "labelSelectorPath": ".metadata.labels"}),
            f,
        )
        .iter()
        .map(Cause::summary)
        .collect();
        assert_eq!(
            errs,
            vec![
                "spec.versions[0].subresources.scale.specReplicasPath: Invalid value: \"spec.replicas\": must be a simple json path starting with .",
                "spec.versions[0].subresources.scale.statusReplicasPath: Invalid value: \".spec.x\": should be a json path under .status",
                "spec.versions[0].subresources.scale.labelSelectorPath: Invalid value: \".metadata.labels\": should be a json path under either .spec or .status",
            ]
        );
        let errs = validate_scale_paths(&json!({}), f);
        assert_eq!(
            errs[0].summary(),
            "spec.versions[0].subresources.scale.specReplicasPath: Required value"
        );
        assert!(validate_scale_paths(&json!({"specReplicasPath": ".spec.replicas", "statusReplicasPath": ".status.replicas"}), f).is_empty());
    }
}
