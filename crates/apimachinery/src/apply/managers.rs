//! The managed-fields entries of an object while a write changes them:
//! read from `metadata.managedFields` ([`decode`]), changed per manager, and
//! written back in upstream's order ([`encode`]).
//!
//! An entry's field set stays in its stored `FieldsV1` form until a write
//! changes it ([`Fields::Stored`]); unchanged entries are written back as
//! they were stored, as upstream does, without being decoded or encoded.

use super::fieldset::FieldSet;
use super::stored;
use super::{ApplyError, ManagedFieldsEntry, Operation};
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::collections::BTreeMap;

/// Upstream keeps at most this many `Update` entries; older ones are merged
/// into an `ancient-changes` entry per apiVersion.
const MAX_UPDATE_MANAGERS: usize = 10;
const ANCIENT_CHANGES: &str = "ancient-changes";

/// Who a manager is: upstream identifies managers by name, operation and
/// subresource, plus `apiVersion` for `Update` entries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Key<'a> {
    pub manager: &'a str,
    pub operation: Operation,
    /// Empty for `Apply`.
    pub api_version: &'a str,
    pub subresource: &'a str,
}

pub(super) fn key<'a>(
    manager: &'a str,
    operation: Operation,
    api_version: &'a str,
    subresource: &'a str,
) -> Key<'a> {
    Key {
        manager,
        operation,
        api_version: if operation == Operation::Apply {
            ""
        } else {
            api_version
        },
        subresource,
    }
}

/// A stored entry, borrowed.
#[derive(Clone, Copy, Debug)]
pub(crate) struct EntryRef<'a> {
    pub manager: &'a str,
    pub operation: &'a str,
    pub api_version: &'a str,
    pub time: Option<&'a str>,
    pub fields_type: &'a str,
    pub fields_v1: Option<&'a Value>,
    pub subresource: &'a str,
    /// Its position in the list it was read from.
    pub index: usize,
}

impl<'a> EntryRef<'a> {
    pub fn of(e: &'a ManagedFieldsEntry, index: usize) -> Self {
        EntryRef {
            manager: &e.manager,
            operation: &e.operation,
            api_version: &e.api_version,
            time: e.time.as_deref(),
            fields_type: &e.fields_type,
            fields_v1: e.fields_v1.as_ref(),
            subresource: &e.subresource,
            index,
        }
    }
}

/// A manager's field set.
#[derive(Debug)]
pub(super) enum Fields<'a> {
    /// The same set as stored (`None`: the entry has no `fieldsV1`).
    Stored(Option<&'a Map<String, Value>>),
    /// A set known to differ from the stored one (or with nothing stored).
    Changed(FieldSet),
    /// A set that may or may not be the stored one.
    Computed(FieldSet),
}

impl<'a> Fields<'a> {
    pub fn is_empty(&self) -> bool {
        match self {
            Fields::Stored(m) => m.is_none_or(stored::is_empty),
            Fields::Changed(s) | Fields::Computed(s) => s.is_empty(),
        }
    }

    pub fn set(&self) -> Cow<'_, FieldSet> {
        match self {
            Fields::Stored(m) => Cow::Owned(m.map(FieldSet::from_map).unwrap_or_default()),
            Fields::Changed(s) | Fields::Computed(s) => Cow::Borrowed(s),
        }
    }

    pub fn into_set(self) -> FieldSet {
        match self {
            Fields::Stored(m) => m.map(FieldSet::from_map).unwrap_or_default(),
            Fields::Changed(s) | Fields::Computed(s) => s,
        }
    }

    /// Whether a path is in both this set and `other`.
    pub fn intersects(&self, other: &FieldSet) -> bool {
        match self {
            Fields::Stored(m) => m.is_some_and(|m| stored::intersects(m, other)),
            Fields::Changed(s) | Fields::Computed(s) => s.intersects(other),
        }
    }

    /// Removes `other`'s paths (as [`FieldSet::difference`]).
    pub fn subtract(&mut self, other: &FieldSet) {
        match self {
            Fields::Stored(Some(m)) if stored::intersects(m, other) => {
                *self = Fields::Changed(FieldSet::from_map(m).without(other));
            }
            Fields::Stored(_) => {}
            Fields::Changed(s) | Fields::Computed(s) => *s = std::mem::take(s).without(other),
        }
    }

    /// Adds `other`'s paths.
    pub fn add(&mut self, other: FieldSet) {
        match self {
            Fields::Stored(m) => {
                if !m.is_some_and(|m| stored::contains(m, &other)) {
                    let set = m.map(FieldSet::from_map).unwrap_or_default();
                    *self = Fields::Changed(set.union_owned(other));
                }
            }
            // Adding may restore what was removed.
            Fields::Changed(s) => *self = Fields::Computed(std::mem::take(s).union_owned(other)),
            Fields::Computed(s) => *s = std::mem::take(s).union_owned(other),
        }
    }
}

#[derive(Debug)]
pub(super) struct State<'a> {
    pub api_version: &'a str,
    pub fields: Fields<'a>,
    pub time: Option<&'a str>,
    /// The entry this state was read from, written back when the set is unchanged.
    pub orig: Option<EntryRef<'a>>,
}

pub(super) type Managers<'a> = BTreeMap<Key<'a>, State<'a>>;

/// Reads and checks stored entries (a later entry for the same manager
/// replaces an earlier one).
pub(super) fn decode<'a>(
    entries: impl IntoIterator<Item = EntryRef<'a>>,
) -> Result<Managers<'a>, ApplyError> {
    let mut out = Managers::new();
    for (i, e) in entries.into_iter().enumerate() {
        let op = match e.operation {
            "Apply" => Operation::Apply,
            "Update" => Operation::Update,
            _ => {
                return Err(ApplyError::ManagedFields(
                    "operation must be `Apply` or `Update`".into(),
                ));
            }
        };
        if e.api_version.is_empty() {
            return Err(ApplyError::ManagedFields(
                "apiVersion must not be empty".into(),
            ));
        }
        match e.fields_type {
            "FieldsV1" => {}
            "" => {
                return Err(ApplyError::ManagedFields(format!(
                    "missing fieldsType in managed fields entry {i}"
                )));
            }
            other => {
                return Err(ApplyError::ManagedFields(format!(
                    "invalid fieldsType {other:?} in managed fields entry {i}"
                )));
            }
        }
        let fields = match e.fields_v1 {
            Some(Value::Object(m)) => Fields::Stored(Some(m)),
            Some(_) => {
                return Err(ApplyError::ManagedFields(
                    "FieldsV1 must be a JSON object".into(),
                ));
            }
            None => Fields::Stored(None),
        };
        out.insert(
            key(e.manager, op, e.api_version, e.subresource),
            State {
                api_version: e.api_version,
                fields,
                time: e.time,
                orig: Some(e),
            },
        );
    }
    Ok(out)
}

fn unix_seconds(t: Option<&str>) -> i64 {
    t.and_then(|s| s.parse::<jiff::Timestamp>().ok())
        .map(|t| t.as_second())
        .unwrap_or(0)
}

/// An entry to write.
pub(super) struct Out<'a> {
    pub manager: &'a str,
    pub operation: &'static str,
    pub api_version: &'a str,
    pub time: Option<&'a str>,
    pub subresource: &'a str,
    pub fields: OutFields<'a>,
}

pub(super) enum OutFields<'a> {
    /// The `fieldsV1` of this stored entry, as stored.
    Stored(EntryRef<'a>),
    New(Value),
}

impl Out<'_> {
    pub fn into_entry(self) -> ManagedFieldsEntry {
        ManagedFieldsEntry {
            manager: self.manager.to_string(),
            operation: self.operation.to_string(),
            api_version: self.api_version.to_string(),
            time: self.time.map(str::to_string),
            fields_type: "FieldsV1".into(),
            fields_v1: match self.fields {
                OutFields::Stored(e) => e.fields_v1.cloned(),
                OutFields::New(v) => Some(v),
            },
            subresource: self.subresource.to_string(),
        }
    }
}

/// The entries to write, in upstream's order: `Apply` before `Update`,
/// then by time, manager, apiVersion and subresource.
pub(super) fn encode<'a>(managers: Managers<'a>) -> Vec<Out<'a>> {
    let mut out: Vec<(i64, Out<'a>)> = managers
        .into_iter()
        .map(|(k, st)| {
            let operation = k.operation.as_str();
            let fields = match (st.fields, st.orig) {
                (Fields::Stored(Some(_)), Some(o)) => OutFields::Stored(o),
                (Fields::Computed(set), Some(o))
                    if o.api_version == st.api_version
                        && o.operation == operation
                        && o.fields_v1
                            .and_then(Value::as_object)
                            .is_some_and(|m| FieldSet::from_map(m) == set) =>
                {
                    OutFields::Stored(o)
                }
                (fields, _) => OutFields::New(fields.into_set().to_fields_v1()),
            };
            let entry = Out {
                manager: k.manager,
                operation,
                api_version: st.api_version,
                time: st.time,
                subresource: k.subresource,
                fields,
            };
            (unix_seconds(st.time), entry)
        })
        .collect();
    out.sort_by(|(ps, p), (qs, q)| {
        p.operation
            .cmp(q.operation)
            .then_with(|| ps.cmp(qs))
            .then_with(|| p.manager.cmp(q.manager))
            .then_with(|| p.api_version.cmp(q.api_version))
            .then_with(|| p.subresource.cmp(q.subresource))
    });
    out.into_iter().map(|(_, e)| e).collect()
}

/// Merges the oldest `Update` entries into `ancient-changes` (one per
/// apiVersion) while there are more than [`MAX_UPDATE_MANAGERS`].
pub(super) fn cap_update_managers(managers: &mut Managers) {
    let updates = managers
        .keys()
        .filter(|k| k.operation == Operation::Update)
        .count();
    if updates <= MAX_UPDATE_MANAGERS {
        return;
    }
    let mut updaters: Vec<(i64, Key)> = managers
        .iter()
        .filter(|(k, _)| k.operation == Operation::Update)
        .map(|(k, st)| (unix_seconds(st.time), *k))
        .collect();
    updaters.sort();
    let mut count = updaters.len();
    for (_, k) in updaters {
        if count <= MAX_UPDATE_MANAGERS {
            break;
        }
        if k.manager == ANCIENT_CHANGES {
            continue;
        }
        let Some(st) = managers.remove(&k) else {
            continue;
        };
        let bucket = key(ANCIENT_CHANGES, Operation::Update, st.api_version, "");
        match managers.get_mut(&bucket) {
            Some(b) => {
                b.fields.add(st.fields.into_set());
                b.time = st.time;
                count -= 1;
            }
            None => {
                // Nothing stored to keep: the set is written anew.
                let fields = Fields::Changed(st.fields.into_set());
                managers.insert(
                    bucket,
                    State {
                        fields,
                        orig: None,
                        ..st
                    },
                );
            }
        }
    }
}
