//! RFC 6902 JSON patch (`application/json-patch+json`), with the behaviour
//! and messages of the library upstream's API server uses (evanphx
//! json-patch v4), which differ from the RFC and from the `json-patch`
//! crate in ways clients can see: `replace` of a missing object key adds it,
//! `test` of a missing key against `null` passes, negative array indices
//! count from the end, and a path's first segment is not checked to be
//! empty. Hence this small evaluator rather than the crate.

use serde_json::Value;

use super::PatchError;

/// Upstream's cap on operations in one JSON patch.
pub const MAX_JSON_PATCH_OPERATIONS: usize = 10_000;

const MISSING: &str = "missing value";
const INVALID_INDEX: &str = "invalid index referenced";

/// Applies a JSON patch document (an array of operations) to `doc`.
pub fn apply_json_patch(doc: &Value, patch: &Value) -> Result<Value, PatchError> {
    let ops: &[Value] = match patch {
        Value::Null => &[],
        Value::Array(a) => a,
        other => {
            return Err(PatchError::BadRequest(format!(
                "json: cannot unmarshal {} into Go value of type jsonpatch.Patch",
                json_kind(other)
            )));
        }
    };
    if let Some(bad) = ops.iter().find(|o| !o.is_object() && !o.is_null()) {
        return Err(PatchError::BadRequest(format!(
            "json: cannot unmarshal {} into Go value of type jsonpatch.Operation",
            json_kind(bad)
        )));
    }
    if ops.len() > MAX_JSON_PATCH_OPERATIONS {
        return Err(PatchError::TooManyOperations(ops.len()));
    }
    let mut doc = doc.clone();
    for op in ops {
        apply_op(&mut doc, op).map_err(PatchError::Unprocessable)?;
    }
    Ok(doc)
}

/// The JSON type name Go's decoder prints.
fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn str_field(op: &Value, name: &str) -> Result<String, String> {
    match op.get(name) {
        None | Some(Value::Null) => Err(if name == "path" {
            format!("operation missing path field: {MISSING}")
        } else {
            format!("operation, missing from field: {MISSING}")
        }),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(other) => Err(format!(
            "json: cannot unmarshal {} into Go value of type string",
            json_kind(other)
        )),
    }
}

fn apply_op(doc: &mut Value, op: &Value) -> Result<(), String> {
    let kind = op.get("op").and_then(Value::as_str).unwrap_or("unknown");
    // A missing `value` and `null` both write null.
    let value = op.get("value");
    let new_value = || value.cloned().unwrap_or(Value::Null);
    match kind {
        "add" => {
            let path = str_field(op, "path")
                .map_err(|_| format!("add operation failed to decode path: {MISSING}"))?;
            let (con, key) = find_container(doc, &path).ok_or_else(|| {
                format!("add operation does not apply: doc is missing path: \"{path}\": {MISSING}")
            })?;
            add(con, &key, new_value()).map_err(|e| format!("error in add for path: '{path}': {e}"))
        }
        "remove" => {
            let path = str_field(op, "path")
                .map_err(|_| format!("remove operation failed to decode path: {MISSING}"))?;
            let (con, key) = find_container(doc, &path).ok_or_else(|| {
                format!(
                    "remove operation does not apply: doc is missing path: \"{path}\": {MISSING}"
                )
            })?;
            remove(con, &key)
                .map(|_| ())
                .map_err(|e| format!("error in remove for path: '{path}': {e}"))
        }
        "replace" => {
            let path = str_field(op, "path")
                .map_err(|e| format!("replace operation failed to decode path: {e}"))?;
            if path.is_empty() {
                let v = new_value();
                if !v.is_object() && !v.is_array() {
                    // Upstream wraps a nil error here, which Go prints so.
                    return Err(
                        "replace operation value must be object or array: %!w(<nil>)".into(),
                    );
                }
                *doc = v;
                return Ok(());
            }
            let (con, key) = find_container(doc, &path).ok_or_else(|| {
                format!("replace operation does not apply: doc is missing path: {path}: {MISSING}")
            })?;
            if get(con, &key).is_err() {
                return Err(format!(
                    "replace operation does not apply: doc is missing key: {path}: {MISSING}"
                ));
            }
            set(con, &key, new_value())
                .map_err(|e| format!("error in remove for path: '{path}': {e}"))
        }
        "move" => {
            let from = str_field(op, "from")
                .map_err(|e| format!("move operation failed to decode from: {e}"))?;
            let (con, key) = find_container(doc, &from).ok_or_else(|| {
                format!(
                    "move operation does not apply: doc is missing from path: {from}: {MISSING}"
                )
            })?;
            get(con, &key).map_err(|e| format!("error in move for path: '{key}': {e}"))?;
            let val =
                remove(con, &key).map_err(|e| format!("error in move for path: '{key}': {e}"))?;
            let path = str_field(op, "path")
                .map_err(|e| format!("move operation failed to decode path: {e}"))?;
            let (con, key) = find_container(doc, &path).ok_or_else(|| {
                format!(
                    "move operation does not apply: doc is missing destination path: {path}: {MISSING}"
                )
            })?;
            add(con, &key, val).map_err(|e| format!("error in move for path: '{path}': {e}"))
        }
        "copy" => {
            let from = str_field(op, "from")
                .map_err(|e| format!("copy operation failed to decode from: {e}"))?;
            let (con, key) = find_container(doc, &from).ok_or_else(|| {
                format!(
                    "copy operation does not apply: doc is missing from path: {from}: {MISSING}"
                )
            })?;
            let val = get(con, &key)
                .map_err(|e| format!("error in copy for from: '{from}': {e}"))?
                .cloned()
                .unwrap_or(Value::Null);
            let path = str_field(op, "path")
                .map_err(|_| format!("copy operation failed to decode path: {MISSING}"))?;
            let (con, key) = find_container(doc, &path).ok_or_else(|| {
                format!(
                    "copy operation does not apply: doc is missing destination path: {path}: {MISSING}"
                )
            })?;
            add(con, &key, val).map_err(|e| format!("error while adding value during copy: {e}"))
        }
        "test" => {
            let path = str_field(op, "path")
                .map_err(|e| format!("test operation failed to decode path: {e}"))?;
            let failed = || format!("testing value {path} failed: test failed");
            if path.is_empty() {
                return if value == Some(&*doc) {
                    Ok(())
                } else {
                    Err(failed())
                };
            }
            let (con, key) = find_container(doc, &path).ok_or_else(|| {
                format!("test operation does not apply: is missing path: {path}: {MISSING}")
            })?;
            let have =
                get(con, &key).map_err(|e| format!("error in test for path: '{path}': {e}"))?;
            // Absent and null are the same to upstream on both sides.
            let have = have.filter(|v| !v.is_null());
            let want = value.filter(|v| !v.is_null());
            match (have, want, value) {
                (None, None, _) => Ok(()),
                (Some(_), _, None) => Err(failed()),
                (h, w, _) if h == w => Ok(()),
                _ => Err(failed()),
            }
        }
        other => Err(format!("Unexpected kind: {other}")),
    }
}

fn decode_token(t: &str) -> String {
    t.replace("~1", "/").replace("~0", "~")
}

/// The container (object or array) holding the last segment of `path`,
/// and that segment decoded. Like upstream, the first segment (before the
/// first `/`) is ignored, and a null or scalar on the way means "missing".
fn find_container<'a>(doc: &'a mut Value, path: &str) -> Option<(&'a mut Value, String)> {
    let segs: Vec<&str> = path.split('/').collect();
    if segs.len() < 2 {
        return None;
    }
    let key = decode_token(segs[segs.len() - 1]);
    let mut cur = doc;
    for part in &segs[1..segs.len() - 1] {
        let part = decode_token(part);
        let next = match cur {
            Value::Object(m) => m.get_mut(&part)?,
            Value::Array(a) => {
                let i = array_index(&part, a.len()).ok()?;
                a.get_mut(i)?
            }
            _ => return None,
        };
        if !next.is_object() && !next.is_array() {
            return None;
        }
        cur = next;
    }
    if !cur.is_object() && !cur.is_array() {
        return None;
    }
    Some((cur, key))
}

/// Go's `strconv.Atoi` errors, which upstream passes through.
fn atoi(s: &str) -> Result<i64, String> {
    s.parse::<i64>().map_err(|e| {
        let why = if matches!(
            e.kind(),
            std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow
        ) {
            "value out of range"
        } else {
            "invalid syntax"
        };
        format!("strconv.Atoi: parsing \"{s}\": {why}")
    })
}

fn invalid_index(i: i64) -> String {
    format!("Unable to access invalid index: {i}: {INVALID_INDEX}")
}

/// An existing element's index; negative counts from the end.
fn array_index(key: &str, len: usize) -> Result<usize, String> {
    let i = atoi(key)?;
    let len = len as i64;
    let j = if i < 0 {
        if i < -len {
            return Err(invalid_index(i));
        }
        i + len
    } else {
        i
    };
    if j >= len {
        return Err(invalid_index(j));
    }
    Ok(j as usize)
}

fn get<'v>(con: &'v Value, key: &str) -> Result<Option<&'v Value>, String> {
    match con {
        Value::Object(m) => Ok(m.get(key)),
        Value::Array(a) => Ok(Some(&a[array_index(key, a.len())?])),
        _ => Ok(None),
    }
}

fn set(con: &mut Value, key: &str, v: Value) -> Result<(), String> {
    match con {
        Value::Object(m) => {
            m.insert(key.to_string(), v);
        }
        Value::Array(a) => {
            let i = array_index(key, a.len())?;
            a[i] = v;
        }
        _ => {}
    }
    Ok(())
}

fn add(con: &mut Value, key: &str, v: Value) -> Result<(), String> {
    match con {
        Value::Object(m) => {
            m.insert(key.to_string(), v);
        }
        Value::Array(a) => {
            if key == "-" {
                a.push(v);
                return Ok(());
            }
            let i = atoi(key)
                .map_err(|e| format!("value was not a proper array index: '{key}': {e}"))?;
            let size = a.len() as i64 + 1;
            if i >= size {
                return Err(invalid_index(i));
            }
            let i = if i < 0 {
                if i < -size {
                    return Err(invalid_index(i));
                }
                i + size
            } else {
                i
            };
            a.insert(i as usize, v);
        }
        _ => {}
    }
    Ok(())
}

fn remove(con: &mut Value, key: &str) -> Result<Value, String> {
    match con {
        Value::Object(m) => m
            .shift_remove(key)
            .ok_or_else(|| format!("Unable to remove nonexistent key: {key}: {MISSING}")),
        Value::Array(a) => {
            let i = atoi(key)?;
            let len = a.len() as i64;
            if i >= len {
                return Err(invalid_index(i));
            }
            let i = if i < 0 {
                if i < -len {
                    return Err(invalid_index(i));
                }
                i + len
            } else {
                i
            };
            Ok(a.remove(i as usize))
        }
        _ => Ok(Value::Null),
    }
}
