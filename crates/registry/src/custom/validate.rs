//! OpenAPI v3 validation of a custom resource against its CRD schema, with the
//! causes and wording upstream returns (kube-openapi's validator, mapped to
//! field errors by apiextensions-apiserver).
//!
//! Messages name the failing node the way kube-openapi does (`spec.size in
//! body must be of type integer: "string"`) and are wrapped in field errors
//! (`FieldValueTypeInvalid`, `FieldValueRequired`, `FieldValueNotSupported`,
//! `FieldValueTooLong`, `FieldValueTooMany`, otherwise `FieldValueInvalid`).
//! Errors without a node (anyOf/oneOf/allOf/not summaries, number-range
//! checks) carry the root path, which upstream prints as `<nil>`.
//!
//! `x-kubernetes-validations` (CEL) rules are not evaluated.

use super::formats;
use super::numbers::{Num, check_number, is_json_integer};
use super::render::{go_json, go_quote};
use super::{additional_properties, additional_properties_false, int_or_string, items};
use super::{listtype, nullable, properties, type_of};
use apimachinery::Cause;
use regex::Regex;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

/// Validate a whole custom resource: the OpenAPI schema, then
/// `x-kubernetes-list-type` set/map uniqueness, as upstream's create and
/// update strategies do.
pub fn validate(schema: &Value, obj: &Value) -> Vec<Cause> {
    let mut causes = validate_schema(schema, obj, None);
    causes.extend(listtype::validate_list_sets_and_maps(schema, obj));
    causes
}

/// OpenAPI validation only. `root` is the field path the value sits at:
/// `None` for a whole object (upstream's nil path), `Some("status")` when the
/// status subresource validates `status` against the status schema.
pub fn validate_schema(schema: &Value, value: &Value, root: Option<&str>) -> Vec<Cause> {
    node(schema, value, "")
        .into_iter()
        .map(|e| e.into_cause(root))
        .collect()
}

/// The kube-openapi error codes that matter for the mapping to field errors.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Code {
    InvalidType,
    Required,
    TooLong,
    Enum,
    MaxItems,
    TooManyProperties,
    /// Everything else becomes `field.Invalid`.
    Other,
}

/// One kube-openapi validation error.
#[derive(Clone, Debug)]
pub(super) enum OErr {
    Validation {
        code: Code,
        /// The node path kube-openapi reports (`spec.size`, `.spec` for
        /// required fields at the root).
        name: String,
        value: Option<Value>,
        /// `maxLength` / `maxItems` / `maxProperties` bound.
        valid: i64,
        values: Vec<Value>,
        message: String,
    },
    /// A plain error, not tied to a node.
    Plain(String),
}

impl OErr {
    fn message(&self) -> &str {
        match self {
            OErr::Validation { message, .. } => message,
            OErr::Plain(m) => m,
        }
    }

    fn into_cause(self, root: Option<&str>) -> Cause {
        let root_field = root.unwrap_or("<nil>");
        match self {
            OErr::Plain(message) => super::invalid(root_field, &json!(""), &message),
            OErr::Validation {
                code,
                name,
                value,
                valid,
                values,
                message,
            } => {
                let field = if !name.is_empty() && name != "." {
                    let trimmed = name.strip_prefix('.').unwrap_or(&name);
                    super::child(root.unwrap_or(""), trimmed)
                } else {
                    root_field.to_string()
                };
                let value = value.unwrap_or_else(|| json!(""));
                match code {
                    Code::Required => super::required(&field, ""),
                    Code::Enum => {
                        let supported: Vec<String> = values
                            .iter()
                            .map(|v| match v {
                                Value::String(s) => s.clone(),
                                other => go_json(other),
                            })
                            .collect();
                        super::not_supported(&field, &value, &supported)
                    }
                    Code::TooLong => super::too_long(&field, valid),
                    Code::MaxItems | Code::TooManyProperties => {
                        super::too_many(&field, value.as_i64().unwrap_or(-1), valid)
                    }
                    Code::InvalidType => super::type_invalid(&field, &value, &message),
                    Code::Other => super::invalid(&field, &value, &message),
                }
            }
        }
    }
}

/// A result: errors in order, without repeating a message (as kube-openapi's
/// `Result.AddErrors`).
#[derive(Default)]
pub(super) struct Res(pub(super) Vec<OErr>);

impl Res {
    pub(super) fn add(&mut self, e: OErr) {
        if !self.0.iter().any(|x| x.message() == e.message()) {
            self.0.push(e);
        }
    }
    fn merge(&mut self, other: Vec<OErr>) {
        for e in other {
            self.add(e);
        }
    }
}

pub(super) fn verr(code: Code, name: &str, value: Option<Value>, message: String) -> OErr {
    OErr::Validation {
        code,
        name: name.to_string(),
        value,
        valid: -1,
        values: vec![],
        message,
    }
}

/// The node's types as kube-openapi sees them (int-or-string is both).
fn types_of(s: &Value) -> Vec<&str> {
    if int_or_string(s) {
        return vec!["integer", "string"];
    }
    match type_of(s) {
        "" => vec![],
        t => vec![t],
    }
}

/// Schema type and format of a decoded JSON value.
fn info(data: &Value) -> (&'static str, &'static str) {
    match data {
        Value::Bool(_) => ("boolean", ""),
        Value::String(_) => ("string", ""),
        Value::Number(n) => match Num::of(n) {
            Num::Int(_) => ("integer", "int64"),
            Num::Float(_) => ("number", "float64"),
        },
        Value::Array(_) => ("array", ""),
        Value::Object(_) => ("object", ""),
        Value::Null => ("null", ""),
    }
}

fn invalid_type(path: &str, type_name: &str, value: &str) -> OErr {
    verr(
        Code::InvalidType,
        path,
        Some(json!(value)),
        format!(
            "{path} in body must be of type {type_name}: {}",
            go_quote(value)
        ),
    )
}

/// Validate `data` against schema node `s` at kube-openapi path `path`.
fn node(s: &Value, data: &Value, path: &str) -> Vec<OErr> {
    let mut res = Res::default();
    let types = types_of(s);
    let single = if types.len() == 1 { types[0] } else { "" };
    let format = formats::effective_format(
        single,
        s.get("format").and_then(Value::as_str).unwrap_or(""),
    );

    if data.is_null() {
        if !types.is_empty() && !nullable(s) {
            res.add(invalid_type(path, &types.join(","), "null"));
        }
        check_enum(s, data, path, &mut res);
        return res.0;
    }

    if !types.is_empty() || !format.is_empty() {
        check_type(&types, format, data, path, &mut res);
    }
    check_combinators(s, data, path, &mut res);
    match data {
        Value::String(st) => {
            check_string(s, st, path, &mut res);
            if !format.is_empty()
                && formats::is_string_format(format)
                && !formats::valid(format, st)
            {
                res.add(invalid_type(path, format, st));
            }
        }
        Value::Number(n) => check_number(s, single, format, Num::of(n), path, &mut res),
        Value::Array(arr) => check_array(s, arr, path, &mut res),
        _ => {}
    }
    check_enum(s, data, path, &mut res);
    if let Value::Object(map) = data {
        check_object(s, map, path, &mut res);
    }
    res.0
}

fn check_type(types: &[&str], format: &str, data: &Value, path: &str, res: &mut Res) {
    let (sch_type, data_format) = info(data);
    let contains = |t: &str| types.contains(&t);
    let is_float_int = match data {
        Value::Number(n) => {
            sch_type == "number" && is_json_integer(Num::of(n).as_f64()) && contains("integer")
        }
        _ => false,
    };
    let is_int_float = sch_type == "integer" && contains("number");
    let stringish = matches!(data, Value::String(_) | Value::Array(_));
    let type_ok = contains(sch_type) || is_float_int || is_int_float;
    // A non-string, non-array value whose format does not fit.
    if !(stringish || format.is_empty() || type_ok || data_format == format) {
        res.add(invalid_type(path, format, data_format));
        return;
    }
    // Strings and arrays with a format on a non-numeric node pass here; the
    // format validator judges them.
    if stringish && !format.is_empty() && !(contains("number") || contains("integer")) {
        return;
    }
    if !(contains(sch_type) || is_float_int || is_int_float) {
        res.add(invalid_type(path, &types.join(","), sch_type));
    }
}

fn check_string(s: &Value, st: &str, path: &str, res: &mut Res) {
    let len = st.chars().count() as i64;
    if let Some(max) = s.get("maxLength").and_then(Value::as_i64)
        && len > max
    {
        res.add(OErr::Validation {
            code: Code::TooLong,
            name: path.to_string(),
            value: Some(json!(st)),
            valid: max,
            values: vec![],
            message: format!("{path} in body should be at most {max} chars long"),
        });
        return;
    }
    if let Some(min) = s.get("minLength").and_then(Value::as_i64)
        && len < min
    {
        res.add(verr(
            Code::Other,
            path,
            Some(json!(st)),
            format!("{path} in body should be at least {min} chars long"),
        ));
        return;
    }
    if let Some(pattern) = s.get("pattern").and_then(Value::as_str)
        && !pattern.is_empty()
    {
        let shown = match compiled(pattern) {
            Ok(re) if re.is_match(st) => return,
            Ok(_) => pattern.to_string(),
            Err(e) => format!("{pattern}, but pattern is invalid: {e}"),
        };
        res.add(verr(
            Code::Other,
            path,
            Some(json!(st)),
            format!("{path} in body should match '{shown}'"),
        ));
    }
}

static PATTERNS: LazyLock<Mutex<HashMap<String, Result<Regex, String>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// Compile a schema pattern once; schemas are reused for every request.
fn compiled(pattern: &str) -> Result<Regex, String> {
    let Ok(mut cache) = PATTERNS.lock() else {
        return Regex::new(pattern).map_err(|e| e.to_string());
    };
    if cache.len() > 4096 {
        cache.clear();
    }
    cache
        .entry(pattern.to_string())
        .or_insert_with(|| Regex::new(pattern).map_err(|e| e.to_string()))
        .clone()
}

fn check_array(s: &Value, arr: &[Value], path: &str, res: &mut Res) {
    if let Some(item_schema) = items(s) {
        for (i, v) in arr.iter().enumerate() {
            res.merge(node(item_schema, v, &format!("{path}[{i}]")));
        }
    }
    let size = arr.len() as i64;
    if let Some(min) = s.get("minItems").and_then(Value::as_i64)
        && size < min
    {
        res.add(verr(
            Code::Other,
            path,
            Some(json!(size)),
            format!("{path} in body should have at least {min} items"),
        ));
    }
    if let Some(max) = s.get("maxItems").and_then(Value::as_i64)
        && size > max
    {
        res.add(OErr::Validation {
            code: Code::MaxItems,
            name: path.to_string(),
            value: Some(json!(size)),
            valid: max,
            values: vec![],
            message: format!("{path} in body should have at most {max} items"),
        });
    }
    if super::flag(s, "uniqueItems") {
        let dup = arr.iter().enumerate().any(|(i, v)| arr[..i].contains(v));
        if dup {
            res.add(verr(
                Code::Other,
                path,
                None,
                format!("{path} in body shouldn't contain duplicates"),
            ));
        }
    }
}

/// Whether `data` equals enum member `e` after Go's reflect conversion to the
/// member's type (so `1.5` matches the integer `1`, as upstream).
fn enum_matches(data: &Value, e: &Value) -> bool {
    match (data, e) {
        (Value::Null, _) => false,
        (Value::Number(d), Value::Number(m)) => match (Num::of(d), Num::of(m)) {
            (Num::Int(a), Num::Int(b)) => a == b,
            (Num::Float(a), Num::Int(b)) => a as i64 == b,
            (a, Num::Float(b)) => a.as_f64() == b,
        },
        _ => data == e,
    }
}

fn check_enum(s: &Value, data: &Value, path: &str, res: &mut Res) {
    let Some(members) = s.get("enum").and_then(Value::as_array) else {
        return;
    };
    if members.is_empty() || members.iter().any(|e| enum_matches(data, e)) {
        return;
    }
    let rendered: Vec<String> = members.iter().map(go_enum_member).collect();
    res.add(OErr::Validation {
        code: Code::Enum,
        name: path.to_string(),
        value: if data.is_null() {
            None
        } else {
            Some(data.clone())
        },
        valid: -1,
        values: members.clone(),
        message: format!("{path} in body should be one of [{}]", rendered.join(" ")),
    });
}

/// A member of an enum list as Go's `%v` prints it inside `[...]`.
fn go_enum_member(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => super::render::go_number(n),
        Value::Bool(b) => b.to_string(),
        Value::Null => "<nil>".to_string(),
        other => go_json(other),
    }
}

fn check_object(s: &Value, map: &serde_json::Map<String, Value>, path: &str, res: &mut Res) {
    let n = map.len() as i64;
    if let Some(min) = s.get("minProperties").and_then(Value::as_i64)
        && n < min
    {
        res.add(verr(
            Code::Other,
            path,
            Some(json!(n)),
            format!("{path} in body should have at least {min} properties"),
        ));
    }
    if let Some(max) = s.get("maxProperties").and_then(Value::as_i64)
        && n > max
    {
        res.add(OErr::Validation {
            code: Code::TooManyProperties,
            name: path.to_string(),
            value: Some(json!(n)),
            valid: max,
            values: vec![],
            message: format!("{path} in body should have at most {max} properties"),
        });
    }
    let props = properties(s);
    let known = |k: &str| props.is_some_and(|p| p.contains_key(k));
    if additional_properties_false(s) {
        for k in map.keys().filter(|k| !known(k)) {
            res.add(verr(
                Code::Other,
                path,
                Some(json!(k)),
                format!("{path}.{k} in body is a forbidden property"),
            ));
        }
    } else if let Some(Some(ap)) = additional_properties(s) {
        for (k, v) in map.iter().filter(|(k, _)| !known(k)) {
            res.merge(node(ap, v, &format!("{path}.{k}")));
        }
    }
    if let Some(props) = props {
        for (name, prop) in props {
            if let Some(v) = map.get(name) {
                let child = if path.is_empty() {
                    name.clone()
                } else {
                    format!("{path}.{name}")
                };
                res.merge(node(prop, v, &child));
            }
        }
    }
    if let Some(required) = s.get("required").and_then(Value::as_array) {
        for k in required.iter().filter_map(Value::as_str) {
            if !map.contains_key(k) {
                let name = format!("{path}.{k}");
                let message = format!("{name} in body is required");
                res.add(verr(Code::Required, &name, None, message));
            }
        }
    }
}

/// `allOf`, `anyOf`, `oneOf` and `not`, as kube-openapi's schema-props
/// validator. Where several alternatives fail, upstream reports the one that
/// matched most; this keeps the one with the fewest errors (approximation).
fn check_combinators(s: &Value, data: &Value, path: &str, res: &mut Res) {
    let list = |k: &str| s.get(k).and_then(Value::as_array).filter(|a| !a.is_empty());
    let quoted = go_quote(path);
    let best = |fails: Vec<Vec<OErr>>| fails.into_iter().min_by_key(Vec::len);

    if let Some(any_of) = list("anyOf") {
        let mut fails = vec![];
        let mut ok = false;
        for alt in any_of {
            let r = node(alt, data, path);
            if r.is_empty() {
                ok = true;
                break;
            }
            fails.push(r);
        }
        if !ok {
            res.add(OErr::Plain(format!(
                "{quoted} must validate at least one schema (anyOf)"
            )));
            if let Some(b) = best(fails) {
                res.merge(b);
            }
        }
    }
    if let Some(one_of) = list("oneOf") {
        let mut fails = vec![];
        let mut valid = 0;
        for alt in one_of {
            let r = node(alt, data, path);
            if r.is_empty() {
                valid += 1;
            } else if valid == 0 {
                fails.push(r);
            }
        }
        if valid != 1 {
            let extra = if valid == 0 {
                "Found none valid".to_string()
            } else {
                format!("Found {valid} valid alternatives")
            };
            res.add(OErr::Plain(format!(
                "{quoted} must validate one and only one schema (oneOf). {extra}"
            )));
            if valid == 0
                && let Some(b) = best(fails)
            {
                res.merge(b);
            }
        }
    }
    if let Some(all_of) = list("allOf") {
        let mut valid = 0;
        for alt in all_of {
            let r = node(alt, data, path);
            if r.is_empty() {
                valid += 1;
            }
            res.merge(r);
        }
        if valid != all_of.len() {
            let extra = if valid == 0 { ". None validated" } else { "" };
            res.add(OErr::Plain(format!(
                "{quoted} must validate all the schemas (allOf){extra}"
            )));
        }
    }
    if let Some(not) = s.get("not").filter(|v| v.is_object())
        && node(not, data, path).is_empty()
    {
        res.add(OErr::Plain(format!(
            "{quoted} must not validate the schema (not)"
        )));
    }
}
