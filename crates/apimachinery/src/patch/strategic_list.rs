//! The list half of strategic merge patch: merging lists by merge key or
//! as primitive sets, `$patch` directives in list elements, deletion
//! lists, and upstream's ordering rules (patch order first, server-only
//! items interleaved by their place in the live list). Also the Go-style
//! value printing upstream's error messages use.

use serde_json::{Map, Value};

use super::PatchError;
use super::strategic::{Meta, merge_map};

/// Go's `%v` of a decoded JSON value (`map[k:v]`, `[a b]`, `<nil>`).
pub(super) fn go_fmt(v: &Value) -> String {
    match v {
        Value::Null => "<nil>".into(),
        Value::String(s) => s.clone(),
        Value::Array(a) => format!("[{}]", a.iter().map(go_fmt).collect::<Vec<_>>().join(" ")),
        Value::Object(m) => go_fmt_map(m),
        other => other.to_string(),
    }
}

pub(super) fn go_fmt_map(m: &Map<String, Value>) -> String {
    let mut keys: Vec<&String> = m.keys().collect();
    keys.sort();
    let parts: Vec<String> = keys
        .iter()
        .map(|k| format!("{k}:{}", go_fmt(&m[k.as_str()])))
        .collect();
    format!("map[{}]", parts.join(" "))
}

/// Go's type name of a decoded JSON value, as upstream's argument errors print it.
pub(super) fn go_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "%!s(<nil>)",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float64",
        Value::Number(_) => "int64",
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    }
}

pub(super) fn bad_arg_type(expected: &str, actual: &Value) -> PatchError {
    PatchError::Other(format!(
        "expected a {expected}, but received a {}",
        go_type(actual)
    ))
}

pub(super) const MAP_T: &str = "map[string]interface {}";
pub(super) const SLICE_T: &str = "[]interface {}";

pub(super) fn no_merge_key(m: &Map<String, Value>, key: &str) -> PatchError {
    PatchError::Other(format!(
        "map: {} does not contain declared merge key: {key}",
        go_fmt_map(m)
    ))
}

/// The kind of list elements, which must all agree.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Kind {
    Map,
    Other,
}

fn type_tag(v: &Value) -> u8 {
    match v {
        Value::Null => 0,
        Value::Bool(_) => 1,
        Value::Number(n) if n.is_f64() => 2,
        Value::Number(_) => 3,
        Value::String(_) => 4,
        Value::Array(_) => 5,
        Value::Object(_) => 6,
    }
}

/// Upstream's `sliceElementType`: one element type across the lists, and
/// never a list of lists.
pub(super) fn element_kind(lists: &[&[Value]]) -> Result<Kind, PatchError> {
    let mut prev: Option<u8> = None;
    for v in lists.iter().flat_map(|l| l.iter()) {
        let t = type_tag(v);
        match prev {
            None if t == 5 => {
                return Err(PatchError::Unprocessable(
                    "lists of lists are not supported".into(),
                ));
            }
            None => prev = Some(t),
            Some(p) if p != t => {
                let all = lists
                    .iter()
                    .map(|l| go_fmt(&Value::Array(l.to_vec())))
                    .collect::<Vec<_>>()
                    .join(" ");
                return Err(PatchError::Other(format!(
                    "list element types are not identical: [{all}]"
                )));
            }
            Some(_) => {}
        }
    }
    match prev {
        None => Err(PatchError::Other(
            "no elements in any of the given slices".into(),
        )),
        Some(6) => Ok(Kind::Map),
        Some(_) => Ok(Kind::Other),
    }
}

/// Where `item` sits in `list`: by merge-key value for maps, by value otherwise.
fn index_of(list: &[Value], item: &Value, key: &str, kind: Kind) -> Option<usize> {
    let id = |v: &Value| -> Option<Value> {
        match kind {
            Kind::Map => Some(v.as_object()?.get(key).cloned().unwrap_or(Value::Null)),
            Kind::Other => Some(v.clone()),
        }
    };
    let want = id(item);
    list.iter().position(|v| id(v) == want)
}

/// Splits `merged` into the items present in `by` (by merge key, or by
/// value when `key` is empty) and the rest.
pub(super) fn partition(
    merged: Vec<Value>,
    by: &[Value],
    key: &str,
) -> Result<(Vec<Value>, Vec<Value>), PatchError> {
    let mut present = Vec::new();
    let mut rest = Vec::new();
    for v in merged {
        let found = if key.is_empty() {
            by.contains(&v)
        } else {
            let m = v.as_object().ok_or_else(|| bad_arg_type(MAP_T, &v))?;
            let kv = m.get(key).ok_or_else(|| no_merge_key(m, key))?;
            find_by_key(by, key, kv)?.is_some()
        };
        if found {
            present.push(v);
        } else {
            rest.push(v);
        }
    }
    Ok((present, rest))
}

/// The index of the map in `list` whose `key` equals `value`.
pub(super) fn find_by_key(
    list: &[Value],
    key: &str,
    value: &Value,
) -> Result<Option<usize>, PatchError> {
    for (i, v) in list.iter().enumerate() {
        let m = v
            .as_object()
            .ok_or_else(|| PatchError::Other(format!("value for key {i} is not a map")))?;
        if m.get(key) == Some(value) {
            return Ok(Some(i));
        }
    }
    Ok(None)
}

fn sort_by_order(
    mut items: Vec<Value>,
    order: &[Value],
    key: &str,
    kind: Kind,
) -> Result<Vec<Value>, PatchError> {
    let mut deletes = Vec::new();
    if kind == Kind::Map {
        for v in items.iter().chain(order) {
            let m = v.as_object().ok_or_else(|| bad_arg_type(MAP_T, v))?;
            if !m.contains_key(key) {
                return Err(no_merge_key(m, key));
            }
        }
        // `$patch: delete` items go last, as upstream.
        let (keep, del): (Vec<Value>, Vec<Value>) = items
            .into_iter()
            .partition(|v| v.get("$patch") != Some(&Value::String("delete".into())));
        items = keep;
        deletes = del;
    }
    items.sort_by_key(|v| index_of(order, v, key, kind).unwrap_or(usize::MAX));
    items.extend(deletes);
    Ok(items)
}

/// Orders patch items by `patch_order` and server-only items by
/// `server_order`, then interleaves them: each server-only item goes before
/// the first patch item that comes after it in the live list.
pub(super) fn normalize_order(
    patch_items: Vec<Value>,
    server_only: Vec<Value>,
    patch_order: &[Value],
    server_order: &[Value],
    key: &str,
    kind: Kind,
) -> Result<Vec<Value>, PatchError> {
    let right = sort_by_order(patch_items, patch_order, key, kind)?;
    let left = sort_by_order(server_only, server_order, key, kind)?;
    let mut out = Vec::with_capacity(left.len() + right.len());
    let (mut l, mut r) = (left.into_iter().peekable(), right.into_iter().peekable());
    loop {
        let take_left = match (l.peek(), r.peek()) {
            (None, None) => break,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some(a), Some(b)) => {
                match (
                    index_of(server_order, a, key, kind),
                    index_of(server_order, b, key, kind),
                ) {
                    (Some(ia), Some(ib)) => ia < ib,
                    _ => false,
                }
            }
        };
        let next = if take_left { l.next() } else { r.next() };
        out.extend(next);
    }
    Ok(out)
}

/// Upstream edits a list of objects in place: deleting shifts items down
/// within the original backing array, and appends fill it up to its length.
/// Its `$setElementOrder` handling then orders by that mutated array rather
/// than the list as it was, which changes results clients see; `view`
/// replays those edits so the same order comes out.
pub(super) struct AliasView<'v> {
    view: &'v mut Vec<Value>,
    live: bool,
}

impl<'v> AliasView<'v> {
    pub(super) fn new(view: &'v mut Vec<Value>) -> Self {
        AliasView { view, live: true }
    }

    /// After removing an item from `cur` (the working list, sharing the backing array).
    fn removed(&mut self, cur: &[Value]) {
        if self.live {
            for (k, v) in cur.iter().enumerate() {
                self.view[k] = v.clone();
            }
        }
    }

    /// Before appending `v` to `cur`: it lands in the backing array while
    /// there is room, else the list moves and the view stops changing.
    fn appending(&mut self, cur: &[Value], v: &Value) {
        if self.live && cur.len() < self.view.len() {
            self.view[cur.len()] = v.clone();
        } else {
            self.live = false;
        }
    }
}

/// Merges a patch list into an original list whose field merges
/// (`patchStrategy: merge`), or applies a `$deleteFromPrimitiveList`.
pub(super) fn merge_slice(
    original: Vec<Value>,
    patch: Vec<Value>,
    schema: Meta,
    key: &str,
    is_delete_list: bool,
    mut alias: Option<AliasView>,
) -> Result<Vec<Value>, PatchError> {
    if original.is_empty() && patch.is_empty() {
        return Ok(original);
    }
    let kind = element_kind(&[&original, &patch])?;
    let (original, patch, merged) = if kind != Kind::Map {
        if is_delete_list {
            return Ok(original
                .into_iter()
                .filter(|v| !patch.contains(v))
                .collect());
        }
        let mut merged: Vec<Value> = Vec::with_capacity(original.len() + patch.len());
        for v in original.iter().chain(&patch) {
            if !merged.contains(v) {
                merged.push(v.clone());
            }
        }
        (original, patch, merged)
    } else {
        if key.is_empty() {
            return Err(PatchError::Other(
                "cannot merge lists without merge key for struct".into(),
            ));
        }
        let (original, patch) = apply_special_elements(original, patch, key, &mut alias)?;
        let merged = merge_by_key(original.clone(), &patch, key, schema, &mut alias)?;
        (original, patch, merged)
    };
    let (patch_items, server_only) =
        partition(merged, &patch, if kind == Kind::Map { key } else { "" })?;
    normalize_order(patch_items, server_only, &patch, &original, key, kind)
}

/// Handles list elements carrying `$patch`: `delete` removes the original
/// elements with that key, `replace` makes the rest of the patch the whole
/// list; `merge` and anything else are errors, as upstream.
fn apply_special_elements(
    mut original: Vec<Value>,
    patch: Vec<Value>,
    key: &str,
    alias: &mut Option<AliasView>,
) -> Result<(Vec<Value>, Vec<Value>), PatchError> {
    let mut plain = Vec::new();
    let mut replace = false;
    for v in patch {
        let Some(m) = v.as_object() else {
            return Err(bad_arg_type(MAP_T, &v));
        };
        match m.get("$patch") {
            None => plain.push(v),
            Some(Value::String(d)) if d == "delete" => {
                let kv = m.get(key).ok_or_else(|| no_merge_key(m, key))?;
                while let Some(i) = find_by_key(&original, key, kv)? {
                    original.remove(i);
                    if let Some(a) = alias.as_mut() {
                        a.removed(&original);
                    }
                }
            }
            Some(Value::String(d)) if d == "replace" => replace = true,
            Some(Value::String(d)) if d == "merge" => {
                return Err(PatchError::Other(
                    "merging lists cannot yet be specified in the patch".into(),
                ));
            }
            Some(d) => {
                return Err(PatchError::Other(format!(
                    "unknown patch type: {} in map: {}",
                    go_fmt(d),
                    go_fmt_map(m)
                )));
            }
        }
    }
    Ok(if replace {
        if let Some(a) = alias.as_mut() {
            a.live = false;
        }
        (plain, Vec::new())
    } else {
        (original, plain)
    })
}

/// Merges each patch element into the original element with the same key
/// value, or appends it.
fn merge_by_key(
    mut original: Vec<Value>,
    patch: &[Value],
    key: &str,
    schema: Meta,
    alias: &mut Option<AliasView>,
) -> Result<Vec<Value>, PatchError> {
    for v in patch {
        let Some(m) = v.as_object() else {
            return Err(bad_arg_type(MAP_T, v));
        };
        let kv = m.get(key).ok_or_else(|| no_merge_key(m, key))?;
        match find_by_key(&original, key, kv)? {
            Some(i) => {
                let orig = match std::mem::take(&mut original[i]) {
                    Value::Object(o) => o,
                    _ => Map::new(),
                };
                original[i] = Value::Object(merge_map(orig, m.clone(), schema)?);
            }
            None => {
                if let Some(a) = alias.as_mut() {
                    a.appending(&original, v);
                }
                original.push(v.clone());
            }
        }
    }
    Ok(original)
}

/// Checks that the patch list's items appear in the `$setElementOrder`
/// list, in the same relative order.
pub(super) fn validate_set_order(
    patch: &[Value],
    order: &[Value],
    key: &str,
) -> Result<(), PatchError> {
    if order.is_empty() || patch.is_empty() {
        return Ok(());
    }
    let non_delete: Vec<&Value> = if key.is_empty() {
        patch.iter().collect()
    } else {
        let mut out = Vec::new();
        for v in patch {
            if !v.is_object() {
                return Err(bad_arg_type(MAP_T, v));
            }
            if v.get("$patch") != Some(&Value::String("delete".into())) {
                out.push(v);
            }
        }
        out
    };
    let (mut pi, mut oi) = (0, 0);
    while pi < non_delete.len() && oi < order.len() {
        let p = non_delete[pi];
        if p.get("$patch").is_some() {
            pi += 1;
            continue;
        }
        let equal = if key.is_empty() {
            p == &order[oi]
        } else {
            let pm = p.as_object().ok_or_else(|| bad_arg_type(MAP_T, p))?;
            let om = order[oi]
                .as_object()
                .ok_or_else(|| bad_arg_type(MAP_T, &order[oi]))?;
            let pk = pm.get(key).ok_or_else(|| no_merge_key(pm, key))?;
            let ok = om.get(key).ok_or_else(|| no_merge_key(om, key))?;
            pk == ok
        };
        if equal {
            pi += 1;
        }
        oi += 1;
    }
    if pi < non_delete.len() && oi >= order.len() {
        return Err(PatchError::Other(format!(
            "The order in patch list:\n{}\n doesn't match $setElementOrder list:\n{}\n",
            go_fmt(&Value::Array(patch.to_vec())),
            go_fmt(&Value::Array(order.to_vec()))
        )));
    }
    Ok(())
}
