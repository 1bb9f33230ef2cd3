//! Runs the conformance suite against every local backend, plus the SQLite
//! restart-durability checks.

use std::sync::Arc;

use store::memory::MemoryStore;
use store::sqlite::SqliteStore;
use store::{RangeRequest, Store, StoreError};

async fn memory() -> (Arc<dyn Store>, ()) {
    (Arc::new(MemoryStore::new()), ())
}

async fn sqlite() -> (Arc<dyn Store>, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(dir.path().join("db.sqlite")).expect("open");
    (Arc::new(store), dir)
}

mod memory_backend {
    store::conformance_tests!(super::memory());
}

mod sqlite_backend {
    store::conformance_tests!(super::sqlite());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_survives_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("db.sqlite");
    let (a, b, deleted_at) = {
        let store = SqliteStore::open(&path).expect("open");
        let a = store.create("/r/a", b"a".to_vec()).await.expect("create");
        let a = store
            .update("/r/a", b"a2".to_vec(), a)
            .await
            .expect("update");
        let b = store.create("/r/b", b"b".to_vec()).await.expect("create");
        store.create("/r/c", b"c".to_vec()).await.expect("create");
        // The newest row is a delete: the counter must still not go back.
        let (_, deleted_at) = store.delete("/r/c", None).await.expect("delete");
        store.compact(b).await.expect("compact");
        (a, b, deleted_at)
    };

    let store = SqliteStore::open(&path).expect("reopen");
    assert_eq!(store.current_revision().await.expect("rev"), deleted_at);
    assert_eq!(store.compacted_revision().await.expect("compacted"), b);
    let (kv, rev) = store.get("/r/a").await.expect("get");
    let kv = kv.expect("a survived");
    assert_eq!(
        (kv.value.as_slice(), kv.mod_revision, rev),
        (&b"a2"[..], a, deleted_at)
    );
    let all = store
        .range(RangeRequest {
            prefix: "/r/".into(),
            ..Default::default()
        })
        .await
        .expect("range");
    assert_eq!(all.kvs.len(), 2);
    match store
        .range(RangeRequest {
            prefix: "/r/".into(),
            revision: a,
            ..Default::default()
        })
        .await
    {
        Err(StoreError::Compacted { compacted, .. }) => assert_eq!(compacted, b),
        other => panic!("compaction forgotten: {other:?}"),
    }
    let next = store.create("/r/d", vec![]).await.expect("create");
    assert_eq!(next, deleted_at + 1, "revision continues after restart");

    // Compacting the delete away must not let the counter go back either.
    store.compact(next).await.expect("compact");
    store.delete("/r/d", None).await.expect("delete");
    let last = store.current_revision().await.expect("rev");
    store.compact(last).await.expect("compact");
    drop(store);
    let store = SqliteStore::open(&path).expect("reopen");
    assert_eq!(store.current_revision().await.expect("rev"), last);
    assert_eq!(
        store.create("/r/e", vec![]).await.expect("create"),
        last + 1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_watch_replays_after_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("db.sqlite");
    let first = {
        let store = SqliteStore::open(&path).expect("open");
        let first = store.create("/w/a", b"1".to_vec()).await.expect("create");
        store
            .update("/w/a", b"2".to_vec(), first)
            .await
            .expect("update");
        first
    };
    let store = SqliteStore::open(&path).expect("reopen");
    let mut w = store.watch("/w/", first).await.expect("watch");
    let ev = store::conformance::next_event(&mut w).await;
    assert_eq!((ev.revision(), ev.kv.value.as_slice()), (first, &b"1"[..]));
    let ev = store::conformance::next_event(&mut w).await;
    assert_eq!(ev.prev.expect("prev").value, b"1");
}

/// Dropping the store ends its watches (after what was already published).
async fn watch_ends_when_store_drops(store: Arc<dyn Store>) {
    use futures::StreamExt;
    let mut w = store.watch("/end/", 0).await.expect("watch");
    let rev = store.create("/end/a", vec![]).await.expect("create");
    drop(store);
    let ev = store::conformance::next_event(&mut w).await;
    assert_eq!(ev.revision(), rev);
    let end = tokio::time::timeout(std::time::Duration::from_secs(5), w.next()).await;
    assert!(matches!(end, Ok(None)), "watch did not end: {end:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_watch_ends_when_store_drops() {
    watch_ends_when_store_drops(memory().await.0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_watch_ends_when_store_drops() {
    let (store, _dir) = sqlite().await;
    watch_ends_when_store_drops(store).await;
}
