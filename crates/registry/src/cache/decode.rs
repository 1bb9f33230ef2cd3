//! Turning a stored value into a [`CachedObject`]: parse once, stamp the
//! resourceVersion, encode once, and extract what selectors need.

use super::CachedObject;
use crate::{keys, strategies};
use apimachinery::meta;
use bytes::Bytes;
use serde_json::Value;

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
    let (_, group, plural) = keys::split_key(key)?;
    let strategy = strategies::for_resource(group, plural);
    let fields = strategy
        .selectable_fields()
        .iter()
        .map(|f| (*f, strategy.field_value(&obj, f).unwrap_or_default()))
        .collect();
    Some(CachedObject {
        key: key.to_string(),
        namespace: meta::namespace(&obj).to_string(),
        name: meta::name(&obj).to_string(),
        rv,
        labels: meta::labels(&obj),
        fields,
        json: encode(&obj, value.len())?,
    })
}

/// Encode `obj` into a buffer of exactly its size: the cache keeps every
/// object's bytes for as long as the object lives, and a buffer grown by
/// doubling would carry up to as much slack again.
fn encode(obj: &Value, stored_len: usize) -> Option<Bytes> {
    // The stored JSON plus the resourceVersion just stamped is almost always enough.
    let mut buf = Vec::with_capacity(stored_len + 48);
    serde_json::to_writer(&mut buf, obj).ok()?;
    buf.shrink_to_fit();
    Some(Bytes::from(buf))
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
        assert!(decode_object("/registry/core/pods/ns/p", b"{", 1).is_none());
    }
}
