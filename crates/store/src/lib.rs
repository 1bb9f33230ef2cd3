//! `store` owns a revisioned key-value store with watch, with etcd v3 semantics:
//! one global revision that every write bumps, compare-and-swap on a key's mod
//! revision, range by prefix (optionally at a past revision), watch from a
//! revision, and compaction of old revisions. It knows nothing of Kubernetes
//! objects: keys are strings, values are bytes.
//!
//! Backends: [`memory::MemoryStore`] (tests), [`sqlite::SqliteStore`] (the
//! embedded default, kine's layout: row id = revision). The etcd backend comes
//! later and must fit [`Store`] without change. [`conformance`] is the suite
//! every backend passes; [`spawn_compactor`] compacts old history periodically.

mod compactor;
pub mod conformance;
mod error;
pub mod memory;
mod row;
pub mod sqlite;
mod types;
mod watch;

pub use compactor::{
    DEFAULT_COMPACT_INTERVAL, DEFAULT_COMPACT_KEEP, compact_once, spawn_compactor,
};
pub use error::{Result, StoreError};
pub use types::*;

use async_trait::async_trait;
use futures::stream::BoxStream;

/// A stream of watch events in revision order. It ends when the store shuts
/// down; it yields an error (then ends) when the history it needs is gone, e.g.
/// `Compacted` for a watcher that fell behind past a compaction.
pub type WatchStream = BoxStream<'static, Result<WatchEvent>>;

/// The store every backend implements. All methods are cheap to call
/// concurrently; writes are durable when they return `Ok`.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Read one key at the current revision. Returns the key (if present) and
    /// the store's current revision.
    async fn get(&self, key: &str) -> Result<(Option<KeyValue>, i64)>;

    /// Range over keys that start with `prefix`, in key order, beginning at
    /// `start_key` (inclusive) when given, returning at most `limit` keys
    /// (0 = no limit). `revision` 0 reads the latest state; a positive revision
    /// reads the state as of that revision (`StoreError::Compacted` if it is
    /// below the compacted revision — the compacted revision itself stays
    /// readable, as in etcd — `StoreError::FutureRevision` if it is above the
    /// current one).
    async fn range(&self, req: RangeRequest) -> Result<RangeResponse>;

    /// Count the keys under `prefix` at the current revision.
    async fn count(&self, prefix: &str) -> Result<i64>;

    /// Create `key` only if it does not exist. Returns the new revision, or
    /// `StoreError::AlreadyExists` (with the current value) if it does.
    async fn create(&self, key: &str, value: Vec<u8>) -> Result<i64>;

    /// Replace `key` only if its mod revision is `expected_mod_revision`.
    /// Returns the new revision; `StoreError::NotFound` if absent;
    /// `StoreError::Conflict` (with the current value) if it has moved on.
    async fn update(&self, key: &str, value: Vec<u8>, expected_mod_revision: i64) -> Result<i64>;

    /// Delete `key`, only if its mod revision is `expected_mod_revision` when
    /// that is given. Returns the deleted key-value (as it was) and the
    /// revision of the delete.
    async fn delete(
        &self,
        key: &str,
        expected_mod_revision: Option<i64>,
    ) -> Result<(KeyValue, i64)>;

    /// Watch keys under `prefix`, delivering every event whose revision is
    /// `>= start_revision` (etcd semantics; 0 = from now on). Events already in
    /// the history are replayed first. `StoreError::Compacted` if
    /// `start_revision` is at or below the compacted revision (and > 0).
    async fn watch(&self, prefix: &str, start_revision: i64) -> Result<WatchStream>;

    /// The current (latest committed) revision.
    async fn current_revision(&self) -> Result<i64>;

    /// Forget history at or below `revision`; the latest value of every live key
    /// is kept. Afterwards reads below it and watches from it or below are
    /// `Compacted`. Like etcd: `Compacted` if `revision` is not above the
    /// compacted revision, `FutureRevision` if it is above the current one.
    async fn compact(&self, revision: i64) -> Result<()>;

    /// The highest revision compacted so far (0 if none).
    async fn compacted_revision(&self) -> Result<i64>;
}
