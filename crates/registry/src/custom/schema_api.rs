//! The OpenAPI checks upstream's CRD validation runs over every node of a
//! version's `openAPIV3Schema` (`ValidateCustomResourceDefinitionOpenAPISchema`):
//! unsupported OpenAPI features, defaults where they are not allowed, and the
//! `x-kubernetes-list-type` / `x-kubernetes-map-type` rules.

use super::{additional_properties, child, embedded_resource, items, key, properties, type_of};
use apimachinery::Cause;
use serde_json::{Value, json};

const TYPES: [&str; 6] = ["array", "boolean", "integer", "number", "object", "string"];
const META_FIELDS: [&str; 3] = ["metadata", "kind", "apiVersion"];

/// Per-node context, as upstream's `specStandardValidator` carries it.
#[derive(Clone)]
struct Ctx {
    is_root: bool,
    inside_meta: bool,
    /// Why a `default` is not allowed here, when it is not.
    no_defaults: Option<String>,
}

/// Check `schema` (at field path `fld`) and everything under it.
pub fn validate_openapi_schema(schema: &Value, fld: &str) -> Vec<Cause> {
    let mut errs = vec![];
    let ctx = Ctx {
        is_root: true,
        inside_meta: false,
        no_defaults: None,
    };
    walk(schema, fld, &ctx, &mut errs);
    errs
}

fn non_empty(s: &Value, k: &str) -> bool {
    match s.get(k) {
        None | Some(Value::Null) => false,
        Some(Value::Object(m)) => !m.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::String(x)) => !x.is_empty(),
        Some(_) => true,
    }
}

/// Node-local checks (upstream `specStandardValidatorV3.validate`).
fn node(s: &Value, fld: &str, ctx: &Ctx, errs: &mut Vec<Cause>) {
    let ty = type_of(s);
    if !ty.is_empty() && !TYPES.contains(&ty) {
        let supported: Vec<String> = TYPES.iter().map(|t| t.to_string()).collect();
        errs.push(super::not_supported(
            &child(fld, "type"),
            &json!(ty),
            &supported,
        ));
    }
    if s.get("default").is_some()
        && let Some(reason) = &ctx.no_defaults
    {
        errs.push(super::forbidden(
            &child(fld, "default"),
            &format!("must not be set {reason}"),
        ));
    }
    let unsupported = [
        ("id", "id is not supported"),
        ("additionalItems", "additionalItems is not supported"),
        ("patternProperties", "patternProperties is not supported"),
        ("definitions", "definitions is not supported"),
        ("dependencies", "dependencies is not supported"),
        ("$ref", "$ref is not supported"),
    ];
    for (k, detail) in unsupported {
        if non_empty(s, k) {
            errs.push(super::forbidden(&child(fld, k), detail));
        }
    }
    if ty == "null" {
        errs.push(super::forbidden(
            &child(fld, "type"),
            "type cannot be set to null, use nullable as an alternative",
        ));
    }
    if s.get("items").is_some_and(Value::is_array) {
        errs.push(super::forbidden(
            &child(fld, "items"),
            "items must be a schema object and not an array",
        ));
    }
    if ctx.inside_meta && embedded_resource(s) {
        errs.push(super::forbidden(
            &child(fld, "x-kubernetes-embedded-resource"),
            "must not be used inside of resource meta",
        ));
    }
}

fn walk(s: &Value, fld: &str, ctx: &Ctx, errs: &mut Vec<Cause>) {
    if !s.is_object() {
        return;
    }
    node(s, fld, ctx, errs);
    if super::flag(s, "uniqueItems") {
        errs.push(super::forbidden(
            &child(fld, "uniqueItems"),
            "uniqueItems cannot be set to true since the runtime complexity becomes quadratic",
        ));
    }
    let props = properties(s).filter(|p| !p.is_empty());
    if s.get("additionalProperties").is_some_and(|v| !v.is_null()) {
        let allows_all = matches!(s.get("additionalProperties"), Some(Value::Bool(true)));
        if props.is_some() && !allows_all {
            errs.push(super::forbidden(
                &child(fld, "additionalProperties"),
                "additionalProperties and properties are mutual exclusive",
            ));
        }
        if let Some(Some(ap)) = additional_properties(s) {
            let mut sub = Ctx {
                is_root: false,
                ..ctx.clone()
            };
            if ctx.inside_meta {
                sub.no_defaults =
                    Some("inside additionalProperties applying to object metadata".into());
            }
            walk(ap, &child(fld, "additionalProperties"), &sub, errs);
        }
    }
    if let Some(props) = props {
        for (k, p) in props {
            let mut sub = Ctx {
                is_root: false,
                ..ctx.clone()
            };
            if (ctx.is_root || embedded_resource(s)) && META_FIELDS.contains(&k.as_str()) {
                sub.inside_meta = true;
                if ctx.is_root {
                    sub.no_defaults = Some(format!("in top-level {k}"));
                }
            }
            walk(p, &key(&child(fld, "properties"), k), &sub, errs);
        }
    }
    let nested = Ctx {
        is_root: false,
        ..ctx.clone()
    };
    if let Some(n) = s.get("not") {
        walk(n, &child(fld, "not"), &nested, errs);
    }
    for k in ["allOf", "oneOf", "anyOf"] {
        if let Some(list) = s.get(k).and_then(Value::as_array) {
            for (i, n) in list.iter().enumerate() {
                walk(n, &super::index(&child(fld, k), i), &nested, errs);
            }
        }
    }
    match s.get("items") {
        Some(i @ Value::Object(_)) => walk(i, &child(fld, "items"), &nested, errs),
        Some(Value::Array(list)) => {
            for (n, i) in list.iter().enumerate() {
                walk(i, &super::index(&child(fld, "items"), n), &nested, errs);
            }
        }
        _ => {}
    }
    if matches!(
        s.get("x-kubernetes-preserve-unknown-fields"),
        Some(Value::Bool(false))
    ) {
        errs.push(super::invalid(
            &child(fld, "x-kubernetes-preserve-unknown-fields"),
            &json!(false),
            "must be true or undefined",
        ));
    }
    map_type(s, fld, errs);
    list_type(s, fld, errs);
}

fn map_type(s: &Value, fld: &str, errs: &mut Vec<Cause>) {
    let Some(mt) = s.get("x-kubernetes-map-type").and_then(Value::as_str) else {
        return;
    };
    let ty = type_of(s);
    if ty != "object" {
        let detail = "must be object if x-kubernetes-map-type is specified";
        if ty.is_empty() {
            errs.push(super::required(&child(fld, "type"), detail));
        } else {
            errs.push(super::invalid(&child(fld, "type"), &json!(ty), detail));
        }
    }
    if mt != "atomic" && mt != "granular" {
        errs.push(super::not_supported(
            &child(fld, "x-kubernetes-map-type"),
            &json!(mt),
            &["atomic".into(), "granular".into()],
        ));
    }
}

fn list_type(s: &Value, fld: &str, errs: &mut Vec<Cause>) {
    let lt = s.get("x-kubernetes-list-type").and_then(Value::as_str);
    let ty = type_of(s);
    let map_keys: Vec<&str> = s
        .get("x-kubernetes-list-map-keys")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let item = items(s);
    if let Some(lt) = lt {
        if ty != "array" {
            let detail = "must be array if x-kubernetes-list-type is specified";
            if ty.is_empty() {
                errs.push(super::required(&child(fld, "type"), detail));
            } else {
                errs.push(super::invalid(&child(fld, "type"), &json!(ty), detail));
            }
        } else if lt == "set"
            && let Some(is) = item
        {
            let detail = "must be atomic as item of a list with x-kubernetes-list-type=set";
            let items_fld = child(fld, "items");
            match type_of(is) {
                "array" => {
                    if let Some(inner) = is.get("x-kubernetes-list-type").and_then(Value::as_str)
                        && inner != "atomic"
                    {
                        errs.push(super::invalid(
                            &child(&items_fld, "x-kubernetes-list-type"),
                            &json!(inner),
                            detail,
                        ));
                    }
                }
                "object"
                    if is.get("x-kubernetes-map-type").and_then(Value::as_str)
                        != Some("atomic") =>
                {
                    // Upstream reports the list type as the bad value here.
                    errs.push(super::invalid(
                        &child(&items_fld, "x-kubernetes-map-type"),
                        &json!(lt),
                        detail,
                    ));
                }
                _ => {}
            }
        }
        if !matches!(lt, "atomic" | "set" | "map") {
            errs.push(super::not_supported(
                &child(fld, "x-kubernetes-list-type"),
                &json!(lt),
                &["atomic".into(), "set".into(), "map".into()],
            ));
        }
    }
    if !map_keys.is_empty() {
        let detail = "must be map if x-kubernetes-list-map-keys is non-empty";
        match lt {
            None => errs.push(super::required(
                &child(fld, "x-kubernetes-list-type"),
                detail,
            )),
            Some("map") => {}
            Some(other) => errs.push(super::invalid(
                &child(fld, "x-kubernetes-list-type"),
                &json!(other),
                detail,
            )),
        }
    }
    if lt == Some("map") {
        list_map(s, fld, &map_keys, errs);
    }
    // Items of set and map lists (and map keys) may not be null.
    if let (Some(lt @ ("set" | "map")), Some(is)) = (lt, item) {
        let items_fld = child(fld, "items");
        if super::nullable(is) {
            errs.push(super::forbidden(
                &child(&items_fld, "nullable"),
                &format!("cannot be nullable when x-kubernetes-list-type is {lt}"),
            ));
        }
        if lt == "map" {
            let required: Vec<&str> = is
                .get("required")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            for k in &map_keys {
                let Some(p) = properties(is).and_then(|p| p.get(*k)) else {
                    continue;
                };
                let pfld = key(&child(&items_fld, "properties"), k);
                if !required.contains(k) && p.get("default").is_none() {
                    errs.push(super::required(
                        &child(&pfld, "default"),
                        "this property is in x-kubernetes-list-map-keys, so it must have a default or be a required property",
                    ));
                }
                if super::nullable(p) {
                    errs.push(super::forbidden(
                        &child(&pfld, "nullable"),
                        "this property is in x-kubernetes-list-map-keys, so it cannot be nullable",
                    ));
                }
            }
        }
    }
}

fn list_map(s: &Value, fld: &str, map_keys: &[&str], errs: &mut Vec<Cause>) {
    if map_keys.is_empty() {
        errs.push(super::required(
            &child(fld, "x-kubernetes-list-map-keys"),
            "must not be empty if x-kubernetes-list-type is map",
        ));
    }
    let items_fld = child(fld, "items");
    match s.get("items") {
        None | Some(Value::Null) => errs.push(super::required(
            &items_fld,
            "must have a schema if x-kubernetes-list-type is map",
        )),
        Some(v @ Value::Array(_)) => errs.push(super::invalid(
            &items_fld,
            v,
            "must only have a single schema if x-kubernetes-list-type is map",
        )),
        Some(is) => {
            let ity = type_of(is);
            if ity != "object" {
                errs.push(super::invalid(
                    &child(&items_fld, "type"),
                    &json!(ity),
                    "must be object if parent array's x-kubernetes-list-type is map",
                ));
                return;
            }
            let keys_fld = child(fld, "x-kubernetes-list-map-keys");
            let keys_value = json!(map_keys);
            let mut seen: Vec<&str> = vec![];
            for k in map_keys {
                match properties(is).and_then(|p| p.get(*k)) {
                    Some(p) if matches!(type_of(p), "array" | "object") => {
                        // Upstream reports the item type as the bad value.
                        errs.push(super::invalid(
                            &child(&key(&child(&items_fld, "properties"), k), "type"),
                            &json!(ity),
                            "must be a scalar type if parent array's x-kubernetes-list-type is map",
                        ));
                    }
                    Some(_) => {}
                    None => errs.push(super::invalid(
                        &keys_fld,
                        &keys_value,
                        "entries must all be names of item properties",
                    )),
                }
                if seen.contains(k) {
                    errs.push(super::invalid(
                        &keys_fld,
                        &keys_value,
                        "must not contain duplicate entries",
                    ));
                }
                seen.push(k);
            }
        }
    }
}
