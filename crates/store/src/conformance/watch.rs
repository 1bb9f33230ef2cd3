//! Conformance: watch (from now, replay from a past revision, prefix
//! filtering, delete events, compaction, slow watchers) and concurrent
//! writers.

use std::sync::Arc;

use super::{assert_quiet, expect_compacted, next_event};
use crate::{EventKind, Store, StoreError};

pub async fn watch_from_now(store: Arc<dyn Store>) {
    store.create("/wn/a/before", vec![]).await.expect("create");
    let mut w = store.watch("/wn/a/", 0).await.expect("watch");
    let r1 = store
        .create("/wn/a/1", b"x".to_vec())
        .await
        .expect("create");
    store
        .create("/wn/ab", vec![])
        .await
        .expect("create outside the prefix");
    let r2 = store
        .update("/wn/a/1", b"y".to_vec(), r1)
        .await
        .expect("update");
    let (_, r3) = store.delete("/wn/a/1", None).await.expect("delete");

    let ev = next_event(&mut w).await;
    assert_eq!(
        (ev.kind, ev.kv.key.as_str(), ev.revision()),
        (EventKind::Put, "/wn/a/1", r1)
    );
    assert_eq!(
        (ev.kv.value.as_slice(), ev.kv.create_revision),
        (&b"x"[..], r1)
    );
    assert_eq!(ev.prev, None, "a create has no previous value");

    let ev = next_event(&mut w).await;
    assert_eq!((ev.kind, ev.revision()), (EventKind::Put, r2));
    assert_eq!(
        (ev.kv.value.as_slice(), ev.kv.create_revision),
        (&b"y"[..], r1)
    );
    let prev = ev.prev.expect("an update carries the previous value");
    assert_eq!((prev.value.as_slice(), prev.mod_revision), (&b"x"[..], r1));

    let ev = next_event(&mut w).await;
    assert_eq!((ev.kind, ev.revision()), (EventKind::Delete, r3));
    assert_quiet(&mut w).await;
}

pub async fn watch_from_past_revision(store: Arc<dyn Store>) {
    let r1 = store.create("/wp/1", b"1".to_vec()).await.expect("create");
    let r2 = store.create("/wp/2", b"2".to_vec()).await.expect("create");
    store.create("/other/x", vec![]).await.expect("create");
    let r3 = store
        .update("/wp/1", b"1b".to_vec(), r1)
        .await
        .expect("update");

    // From r2: replays r2 and r3 (not r1), then continues live.
    let mut w = store.watch("/wp/", r2).await.expect("watch");
    let ev = next_event(&mut w).await;
    assert_eq!((ev.kv.key.as_str(), ev.revision()), ("/wp/2", r2));
    let ev = next_event(&mut w).await;
    assert_eq!((ev.kv.key.as_str(), ev.revision()), ("/wp/1", r3));
    assert_eq!(ev.prev.expect("prev").value, b"1");

    let mut revs = Vec::new();
    for i in 0..20 {
        revs.push(
            store
                .create(&format!("/wp/live/{i}"), vec![])
                .await
                .expect("create"),
        );
    }
    for rev in revs {
        assert_eq!(
            next_event(&mut w).await.revision(),
            rev,
            "live events in order"
        );
    }
    assert_quiet(&mut w).await;

    // From the very first revision of the store, everything under the prefix.
    let mut all = store.watch("/wp/", 1).await.expect("watch");
    assert_eq!(next_event(&mut all).await.revision(), r1);

    // From a revision not yet written: nothing until it is.
    let current = store.current_revision().await.expect("rev");
    let mut ahead = store.watch("/wp/", current + 2).await.expect("watch ahead");
    store.create("/wp/skipped", vec![]).await.expect("create");
    let wanted = store.create("/wp/seen", vec![]).await.expect("create");
    let ev = next_event(&mut ahead).await;
    assert_eq!((ev.kv.key.as_str(), ev.revision()), ("/wp/seen", wanted));
}

pub async fn watch_delete_carries_prev(store: Arc<dyn Store>) {
    let created = store.create("/wd/a", b"v1".to_vec()).await.expect("create");
    let updated = store
        .update("/wd/a", b"v2".to_vec(), created)
        .await
        .expect("update");
    let (_, deleted) = store.delete("/wd/a", Some(updated)).await.expect("delete");

    // Replayed from history and live must look the same.
    let mut replay = store.watch("/wd/", deleted).await.expect("watch");
    let mut live = store.watch("/wd/", 0).await.expect("watch");
    let again = store.create("/wd/a", b"v3".to_vec()).await.expect("create");
    let (_, deleted_again) = store.delete("/wd/a", None).await.expect("delete");

    let ev = next_event(&mut replay).await;
    assert_eq!(ev.kind, EventKind::Delete);
    assert_eq!(ev.kv.key, "/wd/a");
    assert_eq!(ev.kv.value, b"v2", "a delete carries the value it deleted");
    assert_eq!(
        (ev.kv.mod_revision, ev.kv.create_revision),
        (deleted, created)
    );
    let prev = ev.prev.expect("a delete carries the previous value");
    assert_eq!(
        (prev.value.as_slice(), prev.mod_revision),
        (&b"v2"[..], updated)
    );
    assert_eq!(prev.create_revision, created);

    for w in [&mut replay, &mut live] {
        let ev = next_event(w).await;
        assert_eq!(
            (ev.kind, ev.revision(), ev.prev),
            (EventKind::Put, again, None)
        );
        let ev = next_event(w).await;
        assert_eq!((ev.kind, ev.revision()), (EventKind::Delete, deleted_again));
        assert_eq!(ev.kv.value, b"v3");
        assert_eq!(ev.prev.expect("prev").mod_revision, again);
    }
}

pub async fn watch_after_compaction(store: Arc<dyn Store>) {
    let mut revs = Vec::new();
    for i in 0..6 {
        revs.push(
            store
                .create(&format!("/wc/{i}"), vec![])
                .await
                .expect("create"),
        );
    }
    let mut before = store.watch("/wc/", 0).await.expect("watch");
    let compact_at = revs[3];
    store.compact(compact_at).await.expect("compact");

    expect_compacted(
        store.watch("/wc/", revs[1]).await.map(drop),
        revs[1],
        compact_at,
    );
    expect_compacted(
        store.watch("/wc/", compact_at).await.map(drop),
        compact_at,
        compact_at,
    );

    // Just above the compacted revision, history is complete.
    let mut w = store.watch("/wc/", compact_at + 1).await.expect("watch");
    for rev in &revs[4..] {
        assert_eq!(next_event(&mut w).await.revision(), *rev);
    }
    let live = store.create("/wc/live", vec![]).await.expect("create");
    assert_eq!(next_event(&mut w).await.revision(), live);
    // A watcher opened before the compaction is not disturbed by it.
    assert_eq!(next_event(&mut before).await.revision(), live);
}

/// A watcher that does not read while many writes happen still gets every
/// event, in order, and the writers were not held up by it.
pub async fn slow_watcher_catches_up(store: Arc<dyn Store>) {
    const WRITERS: usize = 32;
    const EACH: usize = 200;
    let mut w = store.watch("/slow/", 0).await.expect("watch");
    let mut tasks = Vec::new();
    for t in 0..WRITERS {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..EACH {
                store
                    .create(&format!("/slow/{t}/{i}"), vec![0; 64])
                    .await
                    .expect("create");
            }
        }));
    }
    for task in tasks {
        task.await.expect("writer task");
    }
    let mut last = 0;
    for _ in 0..WRITERS * EACH {
        let ev = next_event(&mut w).await;
        assert!(ev.revision() > last, "events out of order");
        assert_eq!(ev.kind, EventKind::Put);
        last = ev.revision();
    }
    assert_eq!(last, store.current_revision().await.expect("rev"));
    assert_quiet(&mut w).await;
}

pub async fn concurrent_cas_loses_no_update(store: Arc<dyn Store>) {
    const TASKS: u64 = 8;
    const EACH: u64 = 25;
    store
        .create("/cas/counter", b"0".to_vec())
        .await
        .expect("create");
    let mut tasks = Vec::new();
    for _ in 0..TASKS {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let (kv, _) = store.get("/cas/counter").await.expect("get");
            let mut kv = kv.expect("counter");
            let mut done = 0;
            while done < EACH {
                let n: u64 = String::from_utf8_lossy(&kv.value).parse().expect("number");
                let value = (n + 1).to_string().into_bytes();
                match store
                    .update("/cas/counter", value.clone(), kv.mod_revision)
                    .await
                {
                    Ok(rev) => {
                        done += 1;
                        kv.value = value;
                        kv.mod_revision = rev;
                    }
                    Err(StoreError::Conflict { current, .. }) => {
                        kv = *current.expect("conflict carries the current value");
                    }
                    Err(e) => panic!("update failed: {e}"),
                }
            }
        }));
    }
    for task in tasks {
        task.await.expect("task");
    }
    let (kv, _) = store.get("/cas/counter").await.expect("get");
    let expected = (TASKS * EACH).to_string().into_bytes();
    assert_eq!(kv.expect("counter").value, expected, "an update was lost");
}

pub async fn concurrent_creates_one_wins(store: Arc<dyn Store>) {
    let mut tasks = Vec::new();
    for i in 0..16u8 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store.create("/race/key", vec![i]).await
        }));
    }
    let mut winners = Vec::new();
    for task in tasks {
        match task.await.expect("task") {
            Ok(rev) => winners.push(rev),
            Err(StoreError::AlreadyExists(kv)) => assert_eq!(kv.key, "/race/key"),
            Err(e) => panic!("unexpected error {e}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one create wins");
    let (kv, _) = store.get("/race/key").await.expect("get");
    assert_eq!(kv.expect("present").mod_revision, winners[0]);
}
