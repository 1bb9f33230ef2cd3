//! The field manager: server-side apply ([`apply`]) and ownership tracking
//! for create/update/patch ([`track_update`]) over `metadata.managedFields`.
//!
//! Managers are identified as upstream does: by name, operation and
//! subresource, plus `apiVersion` for `Update` entries (one `Apply` entry
//! per manager whatever version it applied with).

use super::compare::{compare_skipping, fields_of_skipping};
use super::fieldpath::{FieldSet, PathElement, path_string};
use super::managers::{
    EntryRef, Fields, Managers, Out, State, cap_update_managers, decode, encode, key,
};
use super::stored;
use super::typed::{self, ensure_named_fields_are_members};
use super::{ApplyError, Conflict, ManagedFieldsEntry, Operation};
use crate::schema::SchemaNode;
use serde_json::{Value, json};
use std::sync::OnceLock;

pub use super::entries::{managed_fields_of, set_managed_fields, track_update_in_place};

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

/// Fields never tracked: type and object metadata the server owns.
fn strip_set() -> &'static FieldSet {
    static STRIP: OnceLock<FieldSet> = OnceLock::new();
    STRIP.get_or_init(build_strip_set)
}

fn build_strip_set() -> FieldSet {
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

/// A copy of `obj` without `metadata.managedFields` (apply merges into it).
fn without_managed_fields(obj: &Value) -> Value {
    let mut o = obj.clone();
    if let Some(md) = o.get_mut("metadata").and_then(Value::as_object_mut) {
        md.shift_remove("managedFields");
    }
    o
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
    let mut managers = decode(managed.iter().enumerate().map(|(i, e)| EntryRef::of(e, i)))?;

    // An object that predates field tracking is owned by a placeholder
    // manager first, so that applying over it reports conflicts.
    if live.is_some() && managers.is_empty() {
        let set = typed::fields_of(&live_clean, schema).difference(strip_set());
        if !set.is_empty() {
            managers.insert(
                key(
                    BEFORE_FIRST_APPLY,
                    Operation::Update,
                    api_version,
                    &opts.subresource,
                ),
                State {
                    api_version,
                    fields: Fields::Changed(set),
                    time: None,
                    orig: None,
                },
            );
        }
    }

    let me = key(manager, Operation::Apply, api_version, &opts.subresource);
    let previous = managers.remove(&me);
    let new_set = typed::fields_of(applied, schema).recursive_difference(&opts.reset_fields);
    let mut result = typed::merge(&live_clean, applied, schema);

    // Prune what this manager applied last time, omits now, and nobody else owns.
    if let Some(prev) = &previous
        && !prev.fields.is_empty()
    {
        let owned = managers.values().fold(new_set.clone(), |acc, st| {
            acc.union_owned(st.fields.set().into_owned())
        });
        let removal = ensure_named_fields_are_members(&prev.fields.set(), schema)
            .difference(&ensure_named_fields_are_members(&owned, schema));
        typed::remove_items(&mut result, &removal, schema);
    }

    let cmp = typed::compare(&live_clean, &result, schema).exclude(&opts.reset_fields);
    let touched = cmp.modified.union(&cmp.added);
    let mut conflicts = Vec::new();
    for (k, st) in managers.iter_mut() {
        if st.fields.intersects(&touched) {
            let clash = st.fields.set().intersection(&touched);
            for p in clash.paths() {
                conflicts.push(Conflict {
                    manager: k.manager.to_string(),
                    operation: k.operation,
                    api_version: st.api_version.to_string(),
                    subresource: k.subresource.to_string(),
                    field: path_string(&p),
                });
            }
            st.fields.subtract(&clash);
        }
        st.fields.subtract(&cmp.removed);
    }
    if !force && !conflicts.is_empty() {
        return Err(ApplyError::Conflicts(conflicts));
    }
    managers.retain(|_, st| !st.fields.is_empty());

    let changed = result != live_clean;
    let mine = new_set.difference(strip_set());
    if !mine.is_empty() {
        let prev_time = previous.as_ref().and_then(|p| p.time);
        managers.insert(
            me,
            State {
                api_version,
                fields: Fields::Computed(mine),
                time: if changed || prev_time.is_none() {
                    Some(now)
                } else {
                    prev_time
                },
                orig: previous.and_then(|p| p.orig),
            },
        );
    }
    let entries: Vec<ManagedFieldsEntry> =
        encode(managers).into_iter().map(Out::into_entry).collect();
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
    let entries = managed.iter().enumerate().map(|(i, e)| EntryRef::of(e, i));
    let managers = track(old, new, manager, entries, api_version, now, opts)?;
    Ok(encode(managers).into_iter().map(Out::into_entry).collect())
}

/// The managers after an update; `new`'s and `old`'s `metadata.managedFields`
/// are ignored (`entries` are the stored ones).
pub(super) fn track<'a>(
    old: Option<&Value>,
    new: &Value,
    manager: &'a str,
    entries: impl IntoIterator<Item = EntryRef<'a>>,
    api_version: &'a str,
    now: &'a str,
    opts: &'a Options,
) -> Result<Managers<'a>, ApplyError> {
    let schema = opts.schema;
    let mut managers = decode(entries)?;
    let (touched, removed) = match old {
        Some(old) => {
            let cmp = compare_skipping(old, new, schema).exclude(&opts.reset_fields);
            (cmp.modified.union_owned(cmp.added), cmp.removed)
        }
        // Upstream compares against the type's zero value, in which struct
        // fields already exist: the new object's own field set matches that
        // better than a comparison with nothing.
        None => (
            fields_of_skipping(new, schema).without_recursive(&opts.reset_fields),
            FieldSet::new(),
        ),
    };
    // What the manager changed, and what it changed that nobody owns.
    let stripped = touched.intersection(strip_set());
    let mine = touched.without(strip_set());
    let me =
        (!mine.is_empty()).then(|| key(manager, Operation::Update, api_version, &opts.subresource));
    let previous = me.and_then(|k| managers.remove(&k));
    for st in managers.values_mut() {
        st.fields.subtract(&mine);
        st.fields.subtract(&stripped);
        st.fields.subtract(&removed);
    }
    managers.retain(|_, st| !st.fields.is_empty());
    if let Some(k) = me {
        let (fields, orig) = match previous {
            Some(prev) => updated_fields(prev, mine, &stripped, &removed),
            None => (Fields::Changed(mine), None),
        };
        managers.insert(
            k,
            State {
                api_version,
                fields,
                time: Some(now),
                orig,
            },
        );
    }
    cap_update_managers(&mut managers);
    Ok(managers)
}

/// The updating manager's fields: what it had, less what changed (`mine`
/// and `stripped`, which nobody owns) or was removed, plus `mine`. An entry
/// left with nothing starts anew.
fn updated_fields<'a>(
    prev: State<'a>,
    mine: FieldSet,
    stripped: &FieldSet,
    removed: &FieldSet,
) -> (Fields<'a>, Option<EntryRef<'a>>) {
    // Most updates change only fields their manager already owns (a lease
    // renewal, a status heartbeat): the stored set then stays as it is.
    // It does when it holds `mine`, shares nothing with `removed` or
    // `stripped`, and keeps something once `mine` is taken out.
    if let Fields::Stored(Some(m)) = prev.fields
        && stored::contains(m, &mine)
        && !stored::intersects(m, removed)
        && !stored::intersects(m, stripped)
        && stored::has_outside(m, &mine)
    {
        return (prev.fields, prev.orig);
    }
    let mut fields = prev.fields;
    fields.subtract(&mine);
    fields.subtract(stripped);
    fields.subtract(removed);
    if fields.is_empty() {
        return (Fields::Changed(mine), None);
    }
    fields.add(mine);
    (fields, prev.orig)
}
