//! The checks upstream applies to a CRD version's `openAPIV3Schema` when the
//! CRD is created or updated: the schema must be structural (every specified
//! node typed, value validations in `allOf`/`anyOf`/`oneOf`/`not` only
//! constraining, `metadata` restricted to `name`/`generateName`), its
//! defaults must validate and be pruned, and the OpenAPI features CRDs do not
//! support (`$ref`, `uniqueItems`, `patternProperties`, …) are rejected
//! (those live in [`super::schema_api`]).
//!
//! Causes carry upstream's field paths under the path given for the schema,
//! e.g. `spec.versions[0].schema.openAPIV3Schema.properties[spec].type`.
//! Approximations: defaults inside embedded or top-level metadata are not
//! checked as ObjectMeta; CEL rules and their cost are not checked.

use super::schema_api;
use super::{additional_properties, child, embedded_resource, int_or_string, items, key};
use super::{preserve_unknown, properties, type_of};
use apimachinery::Cause;
use serde_json::{Value, json};

/// All the schema causes for one CRD version. `fld` is the schema's own path,
/// e.g. `spec.versions[0].schema.openAPIV3Schema`.
pub fn validate_crd_schema(schema: &Value, fld: &str) -> Vec<Cause> {
    let mut all = vec![];
    if super::nullable(schema) {
        all.push(super::forbidden(
            &format!("{fld}.nullable"),
            "nullable cannot be true at the root",
        ));
    }
    let structural = validate_structural(schema, fld);
    if structural.is_empty() {
        all.extend(validate_defaults(schema, fld));
    } else {
        all.extend(structural);
    }
    all.extend(schema_api::validate_openapi_schema(schema, fld));
    all
}

#[derive(Clone, Copy, PartialEq)]
enum Level {
    Root,
    Item,
    Field,
}

/// Structural invariants and completeness, sorted as upstream sorts them.
pub fn validate_structural(schema: &Value, fld: &str) -> Vec<Cause> {
    let mut errs = vec![];
    invariants(schema, Level::Root, fld, &mut errs);
    completeness(schema, fld, &mut errs);
    errs.sort_by_key(Cause::summary);
    errs
}

fn list<'a>(s: &'a Value, k: &str) -> &'a [Value] {
    s.get(k)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// `anyOf: [{type: integer}, {type: string}]`, the int-or-string idiom.
fn is_int_or_string_any_of(any_of: &[Value]) -> bool {
    any_of.len() == 2
        && any_of[0] == json!({"type": "integer"})
        && any_of[1] == json!({"type": "string"})
}

fn invariants(s: &Value, lvl: Level, fld: &str, errs: &mut Vec<Cause>) {
    let ty = type_of(s);
    if ty == "array" && items(s).is_none() {
        errs.push(super::required(&child(fld, "items"), "must be specified"));
    }
    if let Some(item_schema) = items(s) {
        invariants(item_schema, Level::Item, &child(fld, "items"), errs);
    }
    if let Some(props) = properties(s) {
        for (k, v) in props {
            invariants(v, Level::Field, &key(&child(fld, "properties"), k), errs);
        }
    }
    let ap = additional_properties(s);
    if let Some(ap) = ap {
        if lvl == Level::Root {
            errs.push(super::forbidden(
                &child(fld, "additionalProperties"),
                "must not be used at the root",
            ));
        }
        if let Some(ap) = ap {
            invariants(ap, Level::Field, &child(fld, "additionalProperties"), errs);
        }
    }
    let ios = int_or_string(s);
    let preserve = preserve_unknown(s);
    let embedded = embedded_resource(s);
    if ios && preserve {
        errs.push(super::invalid(
            &child(fld, "x-kubernetes-preserve-unknown-fields"),
            &json!(true),
            "must be false if x-kubernetes-int-or-string is true",
        ));
    }
    if ios && embedded {
        errs.push(super::invalid(
            &child(fld, "x-kubernetes-embedded-resource"),
            &json!(true),
            "must be false if x-kubernetes-int-or-string is true",
        ));
    }
    let skip_any_of = is_int_or_string_any_of(list(s, "anyOf"));
    let skip_first_all_of_any_of = list(s, "allOf")
        .first()
        .is_some_and(|a| is_int_or_string_any_of(list(a, "anyOf")));
    value_validation(s, skip_any_of, skip_first_all_of_any_of, fld, errs);

    let check_metadata = lvl == Level::Root || embedded;
    let type_fld = child(fld, "type");
    if embedded && ty != "object" {
        let detail = "must be object if x-kubernetes-embedded-resource is true";
        if ty.is_empty() {
            errs.push(super::required(&type_fld, detail));
        } else {
            errs.push(super::invalid(&type_fld, &json!(ty), detail));
        }
    } else if ty.is_empty() && !ios && !preserve {
        let detail = match lvl {
            Level::Root => "must not be empty at the root",
            Level::Item => "must not be empty for specified array items",
            Level::Field => "must not be empty for specified object fields",
        };
        errs.push(super::required(&type_fld, detail));
    }
    if embedded && ap.is_some() {
        errs.push(super::forbidden(
            &child(fld, "additionalProperties"),
            "must not be used if x-kubernetes-embedded-resource is set",
        ));
    }
    if lvl == Level::Root && !ty.is_empty() && ty != "object" {
        errs.push(super::invalid(
            &type_fld,
            &json!(ty),
            "must be object at the root",
        ));
    }
    let props = properties(s);
    for name in ["kind", "apiVersion"] {
        if let Some(p) = props.and_then(|p| p.get(name))
            && check_metadata
            && type_of(p) != "string"
        {
            let f = child(&key(&child(fld, "properties"), name), "type");
            errs.push(super::invalid(&f, &json!(type_of(p)), "must be string"));
        }
    }
    if let Some(meta) = props.and_then(|p| p.get("metadata")) {
        let f = key(&child(fld, "properties"), "metadata");
        if check_metadata && type_of(meta) != "object" {
            errs.push(super::invalid(
                &child(&f, "type"),
                &json!(type_of(meta)),
                "must be object",
            ));
        }
        if lvl == Level::Root && !metadata_only_names(meta) {
            errs.push(super::forbidden(
                &f,
                "must not specify anything other than name and generateName, but metadata is implicitly specified",
            ));
        }
    }
    if embedded && !preserve && props.is_none_or(|p| p.is_empty()) {
        errs.push(super::required(
            &child(fld, "properties"),
            "must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields",
        ));
    }
}

/// Root `metadata` may only carry `type`, `default` and properties restricting
/// `name` and `generateName`.
fn metadata_only_names(meta: &Value) -> bool {
    let Some(m) = meta.as_object() else {
        return true;
    };
    m.iter().all(|(k, v)| match k.as_str() {
        "type" | "default" => true,
        "properties" => v
            .as_object()
            .is_some_and(|p| p.keys().all(|k| k == "name" || k == "generateName")),
        _ => false,
    })
}

/// Value validations at a structural node: the nested schemas of `anyOf`,
/// `allOf`, `oneOf` and `not`, and a compilable `pattern`.
fn value_validation(
    v: &Value,
    skip_any_of: bool,
    skip_first_all_of_any_of: bool,
    fld: &str,
    errs: &mut Vec<Cause>,
) {
    if !skip_any_of {
        for (i, n) in list(v, "anyOf").iter().enumerate() {
            nested(n, false, &super::index(&child(fld, "anyOf"), i), errs);
        }
    }
    for (i, n) in list(v, "allOf").iter().enumerate() {
        let skip = skip_first_all_of_any_of && i == 0;
        nested(n, skip, &super::index(&child(fld, "allOf"), i), errs);
    }
    for (i, n) in list(v, "oneOf").iter().enumerate() {
        nested(n, false, &super::index(&child(fld, "oneOf"), i), errs);
    }
    if let Some(n) = v.get("not").filter(|n| n.is_object()) {
        nested(n, false, &child(fld, "not"), errs);
    }
    if let Some(p) = v.get("pattern").and_then(Value::as_str)
        && !p.is_empty()
        && let Err(e) = regex::Regex::new(p)
    {
        errs.push(super::invalid(
            &child(fld, "pattern"),
            &json!(p),
            &format!("must be a valid regular expression, but isn't: {e}"),
        ));
    }
}

/// A schema inside `allOf`/`anyOf`/`oneOf`/`not`: it may only constrain
/// values, never declare types, defaults or extensions.
fn nested(v: &Value, skip_any_of: bool, fld: &str, errs: &mut Vec<Cause>) {
    value_validation(v, skip_any_of, false, fld, errs);
    if let Some(i) = items(v) {
        nested(i, false, &child(fld, "items"), errs);
    }
    if let Some(props) = properties(v) {
        for (k, p) in props {
            nested(p, false, &key(&child(fld, "properties"), k), errs);
        }
    }
    let present = |k: &str| v.get(k).is_some_and(|x| !x.is_null());
    let truthy = |k: &str| super::flag(v, k);
    if !type_of(v).is_empty() {
        errs.push(super::forbidden(
            &child(fld, "type"),
            "must be empty to be structural",
        ));
    }
    if present("additionalProperties") {
        errs.push(super::forbidden(
            &child(fld, "additionalProperties"),
            "must be undefined to be structural",
        ));
    }
    if present("default") {
        errs.push(super::forbidden(
            &child(fld, "default"),
            "must be undefined to be structural",
        ));
    }
    for k in ["title", "description"] {
        if v.get(k)
            .and_then(Value::as_str)
            .is_some_and(|s| !s.is_empty())
        {
            errs.push(super::forbidden(
                &child(fld, k),
                "must be empty to be structural",
            ));
        }
    }
    for k in [
        "nullable",
        "x-kubernetes-preserve-unknown-fields",
        "x-kubernetes-embedded-resource",
        "x-kubernetes-int-or-string",
    ] {
        if truthy(k) {
            errs.push(super::forbidden(
                &child(fld, k),
                "must be false to be structural",
            ));
        }
    }
    if !list(v, "x-kubernetes-list-map-keys").is_empty() {
        errs.push(super::forbidden(
            &child(fld, "x-kubernetes-list-map-keys"),
            "must be empty to be structural",
        ));
    }
    for k in ["x-kubernetes-list-type", "x-kubernetes-map-type"] {
        if present(k) {
            errs.push(super::forbidden(
                &child(fld, k),
                "must be undefined to be structural",
            ));
        }
    }
    if !list(v, "x-kubernetes-validations").is_empty() {
        errs.push(super::forbidden(
            &child(fld, "x-kubernetes-validations"),
            "must be empty to be structural",
        ));
    }
    if properties(v).is_some_and(|p| p.contains_key("metadata")) {
        errs.push(super::forbidden(
            &key(&child(fld, "properties"), "metadata"),
            "must not be specified in a nested context",
        ));
    }
}

/// Properties and items that the root's value validations constrain must be
/// specified structurally too.
fn completeness(s: &Value, fld: &str, errs: &mut Vec<Cause>) {
    completeness_value(s, Some(s), fld, fld, errs);
}

fn completeness_value(
    v: &Value,
    s: Option<&Value>,
    s_path: &str,
    v_path: &str,
    errs: &mut Vec<Cause>,
) {
    if let Some(n) = v.get("not").filter(|n| n.is_object()) {
        completeness_nested(n, s, s_path, &child(v_path, "not"), errs);
    }
    for k in ["allOf", "anyOf", "oneOf"] {
        for (i, n) in list(v, k).iter().enumerate() {
            completeness_nested(n, s, s_path, &super::index(&child(v_path, k), i), errs);
        }
    }
}

fn completeness_nested(
    v: &Value,
    s: Option<&Value>,
    s_path: &str,
    v_path: &str,
    errs: &mut Vec<Cause>,
) {
    let Some(s) = s else {
        errs.push(super::required(
            s_path,
            &format!("because it is defined in {v_path}"),
        ));
        return;
    };
    completeness_value(v, Some(s), s_path, v_path, errs);
    if let Some(vi) = items(v) {
        completeness_nested(
            vi,
            items(s),
            &child(s_path, "items"),
            &child(v_path, "items"),
            errs,
        );
    }
    if let Some(props) = properties(v) {
        for (k, vp) in props {
            let vp_path = key(&child(v_path, "properties"), k);
            let sp_path = key(&child(s_path, "properties"), k);
            match properties(s).and_then(|p| p.get(k)) {
                Some(sp) => completeness_nested(vp, Some(sp), &sp_path, &vp_path, errs),
                None => errs.push(super::required(
                    &sp_path,
                    &format!("because it is defined in {vp_path}"),
                )),
            }
        }
    }
}

/// Defaults must be pruned (no unknown fields) and valid against their node.
fn validate_defaults(schema: &Value, fld: &str) -> Vec<Cause> {
    let mut errs = vec![];
    defaults(schema, fld, false, true, &mut errs);
    errs
}

fn defaults(s: &Value, fld: &str, inside_meta: bool, is_root: bool, errs: &mut Vec<Cause>) {
    let embedded = is_root || embedded_resource(s);
    let inside_meta = inside_meta && !embedded;
    if let Some(d) = super::default_of(s)
        && !inside_meta
    {
        let dfld = child(fld, "default");
        let mut pruned = d.clone();
        super::prune::prune_unknown(s, &mut pruned, embedded);
        if &pruned != d {
            errs.push(super::invalid(&dfld, d, "must not have unknown fields"));
        }
        errs.extend(super::validate::validate_schema(s, d, Some(&dfld)));
    }
    if let Some(i) = items(s) {
        defaults(i, &child(fld, "items"), inside_meta, false, errs);
    }
    if let Some(props) = properties(s) {
        for (k, p) in props {
            let meta = embedded && matches!(k.as_str(), "metadata" | "apiVersion" | "kind");
            defaults(
                p,
                &key(&child(fld, "properties"), k),
                inside_meta || meta,
                false,
                errs,
            );
        }
    }
}
