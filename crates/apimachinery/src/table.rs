//! Server-side printing: the `meta.k8s.io/v1` `Table` a client gets with
//! `Accept: application/json;as=Table;g=meta.k8s.io;v=v1`, which is what
//! `kubectl get` prints. Column definitions and cells follow upstream's
//! printers; like the upstream server, cells of every column are filled
//! (kubectl hides the priority-1 columns unless `-o wide`).

mod admission;
mod cluster;
mod config;
mod custom;
mod docs;
mod duration;
mod hpa_metrics;
mod jobs;
mod jsonpath;
mod pod;
mod service;
mod storage;
mod util;
mod workloads;

use std::collections::HashMap;
use std::sync::OnceLock;

use jiff::Timestamp;
use serde_json::{Map, Value, json};

pub use custom::{CustomColumns, custom_columns};
pub use duration::{human_duration, human_since};

/// One column of a table (`TableColumnDefinition`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ColumnDefinition {
    pub name: String,
    /// An OpenAPI type: `string`, `integer`, `number`, `boolean`, `date`.
    pub type_: String,
    /// An OpenAPI format; `name` marks the column holding the object name.
    pub format: String,
    pub description: String,
    /// 0 for columns shown by default, 1 and more for `-o wide` columns.
    pub priority: i32,
}

impl ColumnDefinition {
    pub fn new(name: &str, type_: &str, description: impl Into<String>) -> Self {
        ColumnDefinition {
            name: name.into(),
            type_: type_.into(),
            format: String::new(),
            description: description.into(),
            priority: 0,
        }
    }
    pub fn with_format(mut self, format: &str) -> Self {
        self.format = format.into();
        self
    }
    /// Marks the column as shown only with `-o wide`.
    pub fn wide(mut self) -> Self {
        self.priority = 1;
        self
    }
    /// The column as it appears in `columnDefinitions`; upstream always
    /// sends all five keys.
    pub fn to_value(&self) -> Value {
        json!({
            "name": self.name,
            "type": self.type_,
            "format": self.format,
            "description": self.description,
            "priority": self.priority,
        })
    }
}

/// The usual first column: the object name.
pub(crate) fn name_column() -> ColumnDefinition {
    ColumnDefinition::new("Name", "string", docs::meta_name()).with_format("name")
}

/// The usual Age column.
pub(crate) fn age_column() -> ColumnDefinition {
    ColumnDefinition::new("Age", "string", docs::meta_created())
}

/// A string column with a plain description.
pub(crate) fn text(name: &str, description: impl Into<String>) -> ColumnDefinition {
    ColumnDefinition::new(name, "string", description)
}

/// What each row carries besides its cells (`includeObject`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum IncludeObject {
    None,
    /// A `PartialObjectMetadata` (the default).
    #[default]
    Metadata,
    Object,
}

impl IncludeObject {
    /// Parses the `includeObject` table option; `None` for an unknown value
    /// (upstream rejects it with a 400). An empty value means the default.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "" | "Metadata" => Some(IncludeObject::Metadata),
            "None" => Some(IncludeObject::None),
            "Object" => Some(IncludeObject::Object),
            _ => None,
        }
    }
}

/// A printer for one built-in resource.
pub(crate) struct Printer {
    pub group: &'static str,
    pub plural: &'static str,
    pub columns: fn() -> Vec<ColumnDefinition>,
    pub cells: fn(&Value, Timestamp) -> Vec<Value>,
}

fn printers() -> impl Iterator<Item = &'static Printer> {
    pod::PRINTERS
        .iter()
        .chain(workloads::PRINTERS)
        .chain(jobs::PRINTERS)
        .chain(service::PRINTERS)
        .chain(config::PRINTERS)
        .chain(admission::PRINTERS)
        .chain(cluster::PRINTERS)
        .chain(storage::PRINTERS)
}

fn printer(group: &str, plural: &str) -> Option<&'static Printer> {
    printers().find(|p| p.group == group && p.plural == plural)
}

/// Column definitions are built once: their descriptions come from the
/// API schemas, which are costly to generate.
fn cached_columns(p: &'static Printer) -> Vec<ColumnDefinition> {
    static CACHE: OnceLock<HashMap<(&'static str, &'static str), Vec<ColumnDefinition>>> =
        OnceLock::new();
    CACHE
        .get_or_init(|| {
            printers()
                .map(|p| ((p.group, p.plural), (p.columns)()))
                .collect()
        })
        .get(&(p.group, p.plural))
        .cloned()
        .unwrap_or_else(|| (p.columns)())
}

fn is_builtin(group: &str, plural: &str) -> bool {
    static BUILTIN: OnceLock<Vec<(String, String)>> = OnceLock::new();
    BUILTIN
        .get_or_init(|| {
            crate::resources::builtin_resources()
                .into_iter()
                .map(|r| (r.group, r.plural))
                .collect()
        })
        .iter()
        .any(|(g, p)| g == group && p == plural)
}

/// Upstream's default for a built-in resource without a printer (roles,
/// limit ranges, CRDs …): the name and the creation time in RFC 3339.
fn default_builtin_columns() -> Vec<ColumnDefinition> {
    vec![
        name_column(),
        ColumnDefinition::new("Created At", "date", docs::meta_created()),
    ]
}

fn default_builtin_cells(obj: &Value) -> Vec<Value> {
    let created = util::opt_s(obj, &["metadata", "creationTimestamp"])
        .and_then(util::parse_time)
        .map_or_else(
            || "0001-01-01T00:00:00Z".to_string(),
            |t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
        );
    vec![util::name(obj), Value::String(created)]
}

/// The columns for a resource. Resources without a printer get upstream's
/// default: Name and Created At for built-ins, Name and Age for custom
/// resources (whose CRD has no printer columns; see [`custom_columns`]).
pub fn column_definitions(group: &str, plural: &str) -> Vec<ColumnDefinition> {
    if let Some(p) = printer(group, plural) {
        return cached_columns(p);
    }
    if is_builtin(group, plural) {
        return default_builtin_columns();
    }
    custom_columns(&Value::Null).definitions().to_vec()
}

/// The cells of one object's row, one per column of
/// [`column_definitions`].
pub fn row_cells(group: &str, plural: &str, obj: &Value, now: Timestamp) -> Vec<Value> {
    if let Some(p) = printer(group, plural) {
        return (p.cells)(obj, now);
    }
    if is_builtin(group, plural) {
        return default_builtin_cells(obj);
    }
    custom_columns(&Value::Null).cells(obj, now)
}

/// Row conditions upstream adds: finished pods are marked Completed.
fn row_conditions(group: &str, plural: &str, obj: &Value) -> Option<Value> {
    if !group.is_empty() || plural != "pods" {
        return None;
    }
    let (reason, message) = match util::s(obj, &["status", "phase"]) {
        "Succeeded" => ("Succeeded", "The pod has completed successfully."),
        "Failed" => ("Failed", "The pod failed."),
        _ => return None,
    };
    Some(json!([{"type": "Completed", "status": "True", "reason": reason, "message": message}]))
}

/// What a row carries as `object`.
pub fn row_object(obj: &Value, include: IncludeObject) -> Option<Value> {
    match include {
        IncludeObject::None => None,
        IncludeObject::Object => Some(obj.clone()),
        IncludeObject::Metadata => Some(json!({
            "kind": "PartialObjectMetadata",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": obj.get("metadata").cloned().unwrap_or_else(|| json!({})),
        })),
    }
}

/// Assembles a Table from column definitions and (cells, object) rows.
pub fn assemble_table(
    columns: &[ColumnDefinition],
    rows: Vec<(Vec<Value>, Option<Value>, Option<Value>)>,
    list_metadata: Value,
) -> Value {
    let rows: Vec<Value> = rows
        .into_iter()
        .map(|(cells, conditions, object)| {
            let mut row = Map::new();
            row.insert("cells".into(), Value::Array(cells));
            if let Some(c) = conditions {
                row.insert("conditions".into(), c);
            }
            if let Some(o) = object {
                row.insert("object".into(), o);
            }
            Value::Object(row)
        })
        .collect();
    let metadata = if list_metadata.is_object() {
        list_metadata
    } else {
        json!({})
    };
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata,
        "columnDefinitions": columns.iter().map(ColumnDefinition::to_value).collect::<Vec<_>>(),
        "rows": rows,
    })
}

/// The Table for a list of objects of one built-in or printer-less
/// resource. `list_metadata` is the list's `metadata` (`resourceVersion`,
/// `continue`, `remainingItemCount`). For custom resources whose CRD has
/// printer columns use [`CustomColumns::build_table`].
pub fn build_table(
    group: &str,
    plural: &str,
    objs: &[Value],
    include_object: IncludeObject,
    now: Timestamp,
    list_metadata: Value,
) -> Value {
    let rows = objs
        .iter()
        .map(|o| {
            (
                row_cells(group, plural, o, now),
                row_conditions(group, plural, o),
                row_object(o, include_object),
            )
        })
        .collect();
    assemble_table(&column_definitions(group, plural), rows, list_metadata)
}

#[cfg(test)]
mod tests;
