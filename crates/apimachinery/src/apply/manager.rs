//! The field manager: server-side apply ([`apply`]) and ownership tracking
//! for create/update/patch ([`track_update`]) over `metadata.managedFields`.
//!
//! Managers are identified as upstream does: by name, operation and
//! subresource, plus `apiVersion` for `Update` entries (one `Apply` entry
//! per manager whatever version it applied with).

use super::fieldpath::{FieldSet, PathElement, path_string};
use super::typed::{self, compare, ensure_named_fields_are_members, fields_of};
use super::{ApplyError, Conflict, ManagedFieldsEntry, Operation};
use crate::schema::SchemaNode;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// Upstream keeps at most this many `Update` entries; older ones are merged
/// into an `ancient-changes` entry per apiVersion.
const MAX_UPDATE_MANAGERS: usize = 10;
const ANCIENT_CHANGES: &str = "ancient-changes";
const BEFORE_FIRST_APPLY: &str = "before-first-apply";

/// Settings beyond the common arguments.
#[derive(Clone, Debug, Default)]
pub struct Options<'a> {
    /// Schema of the object's kind; `None` treats the object as untyped
    /// (maps merge, lists are atomic).
    pub schema: Option<SchemaNode<'a>>,
    /// The subresource the request targets (`status`, `scale`), or empty.
    pub subresource: String,
    /// Fields this endpoint resets (upstream's reset fields, e.g. `status`
    /// for the main resource of a kind with a status subresource): never
    /// owned through this endpoint and never in conflict.
    pub reset_fields: FieldSet,
}

impl<'a> Options<'a> {
    pub fn new(schema: Option<SchemaNode<'a>>) -> Self {
        Options {
            schema,
            ..Default::default()
        }
    }
    /// Resets `status` (the main resource of a kind with a status subresource).
    pub fn with_status_subresource(mut self) -> Self {
        self.reset_fields.insert(&[PathElement::field("status")]);
        self
    }
    pub fn with_subresource(mut self, subresource: &str) -> Self {
        self.subresource = subresource.to_string();
        self
    }
}

/// The outcome of an apply.
#[derive(Clone, Debug, PartialEq)]
pub struct ApplyResult {
    /// The merged object, with `metadata.managedFields` set to `managed_fields`.
    pub object: Value,
    pub managed_fields: Vec<ManagedFieldsEntry>,
    /// Whether the object (managed fields aside) differs from the live one.
    pub changed: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    manager: String,
    operation: Operation,
    /// Empty for `Apply`.
    api_version: String,
    subresource: String,
}

#[derive(Clone, Debug)]
struct State {
    api_version: String,
    set: FieldSet,
    time: Option<String>,
    orig: Option<ManagedFieldsEntry>,
}

type Managers = BTreeMap<Key, State>;

fn key(manager: &str, op: Operation, api_version: &str, subresource: &str) -> Key {
    Key {
        manager: manager.to_string(),
        operation: op,
        api_version: if op == Operation::Apply {
            String::new()
        } else {
            api_version.to_string()
        },
        subresource: subresource.to_string(),
    }
}

fn decode(entries: &[ManagedFieldsEntry]) -> Result<Managers, ApplyError> {
    let mut out = Managers::new();
    for (i, e) in entries.iter().enumerate() {
        let op = match e.operation.as_str() {
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
        match e.fields_type.as_str() {
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
        let set = match &e.fields_v1 {
            Some(v) => FieldSet::from_fields_v1(v).map_err(ApplyError::ManagedFields)?,
            None => FieldSet::new(),
        };
        out.insert(
            key(&e.manager, op, &e.api_version, &e.subresource),
            State {
                api_version: e.api_version.clone(),
                set,
                time: e.time.clone(),
                orig: Some(e.clone()),
            },
        );
    }
    Ok(out)
}

fn unix_seconds(t: &Option<String>) -> i64 {
    t.as_deref()
        .and_then(|s| s.parse::<jiff::Timestamp>().ok())
        .map(|t| t.as_second())
        .unwrap_or(0)
}

fn encode(managers: &Managers) -> Vec<ManagedFieldsEntry> {
    let mut out: Vec<ManagedFieldsEntry> = managers
        .iter()
        .map(|(k, st)| {
            let fields_v1 = match &st.orig {
                // Keep what was stored when nothing changed, as upstream does.
                Some(o)
                    if o.api_version == st.api_version
                        && o.operation == k.operation.as_str()
                        && o.fields_v1
                            .as_ref()
                            .and_then(|v| FieldSet::from_fields_v1(v).ok())
                            == Some(st.set.clone()) =>
                {
                    o.fields_v1.clone()
                }
                _ => Some(st.set.to_fields_v1()),
            };
            ManagedFieldsEntry {
                manager: k.manager.clone(),
                operation: k.operation.as_str().to_string(),
                api_version: st.api_version.clone(),
                time: st.time.clone(),
                fields_type: "FieldsV1".into(),
                fields_v1,
                subresource: k.subresource.clone(),
            }
        })
        .collect();
    out.sort_by(|p, q| {
        p.operation
            .cmp(&q.operation)
            .then_with(|| unix_seconds(&p.time).cmp(&unix_seconds(&q.time)))
            .then_with(|| p.manager.cmp(&q.manager))
            .then_with(|| p.api_version.cmp(&q.api_version))
            .then_with(|| p.subresource.cmp(&q.subresource))
    });
    out
}

/// Fields never tracked: type and object metadata the server owns.
fn strip_set() -> FieldSet {
    let mut s = FieldSet::new();
    for top in ["apiVersion", "kind", "metadata"] {
        s.insert(&[PathElement::field(top)]);
    }
    for f in [
        "name",
        "namespace",
        "creationTimestamp",
        "selfLink",
        "uid",
        "clusterName",
        "generation",
        "managedFields",
        "resourceVersion",
    ] {
        s.insert(&[PathElement::field("metadata"), PathElement::field(f)]);
    }
    s
}

fn without_managed_fields(obj: &Value) -> Value {
    let mut o = obj.clone();
    if let Some(md) = o.get_mut("metadata").and_then(Value::as_object_mut) {
        md.shift_remove("managedFields");
    }
    o
}

/// Writes `entries` to `obj`'s `metadata.managedFields` (removing the field
/// when there are none, as upstream omits it).
pub fn set_managed_fields(obj: &mut Value, entries: &[ManagedFieldsEntry]) {
    let md = crate::meta::metadata_mut(obj);
    if entries.is_empty() {
        md.shift_remove("managedFields");
    } else {
        md.insert("managedFields".into(), json!(entries));
    }
}

/// The entries stored in `obj`'s `metadata.managedFields`.
pub fn managed_fields_of(obj: &Value) -> Result<Vec<ManagedFieldsEntry>, ApplyError> {
    match obj.get("metadata").and_then(|m| m.get("managedFields")) {
        None | Some(Value::Null) => Ok(vec![]),
        Some(v) => {
            serde_json::from_value(v.clone()).map_err(|e| ApplyError::ManagedFields(e.to_string()))
        }
    }
}

/// The default manager name for a request without `fieldManager`: the user
/// agent up to its first `/`, at most 128 characters.
pub fn manager_from_user_agent(user_agent: &str) -> String {
    let prefix = user_agent.split('/').next().unwrap_or("");
    prefix.chars().take(128).collect()
}

/// Server-side apply of `applied` (the request body) by `manager`. `live` is
/// the stored object (`None` when apply creates it); `managed` its
/// `metadata.managedFields`; `now` an RFC 3339 time for the entry.
pub fn apply(
    live: Option<&Value>,
    applied: &Value,
    manager: &str,
    force: bool,
    managed: &[ManagedFieldsEntry],
    schema: Option<SchemaNode>,
    now: &str,
) -> Result<ApplyResult, ApplyError> {
    apply_with(
        live,
        applied,
        manager,
        force,
        managed,
        now,
        &Options::new(schema),
    )
}

/// [`apply`] with a subresource and reset fields.
pub fn apply_with(
    live: Option<&Value>,
    applied: &Value,
    manager: &str,
    force: bool,
    managed: &[ManagedFieldsEntry],
    now: &str,
    opts: &Options,
) -> Result<ApplyResult, ApplyError> {
    let schema = opts.schema;
    let api_version = applied
        .get("apiVersion")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            ApplyError::Invalid("apiVersion must be set in an apply configuration".into())
        })?;
    if let Some(mf) = applied.get("metadata").and_then(|m| m.get("managedFields"))
        && !mf.is_null()
    {
        return Err(ApplyError::Invalid(
            "metadata.managedFields must be nil".into(),
        ));
    }
    typed::validate(applied, schema)
        .map_err(|e| ApplyError::Invalid(format!("failed to create typed patch object: {e}")))?;
    let live_clean = live
        .map(without_managed_fields)
        .unwrap_or_else(|| json!({}));
    let mut managers = decode(managed)?;

    // An object that predates field tracking is owned by a placeholder
    // manager first, so that applying over it reports conflicts.
    if live.is_some() && managers.is_empty() {
        let set = fields_of(&live_clean, schema).difference(&strip_set());
        if !set.is_empty() {
            managers.insert(
                key(
                    BEFORE_FIRST_APPLY,
                    Operation::Update,
                    api_version,
                    &opts.subresource,
                ),
                State {
                    api_version: api_version.into(),
                    set,
                    time: None,
                    orig: None,
                },
            );
        }
    }

    let me = key(manager, Operation::Apply, api_version, &opts.subresource);
    let previous = managers.remove(&me);
    let new_set = fields_of(applied, schema).recursive_difference(&opts.reset_fields);
    let mut result = typed::merge(&live_clean, applied, schema);

    // Prune what this manager applied last time, omits now, and nobody else owns.
    if let Some(prev) = &previous
        && !prev.set.is_empty()
    {
        let owned = managers
            .values()
            .fold(new_set.clone(), |acc, st| acc.union(&st.set));
        let removal = ensure_named_fields_are_members(&prev.set, schema)
            .difference(&ensure_named_fields_are_members(&owned, schema));
        typed::remove_items(&mut result, &removal, schema);
    }

    let cmp = compare(&live_clean, &result, schema).exclude(&opts.reset_fields);
    let touched = cmp.modified.union(&cmp.added);
    let mut conflicts = Vec::new();
    for (k, st) in managers.iter_mut() {
        let clash = st.set.intersection(&touched);
        if !clash.is_empty() {
            for p in clash.paths() {
                conflicts.push(Conflict {
                    manager: k.manager.clone(),
                    operation: k.operation,
                    api_version: st.api_version.clone(),
                    subresource: k.subresource.clone(),
                    field: path_string(&p),
                });
            }
            st.set = st.set.difference(&clash);
        }
        st.set = st.set.difference(&cmp.removed);
    }
    if !force && !conflicts.is_empty() {
        return Err(ApplyError::Conflicts(conflicts));
    }
    managers.retain(|_, st| !st.set.is_empty());

    let changed = result != live_clean;
    let mine = new_set.difference(&strip_set());
    if !mine.is_empty() {
        let prev_time = previous.as_ref().and_then(|p| p.time.clone());
        managers.insert(
            me,
            State {
                api_version: api_version.to_string(),
                set: mine,
                time: if changed || prev_time.is_none() {
                    Some(now.to_string())
                } else {
                    prev_time
                },
                orig: previous.and_then(|p| p.orig),
            },
        );
    }
    let entries = encode(&managers);
    set_managed_fields(&mut result, &entries);
    Ok(ApplyResult {
        object: result,
        managed_fields: entries,
        changed,
    })
}

/// Ownership after a create, update or non-apply patch by `manager`: the
/// fields that changed between `old` (`None` on create) and `new` move to
/// `manager`'s `Update` entry for `api_version` and leave everyone else's.
pub fn track_update(
    old: Option<&Value>,
    new: &Value,
    manager: &str,
    managed: &[ManagedFieldsEntry],
    api_version: &str,
    schema: Option<SchemaNode>,
    now: &str,
) -> Result<Vec<ManagedFieldsEntry>, ApplyError> {
    track_update_with(
        old,
        new,
        manager,
        managed,
        api_version,
        now,
        &Options::new(schema),
    )
}

/// [`track_update`] with a subresource and reset fields.
pub fn track_update_with(
    old: Option<&Value>,
    new: &Value,
    manager: &str,
    managed: &[ManagedFieldsEntry],
    api_version: &str,
    now: &str,
    opts: &Options,
) -> Result<Vec<ManagedFieldsEntry>, ApplyError> {
    let schema = opts.schema;
    let mut managers = decode(managed)?;
    let new_clean = without_managed_fields(new);
    let (touched, removed) = match old {
        Some(old) => {
            let cmp = compare(&without_managed_fields(old), &new_clean, schema)
                .exclude(&opts.reset_fields);
            (cmp.modified.union(&cmp.added), cmp.removed)
        }
        // Upstream compares against the type's zero value, in which struct
        // fields already exist: the new object's own field set matches that
        // better than a comparison with nothing.
        None => (
            fields_of(&new_clean, schema).recursive_difference(&opts.reset_fields),
            FieldSet::new(),
        ),
    };
    for st in managers.values_mut() {
        st.set = st.set.difference(&touched).difference(&removed);
    }
    managers.retain(|_, st| !st.set.is_empty());
    let mine = touched.difference(&strip_set());
    if !mine.is_empty() {
        let k = key(manager, Operation::Update, api_version, &opts.subresource);
        let (set, orig) = match managers.remove(&k) {
            Some(prev) => (prev.set.union(&mine), prev.orig),
            None => (mine, None),
        };
        managers.insert(
            k,
            State {
                api_version: api_version.to_string(),
                set,
                time: Some(now.to_string()),
                orig,
            },
        );
    }
    cap_update_managers(&mut managers);
    Ok(encode(&managers))
}

/// Merges the oldest `Update` entries into `ancient-changes` (one per
/// apiVersion) while there are more than [`MAX_UPDATE_MANAGERS`].
fn cap_update_managers(managers: &mut Managers) {
    let mut updaters: Vec<(i64, Key)> = managers
        .iter()
        .filter(|(k, _)| k.operation == Operation::Update)
        .map(|(k, st)| (unix_seconds(&st.time), k.clone()))
        .collect();
    if updaters.len() <= MAX_UPDATE_MANAGERS {
        return;
    }
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
        let bucket = key(ANCIENT_CHANGES, Operation::Update, &st.api_version, "");
        match managers.get_mut(&bucket) {
            Some(b) => {
                b.set = b.set.union(&st.set);
                b.time = st.time;
                count -= 1;
            }
            None => {
                managers.insert(bucket, State { orig: None, ..st });
            }
        }
    }
}
