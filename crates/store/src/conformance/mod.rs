//! The conformance suite every backend must pass: etcd v3 semantics as the
//! registry relies on them. Each function takes a store of its own (fresh,
//! or at least one nobody else compacts) and panics on the first violation;
//! every function writes only under its own key prefix.
//!
//! [`conformance_tests!`](crate::conformance_tests) turns the whole suite
//! into one `#[tokio::test]` per function for a backend factory.

mod kv;
mod watch;

pub use kv::*;
pub use watch::*;

use std::time::Duration;

use futures::StreamExt;

use crate::{StoreError, WatchEvent, WatchStream};

/// How long a suite function waits for an expected watch event.
const EVENT_TIMEOUT: Duration = Duration::from_secs(10);

/// The next event of `stream`, failing the test on error, end or timeout.
pub async fn next_event(stream: &mut WatchStream) -> WatchEvent {
    match tokio::time::timeout(EVENT_TIMEOUT, stream.next()).await {
        Ok(Some(Ok(ev))) => ev,
        Ok(Some(Err(e))) => panic!("watch failed: {e}"),
        Ok(None) => panic!("watch ended"),
        Err(_) => panic!("no watch event within {EVENT_TIMEOUT:?}"),
    }
}

/// Asserts that `stream` yields nothing for a short while.
pub async fn assert_quiet(stream: &mut WatchStream) {
    if let Ok(item) = tokio::time::timeout(Duration::from_millis(200), stream.next()).await {
        panic!("expected no watch event, got {item:?}");
    }
}

fn expect_compacted<T: std::fmt::Debug>(result: crate::Result<T>, requested: i64, compacted: i64) {
    match result {
        Err(StoreError::Compacted {
            requested: r,
            compacted: c,
        }) => assert_eq!((r, c), (requested, compacted), "Compacted error fields"),
        other => panic!("expected Compacted({requested}, {compacted}), got {other:?}"),
    }
}

/// Generates one `#[tokio::test]` per conformance function. `$make` is an
/// expression giving a future of `(Arc<dyn Store>, guard)`; the guard (a temp
/// dir, say) lives as long as the test.
#[macro_export]
macro_rules! conformance_tests {
    ($make:expr) => {
        $crate::conformance_tests!(@each $make;
            create_and_get, update_with_cas, delete_with_and_without_revision,
            revisions_are_monotonic, range_by_prefix, range_at_past_revision, count_keys,
            compaction_of_reads, watch_from_now, watch_from_past_revision,
            watch_delete_carries_prev, watch_after_compaction, slow_watcher_catches_up,
            concurrent_cas_loses_no_update, concurrent_creates_one_wins);
    };
    (@each $make:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let (store, _guard) = $make.await;
                $crate::conformance::$name(store).await;
            }
        )*
    };
}
