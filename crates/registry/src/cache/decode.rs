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
        json: Bytes::from(serde_json::to_vec(&obj).ok()?),
    })
}
