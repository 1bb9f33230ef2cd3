//! Small helpers over `serde_json::Value` shared by the strategies.

use serde_json::{Map, Value};

/// The string at a JSON pointer, or `""`.
pub fn str_at<'a>(v: &'a Value, ptr: &str) -> &'a str {
    v.pointer(ptr).and_then(Value::as_str).unwrap_or("")
}

/// The array at a JSON pointer, or an empty slice.
pub fn arr_at<'a>(v: &'a Value, ptr: &str) -> &'a [Value] {
    v.pointer(ptr)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// Make `v[key]` an object (creating it when absent or null) and return it.
/// Returns `None` when `v` is not an object or `v[key]` is a non-object.
pub fn obj_mut<'a>(v: &'a mut Value, key: &str) -> Option<&'a mut Map<String, Value>> {
    let m = v.as_object_mut()?;
    let slot = m.entry(key).or_insert_with(|| Value::Object(Map::new()));
    if slot.is_null() {
        *slot = Value::Object(Map::new());
    }
    slot.as_object_mut()
}

/// Set `v[key] = default` when it is absent or null.
pub fn set_default(v: &mut Value, key: &str, default: Value) {
    if let Some(m) = v.as_object_mut() {
        let slot = m.entry(key).or_insert(Value::Null);
        if slot.is_null() {
            *slot = default;
        }
    }
}

/// Apply `f` to every element of the array `v[key]`, if any.
pub fn each_mut(v: &mut Value, key: &str, mut f: impl FnMut(&mut Value)) {
    if let Some(Value::Array(a)) = v.get_mut(key) {
        a.iter_mut().for_each(&mut f);
    }
}

/// Set the string at `v[key]` (v must be an object).
pub fn set(v: &mut Value, key: &str, val: Value) {
    if let Some(m) = v.as_object_mut() {
        m.insert(key.to_string(), val);
    }
}

/// The field-selector value of a string field (missing reads as `""`).
pub fn field_str(obj: &Value, ptr: &str) -> Option<String> {
    Some(str_at(obj, ptr).to_string())
}

/// `obj[key]`, or JSON null when absent.
pub fn get<'a>(v: &'a Value, key: &str) -> &'a Value {
    static NULL: Value = Value::Null;
    v.get(key).unwrap_or(&NULL)
}

/// The value at a JSON pointer unless it is absent or null.
pub fn present<'a>(v: &'a Value, ptr: &str) -> Option<&'a Value> {
    v.pointer(ptr).filter(|x| !x.is_null())
}

/// Go's `%#v` of a `[]T` of strings, e.g. `[]core.ResourceQuotaScope{"A", "B"}`.
pub fn go_string_slice(type_name: &str, items: &[Value]) -> String {
    let body = items
        .iter()
        .map(|x| format!("{:?}", x.as_str().unwrap_or_default()))
        .collect::<Vec<_>>()
        .join(", ");
    format!("[]{type_name}{{{body}}}")
}
