//! WATCH as upstream's watch cache serves it: initial ADDED events for ""
//! and "0", resumption from an exact version, selector transitions,
//! namespace scoping, bookmarks, timeouts and too-old versions.

mod common;

use common::*;
use futures::StreamExt;
use registry::cache::EventType::{Added, Deleted, Modified};
use registry::options::WatchOptions;
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn watch_from_empty_version_lists_then_follows() {
    for from in ["", "0"] {
        let reg = setup().await;
        let cms = configmaps(&reg);
        for n in ["a", "b"] {
            reg.create(&cms, "default", configmap(n), &wopts("t"))
                .await
                .unwrap();
        }
        let mut w = reg.watch(&cms, "default", &watch_from(from)).await.unwrap();
        let mut first = vec![expect_next(&mut w).await, expect_next(&mut w).await];
        first.sort_by_key(|s| format!("{s:?}"));
        assert_eq!(first, vec![ev(Added, "a"), ev(Added, "b")], "from {from:?}");
        assert!(quiet(&mut w, 150).await);

        reg.create(&cms, "default", configmap("c"), &wopts("t"))
            .await
            .unwrap();
        assert_eq!(expect_next(&mut w).await, ev(Added, "c"));
        let mut a = reg.get(&cms, "default", "a", "").await.unwrap();
        a["data"]["k"] = "changed".into();
        reg.update(&cms, "default", "a", a, None, &wopts("t"))
            .await
            .unwrap();
        assert_eq!(expect_next(&mut w).await, ev(Modified, "a"));
        reg.delete(&cms, "default", "b", &dopts()).await.unwrap();
        assert_eq!(expect_next(&mut w).await, ev(Deleted, "b"));
    }
}

#[tokio::test]
async fn watch_from_a_version_sees_only_later_events() {
    let reg = setup().await;
    let cms = configmaps(&reg);
    reg.create(&cms, "default", configmap("old"), &wopts("t"))
        .await
        .unwrap();
    let mark = reg
        .create(&cms, "default", configmap("mark"), &wopts("t"))
        .await
        .unwrap();
    // Written after the version the client resumes from, before it watches.
    reg.create(&cms, "default", configmap("after"), &wopts("t"))
        .await
        .unwrap();
    let mut w = reg
        .watch(&cms, "default", &watch_from(&rv(&mark)))
        .await
        .unwrap();
    assert_eq!(expect_next(&mut w).await, ev(Added, "after"));
    assert!(quiet(&mut w, 150).await, "nothing before the version");
    reg.create(&cms, "default", configmap("live"), &wopts("t"))
        .await
        .unwrap();
    assert_eq!(expect_next(&mut w).await, ev(Added, "live"));
}

#[tokio::test]
async fn watch_events_carry_their_resource_version() {
    let reg = setup().await;
    let cms = configmaps(&reg);
    let mut w = reg.watch(&cms, "default", &watch_from("0")).await.unwrap();
    let c = reg
        .create(&cms, "default", configmap("a"), &wopts("t"))
        .await
        .unwrap();
    let got = tokio::time::timeout(Duration::from_secs(2), w.next())
        .await
        .unwrap()
        .unwrap();
    match got {
        registry::engine::WatchEventOut::Event { object, .. } => {
            assert_eq!(object.rv.to_string(), rv(&c));
            assert_eq!(object.value()["metadata"]["resourceVersion"], rv(&c));
        }
        _ => panic!("expected an event"),
    }
}

#[tokio::test]
async fn label_change_moves_an_object_in_and_out_of_a_selecting_watch() {
    let reg = setup().await;
    let cms = configmaps(&reg);
    let c = reg
        .create(
            &cms,
            "default",
            configmap_labelled("a", json!({"tier": "x"})),
            &wopts("t"),
        )
        .await
        .unwrap();
    let opts = WatchOptions {
        label_selector: Some("tier=y".into()),
        resource_version: rv(&c),
        ..Default::default()
    };
    let mut w = reg.watch(&cms, "default", &opts).await.unwrap();
    let mut y = c.clone();
    y["metadata"]["labels"]["tier"] = "y".into();
    let y = reg
        .update(&cms, "default", "a", y, None, &wopts("t"))
        .await
        .unwrap();
    assert_eq!(expect_next(&mut w).await, ev(Added, "a"));
    let mut y2 = y.clone();
    y2["data"]["k"] = "2".into();
    let y2 = reg
        .update(&cms, "default", "a", y2, None, &wopts("t"))
        .await
        .unwrap();
    assert_eq!(expect_next(&mut w).await, ev(Modified, "a"));
    let mut z = y2;
    z["metadata"]["labels"]["tier"] = "z".into();
    reg.update(&cms, "default", "a", z, None, &wopts("t"))
        .await
        .unwrap();
    assert_eq!(expect_next(&mut w).await, ev(Deleted, "a"));
    // Changes while it does not match are not seen.
    let mut again = reg.get(&cms, "default", "a", "").await.unwrap();
    again["data"]["k"] = "3".into();
    reg.update(&cms, "default", "a", again, None, &wopts("t"))
        .await
        .unwrap();
    assert!(quiet(&mut w, 150).await);
}

#[tokio::test]
async fn field_selector_watch_follows_one_name() {
    let reg = setup().await;
    let cms = configmaps(&reg);
    let opts = WatchOptions {
        field_selector: Some("metadata.name=b".into()),
        ..Default::default()
    };
    let mut w = reg.watch(&cms, "default", &opts).await.unwrap();
    for n in ["a", "b", "c"] {
        reg.create(&cms, "default", configmap(n), &wopts("t"))
            .await
            .unwrap();
    }
    assert_eq!(expect_next(&mut w).await, ev(Added, "b"));
    assert!(quiet(&mut w, 150).await);
}

#[tokio::test]
async fn namespace_watch_sees_only_its_namespace() {
    let reg = setup().await;
    create_namespace(&reg, "other").await;
    let cms = configmaps(&reg);
    reg.create(&cms, "other", configmap("pre"), &wopts("t"))
        .await
        .unwrap();
    let mut ns_w = reg.watch(&cms, "default", &watch_from("0")).await.unwrap();
    let mut all_w = reg.watch(&cms, "", &watch_from("0")).await.unwrap();
    assert_eq!(expect_next(&mut all_w).await, ev(Added, "pre"));
    reg.create(&cms, "other", configmap("x"), &wopts("t"))
        .await
        .unwrap();
    reg.create(&cms, "default", configmap("y"), &wopts("t"))
        .await
        .unwrap();
    assert_eq!(expect_next(&mut ns_w).await, ev(Added, "y"));
    assert!(quiet(&mut ns_w, 150).await);
    assert_eq!(expect_next(&mut all_w).await, ev(Added, "x"));
    assert_eq!(expect_next(&mut all_w).await, ev(Added, "y"));
}

#[tokio::test]
async fn send_initial_events_ends_with_an_annotated_bookmark() {
    let reg = setup().await;
    let cms = configmaps(&reg);
    for n in ["a", "b"] {
        reg.create(&cms, "default", configmap(n), &wopts("t"))
            .await
            .unwrap();
    }
    let opts = WatchOptions {
        send_initial_events: Some(true),
        resource_version_match: "NotOlderThan".into(),
        allow_bookmarks: true,
        ..Default::default()
    };
    let mut w = reg.watch(&cms, "default", &opts).await.unwrap();
    let mut got = vec![expect_next(&mut w).await, expect_next(&mut w).await];
    got.sort_by_key(|s| format!("{s:?}"));
    assert_eq!(got, vec![ev(Added, "a"), ev(Added, "b")]);
    assert_eq!(expect_next(&mut w).await, Seen::Bookmark { end: true });
    reg.create(&cms, "default", configmap("c"), &wopts("t"))
        .await
        .unwrap();
    assert_eq!(expect_next(&mut w).await, ev(Added, "c"));
}

#[tokio::test]
async fn initial_events_bookmark_carries_the_list_revision() {
    let reg = setup().await;
    let cms = configmaps(&reg);
    let c = reg
        .create(&cms, "default", configmap("a"), &wopts("t"))
        .await
        .unwrap();
    // Unrelated writes after the object: the bookmark is at least as new.
    create_namespace(&reg, "later").await;
    let now = reg.store.current_revision().await.unwrap();
    let opts = WatchOptions {
        send_initial_events: Some(true),
        resource_version_match: "NotOlderThan".into(),
        allow_bookmarks: true,
        ..Default::default()
    };
    let mut w = reg.watch(&cms, "default", &opts).await.unwrap();
    let _added = w.next().await.unwrap();
    match tokio::time::timeout(Duration::from_secs(2), w.next())
        .await
        .unwrap()
        .unwrap()
    {
        registry::engine::WatchEventOut::Bookmark {
            rv: b,
            initial_events_end,
        } => {
            assert!(initial_events_end);
            assert!(b >= rv(&c).parse::<i64>().unwrap());
            assert_eq!(b, now, "bookmark at the snapshot's revision");
        }
        _ => panic!("expected the initial-events-end bookmark"),
    }
}

#[tokio::test]
async fn send_initial_events_requires_not_older_than() {
    let reg = setup().await;
    let opts = WatchOptions {
        send_initial_events: Some(true),
        allow_bookmarks: true,
        ..Default::default()
    };
    let e = reg
        .watch(&configmaps(&reg), "default", &opts)
        .await
        .err()
        .expect("invalid options");
    assert_eq!(e.code, 422);
}

#[tokio::test]
async fn timeout_ends_the_stream() {
    let reg = setup().await;
    let opts = WatchOptions {
        timeout_seconds: Some(1),
        ..Default::default()
    };
    let mut w = reg
        .watch(&configmaps(&reg), "default", &opts)
        .await
        .unwrap();
    let end = tokio::time::timeout(Duration::from_secs(4), w.next())
        .await
        .expect("the stream ends within the timeout");
    assert!(end.is_none(), "stream ended without an event");
}

#[tokio::test]
async fn watch_older_than_the_cache_window_is_gone() {
    // Writes, then compaction, then a fresh registry (as after a restart):
    // its watch cache starts at the compaction point.
    let store: std::sync::Arc<dyn store::Store> =
        std::sync::Arc::new(store::memory::MemoryStore::new());
    let first = registry::engine::Registry::new(store.clone())
        .await
        .unwrap();
    create_namespace(&first, "default").await;
    let cms = configmaps(&first);
    let early = first
        .create(&cms, "default", configmap("a"), &wopts("t"))
        .await
        .unwrap();
    for n in ["b", "c", "d"] {
        first
            .create(&cms, "default", configmap(n), &wopts("t"))
            .await
            .unwrap();
    }
    store
        .compact(store.current_revision().await.unwrap())
        .await
        .unwrap();
    let reg = registry::engine::Registry::new(store.clone())
        .await
        .unwrap();
    let e = expired_event(&reg, &cms, &rv(&early)).await;
    assert_eq!(e.code, 410);
    assert!(
        e.message.starts_with("too old resource version:"),
        "{}",
        e.message
    );
}

#[tokio::test]
async fn watch_older_than_the_cache_window_is_expired_as_upstream_words_it() {
    // Upstream's watch cache: NewResourceExpired("too old resource version: …"),
    // reason Expired (older releases said Gone; clients accept both).
    let store: std::sync::Arc<dyn store::Store> =
        std::sync::Arc::new(store::memory::MemoryStore::new());
    let first = registry::engine::Registry::new(store.clone())
        .await
        .unwrap();
    create_namespace(&first, "default").await;
    let cms = configmaps(&first);
    let early = first
        .create(&cms, "default", configmap("a"), &wopts("t"))
        .await
        .unwrap();
    first
        .create(&cms, "default", configmap("b"), &wopts("t"))
        .await
        .unwrap();
    store
        .compact(store.current_revision().await.unwrap())
        .await
        .unwrap();
    let reg = registry::engine::Registry::new(store.clone())
        .await
        .unwrap();
    let e = expired_event(&reg, &cms, &rv(&early)).await;
    assert_eq!((e.code, e.reason.as_str()), (410, "Expired"));
}

#[tokio::test]
async fn resumed_watch_after_restart_replays_history() {
    // A registry started over a store with history resumes watches from it.
    let store: std::sync::Arc<dyn store::Store> =
        std::sync::Arc::new(store::memory::MemoryStore::new());
    let first = registry::engine::Registry::new(store.clone())
        .await
        .unwrap();
    create_namespace(&first, "default").await;
    let cms = configmaps(&first);
    let a = first
        .create(&cms, "default", configmap("a"), &wopts("t"))
        .await
        .unwrap();
    first
        .create(&cms, "default", configmap("b"), &wopts("t"))
        .await
        .unwrap();
    let mut a2 = a.clone();
    a2["data"]["k"] = "2".into();
    first
        .update(&cms, "default", "a", a2, None, &wopts("t"))
        .await
        .unwrap();
    first.delete(&cms, "default", "b", &dopts()).await.unwrap();
    let reg = registry::engine::Registry::new(store.clone())
        .await
        .unwrap();
    let mut w = reg
        .watch(&cms, "default", &watch_from(&rv(&a)))
        .await
        .unwrap();
    // Replayed history keeps each event's type: b was created, a modified.
    assert_eq!(expect_next(&mut w).await, ev(Added, "b"));
    assert_eq!(expect_next(&mut w).await, ev(Modified, "a"));
    assert_eq!(expect_next(&mut w).await, ev(Deleted, "b"));
}

#[tokio::test]
async fn deleted_event_carries_the_last_state() {
    let reg = setup().await;
    let cms = configmaps(&reg);
    let mut w = reg.watch(&cms, "default", &watch_from("0")).await.unwrap();
    reg.create(&cms, "default", configmap("a"), &wopts("t"))
        .await
        .unwrap();
    assert_eq!(expect_next(&mut w).await, ev(Added, "a"));
    reg.delete(&cms, "default", "a", &dopts()).await.unwrap();
    match tokio::time::timeout(Duration::from_secs(2), w.next())
        .await
        .unwrap()
        .unwrap()
    {
        registry::engine::WatchEventOut::Event { kind, object } => {
            assert_eq!(kind, Deleted);
            assert_eq!(object.value()["data"]["k"], "v");
        }
        _ => panic!("expected DELETED"),
    }
}

#[tokio::test]
async fn replayed_create_of_a_still_present_object_is_added() {
    // The object created after the resume point still exists when the
    // registry restarts: its replayed creation is still ADDED.
    let store: std::sync::Arc<dyn store::Store> =
        std::sync::Arc::new(store::memory::MemoryStore::new());
    let first = registry::engine::Registry::new(store.clone())
        .await
        .unwrap();
    create_namespace(&first, "default").await;
    let cms = configmaps(&first);
    let a = first
        .create(&cms, "default", configmap("a"), &wopts("t"))
        .await
        .unwrap();
    first
        .create(&cms, "default", configmap("b"), &wopts("t"))
        .await
        .unwrap();
    let reg = registry::engine::Registry::new(store.clone())
        .await
        .unwrap();
    let mut w = reg
        .watch(&cms, "default", &watch_from(&rv(&a)))
        .await
        .unwrap();
    assert_eq!(expect_next(&mut w).await, ev(Added, "b"));
}

/// A watch from a version older than the cache holds starts, as upstream's
/// watch cache does, and delivers one ERROR event (clients relist on it),
/// then ends.
async fn expired_event(
    reg: &std::sync::Arc<registry::engine::Registry>,
    res: &apimachinery::ResourceInfo,
    from: &str,
) -> apimachinery::ApiError {
    let mut w = reg
        .watch(res, "default", &watch_from(from))
        .await
        .expect("a watch with an error event, not an error");
    let e = match w.next().await {
        Some(registry::engine::WatchEventOut::Error(e)) => e,
        other => panic!("expected an ERROR event, got {:?}", other.is_some()),
    };
    assert!(w.next().await.is_none(), "the watch ends after the error");
    e
}
