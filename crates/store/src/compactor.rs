//! The periodic compactor: like the upstream apiserver (every 5 minutes) and
//! kine (keeping the newest revisions), it keeps history from growing forever
//! while leaving recent revisions for watchers that reconnect.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

use crate::{Store, StoreError};

/// The upstream apiserver's compaction interval.
pub const DEFAULT_COMPACT_INTERVAL: Duration = Duration::from_secs(5 * 60);
/// Revisions kept behind the current one (kine's default).
pub const DEFAULT_COMPACT_KEEP: i64 = 1000;

/// Every `interval`, compacts `store` at `current - keep` when that is above
/// what is already compacted. Runs until the returned task is aborted.
/// Failures are logged and retried at the next tick.
pub fn spawn_compactor(store: Arc<dyn Store>, interval: Duration, keep: i64) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // The first tick fires at once; skip it so a fresh start does not
        // compact before anyone had a chance to list.
        ticker.tick().await;
        loop {
            ticker.tick().await;
            match compact_once(store.as_ref(), keep).await {
                Ok(Some(rev)) => tracing::debug!(revision = rev, "compacted store"),
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "store compaction failed"),
            }
        }
    })
}

/// One compaction step: compacts at `current - keep` if that moves the
/// compacted revision forward. Returns the revision compacted at, if any.
pub async fn compact_once(store: &dyn Store, keep: i64) -> Result<Option<i64>, StoreError> {
    let current = store.current_revision().await?;
    let target = current.saturating_sub(keep.max(0));
    if target <= 0 || target <= store.compacted_revision().await? {
        return Ok(None);
    }
    match store.compact(target).await {
        Ok(()) => Ok(Some(target)),
        // Someone else (another server) compacted further meanwhile.
        Err(StoreError::Compacted { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::MemoryStore;

    #[tokio::test]
    async fn compacts_all_but_the_newest_revisions() {
        let store = MemoryStore::new();
        for i in 0..10 {
            store
                .create(&format!("/k{i}"), vec![])
                .await
                .expect("create");
        }
        assert_eq!(compact_once(&store, 3).await.expect("compact"), Some(7));
        assert_eq!(store.compacted_revision().await.expect("rev"), 7);
        // Nothing new: nothing to do.
        assert_eq!(compact_once(&store, 3).await.expect("compact"), None);
        assert_eq!(compact_once(&store, 100).await.expect("compact"), None);
    }

    #[tokio::test(start_paused = true)]
    async fn spawned_compactor_runs_on_its_interval() {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        for i in 0..5 {
            store
                .create(&format!("/k{i}"), vec![])
                .await
                .expect("create");
        }
        let task = spawn_compactor(store.clone(), Duration::from_secs(300), 1);
        tokio::time::sleep(Duration::from_secs(10)).await;
        assert_eq!(store.compacted_revision().await.expect("rev"), 0);
        tokio::time::sleep(Duration::from_secs(300)).await;
        assert_eq!(store.compacted_revision().await.expect("rev"), 4);
        task.abort();
    }
}
