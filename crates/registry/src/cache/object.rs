//! What the watch cache keeps per object and per event: the JSON encoded once
//! (with its resourceVersion), plus the labels and selectable fields that
//! selectors need, so filtering never re-parses the object.

use bytes::Bytes;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;

#[derive(Debug)]
pub struct CachedObject {
    pub key: String,
    pub namespace: String,
    pub name: String,
    pub rv: i64,
    /// The object as JSON, `metadata.resourceVersion` set to `rv`.
    pub json: Bytes,
    pub labels: BTreeMap<String, String>,
    /// Values of the resource's selectable fields (beyond name and namespace).
    pub fields: Vec<(&'static str, String)>,
}

impl CachedObject {
    pub fn field(&self, field: &str) -> Option<String> {
        match field {
            "metadata.name" => Some(self.name.clone()),
            "metadata.namespace" => Some(self.namespace.clone()),
            f => self
                .fields
                .iter()
                .find(|(k, _)| *k == f)
                .map(|(_, v)| v.clone()),
        }
    }

    pub fn value(&self) -> Value {
        serde_json::from_slice(&self.json).unwrap_or(Value::Null)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// One change to one object. For `Deleted`, `object` is the last state with
/// the delete's resourceVersion.
#[derive(Debug)]
pub struct CacheEvent {
    pub kind: EventType,
    pub rv: i64,
    pub object: Arc<CachedObject>,
    pub prev: Option<Arc<CachedObject>>,
}
