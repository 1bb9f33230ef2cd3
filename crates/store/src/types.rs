//! The values the store hands out: key-values, range requests and watch events.

/// A key with its value and revisions, as etcd returns it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyValue {
    pub key: String,
    pub value: Vec<u8>,
    /// Revision at which the key was (last) created.
    pub create_revision: i64,
    /// Revision of the last write to the key.
    pub mod_revision: i64,
}

/// Arguments of [`crate::Store::range`].
#[derive(Clone, Debug, Default)]
pub struct RangeRequest {
    pub prefix: String,
    /// Start at this key (inclusive); it must lie under `prefix`.
    pub start_key: Option<String>,
    /// At most this many keys; 0 means all.
    pub limit: usize,
    /// 0 = latest; otherwise read as of this revision.
    pub revision: i64,
}

/// Result of [`crate::Store::range`].
#[derive(Clone, Debug, Default)]
pub struct RangeResponse {
    pub kvs: Vec<KeyValue>,
    /// True when `limit` cut the result short.
    pub more: bool,
    /// The revision the range was read at (the current revision when the
    /// request asked for 0).
    pub revision: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    Put,
    Delete,
}

/// One change. For a `Put`, `kv` is the new value and `prev` the old one (None
/// on create). For a `Delete`, `kv` holds the key with the value it had before
/// the delete and `mod_revision` set to the delete's revision; `prev` is that
/// previous value with its own revisions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WatchEvent {
    pub kind: EventKind,
    pub kv: KeyValue,
    pub prev: Option<KeyValue>,
}

impl WatchEvent {
    /// The revision at which this event happened.
    pub fn revision(&self) -> i64 {
        self.kv.mod_revision
    }
}
