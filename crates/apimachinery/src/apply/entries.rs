//! `metadata.managedFields` as JSON: reading the entries of an object,
//! writing them back, and [`track_update_in_place`], which does both around
//! [`super::track_update_with`] without copying the entries' field sets.

use super::manager::{Options, track};
use super::managers::{EntryRef, Out, OutFields, encode};
use super::{ApplyError, ManagedFieldsEntry};
use serde::Deserialize;
use serde_json::{Map, Value};

const MANAGED_FIELDS: &str = "managedFields";

/// The entries stored in `obj`'s `metadata.managedFields`.
pub fn managed_fields_of(obj: &Value) -> Result<Vec<ManagedFieldsEntry>, ApplyError> {
    match obj.get("metadata").and_then(|m| m.get(MANAGED_FIELDS)) {
        None | Some(Value::Null) => Ok(vec![]),
        Some(v) => Vec::<ManagedFieldsEntry>::deserialize(v)
            .map_err(|e| ApplyError::ManagedFields(e.to_string())),
    }
}

/// Writes `entries` to `obj`'s `metadata.managedFields` (removing the field
/// when there are none, as upstream omits it).
pub fn set_managed_fields(obj: &mut Value, entries: &[ManagedFieldsEntry]) {
    let list = entries
        .iter()
        .map(|e| {
            entry_value(
                &e.manager,
                &e.operation,
                &e.api_version,
                e.time.as_deref(),
                &e.fields_type,
                e.fields_v1.clone(),
                &e.subresource,
            )
        })
        .collect();
    write_list(obj, list);
}

fn write_list(obj: &mut Value, list: Vec<Value>) {
    let md = crate::meta::metadata_mut(obj);
    if list.is_empty() {
        md.shift_remove(MANAGED_FIELDS);
    } else {
        md.insert(MANAGED_FIELDS.into(), Value::Array(list));
    }
}

/// An entry as its serde form writes it: fields in declaration order,
/// empty strings and absent values left out.
fn entry_value(
    manager: &str,
    operation: &str,
    api_version: &str,
    time: Option<&str>,
    fields_type: &str,
    fields_v1: Option<Value>,
    subresource: &str,
) -> Value {
    let mut m = Map::with_capacity(7);
    let mut put = |k: &str, v: &str| {
        if !v.is_empty() {
            m.insert(k.into(), Value::String(v.into()));
        }
    };
    put("manager", manager);
    put("operation", operation);
    put("apiVersion", api_version);
    if let Some(t) = time {
        m.insert("time".into(), Value::String(t.into()));
    }
    if !fields_type.is_empty() {
        m.insert("fieldsType".into(), Value::String(fields_type.into()));
    }
    if let Some(f) = fields_v1 {
        m.insert("fieldsV1".into(), f);
    }
    if !subresource.is_empty() {
        m.insert("subresource".into(), Value::String(subresource.into()));
    }
    Value::Object(m)
}

/// Borrowed entries of a `managedFields` list, when every entry is an
/// object whose known fields have the types [`ManagedFieldsEntry`] reads
/// (anything else is left to its deserializer).
fn views(list: &Value) -> Option<Vec<EntryRef<'_>>> {
    let Value::Array(items) = list else {
        return None;
    };
    items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            let m = item.as_object()?;
            let text = |k: &str| match m.get(k) {
                None => Some(""),
                Some(Value::String(s)) => Some(s.as_str()),
                Some(_) => None,
            };
            Some(EntryRef {
                manager: text("manager")?,
                operation: text("operation")?,
                api_version: text("apiVersion")?,
                time: match m.get("time") {
                    None | Some(Value::Null) => None,
                    Some(Value::String(s)) => Some(s.as_str()),
                    Some(_) => return None,
                },
                fields_type: text("fieldsType")?,
                fields_v1: m.get("fieldsV1").filter(|v| !v.is_null()),
                subresource: text("subresource")?,
                index,
            })
        })
        .collect()
}

fn managed_list(obj: &Value) -> Option<&Value> {
    obj.get("metadata").and_then(|m| m.get(MANAGED_FIELDS))
}

/// Which entries a write tracks.
enum Choice {
    /// `new`'s own list (its field sets can be moved).
    New,
    Old,
    /// Entries only serde could read, or none.
    Owned(Vec<ManagedFieldsEntry>),
}

/// Tracks an update as [`super::track_update_with`] does and writes the
/// entries to `new`'s `metadata.managedFields`. The entries tracked are
/// `new`'s when it has `metadata.managedFields` that read as entries (a
/// client's win, as upstream), else `old`'s (none if unreadable). On error
/// `new` is left as it was.
pub fn track_update_in_place(
    old: Option<&Value>,
    new: &mut Value,
    manager: &str,
    api_version: &str,
    now: &str,
    opts: &Options,
) -> Result<(), ApplyError> {
    let from_new = match managed_list(new) {
        Some(Value::Null) => Some(Choice::Owned(vec![])),
        Some(list) if views(list).is_some() => Some(Choice::New),
        Some(_) => managed_fields_of(new).ok().map(Choice::Owned),
        None => None,
    };
    let choice = from_new.unwrap_or_else(|| match old {
        Some(o) if managed_list(o).and_then(views).is_some() => Choice::Old,
        Some(o) => Choice::Owned(managed_fields_of(o).unwrap_or_default()),
        None => Choice::Owned(vec![]),
    });
    let new_ref: &Value = new;
    let (entries, movable) = match &choice {
        Choice::New => (
            managed_list(new_ref).and_then(views).unwrap_or_default(),
            true,
        ),
        Choice::Old => (
            old.and_then(managed_list)
                .and_then(views)
                .unwrap_or_default(),
            false,
        ),
        Choice::Owned(v) => (
            v.iter()
                .enumerate()
                .map(|(i, e)| EntryRef::of(e, i))
                .collect(),
            false,
        ),
    };
    let managers = track(old, new_ref, manager, entries, api_version, now, opts)?;
    let plan: Vec<Planned> = encode(managers)
        .into_iter()
        .map(|o| Planned::of(o, movable))
        .collect();

    let mut stored = match crate::meta::metadata_mut(new).get_mut(MANAGED_FIELDS) {
        Some(list) if movable => std::mem::take(list),
        _ => Value::Null,
    };
    let list = plan
        .into_iter()
        .map(|p| {
            let fields_v1 = match p.fields {
                FieldsV1::Moved(i) => stored
                    .get_mut(i)
                    .and_then(|e| e.get_mut("fieldsV1"))
                    .map(Value::take),
                FieldsV1::Value(v) => v,
            };
            entry_value(
                &p.manager,
                p.operation,
                &p.api_version,
                p.time.as_deref(),
                "FieldsV1",
                fields_v1,
                &p.subresource,
            )
        })
        .collect();
    write_list(new, list);
    Ok(())
}

/// An entry to write once the borrows of the object have ended.
struct Planned {
    manager: String,
    operation: &'static str,
    api_version: String,
    time: Option<String>,
    subresource: String,
    fields: FieldsV1,
}

/// Where a written entry's `fieldsV1` comes from.
enum FieldsV1 {
    /// The `fieldsV1` of this entry of the object's own list.
    Moved(usize),
    Value(Option<Value>),
}

impl Planned {
    fn of(o: Out, movable: bool) -> Self {
        Planned {
            manager: o.manager.to_string(),
            operation: o.operation,
            api_version: o.api_version.to_string(),
            time: o.time.map(str::to_string),
            subresource: o.subresource.to_string(),
            fields: match o.fields {
                OutFields::Stored(e) if movable => FieldsV1::Moved(e.index),
                OutFields::Stored(e) => FieldsV1::Value(e.fields_v1.cloned()),
                OutFields::New(v) => FieldsV1::Value(Some(v)),
            },
        }
    }
}
