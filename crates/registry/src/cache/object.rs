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
    /// Where the digits of `rv` start in `json`, when known: a later
    /// revision of the same stored bytes (a delete) is a splice away.
    pub rv_at: Option<usize>,
    /// Parsing `json` gives exactly the object the store holds (plus its
    /// resourceVersion); false when it holds floats, which a second parse
    /// may move by a unit in the last place.
    pub exact: bool,
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

    /// The same stored bytes at a later revision `rv` (the object a delete
    /// at `rv` reports), or None when the digits' place is unknown.
    pub fn restamped(&self, rv: i64) -> Option<CachedObject> {
        let (json, rv_at) = super::encode::restamp(&self.json, self.rv_at?, self.rv, rv)?;
        Some(CachedObject {
            key: self.key.clone(),
            namespace: self.namespace.clone(),
            name: self.name.clone(),
            rv,
            json: Bytes::from(json),
            labels: self.labels.clone(),
            fields: self.fields.clone(),
            rv_at: Some(rv_at),
            exact: self.exact,
        })
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
