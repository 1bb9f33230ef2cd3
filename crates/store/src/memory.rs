//! In-memory backend (for tests): the whole history in a map, with the same
//! semantics as the durable backends (range at a past revision, watch replay,
//! compaction). Nothing survives the process.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use tokio::sync::broadcast;

use crate::row::{Row, range_start};
use crate::watch::{BROADCAST_CAPACITY, History, spawn_watcher};
use crate::{
    KeyValue, RangeRequest, RangeResponse, Result, Store, StoreError, WatchEvent, WatchStream,
};

/// An in-memory [`Store`].
pub struct MemoryStore {
    state: Arc<Shared>,
}

struct Shared {
    inner: Mutex<Inner>,
}

struct Inner {
    /// Every row not yet compacted away, by revision.
    history: BTreeMap<i64, Row>,
    /// The latest row of every key (tombstones included), by key.
    latest: BTreeMap<String, i64>,
    rev: i64,
    compacted: i64,
    /// None once the store is dropped, which ends every watch.
    events: Option<broadcast::Sender<Arc<WatchEvent>>>,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryStore {
    pub fn new() -> Self {
        let (events, _) = broadcast::channel(BROADCAST_CAPACITY);
        MemoryStore {
            state: Arc::new(Shared {
                inner: Mutex::new(Inner {
                    history: BTreeMap::new(),
                    latest: BTreeMap::new(),
                    rev: 0,
                    compacted: 0,
                    events: Some(events),
                }),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.state.lock()
    }
}

impl Drop for MemoryStore {
    fn drop(&mut self) {
        self.lock().events = None;
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the maps half-updated
        // (every write is a single insert), so poisoning is ignored.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Inner {
    fn current(&self, key: &str) -> Option<KeyValue> {
        let rev = self.latest.get(key)?;
        self.history.get(rev)?.to_kv()
    }

    /// Appends a row at the next revision and publishes its event (under the
    /// lock, so events go out in revision order).
    fn append(&mut self, row: Row) -> i64 {
        let rev = row.rev;
        self.rev = rev;
        self.latest.insert(row.key.clone(), rev);
        let event = Arc::new(row.to_event());
        self.history.insert(rev, row);
        if let Some(events) = &self.events {
            // No receivers is fine: nobody is watching.
            let _ = events.send(event);
        }
        rev
    }

    /// Checks a read revision against the history window; returns the
    /// revision to read at.
    fn read_revision(&self, revision: i64) -> Result<i64> {
        if revision <= 0 {
            return Ok(self.rev);
        }
        if revision < self.compacted {
            return Err(StoreError::Compacted {
                requested: revision,
                compacted: self.compacted,
            });
        }
        if revision > self.rev {
            return Err(StoreError::FutureRevision {
                requested: revision,
                current: self.rev,
            });
        }
        Ok(revision)
    }

    /// The live key-values under `prefix` from `start` on, as of `at`.
    fn state_at<'a>(
        &'a self,
        prefix: &'a str,
        start: &'a str,
        at: i64,
    ) -> Box<dyn Iterator<Item = KeyValue> + 'a> {
        let keys = self
            .latest
            .range::<str, _>((std::ops::Bound::Included(start), std::ops::Bound::Unbounded))
            .take_while(move |(k, _)| k.starts_with(prefix));
        if at >= self.rev {
            return Box::new(keys.filter_map(|(_, rev)| self.history.get(rev)?.to_kv()));
        }
        // A past revision: the latest row of each key at or below it.
        let mut as_of: BTreeMap<&str, &Row> = BTreeMap::new();
        for row in self.history.range(..=at).map(|(_, r)| r) {
            if row.key.as_str() >= start && row.key.starts_with(prefix) {
                as_of.insert(&row.key, row);
            }
        }
        Box::new(as_of.into_values().filter_map(Row::to_kv))
    }
}

#[async_trait]
impl History for Shared {
    async fn events(
        &self,
        prefix: &str,
        from: i64,
        until: i64,
        limit: usize,
    ) -> Result<Vec<WatchEvent>> {
        let inner = self.lock();
        if from <= inner.compacted {
            return Err(StoreError::Compacted {
                requested: from,
                compacted: inner.compacted,
            });
        }
        Ok(inner
            .history
            .range(from..=until)
            .map(|(_, row)| row)
            .filter(|row| row.key.starts_with(prefix))
            .take(limit)
            .map(Row::to_event)
            .collect())
    }

    async fn current(&self) -> Result<i64> {
        Ok(self.lock().rev)
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn get(&self, key: &str) -> Result<(Option<KeyValue>, i64)> {
        let inner = self.lock();
        Ok((inner.current(key), inner.rev))
    }

    async fn range(&self, req: RangeRequest) -> Result<RangeResponse> {
        let inner = self.lock();
        let at = inner.read_revision(req.revision)?;
        let start = range_start(&req.prefix, req.start_key.as_deref());
        let mut all = inner.state_at(&req.prefix, start, at);
        let limit = if req.limit == 0 {
            usize::MAX
        } else {
            req.limit
        };
        let kvs: Vec<KeyValue> = all.by_ref().take(limit).collect();
        let more = all.next().is_some();
        Ok(RangeResponse {
            kvs,
            more,
            revision: at,
        })
    }

    async fn count(&self, prefix: &str) -> Result<i64> {
        let inner = self.lock();
        let n = inner.state_at(prefix, prefix, inner.rev).count();
        Ok(i64::try_from(n).unwrap_or(i64::MAX))
    }

    async fn create(&self, key: &str, value: Vec<u8>) -> Result<i64> {
        let mut inner = self.lock();
        if let Some(kv) = inner.current(key) {
            return Err(StoreError::AlreadyExists(Box::new(kv)));
        }
        let rev = inner.rev + 1;
        Ok(inner.append(Row::create(rev, key, value)))
    }

    async fn update(&self, key: &str, value: Vec<u8>, expected_mod_revision: i64) -> Result<i64> {
        let mut inner = self.lock();
        let Some(kv) = inner.current(key) else {
            return Err(StoreError::NotFound(key.to_owned()));
        };
        if kv.mod_revision != expected_mod_revision {
            return Err(StoreError::Conflict {
                key: key.to_owned(),
                current: Some(Box::new(kv)),
            });
        }
        let rev = inner.rev + 1;
        Ok(inner.append(Row::update(rev, kv, value)))
    }

    async fn delete(
        &self,
        key: &str,
        expected_mod_revision: Option<i64>,
    ) -> Result<(KeyValue, i64)> {
        let mut inner = self.lock();
        let Some(kv) = inner.current(key) else {
            return Err(StoreError::NotFound(key.to_owned()));
        };
        if expected_mod_revision.is_some_and(|expected| expected != kv.mod_revision) {
            return Err(StoreError::Conflict {
                key: key.to_owned(),
                current: Some(Box::new(kv)),
            });
        }
        let rev = inner.rev + 1;
        let rev = inner.append(Row::delete(rev, kv.clone()));
        Ok((kv, rev))
    }

    async fn watch(&self, prefix: &str, start_revision: i64) -> Result<WatchStream> {
        let (rx, start) = {
            let inner = self.lock();
            if start_revision > 0 && start_revision <= inner.compacted {
                return Err(StoreError::Compacted {
                    requested: start_revision,
                    compacted: inner.compacted,
                });
            }
            let start = if start_revision > 0 {
                start_revision
            } else {
                inner.rev + 1
            };
            let Some(events) = &inner.events else {
                return Err(StoreError::Closed);
            };
            (events.subscribe(), start)
        };
        let history: Arc<dyn History> = self.state.clone();
        Ok(spawn_watcher(history, prefix.to_owned(), start, rx))
    }

    async fn current_revision(&self) -> Result<i64> {
        Ok(self.lock().rev)
    }

    async fn compact(&self, revision: i64) -> Result<()> {
        let mut inner = self.lock();
        if revision <= inner.compacted {
            return Err(StoreError::Compacted {
                requested: revision,
                compacted: inner.compacted,
            });
        }
        if revision > inner.rev {
            return Err(StoreError::FutureRevision {
                requested: revision,
                current: inner.rev,
            });
        }
        // Keep, per key, only its latest row at or below `revision`, and not
        // even that when it is a tombstone.
        let mut keep: HashMap<&str, i64> = HashMap::new();
        for (rev, row) in inner.history.range(..=revision) {
            keep.insert(&row.key, *rev);
        }
        let drop: Vec<i64> = inner
            .history
            .range(..=revision)
            .filter(|(rev, row)| row.deleted || keep.get(row.key.as_str()) != Some(rev))
            .map(|(rev, _)| *rev)
            .collect();
        for rev in drop {
            if let Some(row) = inner.history.remove(&rev)
                && row.deleted
                && inner.latest.get(&row.key) == Some(&rev)
            {
                inner.latest.remove(&row.key);
            }
        }
        inner.compacted = revision;
        Ok(())
    }

    async fn compacted_revision(&self) -> Result<i64> {
        Ok(self.lock().compacted)
    }
}
