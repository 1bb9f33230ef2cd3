//! Schema-aware walks over objects for server-side apply: the field set an
//! object sets, the difference between two objects, merging an applied
//! configuration into a live object, and removing field paths from an object.
//!
//! Without a schema (or below a field the schema does not know) objects are
//! treated as upstream treats "deduced" types: maps merge key by key and
//! lists are atomic.

pub use super::compare::{Comparison, compare, fields_of};
use super::fieldpath::{FieldSet, PathElement};
use crate::schema::{ListKeys, ListKind, SchemaNode};
use serde_json::{Map, Value};

pub(super) type Node<'a> = Option<SchemaNode<'a>>;

/// How a value merges.
pub(super) enum Shape<'a> {
    /// Replaced and owned as a whole (scalars, atomic lists and maps).
    Leaf,
    /// Merged key by key.
    Map(Node<'a>),
    /// Merged element by element; `keys` empty means a set of scalars.
    List { keys: ListKeys<'a>, items: Node<'a> },
}

pub(super) fn shape<'a>(v: &Value, node: Node<'a>) -> Shape<'a> {
    match v {
        Value::Object(_) => {
            let atomic = node.is_some_and(|n| n.ext_str("x-kubernetes-map-type") == Some("atomic"));
            if atomic {
                Shape::Leaf
            } else {
                Shape::Map(node)
            }
        }
        Value::Array(_) => {
            let Some(n) = node else { return Shape::Leaf };
            match n.list_kind() {
                ListKind::Atomic => Shape::Leaf,
                ListKind::Set => Shape::List {
                    keys: ListKeys::Many(&[]),
                    items: n.items(),
                },
                ListKind::Map(keys) if !keys.is_empty() => Shape::List {
                    keys,
                    items: n.items(),
                },
                ListKind::Map(_) => Shape::Leaf,
            }
        }
        _ => Shape::Leaf,
    }
}

/// The schema of map key `key`, and whether it is a declared (named) field.
pub(super) fn map_child<'a>(node: Node<'a>, key: &str) -> (Node<'a>, bool) {
    match node {
        Some(n) => match n.field(key) {
            Some(f) => (Some(f), true),
            None => (n.additional_properties(), false),
        },
        None => (None, false),
    }
}

/// The path element naming a list item.
pub(super) fn item_pe(item: &Value, keys: ListKeys, items: Node) -> Result<PathElement, String> {
    if keys.is_empty() {
        return match item {
            Value::Object(_) => {
                Err("associative list without keys has an element that's a map type".into())
            }
            Value::Array(_) => Err("not supported: associative list with lists as elements".into()),
            Value::Null => {
                Err("associative list without keys has an element that's an explicit null".into())
            }
            v => Ok(PathElement::Value(v.clone())),
        };
    }
    let Value::Object(m) = item else {
        return Err("associative list with keys may not have non-map elements".into());
    };
    let mut fields = Vec::new();
    for k in keys.iter() {
        let default = || {
            items
                .and_then(|n| n.field(k))
                .and_then(|f| f.raw().get("default"))
        };
        if let Some(v) = m.get(k).or_else(default) {
            fields.push((k.to_string(), v.clone()));
        }
    }
    if fields.is_empty() {
        let keys: Vec<&str> = keys.iter().collect();
        return Err(format!(
            "associative list with keys has an element that omits all key fields {keys:?} (and doesn't have default values for any key fields)"
        ));
    }
    fields.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(PathElement::Key(fields))
}

/// The path elements of a list's items, or `None` when one cannot be named
/// (the list is then handled as atomic, leniently, for stored objects).
pub(super) fn index<'v>(
    list: &'v [Value],
    keys: ListKeys,
    items: Node,
) -> Option<Vec<(PathElement, &'v Value)>> {
    list.iter()
        .map(|i| item_pe(i, keys, items).ok().map(|pe| (pe, i)))
        .collect()
}

/// Checks that an applied configuration can be merged: list items can be
/// named and no list has two items with the same key. Returns upstream's
/// message (`.spec.containers: duplicate entries for key [name="a"]`).
pub fn validate(v: &Value, node: Node) -> Result<(), String> {
    validate_at(v, node, &mut Vec::new())
}

fn validate_at(v: &Value, node: Node, path: &mut Vec<PathElement>) -> Result<(), String> {
    let at = |path: &[PathElement], msg: String| {
        let p = super::fieldpath::path_string(path);
        if p.is_empty() {
            msg
        } else {
            format!("{p}: {msg}")
        }
    };
    match (shape(v, node), v) {
        (Shape::Map(n), Value::Object(m)) => {
            for (k, cv) in m {
                path.push(PathElement::field(k));
                validate_at(cv, map_child(n, k).0, path)?;
                path.pop();
            }
        }
        (Shape::List { keys, items }, Value::Array(list)) => {
            let mut seen = std::collections::BTreeSet::new();
            for (i, item) in list.iter().enumerate() {
                let pe = item_pe(item, keys, items)
                    .map_err(|e| at(path, format!("element {i}: {e}")))?;
                if !seen.insert(pe.clone()) {
                    return Err(at(path, format!("duplicate entries for key {pe}")));
                }
                path.push(pe);
                validate_at(item, items, path)?;
                path.pop();
            }
        }
        _ => {}
    }
    Ok(())
}

/// Merges `applied` into `live`: maps key by key, keyed lists by key, sets
/// by value, anything atomic replaced. Explicit nulls in `applied` remove
/// the field from the result.
pub fn merge(live: &Value, applied: &Value, schema: Option<SchemaNode>) -> Value {
    merge_at(Some(live), applied, schema)
}

fn merge_at(l: Option<&Value>, r: &Value, node: Node) -> Value {
    let Some(l) = l else { return strip_nulls(r) };
    if std::mem::discriminant(l) != std::mem::discriminant(r) {
        return strip_nulls(r);
    }
    match (shape(r, node), l, r) {
        (Shape::Map(n), Value::Object(lm), Value::Object(rm)) => {
            let mut out = Map::new();
            for (k, lv) in lm {
                match rm.get(k) {
                    Some(Value::Null) => {}
                    Some(rv) => {
                        out.insert(k.clone(), merge_at(Some(lv), rv, map_child(n, k).0));
                    }
                    None => {
                        out.insert(k.clone(), lv.clone());
                    }
                }
            }
            for (k, rv) in rm {
                if !lm.contains_key(k) && !rv.is_null() {
                    out.insert(k.clone(), merge_at(None, rv, map_child(n, k).0));
                }
            }
            Value::Object(out)
        }
        (Shape::List { keys, items }, Value::Array(ll), Value::Array(rl)) => {
            match (index(ll, keys, items), index(rl, keys, items)) {
                (Some(li), Some(ri)) => Value::Array(merge_lists(&li, &ri, items)),
                _ => strip_nulls(r),
            }
        }
        _ => strip_nulls(r),
    }
}

/// Merges keyed items keeping the applied order for items both sides have
/// and the live position of items only the live list has (as upstream).
fn find<'v>(side: &[(PathElement, &'v Value)], pe: &PathElement) -> Option<&'v Value> {
    side.iter().find(|(p, _)| p == pe).map(|x| x.1)
}

fn merge_lists(
    lhs: &[(PathElement, &Value)],
    rhs: &[(PathElement, &Value)],
    items: Node,
) -> Vec<Value> {
    // Live duplicates are collapsed to their first occurrence.
    let mut lhs_pes: Vec<&PathElement> = Vec::new();
    for (pe, _) in lhs {
        if !lhs_pes.contains(&pe) {
            lhs_pes.push(pe);
        }
    }
    let rhs_has = |pe: &PathElement| rhs.iter().any(|(p, _)| p == pe);
    let mut shared = rhs.iter().map(|x| &x.0).filter(|pe| lhs_pes.contains(pe));
    let mut next_shared = shared.next();
    let mut merged: Vec<&PathElement> = Vec::new();
    let mut out = Vec::new();
    let (mut li, mut ri) = (0, 0);
    while li < lhs_pes.len() || ri < rhs.len() {
        if li < lhs_pes.len() && ri < rhs.len() {
            let pe = lhs_pes[li];
            if *pe == rhs[ri].0 {
                merged.push(pe);
                out.push(merge_at(find(lhs, pe), rhs[ri].1, items));
                li += 1;
                ri += 1;
                next_shared = shared.next();
                continue;
            }
            if rhs_has(pe) && next_shared.is_some_and(|n| n != pe) {
                li += 1;
                continue;
            }
        }
        if li < lhs_pes.len() {
            let pe = lhs_pes[li];
            if !rhs_has(pe) {
                if let Some(v) = find(lhs, pe) {
                    out.push(v.clone());
                }
                li += 1;
                continue;
            } else if merged.contains(&pe) {
                li += 1;
            }
        }
        if ri < rhs.len() {
            let (pe, rv) = (&rhs[ri].0, rhs[ri].1);
            merged.push(pe);
            out.push(merge_at(find(lhs, pe), rv, items));
            ri += 1;
            if next_shared.is_some_and(|n| n == pe) {
                next_shared = shared.next();
            }
        }
    }
    out
}

fn strip_nulls(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), strip_nulls(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Removes from `v` every path that is a member of `set` (whole subtrees).
/// Maps and lists emptied by the removal are removed from their parent.
pub fn remove_items(v: &mut Value, set: &FieldSet, schema: Option<SchemaNode>) {
    remove_at(v, set, schema);
}

/// Returns true when `v` was emptied by the removal.
fn remove_at(v: &mut Value, set: &FieldSet, node: Node) -> bool {
    match (shape(v, node), v) {
        (Shape::Map(n), Value::Object(m)) => {
            if m.is_empty() {
                return false;
            }
            let keys: Vec<String> = m.keys().cloned().collect();
            for k in keys {
                let pe = PathElement::field(&k);
                if set.is_member(&pe) {
                    m.shift_remove(&k);
                } else if let Some(sub) = set.child(&pe)
                    && let Some(cv) = m.get_mut(&k)
                    && remove_at(cv, sub, map_child(n, &k).0)
                {
                    m.shift_remove(&k);
                }
            }
            m.is_empty()
        }
        (Shape::List { keys, items }, Value::Array(list)) => {
            if list.is_empty() {
                return false;
            }
            let old = std::mem::take(list);
            for mut item in old {
                match item_pe(&item, keys, items) {
                    Ok(pe) if set.is_member(&pe) => continue,
                    Ok(pe) => {
                        if let Some(sub) = set.child(&pe) {
                            remove_at(&mut item, sub, items);
                        }
                        list.push(item);
                    }
                    Err(_) => list.push(item),
                }
            }
            list.is_empty()
        }
        _ => false,
    }
}

/// `set` plus, as members, every declared struct field that has children in
/// it: owning `spec.strategy.type` then counts as owning `spec.strategy`
/// for pruning, but owning `metadata.labels.app` does not own `labels`'
/// siblings (labels is a map, not a struct).
pub fn ensure_named_fields_are_members(set: &FieldSet, schema: Option<SchemaNode>) -> FieldSet {
    let mut out = FieldSet::new();
    for path in set.paths() {
        out.insert(&path);
    }
    for (pe, sub) in set.children() {
        let child_node = match pe {
            PathElement::Field(name) => {
                let (cn, named) = map_child(schema, name);
                if named {
                    out.add_member(pe.clone());
                }
                cn
            }
            _ => schema.and_then(|n| n.items()),
        };
        out.insert_child(pe.clone(), ensure_named_fields_are_members(sub, child_node));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Definitions;
    use serde_json::json;

    #[test]
    fn set_merge_keeps_live_only_items_in_place_and_applied_order() {
        let defs = Definitions::new();
        let s =
            json!({"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "set"});
        let n = Some(SchemaNode::new(&s, &defs));
        let out = merge(&json!(["a", "x", "b"]), &json!(["b", "a", "c"]), n);
        assert_eq!(out, json!(["x", "b", "a", "c"]));
        let c = compare(&json!(["a", "b"]), &json!(["b", "c"]), n);
        assert!(c.added.has(&[PathElement::Value(json!("c"))]));
        assert!(c.removed.has(&[PathElement::Value(json!("a"))]));
        assert!(c.modified.is_empty());
    }

    #[test]
    fn remove_items_drops_emptied_parents() {
        let mut v = json!({"a": {"b": 1}, "c": 2});
        let mut set = FieldSet::new();
        set.insert(&[PathElement::field("a"), PathElement::field("b")]);
        remove_items(&mut v, &set, None);
        assert_eq!(v, json!({"c": 2}));
    }
}
