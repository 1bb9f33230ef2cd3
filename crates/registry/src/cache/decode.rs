//! Turning a stored value into a [`CachedObject`]: parse once, stamp the
//! resourceVersion, encode once, and extract what selectors need. Objects
//! this server wrote skip all of that (see `expect`); this is the path for
//! everything else (start-up, replayed history, writes the cache was not
//! told about).

use super::CachedObject;
use super::encode::{encode_stamped, round_trips};
use crate::{keys, strategies};
use apimachinery::meta;
use bytes::Bytes;
use serde_json::Value;
use std::collections::BTreeMap;

/// Decode the stored JSON of `key` at revision `rv`. None if it does not parse
/// (logged: the store holds only what the registry wrote).
pub fn decode_object(key: &str, value: &[u8], rv: i64) -> Option<CachedObject> {
    let mut obj: Value = match serde_json::from_slice(value) {
        Ok(v) => v,
        Err(e) => {
            tracing::error!("undecodable object at {key}: {e}");
            return None;
        }
    };
    meta::metadata_mut(&mut obj).insert("resourceVersion".into(), Value::String(rv.to_string()));
    let parts = Parts::of(key, &obj)?;
    // The stored JSON plus the resourceVersion just stamped is almost always
    // enough; the cache keeps the bytes for as long as the object lives, so
    // a buffer grown by doubling (with up to as much slack) is shrunk.
    let (mut json, rv_at) = encode_stamped(&obj, rv, value.len() + 48);
    json.shrink_to_fit();
    Some(parts.into_object(key, rv, Bytes::from(json), rv_at, round_trips(&obj)))
}

/// What selectors need of an object, taken from its parsed form.
pub(super) struct Parts {
    namespace: String,
    name: String,
    labels: BTreeMap<String, String>,
    fields: Vec<(&'static str, String)>,
}

impl Parts {
    /// None for keys outside the registry's layout.
    pub(super) fn of(key: &str, obj: &Value) -> Option<Parts> {
        let (_, group, plural) = keys::split_key(key)?;
        let strategy = strategies::for_resource(group, plural);
        let fields = strategy
            .selectable_fields()
            .iter()
            .map(|f| (*f, strategy.field_value(obj, f).unwrap_or_default()))
            .collect();
        Some(Parts {
            namespace: meta::namespace(obj).to_string(),
            name: meta::name(obj).to_string(),
            labels: meta::labels(obj),
            fields,
        })
    }

    pub(super) fn into_object(
        self,
        key: &str,
        rv: i64,
        json: Bytes,
        rv_at: Option<usize>,
        exact: bool,
    ) -> CachedObject {
        CachedObject {
            key: key.to_string(),
            namespace: self.namespace,
            name: self.name,
            rv,
            json,
            labels: self.labels,
            fields: self.fields,
            rv_at,
            exact,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_the_revision_and_keeps_everything_else() {
        let stored = br#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"ns","labels":{"a":"b"}},"spec":{"nodeName":"n1"}}"#;
        let obj = decode_object("/registry/core/pods/ns/p", stored, 42).expect("decodes");
        let v: Value = serde_json::from_slice(&obj.json).expect("json");
        assert_eq!(v["metadata"]["resourceVersion"], "42");
        assert_eq!(v["spec"]["nodeName"], "n1");
        assert_eq!((obj.namespace.as_str(), obj.name.as_str()), ("ns", "p"));
        assert_eq!(obj.labels.get("a").map(String::as_str), Some("b"));
        assert_eq!(obj.field("spec.nodeName").as_deref(), Some("n1"));
        let at = obj.rv_at.expect("digits found");
        assert_eq!(&obj.json[at..at + 2], b"42");
        assert!(obj.exact);
        assert!(decode_object("/registry/core/pods/ns/p", b"{", 1).is_none());
        let float = br#"{"metadata":{"name":"f"},"spec":{"x":0.1}}"#;
        let obj = decode_object("/registry/core/configmaps/ns/f", float, 3).expect("decodes");
        assert!(!obj.exact, "floats may not survive a second parse");
    }
}
