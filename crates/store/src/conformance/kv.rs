//! Conformance: single-key writes with compare-and-swap, revisions, ranges
//! (by prefix, paged, at a past revision), count, and compaction of reads.

use std::sync::Arc;

use super::expect_compacted;
use crate::{KeyValue, RangeRequest, Store, StoreError};

fn range(prefix: &str) -> RangeRequest {
    RangeRequest {
        prefix: prefix.to_owned(),
        ..RangeRequest::default()
    }
}

fn keys(kvs: &[KeyValue]) -> Vec<&str> {
    kvs.iter().map(|kv| kv.key.as_str()).collect()
}

pub async fn create_and_get(store: Arc<dyn Store>) {
    let (missing, before) = store.get("/get/a").await.expect("get");
    assert_eq!(missing, None);
    let rev = store
        .create("/get/a", b"one".to_vec())
        .await
        .expect("create");
    assert!(rev > before, "create revision {rev} must pass {before}");

    let (kv, current) = store.get("/get/a").await.expect("get");
    let kv = kv.expect("created key is readable");
    assert_eq!(kv.key, "/get/a");
    assert_eq!(kv.value, b"one");
    assert_eq!((kv.create_revision, kv.mod_revision), (rev, rev));
    assert!(current >= rev);

    match store.create("/get/a", b"two".to_vec()).await {
        Err(StoreError::AlreadyExists(existing)) => assert_eq!(*existing, kv),
        other => panic!("expected AlreadyExists, got {other:?}"),
    }
    let (kv_after, _) = store.get("/get/a").await.expect("get");
    assert_eq!(
        kv_after.expect("still there").value,
        b"one",
        "failed create wrote"
    );
}

pub async fn update_with_cas(store: Arc<dyn Store>) {
    let created = store
        .create("/upd/a", b"v1".to_vec())
        .await
        .expect("create");
    let updated = store
        .update("/upd/a", b"v2".to_vec(), created)
        .await
        .expect("update at the right revision");
    assert!(updated > created);
    let (kv, _) = store.get("/upd/a").await.expect("get");
    let kv = kv.expect("present");
    assert_eq!(kv.value, b"v2");
    assert_eq!((kv.create_revision, kv.mod_revision), (created, updated));

    // A stale revision conflicts and reports the current value.
    match store.update("/upd/a", b"v3".to_vec(), created).await {
        Err(StoreError::Conflict { key, current }) => {
            assert_eq!(key, "/upd/a");
            assert_eq!(current.as_deref(), Some(&kv));
        }
        other => panic!("expected Conflict, got {other:?}"),
    }
    match store.update("/upd/missing", b"x".to_vec(), 1).await {
        Err(StoreError::NotFound(key)) => assert_eq!(key, "/upd/missing"),
        other => panic!("expected NotFound, got {other:?}"),
    }
    let (kv_after, _) = store.get("/upd/a").await.expect("get");
    assert_eq!(kv_after.as_ref(), Some(&kv), "failed update wrote");
}

pub async fn delete_with_and_without_revision(store: Arc<dyn Store>) {
    let created = store.create("/del/a", b"a".to_vec()).await.expect("create");
    let updated = store
        .update("/del/a", b"b".to_vec(), created)
        .await
        .expect("update");

    match store.delete("/del/a", Some(created)).await {
        Err(StoreError::Conflict { current, .. }) => {
            let current = current.expect("current value");
            assert_eq!(
                (current.value.as_slice(), current.mod_revision),
                (&b"b"[..], updated)
            );
        }
        other => panic!("expected Conflict, got {other:?}"),
    }
    let (old, rev) = store.delete("/del/a", Some(updated)).await.expect("delete");
    assert!(rev > updated);
    assert_eq!(old.key, "/del/a");
    assert_eq!(old.value, b"b");
    assert_eq!((old.create_revision, old.mod_revision), (created, updated));
    assert_eq!(store.get("/del/a").await.expect("get").0, None);
    match store.delete("/del/a", None).await {
        Err(StoreError::NotFound(key)) => assert_eq!(key, "/del/a"),
        other => panic!("expected NotFound, got {other:?}"),
    }
    match store.delete("/del/a", Some(rev)).await {
        Err(StoreError::NotFound(_)) => {}
        other => panic!("expected NotFound, got {other:?}"),
    }

    // Unconditional delete; a re-create starts a new life.
    let again = store
        .create("/del/a", b"c".to_vec())
        .await
        .expect("re-create");
    let (kv, _) = store.get("/del/a").await.expect("get");
    assert_eq!(kv.expect("present").create_revision, again);
    let (old, _) = store.delete("/del/a", None).await.expect("delete");
    assert_eq!(old.value, b"c");
}

pub async fn revisions_are_monotonic(store: Arc<dyn Store>) {
    let mut last = store.current_revision().await.expect("rev");
    let mut next = |rev: i64| {
        assert!(rev > last, "revision {rev} did not pass {last}");
        last = rev;
    };
    let r = store.create("/mono/a", vec![1]).await.expect("create");
    next(r);
    let r = store.update("/mono/a", vec![2], r).await.expect("update");
    next(r);
    next(store.create("/mono/b", vec![]).await.expect("create"));
    next(store.delete("/mono/a", None).await.expect("delete").1);
    assert_eq!(store.current_revision().await.expect("rev"), last);

    // Failed writes do not move the revision.
    assert!(store.create("/mono/b", vec![]).await.is_err());
    assert!(store.update("/mono/b", vec![], 1).await.is_err());
    assert!(store.delete("/mono/a", None).await.is_err());
    assert_eq!(store.current_revision().await.expect("rev"), last);
    assert_eq!(store.get("/mono/b").await.expect("get").1, last);
}

pub async fn range_by_prefix(store: Arc<dyn Store>) {
    for key in [
        "/rng/a/2", "/rng/a/1", "/rng/ab", "/rng/b/1", "/rng/a/3", "/rng/a/4",
    ] {
        store
            .create(key, key.as_bytes().to_vec())
            .await
            .expect("create");
    }
    store.delete("/rng/a/4", None).await.expect("delete");
    let current = store.current_revision().await.expect("rev");

    let all = store.range(range("/rng/a/")).await.expect("range");
    assert_eq!(keys(&all.kvs), ["/rng/a/1", "/rng/a/2", "/rng/a/3"]);
    assert!(!all.more);
    assert_eq!(all.revision, current);
    assert_eq!(all.kvs[0].value, b"/rng/a/1");

    let page = store
        .range(RangeRequest {
            limit: 2,
            ..range("/rng/a/")
        })
        .await
        .expect("range");
    assert_eq!(keys(&page.kvs), ["/rng/a/1", "/rng/a/2"]);
    assert!(page.more);

    let rest = store
        .range(RangeRequest {
            start_key: Some("/rng/a/2\0".to_owned()),
            limit: 2,
            ..range("/rng/a/")
        })
        .await
        .expect("range");
    assert_eq!(keys(&rest.kvs), ["/rng/a/3"]);
    assert!(!rest.more);

    let exact = store
        .range(RangeRequest {
            start_key: Some("/rng/a/2".to_owned()),
            limit: 2,
            ..range("/rng/a/")
        })
        .await
        .expect("range");
    assert_eq!(keys(&exact.kvs), ["/rng/a/2", "/rng/a/3"]);
    assert!(!exact.more, "a full last page has no more");

    let everything = store.range(range("/rng/")).await.expect("range");
    assert_eq!(
        keys(&everything.kvs),
        ["/rng/a/1", "/rng/a/2", "/rng/a/3", "/rng/ab", "/rng/b/1"]
    );
    assert!(
        store
            .range(range("/rng/c/"))
            .await
            .expect("range")
            .kvs
            .is_empty()
    );
}

pub async fn range_at_past_revision(store: Arc<dyn Store>) {
    let r1 = store
        .create("/past/a", b"1".to_vec())
        .await
        .expect("create");
    let r2 = store
        .update("/past/a", b"2".to_vec(), r1)
        .await
        .expect("update");
    let r3 = store
        .create("/past/b", b"b".to_vec())
        .await
        .expect("create");
    let (_, r4) = store.delete("/past/a", None).await.expect("delete");

    let at = |revision: i64| {
        let store = store.clone();
        async move {
            let resp = store
                .range(RangeRequest {
                    revision,
                    ..range("/past/")
                })
                .await
                .expect("range at revision");
            assert_eq!(resp.revision, revision);
            resp.kvs
                .into_iter()
                .map(|kv| (kv.key, kv.value, kv.mod_revision))
                .collect::<Vec<_>>()
        }
    };
    let kv = |k: &str, v: &[u8], r: i64| (k.to_owned(), v.to_vec(), r);
    assert_eq!(at(r1).await, [kv("/past/a", b"1", r1)]);
    assert_eq!(at(r2).await, [kv("/past/a", b"2", r2)]);
    assert_eq!(
        at(r3).await,
        [kv("/past/a", b"2", r2), kv("/past/b", b"b", r3)]
    );
    assert_eq!(at(r4).await, [kv("/past/b", b"b", r3)]);

    let future = r4 + 10;
    match store
        .range(RangeRequest {
            revision: future,
            ..range("/past/")
        })
        .await
    {
        Err(StoreError::FutureRevision { requested, current }) => {
            assert_eq!((requested, current), (future, r4));
        }
        other => panic!("expected FutureRevision, got {other:?}"),
    }
}

pub async fn count_keys(store: Arc<dyn Store>) {
    assert_eq!(store.count("/cnt/").await.expect("count"), 0);
    for i in 0..5 {
        store
            .create(&format!("/cnt/{i}"), vec![])
            .await
            .expect("create");
    }
    store.create("/cntx", vec![]).await.expect("create");
    store.delete("/cnt/3", None).await.expect("delete");
    let (kv, _) = store.get("/cnt/1").await.expect("get");
    let rev = kv.expect("present").mod_revision;
    store.update("/cnt/1", vec![1], rev).await.expect("update");
    assert_eq!(store.count("/cnt/").await.expect("count"), 4);
    assert_eq!(store.count("/cnt").await.expect("count"), 5);
}

pub async fn compaction_of_reads(store: Arc<dyn Store>) {
    let a1 = store
        .create("/cmp/a", b"a1".to_vec())
        .await
        .expect("create");
    let a2 = store
        .update("/cmp/a", b"a2".to_vec(), a1)
        .await
        .expect("update");
    let b1 = store
        .create("/cmp/b", b"b1".to_vec())
        .await
        .expect("create");
    let (_, b_gone) = store.delete("/cmp/b", None).await.expect("delete");
    let c1 = store
        .create("/cmp/c", b"c1".to_vec())
        .await
        .expect("create");
    let c2 = store
        .update("/cmp/c", b"c2".to_vec(), c1)
        .await
        .expect("update");
    let at = |revision| RangeRequest {
        revision,
        ..range("/cmp/")
    };
    let before = store.range(at(c1)).await.expect("range").kvs;

    store.compact(c1).await.expect("compact");
    assert_eq!(store.compacted_revision().await.expect("compacted"), c1);

    // The compacted revision itself stays readable; older ones do not.
    assert_eq!(
        store.range(at(c1)).await.expect("range at compacted").kvs,
        before
    );
    expect_compacted(store.range(at(b_gone)).await, b_gone, c1);
    expect_compacted(store.range(at(a2)).await, a2, c1);

    let latest = store.range(range("/cmp/")).await.expect("range").kvs;
    assert_eq!(keys(&latest), ["/cmp/a", "/cmp/c"]);
    assert_eq!(
        (latest[0].value.as_slice(), latest[0].mod_revision),
        (&b"a2"[..], a2)
    );
    assert_eq!(
        (latest[1].value.as_slice(), latest[1].mod_revision),
        (&b"c2"[..], c2)
    );
    assert_eq!(store.get("/cmp/b").await.expect("get").0, None);
    assert!(b1 < c1);

    // Writes keep working on compacted keys, with their revisions intact.
    let a3 = store
        .update("/cmp/a", b"a3".to_vec(), a2)
        .await
        .expect("update");
    let (kv, _) = store.get("/cmp/a").await.expect("get");
    assert_eq!(kv.expect("present").create_revision, a1);
    store
        .create("/cmp/b", b"b2".to_vec())
        .await
        .expect("re-create");

    expect_compacted(store.compact(c1).await, c1, c1);
    expect_compacted(store.compact(a1).await, a1, c1);
    let current = store.current_revision().await.expect("rev");
    assert!(current > a3);
    match store.compact(current + 5).await {
        Err(StoreError::FutureRevision { requested, .. }) => assert_eq!(requested, current + 5),
        other => panic!("expected FutureRevision, got {other:?}"),
    }
    store.compact(current).await.expect("compact to the head");
    assert_eq!(store.count("/cmp/").await.expect("count"), 3);
    assert_eq!(store.current_revision().await.expect("rev"), current);
}
