//! Strategic merge patch (`application/strategic-merge-patch+json`) as
//! upstream's API server applies it: maps merge recursively and `null`
//! deletes; a list merges only where the schema says
//! `x-kubernetes-patch-strategy: merge` (by `x-kubernetes-patch-merge-key`
//! for lists of objects, as a set for primitives), and is replaced
//! otherwise. Directives: `$patch: replace|delete` in maps and list
//! elements, `$retainKeys`, `$deleteFromPrimitiveList/<f>` and
//! `$setElementOrder/<f>`. The list machinery is in `strategic_list`.

use serde_json::{Map, Value};

use super::PatchError;
use super::strategic_list::{
    AliasView, Kind, SLICE_T, bad_arg_type, element_kind, go_fmt, go_fmt_map, merge_slice,
    normalize_order, partition, validate_set_order,
};
use crate::schema::SchemaNode;

const DIRECTIVE: &str = "$patch";
const RETAIN_KEYS: &str = "$retainKeys";
const DELETE_FROM_PRIMITIVE_LIST: &str = "$deleteFromPrimitiveList";
const SET_ELEMENT_ORDER: &str = "$setElementOrder";

const BAD_JSON_DOC: &str = "invalid JSON document";
const BAD_PRIMITIVE_LIST: &str = "invalid patch format of primitive list";
const BAD_RETAIN_KEYS: &str = "invalid patch format of retainKeys";
const BAD_SET_ELEMENT_ORDER: &str = "invalid patch format of setElementOrder list";

/// The schema at the current position, if any: without one, maps merge
/// and lists are replaced.
pub(super) type Meta<'a> = Option<SchemaNode<'a>>;

/// Applies a strategic merge patch to `original`, using `schema` (the
/// object's schema, with upstream's patch extensions) to decide how each
/// list merges.
pub fn apply_strategic_merge_patch(
    original: &Value,
    patch: &Value,
    schema: Option<SchemaNode>,
) -> Result<Value, PatchError> {
    let original = match original {
        Value::Object(m) => m.clone(),
        Value::Null => Map::new(),
        _ => return Err(PatchError::BadRequest(BAD_JSON_DOC.into())),
    };
    let patch = match patch {
        Value::Object(m) => m.clone(),
        Value::Null => Map::new(),
        _ => return Err(PatchError::BadRequest(BAD_JSON_DOC.into())),
    };
    merge_map(original, patch, schema).map(Value::Object)
}

/// Patch metadata of a field: the schema below it and its strategy and
/// merge key. Extensions are read both beside a `$ref` and on its target.
struct FieldMeta<'a> {
    schema: Meta<'a>,
    strategies: Vec<String>,
    merge_key: String,
}

fn field_meta<'a>(schema: Meta<'a>, key: &str, slice: bool) -> FieldMeta<'a> {
    let Some(node) = schema else {
        return FieldMeta {
            schema: None,
            strategies: Vec::new(),
            merge_key: String::new(),
        };
    };
    let raw_prop = node
        .raw()
        .get("properties")
        .and_then(|p| p.get(key))
        .or_else(|| {
            node.raw()
                .get("additionalProperties")
                .filter(|a| a.is_object())
        });
    let field = node.field(key).or_else(|| node.additional_properties());
    let ext = |name: &str| -> Option<String> {
        let wrapped = raw_prop.and_then(|p| {
            p.get(name)
                .or_else(|| p.get("allOf")?.as_array()?.iter().find_map(|s| s.get(name)))
        });
        wrapped
            .or_else(|| field.and_then(|f| f.raw().get(name)))
            .and_then(Value::as_str)
            .map(String::from)
    };
    let strategies = ext("x-kubernetes-patch-strategy")
        .map(|s| s.split(',').map(String::from).collect())
        .unwrap_or_default();
    let merge_key = ext("x-kubernetes-patch-merge-key").unwrap_or_default();
    let schema = if slice {
        field.and_then(|f| f.items())
    } else {
        field
    };
    FieldMeta {
        schema,
        strategies,
        merge_key,
    }
}

/// The strategy other than `retainKeys` (which only the directive drives).
fn main_strategy(strategies: &[String]) -> Result<&str, PatchError> {
    let unexpected = || {
        PatchError::Other(format!(
            "unexpected patch strategy: [{}]",
            strategies.join(" ")
        ))
    };
    match strategies {
        [] => Ok(""),
        [s] if s == "retainKeys" => Ok(""),
        [s] => Ok(s),
        [a, b] if a == "retainKeys" => Ok(b),
        [a, b] if b == "retainKeys" => Ok(a),
        _ => Err(unexpected()),
    }
}

/// Merges `patch` into `original` (upstream's `mergeMap`, server-side
/// options: parallel lists applied, unmatched nulls ignored).
pub(super) fn merge_map(
    mut original: Map<String, Value>,
    mut patch: Map<String, Value>,
    schema: Meta,
) -> Result<Map<String, Value>, PatchError> {
    if let Some(d) = patch.get(DIRECTIVE) {
        return match d.as_str() {
            Some("replace") => {
                patch.shift_remove(DIRECTIVE);
                Ok(patch)
            }
            Some("delete") => Ok(Map::new()),
            _ => Err(PatchError::Other(format!(
                "unknown patch type: {} in map: {}",
                go_fmt(d),
                go_fmt_map(&patch)
            ))),
        };
    }
    apply_retain_keys(&mut original, &mut patch)?;
    apply_set_element_order(&mut original, &mut patch, schema)?;

    for (k, patch_v) in patch {
        let (k, is_delete_list) = if k.starts_with(DELETE_FROM_PRIMITIVE_LIST) {
            (
                extract_key(&k, DELETE_FROM_PRIMITIVE_LIST, BAD_PRIMITIVE_LIST)?,
                true,
            )
        } else {
            (k, false)
        };
        if patch_v.is_null() {
            original.shift_remove(&k);
            continue;
        }
        let Some(orig_v) = original.get_mut(&k) else {
            if !is_delete_list {
                set_from_patch(&mut original, k, patch_v);
            }
            continue;
        };
        match (orig_v, patch_v) {
            (Value::Object(o), Value::Object(p)) => {
                let meta = field_meta(schema, &k, false);
                let merged = if main_strategy(&meta.strategies)? == "replace" {
                    p
                } else {
                    merge_map(std::mem::take(o), p, meta.schema)?
                };
                original.insert(k, Value::Object(merged));
            }
            (Value::Array(o), Value::Array(p)) => {
                let meta = field_meta(schema, &k, true);
                let strategy = main_strategy(&meta.strategies)?;
                let merged = if strategy == "merge" || is_delete_list {
                    merge_slice(
                        std::mem::take(o),
                        p,
                        meta.schema,
                        &meta.merge_key,
                        is_delete_list,
                        None,
                    )?
                } else {
                    p
                };
                original.insert(k, Value::Array(merged));
            }
            (o, p) => {
                // Different types, or both scalars: the patch value wins;
                // a deletion list only acts on a list, except between
                // scalars, where upstream also overwrites.
                let same_scalar = !o.is_object()
                    && !o.is_array()
                    && !p.is_object()
                    && !p.is_array()
                    && std::mem::discriminant(o) == std::mem::discriminant(&p);
                if !is_delete_list || same_scalar {
                    set_from_patch(&mut original, k, p);
                }
            }
        }
    }
    Ok(original)
}

/// Sets `k` to a patch value that is not merged with anything: its nulls
/// and directives are dropped, and a value that is itself a directive
/// removes the key.
fn set_from_patch(original: &mut Map<String, Value>, k: String, mut v: Value) {
    discard_nulls(&mut v);
    match remove_directives(v) {
        Some(v) => {
            original.insert(k, v);
        }
        None => {
            original.shift_remove(&k);
        }
    }
}

fn discard_nulls(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|_, x| !x.is_null());
            m.values_mut().for_each(discard_nulls);
        }
        Value::Array(a) => a.iter_mut().for_each(discard_nulls),
        _ => {}
    }
}

/// Drops maps carrying `$patch` (and, so they never reach storage, the
/// other directive keys, which upstream drops when decoding the result).
fn remove_directives(v: Value) -> Option<Value> {
    match v {
        Value::Object(m) => {
            if m.contains_key(DIRECTIVE) {
                return None;
            }
            let out = m
                .into_iter()
                .filter(|(k, _)| !is_directive_key(k))
                .filter_map(|(k, v)| remove_directives(v).map(|v| (k, v)))
                .collect();
            Some(Value::Object(out))
        }
        Value::Array(a) => Some(Value::Array(
            a.into_iter().filter_map(remove_directives).collect(),
        )),
        other => Some(other),
    }
}

fn is_directive_key(k: &str) -> bool {
    k == RETAIN_KEYS
        || k.starts_with(&format!("{SET_ELEMENT_ORDER}/"))
        || k.starts_with(&format!("{DELETE_FROM_PRIMITIVE_LIST}/"))
}

/// `<prefix>/<field>` → `<field>`.
fn extract_key(s: &str, prefix: &str, err: &str) -> Result<String, PatchError> {
    match s.split_once('/') {
        Some((p, rest)) if p == prefix => Ok(rest.to_string()),
        _ => Err(PatchError::BadRequest(err.into())),
    }
}

/// `$retainKeys: [..]`: every non-null patch field must be listed, and
/// original fields not listed are cleared.
fn apply_retain_keys(
    original: &mut Map<String, Value>,
    patch: &mut Map<String, Value>,
) -> Result<(), PatchError> {
    let Some(keys) = patch.shift_remove(RETAIN_KEYS) else {
        return Ok(());
    };
    let Value::Array(keys) = keys else {
        return Err(PatchError::BadRequest(BAD_RETAIN_KEYS.into()));
    };
    let listed = |k: &str| keys.iter().any(|x| x.as_str() == Some(k));
    for (k, v) in patch.iter() {
        if v.is_null()
            || k.starts_with(DELETE_FROM_PRIMITIVE_LIST)
            || k.starts_with(SET_ELEMENT_ORDER)
        {
            continue;
        }
        if !listed(k) {
            return Err(PatchError::BadRequest(BAD_RETAIN_KEYS.into()));
        }
    }
    original.retain(|k, _| listed(k));
    Ok(())
}

/// `$setElementOrder/<f>`: merges list `f` (if patched) and orders the
/// result: listed items in the directive's order, others interleaved by
/// their place in the live list.
fn apply_set_element_order(
    original: &mut Map<String, Value>,
    patch: &mut Map<String, Value>,
    schema: Meta,
) -> Result<(), PatchError> {
    let keys: Vec<String> = patch
        .keys()
        .filter(|k| k.starts_with(SET_ELEMENT_ORDER))
        .cloned()
        .collect();
    for key in keys {
        let Some(order) = patch.shift_remove(&key) else {
            continue;
        };
        let Value::Array(order) = order else {
            return Err(bad_arg_type(SLICE_T, &order));
        };
        let field = extract_key(&key, SET_ELEMENT_ORDER, BAD_SET_ELEMENT_ORDER)?;
        let orig_list = match original.get(&field) {
            None => None,
            Some(Value::Array(a)) => Some(a.clone()),
            Some(other) => return Err(bad_arg_type(SLICE_T, other)),
        };
        let patch_list = match patch.get(&field) {
            None => None,
            Some(Value::Array(a)) => Some(a.clone()),
            Some(other) => return Err(bad_arg_type(SLICE_T, other)),
        };
        let meta = field_meta(schema, &field, true);
        let strategy = main_strategy(&meta.strategies)?;
        let mk = meta.merge_key.as_str();
        validate_set_order(patch_list.as_deref().unwrap_or_default(), &order, mk)?;
        // The live list as upstream sees it after merging (see `AliasView`).
        let mut server_order = orig_list.clone().unwrap_or_default();
        let merged = match (&orig_list, &patch_list) {
            (Some(o), None) => o.clone(),
            (None, Some(p)) => match remove_directives(Value::Array(p.clone())) {
                Some(Value::Array(a)) => a,
                _ => Vec::new(),
            },
            (Some(o), Some(p)) => {
                if strategy == "merge" {
                    let alias = Some(AliasView::new(&mut server_order));
                    merge_slice(o.clone(), p.clone(), meta.schema, mk, false, alias)?
                } else {
                    p.clone()
                }
            }
            (None, None) => continue,
        };
        let (in_order, server_only) = partition(merged, &order, mk)?;
        let orig_slice = orig_list.as_deref().unwrap_or_default();
        let kind = element_kind(&[orig_slice, patch_list.as_deref().unwrap_or_default()])?;
        let mk = if kind == Kind::Map { mk } else { "" };
        let both = normalize_order(in_order, server_only, &order, &server_order, mk, kind)?;
        original.insert(field.clone(), Value::Array(both));
        patch.shift_remove(&field);
    }
    Ok(())
}
