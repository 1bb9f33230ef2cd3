//! Server-side apply and managed-fields tracking, as upstream's
//! structured-merge-diff and field manager do it.
//!
//! - [`fieldpath`] — field paths and their `FieldsV1` keys; `fieldset` —
//!   sets of them ([`FieldSet`]) and their `FieldsV1` form.
//! - [`typed`] — schema-aware walks (merge, removal, validation); `compare`
//!   — the comparison of two objects and the field set of one.
//! - [`manager`] — [`apply`] (a PATCH with `application/apply-patch+yaml`)
//!   and [`track_update`] (ownership for create/update/patch); `managers` —
//!   the entries while a write changes them, `stored` — questions asked of
//!   an entry's stored `FieldsV1` without decoding it, `entries` — reading
//!   and writing `metadata.managedFields` ([`track_update_in_place`]).
//!
//! Tracking runs on every write the server takes, so it avoids work that
//! does not change its result: entries a write does not touch are written
//! back as stored, objects are compared without being copied, and equal
//! subtrees are not walked. `pinned_tests` holds it to its recorded outputs.
//!
//! Multi-version conversion is not modelled: every manager's fields are read
//! against the object as it is, whatever `apiVersion` the entry names.

mod compare;
mod entries;
pub mod fieldpath;
mod fieldset;
pub mod manager;
mod managers;
mod stored;
pub mod typed;

#[cfg(test)]
mod entries_tests;
#[cfg(test)]
mod pinned_tests;
#[cfg(test)]
mod tests;

pub use fieldpath::{FieldSet, PathElement, path_string};
pub use manager::{
    ApplyResult, Options, apply, apply_with, managed_fields_of, manager_from_user_agent,
    set_managed_fields, track_update, track_update_in_place, track_update_with,
};
pub use typed::fields_of;

use crate::error::{ApiError, Cause};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `metav1.ManagedFieldsEntry`. Fields are kept as strings so that entries
/// a client wrote can be read back and validated with upstream's messages.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManagedFieldsEntry {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub manager: String,
    /// `Apply` or `Update`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub operation: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    /// RFC 3339, seconds precision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    /// Always `FieldsV1`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub fields_type: String,
    #[serde(default, rename = "fieldsV1", skip_serializing_if = "Option::is_none")]
    pub fields_v1: Option<Value>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub subresource: String,
}

/// The operation of a managed-fields entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Operation {
    Apply,
    Update,
}

impl Operation {
    pub fn as_str(&self) -> &'static str {
        match self {
            Operation::Apply => "Apply",
            Operation::Update => "Update",
        }
    }
}

/// One field another manager owns that an apply would change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conflict {
    pub manager: String,
    pub operation: Operation,
    pub api_version: String,
    pub subresource: String,
    /// As upstream prints it: `.spec.replicas`, `.spec.containers[name="x"].image`.
    pub field: String,
}

impl Conflict {
    /// `"mgr"`, `"mgr" using apps/v1` (Update entries) or
    /// `"mgr" with subresource "status" using v1`.
    pub fn manager_display(&self) -> String {
        let mut s = format!("{:?}", self.manager);
        if !self.subresource.is_empty() {
            s.push_str(&format!(" with subresource {:?}", self.subresource));
        }
        if self.operation == Operation::Update {
            s.push_str(&format!(" using {}", self.api_version));
        }
        s
    }
}

#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum ApplyError {
    /// Fields owned by other managers would change; render with
    /// [`conflict_error`] (409).
    #[error("{}", conflict_message(.0))]
    Conflicts(Vec<Conflict>),
    /// The applied configuration cannot be merged (duplicate keys, list
    /// items without key fields, missing apiVersion): a 400 upstream.
    #[error("{0}")]
    Invalid(String),
    /// Stored or supplied `managedFields` cannot be decoded.
    #[error("failed to decode managed fields: {0}")]
    ManagedFields(String),
}

impl ApplyError {
    /// The API error a server returns for this failure.
    pub fn to_api_error(&self) -> ApiError {
        match self {
            ApplyError::Conflicts(c) => conflict_error(c),
            ApplyError::Invalid(m) => ApiError::bad_request(m.clone()),
            ApplyError::ManagedFields(_) => ApiError::bad_request(self.to_string()),
        }
    }
}

/// Upstream's message: `Apply failed with 1 conflict: conflict with "m": .spec.replicas`,
/// or, for several, one `conflicts with "m":` block per manager listing `- <path>` lines.
pub fn conflict_message(conflicts: &[Conflict]) -> String {
    if let [c] = conflicts {
        return format!(
            "Apply failed with 1 conflict: conflict with {}: {}",
            c.manager_display(),
            c.field
        );
    }
    let mut sorted: Vec<&Conflict> = conflicts.iter().collect();
    sorted.sort_by_key(|c| (c.manager.clone(), c.operation, c.api_version.clone()));
    let mut lines = Vec::new();
    let mut current: Option<String> = None;
    for c in sorted {
        let who = c.manager_display();
        if current.as_ref() != Some(&who) {
            lines.push(format!("conflicts with {who}:"));
            current = Some(who);
        }
        lines.push(format!("- {}", c.field));
    }
    format!(
        "Apply failed with {} conflicts: {}",
        conflicts.len(),
        lines.join("\n")
    )
}

/// The 409 `Conflict` status upstream returns, with one
/// `FieldManagerConflict` cause per field.
pub fn conflict_error(conflicts: &[Conflict]) -> ApiError {
    let mut e = ApiError::new(409, "Conflict", conflict_message(conflicts));
    e.causes = conflicts
        .iter()
        .map(|c| {
            Cause::new(
                "FieldManagerConflict",
                c.field.clone(),
                format!("conflict with {}", c.manager_display()),
            )
        })
        .collect();
    e
}
