//! Errors of the store.

use crate::KeyValue;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("key not found: {0}")]
    NotFound(String),
    #[error("key already exists: {}", .0.key)]
    AlreadyExists(Box<KeyValue>),
    /// The key moved on; carries its current value (None if it was deleted).
    #[error("revision conflict on {key}")]
    Conflict {
        key: String,
        current: Option<Box<KeyValue>>,
    },
    #[error("required revision {requested} has been compacted (compacted at {compacted})")]
    Compacted { requested: i64, compacted: i64 },
    #[error("required revision {requested} is in the future (current {current})")]
    FutureRevision { requested: i64, current: i64 },
    #[error("storage backend: {0}")]
    Backend(String),
    #[error("store is closed")]
    Closed,
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
