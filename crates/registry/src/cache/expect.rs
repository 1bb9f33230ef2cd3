//! Writes the cache is told about before they happen. The registry has the
//! object in hand when it writes: it hands the cache the bytes it is about
//! to store and what selectors need, so the cache need not parse the event
//! back. An event uses an expectation only when its value is exactly the
//! expected bytes (so the result is what decoding would give); any other
//! event — another server's write through etcd, a write that raced, history
//! replayed at start-up — is decoded as before.

use super::CachedObject;
use super::decode::Parts;
use super::encode::{Stamp, StoredJson, round_trips};
use bytes::Bytes;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

/// Expectations kept at most; past this (writes whose events never came,
/// e.g. across a reload) they are dropped and events decode again.
const MAX_PENDING: usize = 8192;

/// What the writer of one key knows about the object it is storing.
struct Expected {
    /// Tells this writer's expectation from a later writer's of the same key.
    id: u64,
    bytes: Vec<u8>,
    stamp: Stamp,
    parts: Parts,
}

/// A write the cache expects. Dropped without [`Expecting::keep`] — the
/// write failed, or the writer gave up — the expectation is withdrawn.
#[must_use]
pub struct Expecting<'a> {
    expectations: &'a Expectations,
    key: &'a str,
    id: Option<u64>,
}

impl Expecting<'_> {
    /// The write went through: its event will use the expectation.
    pub fn keep(mut self) {
        self.id = None;
    }
}

impl Drop for Expecting<'_> {
    fn drop(&mut self) {
        if let Some(id) = self.id {
            self.expectations.withdraw(self.key, id);
        }
    }
}

/// Pending expectations, at most one per key (the latest writer's).
#[derive(Default)]
pub(super) struct Expectations {
    pending: Mutex<HashMap<String, Expected>>,
    next_id: AtomicU64,
}

impl Expectations {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Expected>> {
        // Every change is one map operation: a panic cannot leave it torn.
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Expect `stored` (the encoding of `obj`) at `key`. Nothing is expected
    /// when the object cannot take the fast path (no metadata object to
    /// stamp, a float that may not survive a parse, a key outside the
    /// layout).
    pub(super) fn expect<'a>(
        &'a self,
        key: &'a str,
        obj: &Value,
        stored: &StoredJson,
    ) -> Expecting<'a> {
        Expecting {
            expectations: self,
            key,
            id: self.add(key, obj, stored),
        }
    }

    fn add(&self, key: &str, obj: &Value, stored: &StoredJson) -> Option<u64> {
        let stamp = stored.stamp?;
        if !round_trips(obj) {
            return None;
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let expected = Expected {
            id,
            bytes: stored.bytes.clone(),
            stamp,
            parts: Parts::of(key, obj)?,
        };
        let mut pending = self.lock();
        if pending.len() >= MAX_PENDING {
            pending.clear();
        }
        pending.insert(key.to_string(), expected);
        Some(id)
    }

    /// Forget expectation `id` (its write failed or was abandoned), unless
    /// another writer's has replaced it.
    pub(super) fn withdraw(&self, key: &str, id: u64) {
        let mut pending = self.lock();
        if pending.get(key).is_some_and(|e| e.id == id) {
            pending.remove(key);
        }
    }

    /// The cached object for an event putting `value` at `key` at `rv`, if
    /// it was expected; the expectation is used up.
    pub(super) fn take(&self, key: &str, value: &[u8], rv: i64) -> Option<CachedObject> {
        let expected = {
            let mut pending = self.lock();
            if pending.get(key)?.bytes != value {
                return None;
            }
            pending.remove(key)?
        };
        let (json, rv_at) = expected.stamp.apply(value, rv);
        Some(
            expected
                .parts
                .into_object(key, rv, Bytes::from(json), Some(rv_at), true),
        )
    }

    pub(super) fn clear(&self) {
        self.lock().clear();
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::super::decode_object;
    use super::super::encode::encode_for_store;
    use super::*;
    use serde_json::json;

    const KEY: &str = "/registry/core/pods/ns/p";

    fn pod(node: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": "p", "namespace": "ns", "labels": {"a": "b"},
                            "resourceVersion": "3"},
               "spec": {"nodeName": node}})
    }

    #[test]
    fn an_expected_event_gives_what_decoding_gives() {
        let e = Expectations::default();
        let obj = pod("n1");
        let stored = encode_for_store(&obj);
        assert!(e.add(KEY, &obj, &stored).is_some());
        let got = e.take(KEY, &stored.bytes, 42).expect("expected");
        let want = decode_object(KEY, &stored.bytes, 42).expect("decodes");
        assert_eq!(got.json, want.json);
        assert_eq!(
            (
                &got.key,
                &got.namespace,
                &got.name,
                got.rv,
                &got.labels,
                &got.fields
            ),
            (
                &want.key,
                &want.namespace,
                &want.name,
                want.rv,
                &want.labels,
                &want.fields
            )
        );
        assert_eq!((got.rv_at, got.exact), (want.rv_at, want.exact));
        assert_eq!(e.len(), 0, "used up");
    }

    #[test]
    fn only_the_exact_bytes_and_the_latest_writer_count() {
        let e = Expectations::default();
        let (a, b) = (pod("n1"), pod("n2"));
        let (sa, sb) = (encode_for_store(&a), encode_for_store(&b));
        let first = e.add(KEY, &a, &sa).expect("expected");
        assert!(e.take(KEY, &sb.bytes, 5).is_none(), "other bytes decode");
        assert_eq!(e.len(), 1);
        let second = e.add(KEY, &b, &sb).expect("expected");
        e.withdraw(KEY, first);
        assert_eq!(
            e.len(),
            1,
            "a replaced expectation is not the first's to withdraw"
        );
        assert!(e.take(KEY, &sa.bytes, 5).is_none());
        e.withdraw(KEY, second);
        assert_eq!(e.len(), 0);
    }

    #[test]
    fn objects_that_may_not_round_trip_are_not_expected() {
        let e = Expectations::default();
        let mut obj = pod("n1");
        obj["spec"]["x"] = json!(0.1);
        assert!(e.add(KEY, &obj, &encode_for_store(&obj)).is_none());
        let bare = json!({"kind": "Pod"});
        assert!(e.add(KEY, &bare, &encode_for_store(&bare)).is_none());
        let obj = pod("n1");
        assert!(e.add("/elsewhere", &obj, &encode_for_store(&obj)).is_none());
        assert_eq!(e.len(), 0);
    }

    #[test]
    fn a_dropped_guard_withdraws_and_a_kept_one_does_not() {
        let e = Expectations::default();
        let obj = pod("n1");
        let stored = encode_for_store(&obj);
        drop(e.expect(KEY, &obj, &stored));
        assert_eq!(e.len(), 0);
        e.expect(KEY, &obj, &stored).keep();
        assert_eq!(e.len(), 1);
    }

    #[test]
    fn forgotten_expectations_are_bounded() {
        let e = Expectations::default();
        let obj = pod("n1");
        let stored = encode_for_store(&obj);
        for i in 0..MAX_PENDING + 5 {
            let _ = e.add(&format!("{KEY}{i}"), &obj, &stored);
        }
        assert!(e.len() <= MAX_PENDING);
        e.clear();
        assert_eq!(e.len(), 0);
    }
}
