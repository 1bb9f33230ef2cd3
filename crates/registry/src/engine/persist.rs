//! The engine's side of the store: writing an object (telling the watch
//! cache what it is about to see, so the cache need not parse it back),
//! reading the state an update starts from (the cache's copy first, as
//! upstream's `GuaranteedUpdate` does, with the store as the authority), and
//! consistent reads served by the cache once it has caught up with the store.

use super::{Registry, decode_kv, store_error};
use crate::cache::encode::encode_for_store;
use apimachinery::ApiError;
use serde_json::Value;
use std::time::Duration;
use store::{RangeRequest, StoreError};

/// How long a consistent read waits for the cache to catch up before it
/// reads the store instead. The cache trails the store by the event
/// pipeline's delay (well under a millisecond when the server is not
/// saturated); waiting longer than that would add more latency to a create
/// than the store read it saves costs.
const CATCH_UP_WAIT: Duration = Duration::from_millis(2);

/// The state an update starts from.
pub(crate) struct Current {
    pub obj: Value,
    pub mod_revision: i64,
    /// Read from the watch cache, which may lag the store: a decision taken
    /// on it that does not end in a successful compare-and-swap (an error,
    /// a no-op, a precondition, a lost race) is taken again on the store's
    /// state before it is reported.
    pub cached: bool,
}

impl Registry {
    /// Create `obj` (as the engine finished it) at `key`.
    pub(crate) async fn store_create(&self, key: &str, obj: &Value) -> Result<i64, StoreError> {
        let stored = encode_for_store(obj);
        let expecting = self.cache.expect(key, obj, &stored);
        let rev = self.store.create(key, stored.bytes).await?;
        expecting.keep();
        Ok(rev)
    }

    /// Replace `key` with `obj` if its mod revision is still `expected`.
    pub(crate) async fn store_update(
        &self,
        key: &str,
        obj: &Value,
        expected: i64,
    ) -> Result<i64, StoreError> {
        let stored = encode_for_store(obj);
        let expecting = self.cache.expect(key, obj, &stored);
        let rev = self.store.update(key, stored.bytes, expected).await?;
        expecting.keep();
        Ok(rev)
    }

    /// The object at `key` an update starts from: the cache's copy when
    /// `from_cache` and it has one that parses back exactly, else the
    /// store's. None when the store has no such object.
    pub(crate) async fn current(
        &self,
        key: &str,
        from_cache: bool,
    ) -> Result<Option<Current>, ApiError> {
        if from_cache
            && let Some(o) = self.cache.get(key).filter(|o| o.exact)
            && let Ok(obj) = serde_json::from_slice::<Value>(&o.json)
        {
            return Ok(Some(Current {
                obj,
                mod_revision: o.rv,
                cached: true,
            }));
        }
        let (kv, _) = self.store.get(key).await.map_err(store_error)?;
        kv.map(|kv| {
            Ok(Current {
                obj: decode_kv(&kv)?,
                mod_revision: kv.mod_revision,
                cached: false,
            })
        })
        .transpose()
    }

    /// Whether the cache holds everything the store had committed when this
    /// was called, waiting a moment for it to catch up: a read from it is
    /// then as consistent as one from the store, without the store's cost.
    async fn cache_caught_up(&self) -> bool {
        let Ok(target) = self.store.current_revision().await else {
            return false;
        };
        self.cache.revision() >= target
            || tokio::time::timeout(CATCH_UP_WAIT, self.cache.wait_for(target))
                .await
                .is_ok()
    }

    /// The latest state of `key`, as a read from the store gives it.
    pub(crate) async fn consistent_get(&self, key: &str) -> Result<Option<Value>, ApiError> {
        if self.cache_caught_up().await {
            return Ok(self.cache.get(key).map(|o| o.value()));
        }
        match self.store.get(key).await.map_err(store_error)? {
            (Some(kv), _) => decode_kv(&kv).map(Some),
            (None, _) => Ok(None),
        }
    }

    /// The latest state of every object under `prefix` that decodes, in key
    /// order, as a range over the store gives it.
    pub(crate) async fn consistent_list(&self, prefix: &str) -> Result<Vec<Value>, ApiError> {
        if self.cache_caught_up().await {
            let snap = self.cache.list(prefix, |_| true);
            return Ok(snap.items.iter().map(|o| o.value()).collect());
        }
        let all = self
            .store
            .range(RangeRequest {
                prefix: prefix.to_string(),
                start_key: None,
                limit: 0,
                revision: 0,
            })
            .await
            .map_err(store_error)?;
        Ok(all.kvs.iter().filter_map(|kv| decode_kv(kv).ok()).collect())
    }
}
